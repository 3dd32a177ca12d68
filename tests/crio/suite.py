#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""CRI-O suite entry point: every tests/crio/test_*.py case against one monitor, driven as
CRI-O v1.32 drives conmon (crioharness.py).

    python3 tests/crio/suite.py --monitor PATH --label ours [--reference] [--build build]
                                [-k PATTERN] [--jobs N]
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
import crioharness  # noqa: E402
import harness  # noqa: E402  (the integration suite's, found through crioharness)


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
    monitor = testlib.monitor_preflight("crio", opts, reg, printer)
    if monitor is None:
        return 0
    if not harness.find_runc():
        testlib.report_all("FAIL", reg, "crio", opts.label, opts.pattern, "runc not found", printer)
        return 0

    testlib.reaper()
    # Short: CRI-O dials SOCKETDIR/<64-hex id>/attach by its path (at most 107 bytes).
    base = tempfile.mkdtemp(prefix="crt-", dir="/tmp")
    try:
        try:
            rootfs = testlib.prepare_rootfs(opts.build)
            # CRI-O probes the monitor once, at start-up, and refuses to run if it cannot.
            version = crioharness.MonitorVersion(monitor, base)
        except Exception as e:  # noqa: B902
            testlib.report_all("FAIL", reg, "crio", opts.label, opts.pattern, "setup: %s" % e, printer)
            return 0
        suite = harness.Suite(monitor, opts.label, opts.reference, rootfs, base)
        suite.version = version
        testlib.run_suite(reg, "crio", opts.label, lambda tc: crioharness.ctx_for(suite, tc.name),
                          pattern=opts.pattern, jobs=opts.jobs, printer=printer, is_reference=opts.reference)
    finally:
        testlib.drain_children()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
