# SPDX-License-Identifier: Apache-2.0
"""Drive a monitor binary exactly the way CRI-O v1.32 does (internal/oci/runtime_oci.go),
against runc and the busybox rootfs of the integration suite (whose Ctx, config.json and
cleanup this reuses).

What CRI-O does, and so what this does:
- create: no --api-version (the sync message is `{"pid": N}`); sync and start fds are the
  child ends of socketpair(AF_UNIX, SOCK_STREAM) on fds 3 and 4; own process group; cwd is
  the bundle; environment monitor_env's PATH, CRI_O_EXTERNAL=1, the daemon's PATH,
  _OCI_SYNCPIPE=3, _OCI_STARTPIPE=4 and nothing else; argv `-b -c --exit-dir -l --log-level
  -n -P -p --persist-dir -r --runtime-arg --root=R --socket-dir-path --syslog -u
  [--log-size-max N] [--log-path journald:] [-t | [--leave-stdin-open] -i]`; one 0x00 on the
  start fd, wait for the first process, then one JSON value decoded from the stream;
- start/kill: `runc --root R start|kill ID`;
- ExecSync: sync fd 3 is the write end of a pipe, start fd 4 a stream socketpair, cwd and
  process group the daemon's; argv `-c -n -r -p -e -l TMPLOG --socket-dir-path --log-level
  [--sync] [--log-global-size-max 16M] [-t] [-T S] --exec-process-spec F --runtime-arg --root=R`,
  the two optional flags chosen from the third field of `MONITOR --version`; after the monitor
  exits, `{"exit_code": N, "message": M}` decoded from the pipe and TMPLOG parsed with CRI-O's
  rules (criparse.exec_sync_log);
- attach: ctl opened O_WRONLY, SOCK_SEQPACKET dial of SOCKETDIR/ID/attach, packets read into
  an 8193-byte buffer whose first byte is the stream (2 stdout, 3 stderr), stdin written as
  is and ended by shutdown(SHUT_WR); resize `1 H W\\n` on ctl;
- log reopen: watch the log's directory, write `2 0 0\\n` on ctl, return when the log path is
  created or written;
- exit: the exit file's content is the code, its ctime the finish time.
"""

import contextlib
import ctypes
import json
import os
import secrets
import select
import socket
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import harness  # noqa: E402
import testlib  # noqa: E402
from testlib import TestFailure, check, read_file, spawn, wait_for  # noqa: E402
from criparse import exec_sync_log, parse_semver, semver_gte  # noqa: E402

MONITOR_ENV_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOG_LEVEL = "info"                   # logrus' default level, as CRI-O passes it
MAX_EXEC_SYNC_SIZE = 16 * 1024 * 1024
ATTACH_BUF = 8192 + 1                # conmon's BufSize + the stream byte
TIMED_OUT_MESSAGE = "command timed out"
ATTACH_STDOUT, ATTACH_STDERR = 2, 3


def env_for_monitor():
    """prepareEnv(cmd, true): monitor_env, CRI_O_EXTERNAL, XDG_RUNTIME_DIR and PATH if the daemon
    has them, the two pipe numbers. (Go keeps the last of two PATH= entries.)"""
    env = {"PATH": MONITOR_ENV_PATH, "CRI_O_EXTERNAL": "1"}
    if "XDG_RUNTIME_DIR" in os.environ:
        env["XDG_RUNTIME_DIR"] = os.environ["XDG_RUNTIME_DIR"]
    if "PATH" in os.environ:
        env["PATH"] = os.environ["PATH"]
    env["_OCI_SYNCPIPE"] = "3"
    env["_OCI_STARTPIPE"] = "4"
    env.update(harness.EXTRA_ENV)  # sanitizer settings under --asan-conmon only
    return env


