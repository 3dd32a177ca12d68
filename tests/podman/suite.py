#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""podman suite entry point: every tests/podman/test_*.py case with `podman --conmon MONITOR`
(arguments and output: testlib.suite_main).
"""

import os
import shutil
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

import testlib  # noqa: E402
import pmharness  # noqa: E402


def setup(opts, monitor, rootfs, base, stack):
    store = pmharness.Store(monitor, opts.label, opts.reference, rootfs)
    stack.callback(store.destroy)
    return lambda tc: pmharness.ctx_for(store, tc.name)


def need_podman(opts):
    return None if shutil.which("podman") else ("SKIP", "podman not installed")


if __name__ == "__main__":
    sys.exit(testlib.suite_main("podman", setup, directory=HERE, jobs=2, needs=[need_podman]))
