# SPDX-License-Identifier: Apache-2.0
"""Real podman 4.3.1 driving a monitor via `podman --conmon PATH`, on a private store.

The store lives under a short /tmp/pmt-XXXXXX path (podman's cleanup exit command rejects a
--runroot longer than 50 characters), with its own containers.conf (ulimits that fit this
machine's hard RLIMIT_NOFILE, file events, cgroupfs, file locks so the SHM lock segment of the
default store is not shared). This process is a child subreaper, so monitors that daemonize
are re-parented to it and reaped (PID 1 here does not reap).
"""

import contextlib
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
from testlib import TestFailure, run  # noqa: E402

CONF = """[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
events_logger = "file"
cgroup_manager = "cgroupfs"
lock_type = "file"
"""


def mounts_under(path):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == path or mp.startswith(path.rstrip("/") + "/"):
                out.append(mp)
    return out


class Store:
    def __init__(self, monitor, label, is_reference, rootfs_src):
        self.monitor = monitor
        self.label = label
        self.is_reference = is_reference
        self.base = tempfile.mkdtemp(prefix="pmt-", dir="/tmp")
        self.root = os.path.join(self.base, "root")
        self.runroot = os.path.join(self.base, "rr")
        self.tmpdir = os.path.join(self.base, "tmp")
        self.conf = os.path.join(self.base, "containers.conf")
        with open(self.conf, "w") as f:
            f.write(CONF)
        # podman writes into a --rootfs (mount points, /etc/mtab): give it its own copy.
        self.rootfs = os.path.join(self.base, "rootfs")
        res = run(["cp", "-a", rootfs_src, self.rootfs], timeout=60)
        if res.returncode != 0:
            raise RuntimeError("copying the rootfs failed: %r" % res)
        self.outdir = os.path.join(self.base, "out")
        os.mkdir(self.outdir)
        self.podman_bin = shutil.which("podman") or "/usr/bin/podman"
        self.seq = 0

    def env(self):
        return {"PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
                "HOME": os.environ.get("HOME", "/root"), "CONTAINERS_CONF": self.conf}

    def podman(self, *args, timeout=60, merge_stderr=False):
        argv = [self.podman_bin, "--root", self.root, "--runroot", self.runroot, "--tmpdir", self.tmpdir,
                "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--conmon", self.monitor,
                "--runtime", "runc"] + list(args)
        return run(argv, timeout=timeout, env=self.env(), outdir=self.outdir, merge_stderr=merge_stderr)

    def podman_ok(self, *args, timeout=60):
        res = self.podman(*args, timeout=timeout)
        if res.returncode != 0:
            raise TestFailure("podman %s failed: %r" % (" ".join(args), res))
        return res

    def run_args(self):
        return ["--network", "none", "--rootfs", self.rootfs]

    def name(self, test):
        self.seq += 1
        return re.sub(r"[^a-zA-Z0-9_.-]", "-", "%s-%s-%d" % (self.label, test, self.seq))

    def destroy(self):
        with contextlib.suppress(Exception):
            self.podman("rm", "-af", "-t", "0", timeout=60)
        # Whatever podman left mounted (per-container shm tmpfs...), deepest first.
        for mp in sorted(mounts_under(self.base), key=len, reverse=True):
            with contextlib.suppress(Exception):
                run(["umount", "-l", mp], timeout=20)
        shutil.rmtree(self.base, ignore_errors=True)


class Ctx:
    def __init__(self, store, name):
        self.store = store
        self.test = name
        self.names = []
        self.is_reference = store.is_reference

    def name(self):
        n = self.store.name(self.test)
        self.names.append(n)
        return n

    def podman(self, *args, timeout=60, merge_stderr=False):
        return self.store.podman(*args, timeout=timeout, merge_stderr=merge_stderr)

    def podman_ok(self, *args, timeout=60):
        return self.store.podman_ok(*args, timeout=timeout)

    def run_args(self):
        return self.store.run_args()

    def cleanup(self):
        if self.names:
            with contextlib.suppress(Exception):
                self.store.podman("rm", "-f", "-t", "0", *self.names, timeout=60)


@contextlib.contextmanager
def ctx_for(store, name):
    c = Ctx(store, name)
    try:
        yield c
    finally:
        c.cleanup()