class MonitorVersion:
    """ConmonManager: `--version`'s third field as a semver, and the flags it enables."""

    def __init__(self, monitor, outdir):
        res = testlib.run([monitor, "--version"], outdir=outdir, merge_stderr=True, timeout=10)
        if res.returncode != 0:
            raise TestFailure("%s --version failed: %r" % (monitor, res))
        fields = res.out.split()
        if len(fields) < 3:
            raise TestFailure("conmon version output too short: expected three fields, got %d in %r" %
                              (len(fields), res.out))
        self.text = fields[2]
        self.version = parse_semver(self.text)  # ValueError: CRI-O refuses to start
        self.supports_sync = semver_gte(self.version, 2, 0, 19)
        self.supports_log_global_size_max = semver_gte(self.version, 2, 1, 2)
        if not self.supports_log_global_size_max:
            # CRI-O's fallback for backports: the flag named in --help
            hres = testlib.run([monitor, "--help"], outdir=outdir, merge_stderr=True, timeout=10)
            self.supports_log_global_size_max = hres.returncode == 0 and b"--log-global-size-max" in hres.stdout


def read_json_value(read, timeout, what):
    """One JSON value from a byte stream, as Go's json.NewDecoder(r).Decode: reads until a
    complete value is buffered. Returns (value, raw bytes read); raises TestFailure on EOF or
    timeout, quoting what was read."""
    buf = b""
    dec = json.JSONDecoder()
    deadline = time.monotonic() + timeout
    while True:
        text = buf.decode(errors="replace").lstrip()
        if text:
            try:
                val, _ = dec.raw_decode(text)
                return val, buf
            except ValueError:
                pass
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure("no complete JSON %s within %ss (read %r)" % (what, timeout, buf))
        chunk = read(left)
        if chunk is None:
            continue
        if not chunk:
            raise TestFailure("error reading %s: EOF after %r" % (what, buf))
        buf += chunk


def _reader(fd):
    """read(left) for read_json_value: b"" at EOF, None when nothing came within left seconds."""
    def read(left):
        r, _, _ = select.select([fd], [], [], left)
        return os.read(fd, 65536) if r else None
    return read


class ExecSyncResult:
    """The ExecSyncResponse (stdout, stderr, exit_code) or the error CRI-O returns instead
    (error set, exit_code -1), with what the harness saw on the way."""

    def __init__(self, stdout=b"", stderr=b"", exit_code=0, error=None, sync=None, log=b"", monitor_out=b"",
                 monitor_err=b"", monitor_rc=None):
        self.stdout = stdout
        self.stderr = stderr
        self.exit_code = exit_code
        self.error = error
        self.sync = sync
        self.log = log
        self.monitor_out = monitor_out
        self.monitor_err = monitor_err
        self.monitor_rc = monitor_rc

    def __repr__(self):
        return ("ExecSync(exit_code=%r stdout=%r stderr=%r error=%r sync=%r monitor rc=%r err=%r log=%r)" %
                (self.exit_code, self.stdout[:300], self.stderr[:300], self.error, self.sync, self.monitor_rc,
                 self.monitor_err[-300:], self.log[:400]))


