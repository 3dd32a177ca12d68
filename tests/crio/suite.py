#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""CRI-O suite entry point: every tests/crio/test_*.py case against one monitor, driven as
CRI-O v1.32 drives conmon (crioharness.py); arguments and output: testlib.suite_main.
"""

import os
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

import testlib  # noqa: E402
import crioharness  # noqa: E402
import harness  # noqa: E402  (the integration suite's, found through crioharness)


def setup(opts, monitor, rootfs, base, stack):
    suite = harness.Suite(monitor, opts.label, opts.reference, rootfs, base)
    # CRI-O probes the monitor once, at start-up, and refuses to run if it cannot.
    suite.version = crioharness.MonitorVersion(monitor, base)
    return lambda tc: crioharness.ctx_for(suite, tc.name)


if __name__ == "__main__":
    # Short prefix: CRI-O dials SOCKETDIR/<64-hex id>/attach by its path (at most 107 bytes).
    sys.exit(testlib.suite_main("crio", setup, directory=HERE, needs=[harness.need_runc], tmp_prefix="crt-"))
