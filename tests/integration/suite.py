#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration suite entry point: runs every tests/integration/test_*.py case against one monitor
(arguments and output: testlib.suite_main). Must run as root (runc). Everything is created under
one /tmp/cmt-* dir, removed at the end.
"""

import os
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

import testlib  # noqa: E402
import harness  # noqa: E402


def setup(opts, monitor, rootfs, base, stack):
    suite = harness.Suite(monitor, opts.label, opts.reference, rootfs, base)
    return lambda tc: harness.ctx_for(suite, tc.name)


if __name__ == "__main__":
    sys.exit(testlib.suite_main("integration", setup, directory=HERE, needs=[harness.need_runc], tmp_prefix="cmt-"))
