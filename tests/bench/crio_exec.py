# SPDX-License-Identifier: Apache-2.0
"""The monitor's exec path as CRI-O's ExecSyncContainer drives it (a Kubernetes exec probe).

argv, fds and environment as internal/oci/runtime_oci.go builds them: `-c -n -r -p -e -l TMPLOG
--socket-dir-path --log-level --sync --log-global-size-max --exec-process-spec F --runtime-arg
--root=R`, sync and start pipes as fds 3 and 4, CRI_O_EXTERNAL=1; the start byte is written, the
monitor is waited for and the exit status read from the sync pipe. The monitor's own CPU time is
read from its zombie (/proc/PID/schedstat, nanoseconds) before it is reaped, so the runtime it ran
is not counted; the monitor is started with posix_spawn, a vfork as Go's os/exec starts it for CRI-O,
so no forked copy of this Python process is counted either (a fork cost each monitor ~1.3 ms before
its exec). Wall is spawn until the monitor exited, what CRI-O waits for.
"""
import fcntl
import json
import os
import shutil
import signal
import tempfile
import time

MAX_EXEC_SYNC_SIZE = 16 << 20  # CRI-O's maxExecSyncSize


def _own_cpu(pid):
    """Seconds on CPU of a process that exited but is not reaped yet (not its children)."""
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0]) / 1e9


class Container:
    """A running container under one monitor and the process file CRI-O would write for it."""

    def __init__(self, run, args):
        self.run = run
        with open(os.path.join(run.tmp, "config.json")) as f:
            spec = json.load(f)["process"]
        spec["args"] = list(args)
        spec["terminal"] = False
        self.process = os.path.join(run.tmp, "exec-process")
        with open(self.process, "w") as f:
            json.dump(spec, f)
        self.sockets = os.path.join(run.tmp, "sockets")
        os.mkdir(self.sockets)


def exec_sync(monitor, ctr):
    """One ExecSync; returns (wall, monitor CPU) in seconds."""
    r = ctr.run
    pidfile = tempfile.NamedTemporaryFile(prefix="pidfile", dir=r.tmp, delete=False).name
    logfile = tempfile.NamedTemporaryFile(prefix="crio-log-", dir=r.tmp, delete=False).name
    argv = [monitor, "-c", r.cid, "-n", "k8s_bench_" + r.cid, "-r", shutil.which("runc"), "-p", pidfile, "-e",
            "-l", logfile, "--socket-dir-path", ctr.sockets, "--log-level", "info", "--sync",
            "--log-global-size-max", str(MAX_EXEC_SYNC_SIZE), "--exec-process-spec", ctr.process,
            "--runtime-arg", "--root=" + r.state]
    env = {"CRI_O_EXTERNAL": "1", "PATH": os.environ["PATH"], "_OCI_SYNCPIPE": "3", "_OCI_STARTPIPE": "4"}
    parent_sync, child_sync = os.pipe()
    child_start, parent_start = os.pipe()
    out_r, out_w = os.pipe()
    # Above 4 first (close-on-exec, like every fd Python makes), so that placing one cannot overwrite the
    # other and each dup2 onto 3 and 4 gives the monitor an inheritable copy.
    ends = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (child_sync, child_start, out_w)]
    for fd in (child_sync, child_start, out_w):
        os.close(fd)
    actions = [(os.POSIX_SPAWN_DUP2, ends[0], 3), (os.POSIX_SPAWN_DUP2, ends[1], 4),
               (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
               (os.POSIX_SPAWN_DUP2, ends[2], 1), (os.POSIX_SPAWN_DUP2, ends[2], 2)]
    t0 = time.monotonic()
    pid = None
    try:
        pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
    finally:
        for fd in ends:
            os.close(fd)
        if pid is None:
            for fd in (parent_sync, parent_start, out_r):
                os.close(fd)
    reaped = False
    try:
        os.write(parent_start, b"\0")
        os.close(parent_start)
        parent_start = -1
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        wall = time.monotonic() - t0
        cpu = _own_cpu(pid)
        _, wstatus = os.waitpid(pid, 0)
        reaped = True
        rc = os.waitstatus_to_exitcode(wstatus)
        err = b""
        while True:
            chunk = os.read(out_r, 65536)
            if not chunk:
                break
            err += chunk
        msg = os.read(parent_sync, 4096)
    finally:
        if parent_start >= 0:
            os.close(parent_start)
        os.close(parent_sync)
        os.close(out_r)
        if not reaped:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        for path in (pidfile, logfile):
            if os.path.exists(path):
                os.unlink(path)
    try:
        # Without --api-version the status is the last JSON object on the pipe.
        status = json.loads(msg.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        status = None
    if rc != 0 or not status or status.get("exit_code") != 0:
        raise RuntimeError("exec through %s failed: rc %s, sync %r, output %r" % (monitor, rc, msg, err))
    return wall, cpu
