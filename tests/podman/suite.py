#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""podman suite entry point: every tests/podman/test_*.py case with `podman --conmon MONITOR`.

    python3 tests/podman/suite.py --monitor PATH --label ours [--reference] [--build build]
                                  [-k PATTERN] [--jobs N]
"""

import argparse
import os
import shutil
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, HERE)

import testlib  # noqa: E402
import pmharness  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--monitor", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--reference", action="store_true")
    ap.add_argument("--build", default="build")
    ap.add_argument("-k", dest="pattern")
    ap.add_argument("--jobs", type=int, default=2)
    opts = ap.parse_args()

    testlib.seal_inherited_fds()
    reg = testlib.discover(HERE)
    printer = testlib.Printer()

    monitor = testlib.monitor_preflight("podman", opts, reg, printer)
    if monitor is None:
        return 0
    if not shutil.which("podman"):
        testlib.report_all("SKIP", reg, "podman", opts.label, opts.pattern, "podman not installed", printer)
        return 0

    testlib.reaper()
    try:
        rootfs = testlib.prepare_rootfs(opts.build)
        store = pmharness.Store(monitor, opts.label, opts.reference, rootfs)
    except Exception as e:  # noqa: B902
        testlib.report_all("FAIL", reg, "podman", opts.label, opts.pattern, "setup: %s" % e, printer)
        return 0
    try:
        testlib.run_suite(reg, "podman", opts.label, lambda tc: pmharness.ctx_for(store, tc.name),
                          pattern=opts.pattern, jobs=opts.jobs, printer=printer, is_reference=opts.reference)
    finally:
        store.destroy()
        testlib.drain_children()
    return 0


if __name__ == "__main__":
    sys.exit(main())
