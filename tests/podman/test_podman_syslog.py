# SPDX-License-Identifier: Apache-2.0
"""The monitor's own messages in syslog, the way an operator sees them (issue: warning noise).

podman 4.3.1 passes --syslog to the monitor at `--log-level debug` (podman 5 always does). The
monitor's syslog(3) lines go to /dev/log, where these tests put their own datagram socket for the
session (under a lock: there is one /dev/log per machine); whatever was there before (journald's
link, a socket) is moved aside and put back. A session where nothing goes wrong must log no
warning or error; one whose log file runs out of space must, naming the container. Each prints
its count, so the reference's stands beside ours in the output.
"""

import contextlib
import fcntl
import os
import re
import socket
import stat
import threading

import time

import pmharness
from testlib import Registry, TestFailure, check, read_file, run, wait_for

reg = Registry()
test = reg.test

DEVLOG = "/dev/log"
SAVED = "/dev/.log.ctr-test-saved"
LOCK = "/run/ctr-test-devlog.lock"
# "<PRI>Mmm dd hh:mm:ss IDENT[PID]: text" as glibc's syslog(3) sends it.
LINE_RE = re.compile(r"^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d ([^\[:\s]+)(?:\[\d+\])?: (.*)$", re.S)
# conmon sends its warnings at LOG_INFO, marked in the text; ours use the syslog priority.
REF_BAD_RE = re.compile(r" <(?:nwarn|pwarn|pwarnf|error)>: ")