class CrioCtx(harness.Ctx):
    """One test's world (temp dir, runc root, cleanup from harness.Ctx) plus CRI-O's dirs."""

    def __init__(self, suite, name):
        super().__init__(suite, name)
        self.version = suite.version
        # CRI-O dials SOCKETDIR/<64-hex id>/attach by path: keep it under 108 bytes.
        self.socket_dir = os.path.join(self.tmp, "a")
        os.mkdir(self.socket_dir)
        self.persist_root = os.path.join(self.tmp, "p")
        os.mkdir(self.persist_root)
        self.log_root = os.path.join(self.tmp, "pods")
        os.mkdir(self.log_root)

    def container(self, args, terminal=False, stdin=False, stdin_once=False, env=None, config_mutate=None):
        """A container as CRI-O lays it out: bundle dir with config.json, persist dir, log dir."""
        cid = secrets.token_hex(32)
        self.seq += 1
        bdir = os.path.join(self.tmp, "b%d" % self.seq)
        os.mkdir(bdir)
        cfg = harness.make_config(args, self.suite.rootfs, "/ctrtest-" + cid, env=env, terminal=terminal)
        if config_mutate:
            config_mutate(cfg)
        with open(os.path.join(bdir, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1)
        return Container(self, cid, "k8s_c%d_pod_ns_uid_0" % self.seq, bdir, cfg, terminal, stdin, stdin_once)

    def runtime(self, *args, timeout=30):
        """runtimeCmd: `runc --root R ARGS`."""
        return self.runc(*args, timeout=timeout)


class Container:
    def __init__(self, ctx, cid, name, bundle, cfg, terminal, stdin, stdin_once):
        self.ctx = ctx
        self.cid = cid
        self.name = name
        self.bundle = bundle
        self.cfg = cfg
        self.terminal = terminal
        self.stdin = stdin
        self.stdin_once = stdin_once
        self.dir = os.path.join(ctx.persist_root, cid)
        os.mkdir(self.dir)
        logdir = os.path.join(ctx.log_root, name)
        os.mkdir(logdir)
        self.log_path = os.path.join(logdir, "0.log")
        self.conmon_pidfile = os.path.join(bundle, "conmon-pidfile")
        self.pidfile = os.path.join(bundle, "pidfile")
        self.exit_file = os.path.join(ctx.exit_dir, cid)
        self.attach_path = os.path.join(ctx.socket_dir, cid, "attach")
        self.ctl_path = os.path.join(bundle, "ctl")
        self.pid = None
        self.monitor_pid = None
        self.create_proc = None

    # ------------------------------------------------------------ create / start / exit
    def create_args(self, log_size_max=-1, journald=False):
        a = ["-b", self.bundle,
             "-c", self.cid,
             "--exit-dir", self.ctx.exit_dir,
             "-l", self.log_path,
             "--log-level", LOG_LEVEL,
             "-n", self.name,
             "-P", self.conmon_pidfile,
             "-p", self.pidfile,
             "--persist-dir", self.dir,
             "-r", self.ctx.suite.runc,
             "--runtime-arg", "--root=" + self.ctx.state,
             "--socket-dir-path", self.ctx.socket_dir,
             "--syslog",
             "-u", self.cid]
        if log_size_max >= 0:
            a += ["--log-size-max", str(log_size_max)]
        if journald:
            a += ["--log-path", "journald:"]
        if self.terminal:
            a += ["-t"]
        elif self.stdin:
            if not self.stdin_once:
                a += ["--leave-stdin-open"]
            a += ["-i"]
        return a

    def create(self, timeout=15, **kw):
        """CreateContainer. Returns the decoded sync message and its raw bytes; sets self.pid
        when the message says the container was created."""
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        child_start, parent_start = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = env_for_monitor()
        argv = ["/usr/bin/env", "-C", self.bundle, self.ctx.monitor] + self.create_args(**kw)
        self.ctx.containers.append(self.cid)
        try:
            p = spawn(argv, self.ctx.tmp, env=env, fds={3: child.fileno(), 4: child_start.fileno()})
        finally:
            child.close()
            child_start.close()
        self.create_proc = p
        self.ctx.track_monitor(p.pid)
        try:
            parent_start.sendall(b"\0")
            rc = p.wait(timeout)
            if rc != 0:
                raise TestFailure("monitor's first process exited %r: %r" % (rc, p.stderr[-500:]))

            msg, raw = read_json_value(_reader(parent.fileno()), timeout, "container (probably exited) json message")
        finally:
            parent.close()
            parent_start.close()
        self.monitor_pid = self._monitor_pid()
        if isinstance(msg, dict) and isinstance(msg.get("pid"), int) and msg["pid"] > 0:
            self.pid = msg["pid"]
        return msg, raw

    def create_ok(self, **kw):
        msg, raw = self.create(**kw)
        check(self.pid, "container create failed: sync message %r" % raw)
        return self.pid

    def _monitor_pid(self):
        data = wait_for(lambda: read_file(self.conmon_pidfile), 5)
        if not data:
            return None
        pid = int(data)
        r = testlib.reaper()
        if r.exited(pid) and testlib.pid_alive(pid):
            r.forget(pid)
        self.ctx.track_monitor(pid)
        return pid

    def start(self):
        res = self.ctx.runtime("start", self.cid)
        if res.returncode != 0:
            raise TestFailure("runc start failed: %r" % res)

    def kill(self, sig):
        return self.ctx.runtime("kill", self.cid, str(sig))

    def wait_exit(self, timeout=15):
        """(code, finished) from the exit file: its content parsed as CRI-O does, its ctime."""
        data = wait_for(lambda: read_file(self.exit_file), timeout)
        if data is None:
            raise TestFailure("exit file not written within %ss" % timeout)
        st = os.stat(self.exit_file)
        try:
            code = int(data.decode())
        except ValueError:
            raise TestFailure("status code conversion failed: exit file holds %r" % data)
        return code, st.st_ctime_ns

    def wait_monitor(self, timeout=15):
        check(self.monitor_pid, "no monitor pid in %s" % self.conmon_pidfile)
        st = testlib.reaper().wait(self.monitor_pid, timeout)
        if st is None:
            raise TestFailure("monitor %d still running after %ss" % (self.monitor_pid, timeout))
        return testlib.decode_status(st)

    # ------------------------------------------------------------ ExecSync
    def exec_sync(self, command, timeout=0, wait=30):
        """ExecSyncContainer, step by step."""
        ctx = self.ctx
        fd, pidfile = _mkstemp(ctx.tmp, "pidfile")
        os.close(fd)
        fd, log_path = _mkstemp(ctx.tmp, "crio-log-" + self.cid)
        os.close(fd)
        pspec = dict(self.cfg["process"])
        pspec["args"] = list(command)
        pspec["terminal"] = bool(self.terminal)
        fd, process_file = _mkstemp(ctx.tmp, "exec-process-")
        os.close(fd)
        with open(process_file, "w") as f:
            json.dump(pspec, f)
        os.chmod(process_file, 0o644)
        args = ["-c", self.cid, "-n", self.name, "-r", ctx.suite.runc, "-p", pidfile, "-e", "-l", log_path,
                "--socket-dir-path", ctx.socket_dir, "--log-level", LOG_LEVEL]
        if ctx.version.supports_sync:
            args += ["--sync"]
        if ctx.version.supports_log_global_size_max:
            args += ["--log-global-size-max", str(MAX_EXEC_SYNC_SIZE)]
        if self.terminal:
            args += ["-t"]
        if timeout > 0:
            args += ["-T", str(timeout)]
        args += ["--exec-process-spec", process_file, "--runtime-arg", "--root=" + ctx.state]

        parent_r, child_w = os.pipe2(os.O_CLOEXEC)
        child_start, parent_start = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                p = spawn([ctx.monitor] + args, ctx.tmp, env=env_for_monitor(),
                          fds={3: child_w, 4: child_start.fileno()}, setpgid=False)
            finally:
                os.close(child_w)
                child_start.close()
            ctx.track_monitor(p.pid)
            parent_start.sendall(b"\0")
            rc = p.wait(wait)
            res = ExecSyncResult(monitor_out=p.stdout, monitor_err=p.stderr, monitor_rc=rc)
            try:
                ec, raw = read_json_value(_reader(parent_r), 5, "exit code message")
                res.sync = raw
            except TestFailure as e:
                ec, res.error = None, "decode: %s" % e
            if isinstance(ec, dict) and ec.get("exit_code") == -1 and ec.get("message") == TIMED_OUT_MESSAGE:
                res.stderr, res.exit_code = TIMED_OUT_MESSAGE.encode(), -1
                return res
            if ec is None:
                res.exit_code = -1
                return res
            if not isinstance(ec, dict) or not isinstance(ec.get("exit_code"), int):
                res.error, res.exit_code = "cannot decode %r" % ec, -1
                return res
            if ec["exit_code"] == -1:
                res.error, res.exit_code = ec.get("message", ""), -1
                return res
            res.exit_code = ec["exit_code"]
            size = os.stat(log_path).st_size
            if size > MAX_EXEC_SYNC_SIZE:
                os.truncate(log_path, MAX_EXEC_SYNC_SIZE)
            res.log = read_file(log_path)
            res.stdout, res.stderr = exec_sync_log(res.log)
            return res
        finally:
            os.close(parent_r)
            parent_start.close()
            for path in (pidfile, log_path, process_file):
                with contextlib.suppress(OSError):
                    os.unlink(path)

    # ------------------------------------------------------------ attach / ctl
    def open_ctl(self):
        """os.OpenFile(ctl, O_WRONLY): blocks until the monitor has it open for reading."""
        check(os.path.exists(self.ctl_path), "no ctl FIFO at %s" % self.ctl_path)
        return os.open(self.ctl_path, os.O_WRONLY | os.O_CLOEXEC)

    def attach(self):
        """AttachContainer's connection: ctl fd (kept for resizes) and the attach socket."""
        ctl = self.open_ctl()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            sock.connect(self.attach_path)
        except OSError as e:
            sock.close()
            os.close(ctl)
            raise TestFailure("failed to connect to container attach socket %s: %s" % (self.attach_path, e))
        return Attach(self, sock, ctl)

    def reopen_log(self, timeout=10):
        """ReopenContainerLog: watch the log's dir, `2 0 0` on ctl, wait for a Create or Write
        of the log path."""
        ctl = self.open_ctl()
        try:
            with Inotify(os.path.dirname(self.log_path)) as w:
                msg = b"2 0 0\n"
                check(os.write(ctl, msg) == len(msg), "short ctl write")
                name = os.path.basename(self.log_path)
                ev = w.wait(lambda mask, n: n == name and mask & (IN_CREATE | IN_MOVED_TO | IN_MODIFY), timeout)
                check(ev, "log %s neither created nor written within %ss of `2 0 0`" % (self.log_path, timeout))
        finally:
            os.close(ctl)


class Attach:
    def __init__(self, ctr, sock, ctl):
        self.ctr = ctr
        self.sock = sock
        self.ctl = ctl
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.eof = False
        self.unknown = []
        ctr.ctx.fds.append(ctl)

    def resize(self, height, width):
        msg = b"%d %d %d\n" % (1, height, width)
        check(os.write(self.ctl, msg) == len(msg), "short ctl write")

    def send(self, data):
        """CopyDetachable's writes: one packet per chunk read from the client (up to 32 KiB)."""
        for i in range(0, len(data), 32 * 1024):
            self.sock.sendall(data[i:i + 32 * 1024])

    def close_write(self):
        self.sock.shutdown(socket.SHUT_WR)

    def pump(self, until=None, timeout=10):
        """redirectResponseToOutputStreams until until(self) is true, EOF or timeout."""
        deadline = time.monotonic() + timeout
        while not self.eof and not (until and until(self)):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            try:
                pkt = self.sock.recv(ATTACH_BUF)
            except ConnectionResetError:
                pkt = b""
            if not pkt:
                self.eof = True
                break
            if pkt[0] == ATTACH_STDOUT:
                self.stdout += pkt[1:]
            elif pkt[0] == ATTACH_STDERR:
                self.stderr += pkt[1:]
            else:
                self.unknown.append(pkt[:16])
        return bool(until is None or until(self))

    def close(self):
        self.sock.close()


def _mkstemp(dirpath, prefix):
    """os.CreateTemp(dir, prefix): a new empty 0600 file."""
    return tempfile.mkstemp(dir=dirpath, prefix=prefix)


# -------------------------------------------------------------------- inotify (fsnotify's view)

IN_MODIFY, IN_ATTRIB, IN_MOVED_FROM, IN_MOVED_TO = 0x2, 0x4, 0x40, 0x80
IN_CREATE, IN_DELETE, IN_DELETE_SELF, IN_MOVE_SELF = 0x100, 0x200, 0x400, 0x800
FSNOTIFY_MASK = (IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_ATTRIB | IN_MODIFY | IN_MOVE_SELF | IN_DELETE |
                 IN_DELETE_SELF)
_EVENT = struct.Struct("iIII")


class Inotify:
    def __init__(self, path):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if self.libc.inotify_add_watch(self.fd, path.encode(), FSNOTIFY_MASK) < 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, "inotify_add_watch %s" % path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.close(self.fd)

    def wait(self, pred, timeout):
        """First event (mask, name) with pred(mask, name) true, or None after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                continue
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            off = 0
            while off + _EVENT.size <= len(data):
                _, mask, _, nlen = _EVENT.unpack_from(data, off)
                name = data[off + _EVENT.size:off + _EVENT.size + nlen].rstrip(b"\0").decode(errors="replace")
                off += _EVENT.size + nlen
                if pred(mask, name):
                    return mask, name


@contextlib.contextmanager
def ctx_for(suite, name):
    c = CrioCtx(suite, name)
    try:
        yield c
    finally:
        c.cleanup()
