#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration suite entry point: runs every tests/integration/test_*.py case against one monitor.

    python3 tests/integration/suite.py --monitor PATH --label ours [--reference] [--build build]
                                       [-k PATTERN] [--jobs N]

Prints TAP (see tests/lib/testlib.py); tests/run.py reads it.
Must run as root (runc). Everything is created under one /tmp/cmt-* dir, removed at the end.
"""

import argparse
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, HERE)

import testlib  # noqa: E402
import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--monitor", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--reference", action="store_true", help="this monitor is the reference (improvements may fail)")
    ap.add_argument("--build", default="build")
    ap.add_argument("-k", dest="pattern")
    ap.add_argument("--jobs", type=int, default=3)
    opts = ap.parse_args()

    testlib.seal_inherited_fds()
    reg = testlib.discover(HERE)
    printer = testlib.Printer()
    monitor = testlib.monitor_preflight("integration", opts, reg, printer)
    if monitor is None:
        return 0
    if not harness.find_runc():
        testlib.report_all("FAIL", reg, "integration", opts.label, opts.pattern, "runc not found", printer)
        return 0

    testlib.reaper()
    try:
        rootfs = testlib.prepare_rootfs(opts.build)
    except Exception as e:  # noqa: B902
        testlib.report_all("FAIL", reg, "integration", opts.label, opts.pattern, "rootfs: %s" % e, printer)
        return 0
    base = tempfile.mkdtemp(prefix="cmt-", dir="/tmp")
    try:
        suite = harness.Suite(monitor, opts.label, opts.reference, rootfs, base)
        testlib.run_suite(reg, "integration", opts.label, lambda tc: harness.ctx_for(suite, tc.name),
                          pattern=opts.pattern, jobs=opts.jobs, printer=printer, is_reference=opts.reference)
    finally:
        testlib.drain_children()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
