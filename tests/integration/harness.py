# SPDX-License-Identifier: Apache-2.0
"""Run a monitor binary exactly the way podman 4.3.1 does, against runc and a busybox rootfs.

The monitor is a parameter: the same cases run against ours and the reference
(/usr/bin/conmon). Podman's way (docs/protocol.md: Command line, Lifecycle, Environment fds):
fd 3 = one end of socketpair(AF_UNIX, SOCK_SEQPACKET) (_OCI_SYNCPIPE=3),
fd 4 = read end of a pipe (_OCI_STARTPIPE=4), own process group, argv in podman's
order, one 0x00 byte on the start pipe, wait for the first process, read the sync
message, then `runc start`.
"""

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))
import testlib  # noqa: E402
from testlib import TestFailure, check, read_file, run, spawn, wait_for  # noqa: E402

RUNC = "/usr/sbin/runc"

# Sanitizer settings from tests/run.py --asan-conmon reach the monitors MonitorRun starts
# (whose environment is otherwise podman's minimal one).
EXTRA_ENV = {k: v for k, v in os.environ.items() if k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")}


def find_runc():
    for p in (RUNC, "/usr/bin/runc", "/usr/local/sbin/runc", "/usr/local/bin/runc"):
        if os.access(p, os.X_OK):
            return p
    return shutil.which("runc")


def need_runc(opts):
    """For testlib.suite_main: every case fails without runc."""
    return None if find_runc() else ("FAIL", "runc not found")


DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
                "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
                "CAP_MKNOD", "CAP_AUDIT_WRITE"]


def make_config(args, rootfs, cgroups_path, env=None, terminal=False, hostname="ctr", readonly=True):
    """A runc config.json for the shared (read-only) busybox rootfs; /tmp and /run are tmpfs."""
    caps = list(DEFAULT_CAPS)
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": terminal,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/helpers",
                    "HOME=/root", "TERM=xterm"] + list(env or []),
            "cwd": "/",
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted", "inheritable")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": readonly},
        "hostname": hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]},
            {"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=755"]},
        ],
        "linux": {
            "cgroupsPath": cgroups_path,
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
            "maskedPaths": ["/proc/kcore", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                            "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                              "/proc/sysrq-trigger"],
        },
    }


class Suite:
    """Per-suite settings: which monitor, where the rootfs and temp files live."""

    def __init__(self, monitor, label, is_reference, rootfs, base):
        self.monitor = monitor
        self.label = label
        self.is_reference = is_reference
        self.rootfs = rootfs
        self.base = base
        self.runc = find_runc()
        self.counter = 0


