#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The one test runner `make check` calls.

    python3 tests/run.py --build build --conmon conmon/conmon --wrapper wrapper/ctr-wrap \\
        --reference /usr/bin/conmon [--only unit|integration|podman] [-k PATTERN] [--skip-reference]

(a) every BUILD/tests/unit/test_* binary with --tap (TAP `ok` / `not ok` / `# SKIP` lines),
(b) the integration suite (tests/integration) once per monitor binary: ours, then the reference,
(c) the podman suite (tests/podman) once per monitor binary.
One line per test: `PASS name [monitor]`, `FAIL name [monitor]: reason`, `SKIP name [monitor] (why)`;
other lines start with `#`. The last line is exactly `N passed, N failed, N skipped`.
Exit status 1 iff anything failed. Needs root for (b) and (c) (they report SKIP otherwise).
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
TESTS = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(TESTS)
sys.path.insert(0, os.path.join(TESTS, "lib"))
from testlib import match  # noqa: E402

SUITE_TIMEOUT = 300
UNIT_TIMEOUT = 120
RESULT_RE = re.compile(r"^(PASS|FAIL|SKIP) ")
TAP_RE = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*?)\s*$")


class Tally:
    def __init__(self):
        self.counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}

    def emit(self, line):
        kind = line.split(" ", 1)[0]
        self.counts[kind] += 1
        print(line, flush=True)

    def note(self, msg):
        print("# " + msg, flush=True)


def parse_tap(name, text, tally, pattern):
    """Count a GLib --tap transcript; returns (result lines seen, FAILs emitted)."""
    seen = failed = 0
    diag = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("#"):
            if not line.startswith("# Start of") and not line.startswith("# End of"):
                diag.append(line[1:].strip())
                diag = diag[-3:]
            continue
        if line.startswith("Bail out!"):
            tally.emit("FAIL %s: %s" % (name, line))
            failed += 1
            continue
        m = TAP_RE.match(line)
        if not m:
            continue
        seen += 1
        status, _, desc = m.groups()
        directive = ""
        if " # " in desc:
            desc, directive = desc.split(" # ", 1)
        elif desc.startswith("# "):
            desc, directive = "", desc[2:]
        full = "%s:%s" % (name, desc.strip() or str(seen))
        if pattern and not match(pattern, full):
            diag = []
            continue
        d = directive.strip()
        if d.upper().startswith("SKIP"):
            tally.emit("SKIP %s (%s)" % (full, d[4:].strip() or "skipped"))
        elif d.upper().startswith("TODO"):
            tally.emit("SKIP %s (todo: %s)" % (full, d[4:].strip()))
        elif status == "ok":
            tally.emit("PASS %s" % full)
        else:
            tally.emit("FAIL %s: %s" % (full, " | ".join(diag) or "not ok"))
            failed += 1
        diag = []
    return seen, failed


def run_unit(opts, tally):
    bins = sorted(p for p in glob.glob(os.path.join(opts.build, "tests", "unit", "test_*"))
                  if os.path.isfile(p) and os.access(p, os.X_OK) and not p.endswith((".o", ".d", ".c")))
    if not bins:
        tally.note("no unit test binaries under %s/tests/unit" % opts.build)
        return
    for b in bins:
        name = "unit/" + os.path.basename(b)
        try:
            res = subprocess.run([os.path.abspath(b), "--tap", "--keep-going"], cwd=SRC, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=UNIT_TIMEOUT)
            out, rc = res.stdout.decode(errors="replace"), res.returncode
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace")
            parse_tap(name, out, tally, opts.pattern)
            tally.emit("FAIL %s: timed out after %ds" % (name, UNIT_TIMEOUT))
            continue
        seen, failed = parse_tap(name, out, tally, opts.pattern)
        plan = re.search(r"^1\.\.(\d+)", out, re.M)
        if failed:
            continue
        if rc != 0 and (not opts.pattern or match(opts.pattern, name)):
            tail = " | ".join(out.strip().splitlines()[-3:])
            tally.emit("FAIL %s: exit status %d: %s" % (name, rc, tail))
        elif plan and int(plan.group(1)) > seen and not opts.pattern:
            tally.emit("FAIL %s: plan 1..%s but only %d results" % (name, plan.group(1), seen))


def run_suite(opts, tally, suite, label, monitor, reference):
    script = os.path.join(TESTS, suite, "suite.py")
    argv = [sys.executable, script, "--monitor", monitor, "--label", label, "--build", opts.build]
    if reference:
        argv.append("--reference")
    if opts.pattern:
        argv += ["-k", opts.pattern]
    if opts.jobs:
        argv += ["--jobs", str(opts.jobs)]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, cwd=SRC, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    errbuf = []

    def drain_err():
        for chunk in iter(lambda: p.stderr.readline(), b""):
            errbuf.append(chunk.decode(errors="replace"))
    t = threading.Thread(target=drain_err, daemon=True)
    t.start()
    timer = threading.Timer(SUITE_TIMEOUT, lambda: _kill_group(p))
    timer.start()
    try:
        for raw in iter(p.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            if RESULT_RE.match(line):
                tally.emit(line)
            elif line.strip():
                tally.note(line)
        rc = p.wait()
    finally:
        timer.cancel()
    t.join(5)
    dt = time.monotonic() - t0
    if rc != 0:
        why = "timed out after %ds" % SUITE_TIMEOUT if dt >= SUITE_TIMEOUT else "exit status %d" % rc
        tail = " | ".join("".join(errbuf).strip().splitlines()[-4:])
        tally.emit("FAIL %s/suite [%s]: %s %s" % (suite, label, why, tail))
    elif errbuf and opts.verbose:
        for ln in "".join(errbuf).splitlines():
            tally.note(ln)
    tally.note("%s [%s] took %.1fs" % (suite, label, dt))


def _kill_group(p):
    try:
        os.killpg(p.pid, 9)
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--conmon", default="conmon/conmon", help="our monitor binary")
    ap.add_argument("--wrapper", default="wrapper/ctr-wrap", help="ctr-wrap binary (exported as CTR_WRAP)")
    ap.add_argument("--reference", default="/usr/bin/conmon", help="reference monitor binary")
    ap.add_argument("--only", action="append", choices=["unit", "integration", "podman"],
                    help="run only this part (repeatable)")
    ap.add_argument("-k", dest="pattern", help="only tests whose name contains PATTERN (or matches a glob)")
    ap.add_argument("--skip-reference", action="store_true", help="do not run the suites against the reference")
    ap.add_argument("--jobs", type=int, default=0, help="parallel tests per suite (default: the suite's own)")
    ap.add_argument("-v", "--verbose", action="store_true", help="also show the suites' stderr")
    opts = ap.parse_args()
    os.chdir(SRC)
    opts.build = os.path.abspath(opts.build)
    os.environ["CTR_WRAP"] = os.path.abspath(opts.wrapper)
    parts = opts.only or ["unit", "integration", "podman"]

    tally = Tally()
    t0 = time.monotonic()
    monitors = [("ours", os.path.abspath(opts.conmon), False)]
    if not opts.skip_reference:
        monitors.append(("reference", opts.reference, True))
    if "unit" in parts:
        run_unit(opts, tally)
    for suite in ("integration", "podman"):
        if suite not in parts:
            continue
        for label, path, is_ref in monitors:
            run_suite(opts, tally, suite, label, path, is_ref)
    tally.note("total %.1fs" % (time.monotonic() - t0))
    c = tally.counts
    print("%d passed, %d failed, %d skipped" % (c["PASS"], c["FAIL"], c["SKIP"]), flush=True)
    return 1 if c["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