class SyslogCapture:
    """Our socket at /dev/log while the context lasts; .lines() = (priority, ident, text)."""

    def __init__(self):
        self.raw = []
        self.sock = None
        self.thread = None

    def __enter__(self):
        self.lock = open(LOCK, "w")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        try:
            # A run that died holding /dev/log left what it found in SAVED: put that back first.
            if os.path.lexists(SAVED):
                with contextlib.suppress(FileNotFoundError):
                    if stat.S_ISSOCK(os.lstat(DEVLOG).st_mode):
                        os.unlink(DEVLOG)
                if not os.path.lexists(DEVLOG):
                    os.rename(SAVED, DEVLOG)
            self.had = os.path.lexists(DEVLOG)
            if self.had:
                os.rename(DEVLOG, SAVED)
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            self.sock.bind(DEVLOG)
            os.chmod(DEVLOG, 0o666)
            self.thread = threading.Thread(target=self._read, daemon=True)
            self.thread.start()
        except BaseException:
            self._restore()
            raise
        return self

    def _read(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.raw.append(data.decode(errors="replace"))

    def _restore(self):
        if self.sock is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(DEVLOG)
            self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
            if self.thread:
                self.thread.join(5)
        if getattr(self, "had", False) and not os.path.lexists(DEVLOG):
            os.rename(SAVED, DEVLOG)
        self.lock.close()

    def __exit__(self, *exc):
        self._restore()
        return False

    def lines(self):
        out = []
        for raw in list(self.raw):
            m = LINE_RE.match(raw)
            if m:
                out.append((int(m.group(1)) & 7, m.group(2), m.group(3).rstrip("\n")))
        return out


def monitor_lines(cap, cids):
    """Lines the monitor logged for these containers (conmon's exit command, podman, logs too)."""
    prefixes = [c[:20] for c in cids]
    return [(pri, text) for pri, ident, text in cap.lines()
            if ident == "conmon" and any(p in text for p in prefixes)]


def bad(lines):
    """Warning or worse: by priority (ours) or by conmon's marker (it sends warnings at LOG_INFO)."""
    return [text for pri, text in lines if pri <= 4 or REF_BAD_RE.search(text)]


def note(ctx, what, lines):
    warnings = bad(lines)
    print("syslog %s [%s]: %d warning/error lines of %d from the monitor%s" % (
        what, ctx.store.label, len(warnings), len(lines),
        "; first: %s" % warnings[0][:200] if warnings else ""), flush=True)


def monitors_running(ctx, cids):
    """Monitor processes (the store's --conmon binary) still running for these containers."""
    exe = os.path.realpath(ctx.store.monitor)
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if os.readlink("/proc/%s/exe" % pid) != exe:
                continue
        argv = (read_file("/proc/%s/cmdline" % pid) or b"").split(b"\0")
        if any(c.encode() in argv for c in cids):
            found.append(int(pid))
    return found


def cidfile(ctx, name):
    return os.path.join(ctx.store.base, name + ".cid")


def read_cid(ctx, name):
    with open(cidfile(ctx, name)) as f:
        return f.read().strip()


def dbg(ctx, *args, **kw):
    return ctx.podman_ok("--log-level", "debug", *args, **kw)


@test(upstream="2.1.8")
def test_syslog_quiet_session(ctx):
    """run -d, exec (plain, with input), attach and a detaching client, run --rm, stop, rm: no warning.
    2.1.6 logs an error for every exec whose engine closed the sync pipe; 2.1.8+ closes it quietly."""
    main, once, piped = ctx.name(), ctx.name(), ctx.name()
    with SyslogCapture() as cap:
        dbg(ctx, "run", "-d", "--name", main, "--cidfile", cidfile(ctx, main), *ctx.run_args(),
            "sh", "-c", "echo started; exec sleep 100")
        for _ in range(5):
            dbg(ctx, "exec", main, "true")
        res = pmharness.podman_input(ctx.store, b"to-cat\n", "--log-level", "debug", "exec", "-i", main, "cat")
        check(res.returncode == 0 and "to-cat" in res.out, "exec -i cat: %r" % res)
        # A client that goes away without a word: podman attach, killed.
        p = pmharness.podman_spawn(ctx.store, "--log-level", "debug", "attach", "--no-stdin", main)
        time.sleep(1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, 9)
        p.wait(10)
        res = dbg(ctx, "run", "--rm", "--name", once, "--cidfile", cidfile(ctx, once), *ctx.run_args(), "echo", "hi")
        check(res.out == "hi\n", "run --rm echo: %r" % res)
        res = pmharness.podman_input(ctx.store, b"piped\n", "--log-level", "debug", "run", "-i", "--rm",
                                     "--name", piped, "--cidfile", cidfile(ctx, piped), *ctx.run_args(), "cat")
        check(res.returncode == 0 and res.out == "piped\n", "run -i --rm cat: %r" % res)
        dbg(ctx, "stop", "-t", "0", main)
        dbg(ctx, "rm", main)
        cids = [read_cid(ctx, n) for n in (main, once, piped)]
        # An exec's monitor reports its exit status after podman exec returned: wait for them all.
        check(wait_for(lambda: not monitors_running(ctx, cids), 20), "monitors still running")
        lines = monitor_lines(cap, cids)
    note(ctx, "quiet session", lines)
    for c in cids:
        check(any(c[:20] in t for _, t in lines), "no syslog line from the monitor of %s (was --syslog passed?)" % c)
    warnings = bad(lines)
    if warnings:
        raise TestFailure("%d warning/error lines in a session where nothing went wrong: %s" % (
            len(warnings), " | ".join(warnings[:4])))


@test(upstream="2.2.1")
def test_syslog_exec_failure_is_a_warning(ctx):
    """podman exec of a command the runtime cannot start: the exec's monitor says why as a warning, not
    an error (conmon 2.2.1 warns; 2.1.6 logs an error), and podman still hears why."""
    name = ctx.name()
    with SyslogCapture() as cap:
        dbg(ctx, "run", "-d", "--name", name, "--cidfile", cidfile(ctx, name), *ctx.run_args(), "sleep", "100")
        cid = read_cid(ctx, name)
        res = ctx.podman("--log-level", "debug", "exec", name, "/no/such/cmd")
        dbg(ctx, "rm", "-f", "-t", "0", name)
        check(wait_for(lambda: not monitors_running(ctx, [cid]), 20), "monitors still running")
        lines = monitor_lines(cap, [cid])
    note(ctx, "failed exec", lines)
    check(res.returncode != 0 and "/no/such/cmd" in res.err, "podman exec of a missing command: %r" % res)
    errors = [t for pri, t in lines if pri <= 3 or " <error>: " in t]
    check(not errors, "error lines for a failed exec: %s" % " | ".join(errors[:4]))
    check(any("/no/such/cmd" in t for t in bad(lines)), "no warning naming the command: %r" % lines[-6:])


@test(improvement="on a full disk conmon 2.1.6 warns for every record (hundreds of 'failed to flush "
                  "buffer to log' lines) and never says why; ours warns once, with the cause")
def test_syslog_log_enospc(ctx):
    """The container log's filesystem fills up: a warning that names the container and the cause."""
    full = os.path.join(ctx.store.base, "full")
    os.makedirs(full, exist_ok=True)
    res = run(["mount", "-t", "tmpfs", "-o", "size=16k,mode=0755", "tmpfs", full], timeout=20)
    check(res.returncode == 0, "mounting a small tmpfs: %r" % res)
    name = ctx.name()
    try:
        with SyslogCapture() as cap:
            script = ("i=0; while [ $i -lt 2000 ]; do echo line-$i-of-output-for-a-full-disk; "
                      "i=$((i+1)); done")
            dbg(ctx, "run", "--name", name, "--cidfile", cidfile(ctx, name), "--log-driver", "k8s-file",
                "--log-opt", "path=%s" % os.path.join(full, "ctr.log"), *ctx.run_args(), "sh", "-c", script,
                timeout=60)
            cid = read_cid(ctx, name)
            dbg(ctx, "rm", name)
            check(wait_for(lambda: not monitors_running(ctx, [cid]), 20), "monitor still running")
            lines = monitor_lines(cap, [cid])
    finally:
        ctx.podman("rm", "-f", "-t", "0", name)
        res = run(["umount", full], timeout=20)
        if res.returncode != 0:
            run(["umount", "-l", full], timeout=20)
    note(ctx, "log on a full filesystem", lines)
    warnings = bad(lines)
    check(any("No space left on device" in t for t in warnings),
          "no warning about the full log filesystem: %r" % warnings[:4])
    check(all(cid[:12] in t for t in warnings), "a warning without the container's id: %r" % warnings)