class Ctx:
    """One test's world: its temp dir, private runc root, containers and monitors, all cleaned up."""

    def __init__(self, suite, name):
        self.suite = suite
        self.name = name
        self.monitor = suite.monitor
        self.is_reference = suite.is_reference
        self.tmp = tempfile.mkdtemp(prefix="t", dir=suite.base)
        self.state = os.path.join(self.tmp, "state")
        os.mkdir(self.state)
        self.exit_dir = os.path.join(self.tmp, "exits")
        os.mkdir(self.exit_dir)
        self.containers = []
        self.monitor_pids = []
        self.fds = []
        self.seq = 0

    # -- building blocks
    def new_cid(self):
        self.seq += 1
        raw = "%s-%s-%d-%d" % (self.suite.label, self.name, os.getpid(), self.seq)
        raw = "".join(c if c.isalnum() or c in "-_" else "-" for c in raw)
        return ("ct-" + raw)[:60]

    def bundle(self, args, env=None, config_mutate=None):
        cid = self.new_cid()
        bdir = os.path.join(self.tmp, "b%d" % self.seq)
        os.mkdir(bdir)
        cfg = make_config(args, self.suite.rootfs, "/ctrtest-" + cid, env=env)
        if config_mutate:
            config_mutate(cfg)
        with open(os.path.join(bdir, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1)
        return Bundle(self, cid, bdir)

    def runc(self, *args, timeout=30):
        return run([self.suite.runc, "--root", self.state] + list(args), timeout=timeout, outdir=self.tmp)

    def run_monitor(self, argv, timeout=10, fds=None, env=None):
        """Run the monitor binary with given args (CLI checks); returns testlib.Result."""
        return run([self.monitor] + list(argv), timeout=timeout, outdir=self.tmp, fds=fds, env=env)

    def track_monitor(self, pid):
        if pid and pid not in self.monitor_pids:
            self.monitor_pids.append(pid)

    def cleanup(self):
        for cid in self.containers:
            with contextlib.suppress(Exception):
                self.runc("delete", "-f", cid, timeout=20)
        r = testlib.reaper()
        for pid in self.monitor_pids:
            # Only pids still ours: an unreaped child of this subreaper cannot be a reused pid.
            if not r.exited(pid) and testlib.ppid_of(pid) == os.getpid():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                r.wait(pid, 5)
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        for cid in self.containers:
            cg = "ctrtest-" + cid
            for ctrl in os.listdir("/sys/fs/cgroup"):
                p = os.path.join("/sys/fs/cgroup", ctrl, cg)
                if os.path.isdir(p):
                    with contextlib.suppress(OSError):
                        os.rmdir(p)
        shutil.rmtree(self.tmp, ignore_errors=True)


class Bundle:
    def __init__(self, ctx, cid, path):
        self.ctx = ctx
        self.cid = cid
        self.path = path
        self.pidfile = os.path.join(path, "pidfile")
        self.conmon_pidfile = os.path.join(path, "conmon.pid")
        self.log = os.path.join(path, "ctr.log")
        self.oci_log = os.path.join(path, "oci-log")
        self.exit_file = os.path.join(ctx.exit_dir, cid)

    def args(self, api=True, log=None, log_level="warning", oci_log=True, conmon_pidfile=True,
             exit_dir=True, extra=(), tail=()):
        """Monitor argv (without the binary) in podman 4.3.1's order (§1.7)."""
        a = []
        if api:
            a += ["--api-version", "1"]
        a += ["-c", self.cid, "-u", self.cid, "-r", self.ctx.suite.runc, "-b", self.path, "-p", self.pidfile,
              "-n", self.cid]
        if exit_dir:
            a += ["--exit-dir", self.ctx.exit_dir]
        a += ["--full-attach", "--runtime-arg", "--root", "--runtime-arg", self.ctx.state]
        a += ["-l", log if log is not None else "k8s-file:" + self.log]
        if log_level:
            a += ["--log-level", log_level]
        if oci_log:
            a += ["--runtime-arg", "--log-format=json", "--runtime-arg", "--log", "--runtime-arg=" + self.oci_log]
        a += list(extra)
        if conmon_pidfile:
            a += ["--conmon-pidfile", self.conmon_pidfile]
        a += list(tail)
        return a

    def start(self, args=None, extra_fds=None, env_extra=None, send_start=True, prog=None, fd_base=3,
              stdio_fds=None, **kw):
        """Spawn the monitor the way podman does; returns a MonitorRun.
        prog replaces the monitor binary (e.g. strace, with the monitor in args); fd_base is where
        the sync pipe goes (podman: 3 + number of preserved fds); stdio_fds=(out, err) replaces the
        files that catch the monitor's stdout/stderr."""
        if args is None:
            args = self.args(**kw)
        m = MonitorRun(self, args, extra_fds or {}, env_extra or {}, prog or self.ctx.monitor, fd_base, stdio_fds)
        if send_start:
            m.send_start()
        return m


class MonitorRun:
    def __init__(self, bundle, args, extra_fds, env_extra, prog, fd_base=3, stdio_fds=None):
        self.bundle = bundle
        self.ctx = bundle.ctx
        self.args = args
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sync = ours
        rd, wr = os.pipe()
        self.start_w = wr
        self.ctx.fds.append(wr)
        env = {"PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
               "HOME": "/root", "_OCI_SYNCPIPE": str(fd_base), "_OCI_STARTPIPE": str(fd_base + 1)}
        env.update(EXTRA_ENV)
        env.update(env_extra)
        fds = dict(extra_fds)
        fds.update({fd_base: theirs.fileno(), fd_base + 1: rd})
        self.ctx.containers.append(bundle.cid)
        try:
            self.proc = spawn([prog] + list(args), self.ctx.tmp, env=env, fds=fds, stdio_fds=stdio_fds)
        finally:
            theirs.close()
            os.close(rd)
        self.ctx.track_monitor(self.proc.pid)
        self.monitor_pid = None

    def send_start(self):
        os.write(self.start_w, b"\0")

    def wait_parent(self, timeout=10):
        """Wait for the first process (podman's cmd.Wait()); returns its Popen-style code."""
        return self.proc.wait(timeout)

    def read_sync(self, timeout=15):
        """One SEQPACKET message exactly as sent, or b'' on EOF; TestFailure on timeout."""
        r, _, _ = select.select([self.sync], [], [], timeout)
        if not r:
            raise TestFailure("no sync message within %ss (monitor stderr: %r)" % (timeout, self.proc.stderr[-500:]))
        return self.sync.recv(65536)

    def sync_json(self, timeout=15):
        raw = self.read_sync(timeout)
        check(raw.endswith(b"\n"), "sync message %r does not end with a newline" % raw)
        try:
            return raw, json.loads(raw)
        except ValueError as e:
            raise TestFailure("sync message %r is not JSON: %s" % (raw, e))

    def get_monitor_pid(self, timeout=5):
        """pid from --conmon-pidfile; the daemon is our child because we are a subreaper."""
        if self.monitor_pid is None:
            data = wait_for(lambda: read_file(self.bundle.conmon_pidfile), timeout)
            check(data, "conmon pidfile %s not written" % self.bundle.conmon_pidfile)
            self.monitor_pid = int(data)
            r = testlib.reaper()
            # A status recorded for an older process with the same pid must not be taken for ours.
            if r.exited(self.monitor_pid) and testlib.pid_alive(self.monitor_pid):
                r.forget(self.monitor_pid)
            self.ctx.track_monitor(self.monitor_pid)
        return self.monitor_pid

    def create(self, timeout=15):
        """Full create handshake; returns the container pid from the sync message."""
        rc = self.wait_parent(timeout)
        raw, msg = self.sync_json(timeout)
        if rc != 0:
            raise TestFailure("monitor parent exited %r, stderr %r" % (rc, self.proc.stderr[-500:]))
        check(isinstance(msg.get("data"), int) and msg["data"] > 0, "create failed: sync message %r, oci-log %r" %
              (raw, read_file(self.bundle.oci_log)))
        return msg["data"]

    def runc_start(self):
        res = self.ctx.runc("start", self.bundle.cid)
        if res.returncode != 0:
            raise TestFailure("runc start failed: %r" % res)

    def wait_exit_file(self, timeout=15, path=None):
        path = path or self.bundle.exit_file
        data = wait_for(lambda: read_file(path), timeout)
        if data is None:
            raise TestFailure("exit file %s not written within %ss (monitor stderr %r)" %
                              (path, timeout, self.proc.stderr[-500:]))
        return data

    def wait_monitor(self, timeout=15):
        """Return code of the long-lived monitor (reaped by us, the subreaper)."""
        pid = self.get_monitor_pid()
        st = testlib.reaper().wait(pid, timeout)
        if st is None:
            raise TestFailure("monitor %d still running after %ss" % (pid, timeout))
        return testlib.decode_status(st)

    def run_to_exit(self, timeout=15):
        """create + start + wait for the exit file; returns the exit file bytes."""
        self.create()
        self.runc_start()
        return self.wait_exit_file(timeout)


@contextlib.contextmanager
def ctx_for(suite, name):
    c = Ctx(suite, name)
    try:
        yield c
    finally:
        c.cleanup()


# ------------------------------------------------------------------ interactive I/O helpers

def attach_connect(dirpath, name="attach", timeout=5):
    """Connect a SEQPACKET client to dirpath/name the way podman does (O_PATH on the socket's
    directory, dial /proc/self/fd/N/name); retried until the socket exists."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    dfd = os.open(dirpath, os.O_PATH | os.O_CLOEXEC)
    try:
        target = "/proc/self/fd/%d/%s" % (dfd, name)
        last = [None]

        def attempt():
            try:
                sock.connect(target)
                return True
            except OSError as e:
                last[0] = e
                return False
        if not wait_for(attempt, timeout, interval=0.05):
            sock.close()
            raise TestFailure("cannot connect to %s/%s: %s" % (dirpath, name, last[0]))
    finally:
        os.close(dfd)
    return sock


def recv_packets(sock, until=None, timeout=10):
    """Read SEQPACKET messages until until(packets) is true, EOF, or timeout.
    Returns (packets, eof)."""
    pkts = []
    deadline = time.monotonic() + timeout
    while not (until and until(pkts)):
        left = deadline - time.monotonic()
        if left <= 0:
            return pkts, False
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            continue
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return pkts, True
        if not data:
            return pkts, True
        pkts.append(data)
    return pkts, False


def started(ctx, args, extra=(), terminal=False, config_mutate=None, **kw):
    """Create the container (the monitor with extra args and kw for Bundle.start); no runc start yet."""
    def mut(cfg):
        cfg["process"]["terminal"] = terminal
        if config_mutate:
            config_mutate(cfg)
    b = ctx.bundle(args, config_mutate=mut)
    m = b.start(extra=list(extra), **kw)
    m.create()
    return b, m


def attach_read(b, m, delay=0, batch=None, pause=0, read_timeout=10, deadline=None):
    """An attach client around the container's start, as podman has one: connect to bundle b's
    attach socket, `runc start` through monitor m, wait delay s, then read until EOF. Without batch,
    reads for up to read_timeout s; with batch, as a slow reader: batch packets at a time (each
    read_timeout s at most), pausing pause s after each. Reading stops after deadline s (default
    read_timeout). Returns (packets, eof)."""
    c = attach_connect(b.path)
    try:
        m.runc_start()
        time.sleep(delay)
        end = time.monotonic() + (deadline or read_timeout)
        until = (lambda p: len(p) >= batch) if batch else None
        pkts, eof = [], False
        while not eof and time.monotonic() < end:
            got, eof = recv_packets(c, until=until, timeout=read_timeout)
            pkts += got
            time.sleep(pause)
        return pkts, eof
    finally:
        c.close()


def payload_bytes(pkts):
    """Payload bytes of attach packets (each less its stream id byte)."""
    return sum(len(p) - 1 for p in pkts)


def ctl_write(bundle_dir, text, name="ctl"):
    """One write of text to the bundle's ctl FIFO, opened as podman does (O_WRONLY|O_NONBLOCK)."""
    data = text.encode() if isinstance(text, str) else text
    fd = wait_for(lambda: _open_fifo(os.path.join(bundle_dir, name)), 5, interval=0.05)
    check(fd, "cannot open %s/%s for writing" % (bundle_dir, name))
    try:
        check(os.write(fd, data) == len(data), "short write to %s" % name)
    finally:
        os.close(fd)


def _open_fifo(path):
    try:
        return os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
