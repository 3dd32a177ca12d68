#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Measures of ctr-wrap's lifecycle commands (as root, with runc):

    python3 tests/bench/lifecycle.py [--wrapper wrapper/ctr-wrap] [--conmon conmon/conmon] [--build build]
        [--restarts 8] [--containers 50] [--samples 5]

- restart back-off: a container that exits at once under --restart always; for each restart, the
  time from one run's log record to the next, against the policy's delay (100 ms doubling);
- stats: wall and CPU time of one `stats --no-stream` over N running containers.

Everything runs under its own --root in /tmp, removed at the end.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
sys.path.insert(0, os.path.join(TOP, "tests", "wrapper"))

import testlib  # noqa: E402
from test_lifecycle import log_records  # noqa: E402


class W:
    def __init__(self, wrapper, conmon, root, rootfs):
        self.base = [wrapper, "--root", root, "--runtime", "runc", "--conmon", conmon]
        self.rootfs = rootfs

    def ok(self, *args):
        return subprocess.run(self.base + list(args), check=True, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL).stdout

    def inspect(self, ref):
        return json.loads(self.ok("inspect", ref))[0]


def bench_backoff(w, restarts):
    w.ok("run", "-d", "--name", "flap", "--restart", "always", w.rootfs, "/bin/echo", "up")
    deadline = time.monotonic() + 120
    while w.inspect("flap")["RestartCount"] < restarts and time.monotonic() < deadline:
        time.sleep(0.05)
    w.ok("stop", "flap")
    stamps = [t for t, _ in log_records(w, "flap")][:restarts + 1]
    w.ok("rm", "-f", "flap")
    print("restart back-off (exit -> next run's first output):")
    print("  %-8s %-10s %-10s %s" % ("restart", "policy", "measured", "overhead"))
    for i, (a, b) in enumerate(zip(stamps, stamps[1:])):
        want = min(0.1 * 2 ** i, 60)
        print("  %-8d %-10.3f %-10.3f %+.3f" % (i + 1, want, b - a, b - a - want))


def bench_stats(w, count, samples):
    for i in range(count):
        w.ok("run", "-d", "--name", "s%d" % i, w.rootfs, "/bin/sleep", "1000")
    walls, cpus = [], []
    for _ in range(samples):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        out = w.ok("stats", "--no-stream", "--format", "json")
        walls.append(time.monotonic() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        assert len(json.loads(out)) == count
    walls.sort()
    cpus.sort()
    print("stats --no-stream over %d containers, %d samples: wall median %.1f ms (min %.1f, max %.1f), "
          "CPU median %.1f ms" % (count, samples, walls[len(walls) // 2] * 1000, walls[0] * 1000,
                                  walls[-1] * 1000, cpus[len(cpus) // 2] * 1000))
    for i in range(count):
        w.ok("rm", "-f", "s%d" % i)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrapper", default=os.path.join(TOP, "wrapper", "ctr-wrap"))
    ap.add_argument("--conmon", default=os.path.join(TOP, "conmon", "conmon"))
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--restarts", type=int, default=8)
    ap.add_argument("--containers", type=int, default=50)
    ap.add_argument("--samples", type=int, default=5)
    o = ap.parse_args()
    rootfs = testlib.prepare_rootfs(o.build)
    root = tempfile.mkdtemp(prefix="cwb-", dir="/tmp")
    w = W(os.path.abspath(o.wrapper), os.path.abspath(o.conmon), root, rootfs)
    try:
        bench_backoff(w, o.restarts)
        bench_stats(w, o.containers, o.samples)
    finally:
        for c in json.loads(w.ok("ps", "-a", "--format", "json") or "[]"):
            subprocess.run(w.base + ["rm", "-f", c["Id"]], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
