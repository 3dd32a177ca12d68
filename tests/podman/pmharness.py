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


# ------------------------------------------------------------------ interactive helpers

def podman_argv(store, *args):
    """Full podman argv for store (what Store.podman runs), for spawning it in other ways."""
    return [store.podman_bin, "--root", store.root, "--runroot", store.runroot, "--tmpdir", store.tmpdir,
            "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--conmon", store.monitor,
            "--runtime", "runc"] + list(args)


def podman_input(store, data, *args, timeout=60):
    """Run podman with data fed through a pipe on its stdin (like `printf ... | podman ...`).
    Keep data under the 64 KiB pipe buffer: it is written in one go before podman is waited for."""
    import signal
    import testlib
    rd, wr = os.pipe()
    try:
        p = testlib.spawn(podman_argv(store, *args), store.outdir, env=store.env(), stdin_fd=rd)
    finally:
        os.close(rd)
    try:
        os.write(wr, data)
    finally:
        os.close(wr)
    try:
        rc = p.wait(timeout)
    except TestFailure:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(10)
        raise
    res = testlib.Result(rc, p.stdout, p.stderr)
    for path in (p.out_path, p.err_path):
        with contextlib.suppress(OSError):
            os.unlink(path)
    return res


def podman_spawn(store, *args):
    """Start podman in the background (own process group); returns a testlib.Proc."""
    import testlib
    return testlib.spawn(podman_argv(store, *args), store.outdir, env=store.env())


class Tmux:
    """A private tmux server (socket under the store) running one detached session."""

    def __init__(self, store, name, argv, width=100, height=30):
        import shlex
        self.store = store
        self.name = name
        self.sock = os.path.join(store.base, "tmux-" + name)
        conf = self.sock + ".conf"
        with open(conf, "w") as f:
            f.write("set -g status off\nset -g remain-on-exit on\nset -g history-limit 2000\n")
        self.base = ["tmux", "-S", self.sock, "-f", conf]
        res = run(self.base + ["new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
                               " ".join(shlex.quote(a) for a in argv)], timeout=20, env=store.env())
        if res.returncode != 0:
            raise TestFailure("tmux new-session failed: %r" % res)

    def cmd(self, *args, timeout=20):
        return run(self.base + list(args), timeout=timeout, env=self.store.env())

    def new_window(self, argv):
        import shlex
        res = self.cmd("new-window", "-t", self.name, " ".join(shlex.quote(a) for a in argv))
        if res.returncode != 0:
            raise TestFailure("tmux new-window failed: %r" % res)

    def keys(self, *keys, target=None):
        self.cmd("send-keys", "-t", target or self.name, *keys)

    def capture(self, target=None):
        return self.cmd("capture-pane", "-p", "-J", "-S", "-200", "-t", target or self.name).out

    def kill(self):
        with contextlib.suppress(Exception):
            self.cmd("kill-server")
        with contextlib.suppress(OSError):
            os.unlink(self.sock + ".conf")


def tmux_pane_dead(tm, target=None):
    """(dead, exit status) of the pane tmux runs (remain-on-exit keeps it after the command ends)."""
    res = tm.cmd("list-panes", "-t", target or tm.name, "-F", "#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}")
    dead, status, sig = ((res.out.splitlines() or [""])[0].split("|") + ["", ""])[:3]
    if dead != "1":
        return False, None
    if sig:
        return True, -int(sig)
    # tmux 3.3a leaves pane_dead_status empty for a zero exit status.
    return True, int(status) if status else 0


# ------------------------------------------------------------------ lifecycle suite additions

def podman_in_dir(ctx, cwd, *args, timeout=60):
    """ctx.podman(*args) run through `env -C cwd`, so podman and the monitor it starts (which inherits
    the working directory) run there: conmon 2.1.6 writes ./oom into it. Returns testlib.Result."""
    os.makedirs(cwd, exist_ok=True)
    argv = ["/usr/bin/env", "-C", cwd] + podman_argv(ctx.store, *args)
    return run(argv, timeout=timeout, env=ctx.store.env(), outdir=ctx.store.outdir)
