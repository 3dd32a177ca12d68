# SPDX-License-Identifier: Apache-2.0
"""Hostile peers: what a container, an attach client or another local user can do to the monitor.
Each case states the invariant it checks; every case runs against ours and the reference, and the
ones where conmon 2.1.6 fails are marked as improvements.

- attach clients that fill their socket with input and hang up (tty and pipe stdin): RSS bounded;
- the exit dir on a full filesystem: the exit command still runs; the exit file is retried;
- --timeout and signal forwarding end with the container; the exit command is waited for by pid;
- paths planted by others (a symlink or hard link at the log path, a FIFO or dangling link at
  <persist>/oom, a file at the log's old temp name) are never followed, written through or adopted;
- SIGHUP, SIGUSR2, SIGALRM do not kill the monitor;
- the sd_notify relay is rate-limited and '\\r' cannot smuggle a MAINPID past its filter.
"""

import contextlib
import os
import select
import signal
import time

from harness import attach_connect, attach_read, payload_bytes, started
from test_lifecycle import _bundle_dir, _host_dgram, _in_dir, _memory_limit, _wait_exit_file_fast
from testlib import Registry, TestFailure, check, check_eq, pid_alive, read_file, run, wait_for

reg = Registry()
test = reg.test

MIB = 1024 * 1024


def vm_rss(pid):
    """VmRSS of pid in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise TestFailure("no VmRSS for %d" % pid)


def _instrumented(ctx):
    """Sanitizer and valgrind builds have their own large, fixed overhead: only growth is compared."""
    return ctx.suite.label in ("asan", "valgrind")


# ------------------------------------------------------------------ attach input (item 1)

HANGUP_CLIENTS = 1000
RSS_BOUND = 16 * MIB


def _fill_and_hang_up(path, n):
    """n clients, one after the other: each sends input until its socket takes no more, then closes."""
    chunk = b"x" * 32768
    for _ in range(n):
        c = attach_connect(path)
        c.setblocking(False)
        with contextlib.suppress(BlockingIOError, BrokenPipeError, ConnectionResetError):
            while True:
                c.send(chunk)
        c.close()


def _attach_input_bounded(ctx, extra, terminal):
    b, m = started(ctx, ["sleep", "120"], extra=extra, terminal=terminal)
    m.runc_start()
    pid = m.get_monitor_pid()
    before = vm_rss(pid)
    _fill_and_hang_up(b.path, HANGUP_CLIENTS)
    time.sleep(0.5)
    check(pid_alive(pid), "monitor died under %d hanging-up attach clients" % HANGUP_CLIENTS)
    after = vm_rss(pid)
    what = "monitor RSS %.1f MB before, %.1f MB after %d clients that filled their socket and hung up" % (
        before / MIB, after / MIB, HANGUP_CLIENTS)
    check(after - before < RSS_BOUND, what)
    if not _instrumented(ctx):
        check(after < RSS_BOUND, what)
    # Still serving: a fresh client is accepted, and the container's exit is recorded.
    c = attach_connect(b.path)
    c.close()
    ctx.runc("kill", b.cid, "KILL")
    check_eq(m.wait_exit_file(timeout=20), b"137", "exit file after SIGKILL")
    check_eq(m.wait_monitor(20), 137, "monitor exit status (the container's)")


@test(improvement="input of attach clients that hang up is bounded by the stdin queue (2.1.6 blocks on a "
                  "container that does not read)")
def test_hostile_attach_input_hangup_tty(ctx):
    """Invariant: 1000 attach clients that each fill their socket with input and hang up, against a
    `-t -i --leave-stdin-open` container that never reads, grow the monitor by less than 16 MB (before
    the fix every socket buffer was read into the stdin queue: 2.5 -> 221 MB)."""
    _attach_input_bounded(ctx, ["-t", "-i", "--leave-stdin-open"], True)


@test(improvement="input of attach clients that hang up is bounded by the stdin queue (2.1.6 blocks on a "
                  "container that does not read)")
def test_hostile_attach_input_hangup_pipe(ctx):
    """Invariant: the same with stdin a pipe (`-i --leave-stdin-open`)."""
    _attach_input_bounded(ctx, ["-i", "--leave-stdin-open"], False)


# ------------------------------------------------------------------ full exit dir (item 2)

@contextlib.contextmanager
def full_tmpfs(ctx, name):
    """A 256 KiB tmpfs at ctx.tmp/name, filled up; yields (dir, filler path). Unmounted afterwards."""
    path = os.path.join(ctx.tmp, name)
    os.mkdir(path)
    r = run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", path], timeout=10)
    check(r.returncode == 0, "mount tmpfs: %r" % r)
    try:
        filler = os.path.join(path, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)
        yield path, filler
    finally:
        for _ in range(50):
            if run(["umount", path], timeout=10).returncode == 0:
                break
            time.sleep(0.2)


def _exit_command_args(marker):
    # The exit command records that it ran, with the arguments it was given: written aside and renamed,
    # so the marker never exists empty.
    return ["--exit-command", "/bin/sh", "--exit-command-arg", "-c",
            "--exit-command-arg", 'echo "$0" > %s.tmp && mv %s.tmp %s' % (marker, marker, marker),
            "--exit-command-arg", "ran"]


@test()
def test_hostile_exit_dir_full_runs_exit_command(ctx):
    """Invariant: with the exit dir on a full filesystem for good, the exit command still runs (after the
    monitor gave up retrying the exit file) and the monitor exits."""
    marker = os.path.join(ctx.tmp, "exit-command-ran")
    with full_tmpfs(ctx, "exits-full") as (exits, _):
        b = ctx.bundle(["sh", "-c", "exit 3"])
        args = b.args(exit_dir=False, extra=["--exit-dir", exits] + _exit_command_args(marker))
        m = b.start(args=args)
        m.create()
        m.runc_start()
        check(wait_for(lambda: read_file(marker) is not None, 30, interval=0.1),
              "exit command did not run (monitor stderr %r)" % m.proc.stderr[-300:])
        check_eq(read_file(marker), b"ran\n", "exit command output")
        check(wait_for(lambda: not pid_alive(m.get_monitor_pid()), 10), "monitor still running")
        check(not os.path.exists(os.path.join(exits, b.cid)), "exit file on a full filesystem")


@test(improvement="a failed exit file is retried for 10 s: written once space comes back (2.1.6 tries once)")
def test_hostile_exit_dir_full_then_space(ctx):
    """Invariant: with the exit dir full when the container exits and space back 1.5 s later, the exit
    file is written with the container's status, then the exit command runs."""
    marker = os.path.join(ctx.tmp, "exit-command-ran")
    with full_tmpfs(ctx, "exits-full") as (exits, filler):
        b = ctx.bundle(["sh", "-c", "exit 3"])
        args = b.args(exit_dir=False, extra=["--exit-dir", exits] + _exit_command_args(marker))
        m = b.start(args=args)
        m.create()
        m.runc_start()
        exit_file = os.path.join(exits, b.cid)
        time.sleep(1.5)
        check(read_file(exit_file) is None, "exit file written on a full filesystem")
        os.unlink(filler)
        check_eq(m.wait_exit_file(timeout=15, path=exit_file), b"3", "exit file once space came back")
        check(wait_for(lambda: read_file(marker) is not None, 15, interval=0.1), "exit command did not run")
        check(wait_for(lambda: not pid_alive(m.get_monitor_pid()), 10), "monitor still running")
        check_eq(sorted(os.listdir(exits)), [b.cid], "files left in the exit dir")


# ------------------------------------------------------------------ nothing outlives the container (item 3)

@test(improvement="the --timeout ends with the container: 2.1.6 reports -1 for a container whose output was "
                  "still being delivered when the timeout came")
def test_hostile_timeout_ends_with_container(ctx):
    """Invariant: a container that exits 0 at once while a slow attach client is still being sent its
    output for several seconds is not reported as timed out when --timeout passes during that flush."""
    n = 3 * MIB // 2
    b, m = started(ctx, ["sh", "-c", "sleep 0.5; head -c %d /dev/zero; exit 0" % n], extra=["--timeout", "2"])
    pkts, _ = attach_read(b, m, batch=6, pause=0.1, read_timeout=2, deadline=20)
    check_eq(payload_bytes(pkts), n, "bytes delivered to the slow client")
    check_eq(m.wait_exit_file(), b"0", "exit file of a container that exited 0 before its timeout")
    check_eq(m.wait_monitor(), 0, "monitor exit status (the container's)")


@test(improvement="the exit command is waited for by its pid: a process the container left behind does not keep "
                  "the monitor (2.1.6 waits for every child)")
def test_hostile_orphan_does_not_hold_monitor(ctx):
    """Invariant: without a pid namespace, a process the container leaves behind (re-parented to the
    monitor, its subreaper) does not keep the monitor alive after the exit file and exit command."""
    def no_pid_ns(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "pid"]
    marker = os.path.join(ctx.tmp, "exit-command-ran")
    b = ctx.bundle(["sh", "-c", "sleep 60 </dev/null >/dev/null 2>&1 & echo $!; exit 0"], config_mutate=no_pid_ns)
    m = b.start(args=b.args(extra=_exit_command_args(marker)))
    orphan = None
    try:
        check_eq(m.run_to_exit(), b"0", "exit file")
        log = wait_for(lambda: read_file(b.log), 5) or b""
        digits = [w for w in log.split() if w.isdigit()]
        check(digits, "no orphan pid in the log %r" % log)
        orphan = int(digits[-1])
        check(wait_for(lambda: read_file(marker) is not None, 10, interval=0.1), "exit command did not run")
        check(wait_for(lambda: not pid_alive(m.get_monitor_pid()), 10),
              "monitor still running while the container's orphan %d lives" % orphan)
    finally:
        if orphan and read_file("/proc/%d/comm" % orphan) == b"sleep\n":
            cg = read_file("/proc/%d/cgroup" % orphan) or b""
            if ("ctrtest-" + b.cid).encode() in cg:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(orphan, signal.SIGKILL)


# ------------------------------------------------------------------ planted paths (item 4)

def _log_planted(ctx, plant):
    """A root-owned file outside the bundle, plant(victim, log path), then a monitor started for a container
    that writes a line. Returns (victim's contents after, the monitor's stderr)."""
    victim = os.path.join(ctx.tmp, "root-owned")
    with open(victim, "wb") as f:
        f.write(b"precious\n")
    b = ctx.bundle(["echo", "written through the link"])
    plant(victim, b.log)
    m = b.start(send_start=False)
    # Ours refuses before it reads the start byte: the pipe may be closed already.
    with contextlib.suppress(OSError):
        m.send_start()
    m.wait_parent(15)
    with contextlib.suppress(TestFailure):
        m.read_sync(5)
    with contextlib.suppress(Exception):
        m.runc_start()
    time.sleep(0.5)
    return read_file(victim), m.proc.stderr


@test(improvement="a symlink at the log path is refused (2.1.6 appends the container's output to its target)")
def test_hostile_log_symlink_refused(ctx):
    """Invariant: a symlink planted at the log path is never followed: its target is untouched and the
    monitor reports the symlink instead of creating the container."""
    victim, stderr = _log_planted(ctx, os.symlink)
    check_eq(victim, b"precious\n", "the symlink's target")
    check(b"symbolic link" in stderr, "monitor stderr %r does not name the symlink" % stderr[-300:])


@test(improvement="a hard link at the log path is refused (2.1.6 appends the container's output to the linked file)")
def test_hostile_log_hard_link_refused(ctx):
    """Invariant: a hard link planted at the log path to a file elsewhere (possible for anyone when
    fs.protected_hardlinks is 0) is never written through: that file is untouched and the monitor
    says why instead of creating the container."""
    victim, stderr = _log_planted(ctx, os.link)
    check_eq(victim, b"precious\n", "the hard-linked file")
    check(b"hard links" in stderr, "monitor stderr %r does not name the hard link" % stderr[-300:])


def _oom_with_planted(ctx, plant):
    pdir = os.path.join(ctx.tmp, "persist")
    os.mkdir(pdir)
    plant(os.path.join(pdir, "oom"))
    b = ctx.bundle(["/helpers/alloc", "128"], config_mutate=_memory_limit(32))
    # 2.1.6 also writes ./oom: never in the source tree.
    prog, args = _in_dir(ctx, b, os.path.join(ctx.tmp, "cwd"), tail=["--persist-dir", pdir])
    m = b.start(args=args, prog=prog)
    m.create()
    m.runc_start()
    return b, m, pdir


@test(improvement="a FIFO planted at <persist>/oom is refused without blocking (2.1.6 hangs: no exit file)")
def test_hostile_oom_fifo_does_not_block(ctx):
    """Invariant: a FIFO at <persist-dir>/oom (nobody reading it) does not block the monitor: the
    OOM-killed container's exit file is written and the monitor exits."""
    b, m, pdir = _oom_with_planted(ctx, lambda p: os.mkfifo(p, 0o600))
    data = _wait_exit_file_fast(m, timeout=20)
    check_eq(data, b"137", "exit file of an OOM-killed container")
    check_eq(m.wait_monitor(20), 137, "monitor exit status (the container's)")
    check_eq(read_file(os.path.join(pdir, "exit")), b"137", "persist exit file")


@test(improvement="a dangling symlink at <persist>/oom is not followed (2.1.6 creates its target)")
def test_hostile_oom_dangling_symlink(ctx):
    """Invariant: a dangling symlink at <persist-dir>/oom does not make the monitor create its target."""
    target = os.path.join(ctx.tmp, "created-elsewhere")
    _, m, _ = _oom_with_planted(ctx, lambda p: os.symlink(target, p))
    check_eq(_wait_exit_file_fast(m, timeout=20), b"137", "exit file of an OOM-killed container")
    check(not os.path.lexists(target), "the symlink's target was created")
    m.wait_monitor(20)


@test(improvement="the log's truncation temp file has a unique name (2.1.6 adopts a planted <log>.tmp)")
def test_hostile_log_planted_tmp_not_adopted(ctx):
    """Invariant: a file another user planted at <log>.tmp never becomes the live log at --log-size-max
    truncation, and is left as it was."""
    b = ctx.bundle(["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do echo line $i; sleep 0.1; done"])
    planted = b.log + ".tmp"
    with open(planted, "wb") as f:
        f.write(b"planted\n")
    os.chown(planted, 65534, 65534)
    os.chmod(planted, 0o666)
    ino = os.stat(planted).st_ino
    m = b.start(args=b.args(extra=["--log-size-max", "200"]))
    check_eq(m.run_to_exit(), b"0", "exit file")
    m.wait_monitor()
    st = os.stat(b.log)
    check(st.st_ino != ino and st.st_uid == 0, "the live log is the planted file (uid %d)" % st.st_uid)
    check_eq(read_file(planted), b"planted\n", "planted file")
    check(b"line 8" in read_file(b.log), "last line missing from the log %r" % read_file(b.log))


# ------------------------------------------------------------------ signals (item 5)

@test(improvement="SIGHUP, SIGUSR2 and SIGALRM do not kill the monitor (they kill 2.1.6: no exit file)")
def test_hostile_stray_signals_survived(ctx):
    """Invariant: SIGHUP, SIGUSR2 and SIGALRM sent to the monitor neither kill it nor reach the container:
    the container's own exit status is recorded."""
    b, m = started(ctx, ["sh", "-c", "sleep 1.5; exit 5"])
    m.runc_start()
    pid = m.get_monitor_pid()
    for sig in (signal.SIGHUP, signal.SIGUSR2, signal.SIGALRM):
        os.kill(pid, sig)
        time.sleep(0.1)
        check(pid_alive(pid), "monitor killed by %s" % signal.Signals(sig).name)
    check_eq(m.wait_exit_file(), b"5", "exit file")
    check_eq(m.wait_monitor(), 5, "monitor exit status (the container's)")


# ------------------------------------------------------------------ sd_notify relay (item 8)

def _notify_bundle(ctx, script):
    def mutate(cfg):
        ndir = os.path.join(_bundle_dir(ctx), "notify")
        os.mkdir(ndir)
        cfg["mounts"].append({"destination": "/run/notify", "type": "bind", "source": ndir,
                              "options": ["rbind", "rw"]})
        cfg["process"]["env"].append("NOTIFY_SOCKET=/run/notify/notify.sock")
    return ctx.bundle(["sh", "-c", script], config_mutate=mutate)


NOTIFY_RATE = 200  # datagrams a second


@test(improvement="the sd_notify relay is rate-limited (2.1.6 relays every datagram)")
def test_hostile_sdnotify_flood_rate_limited(ctx):
    """Invariant: a container flooding its notify socket with WATCHDOG=1 for 2 s gets at most 200 of them
    a second relayed to the host, and its READY=1 after the flood still arrives.
    The container stays up after READY=1, as a service does: what it queued is relayed at the
    limited rate, which takes longer than the flood itself."""
    host, hpath = _host_dgram(ctx)
    got, ready = 0, False
    try:
        b = _notify_bundle(ctx, "/helpers/sdnotify WATCHDOG=1 2; /helpers/sdnotify READY=1; exec sleep 60")
        m = b.start(extra=["--sdnotify-socket", hpath])
        m.create()
        # The flood begins while `runc start` runs: the clock starts before it.
        start = time.monotonic()
        m.runc_start()
        deadline = start + 30
        while not ready and time.monotonic() < deadline:
            if not select.select([host], [], [], 0.5)[0]:
                continue
            d = host.recv(65536)
            if d == b"WATCHDOG=1":
                got += 1
            ready = ready or b"READY=1" in d.split(b"\n")
        elapsed = time.monotonic() - start
        ctx.runc("kill", b.cid, "KILL")
        check_eq(m.wait_exit_file(), b"137", "exit file (log %r)" % read_file(b.log))
    finally:
        host.close()
    check(ready, "READY=1 after the flood never arrived (%d WATCHDOG=1 relayed)" % got)
    check(got <= NOTIFY_RATE * elapsed + 2 * NOTIFY_RATE // 10,
          "%d datagrams relayed in %.1f s: more than %d a second" % (got, elapsed, NOTIFY_RATE))
    check(got > 0, "no WATCHDOG=1 relayed at all")


@test()
def test_hostile_sdnotify_cr_smuggling(ctx):
    """Invariant: '\\r' ends a line as systemd reads it, so "STATUS=x\\rMAINPID=1" relays no MAINPID."""
    host, hpath = _host_dgram(ctx)
    try:
        b = _notify_bundle(ctx, "/helpers/sdnotify 'STATUS=x\\rMAINPID=1'; /helpers/sdnotify READY=1")
        m = b.start(extra=["--sdnotify-socket", hpath])
        check_eq(m.run_to_exit(), b"0", "exit file (log %r)" % read_file(b.log))
        got = []
        while select.select([host], [], [], 1)[0]:
            got.append(host.recv(65536))
    finally:
        host.close()
    check(any(b"READY=1" in d for d in got), "READY=1 not relayed: %r" % got)
    check(not any(b"MAINPID" in d for d in got), "MAINPID relayed: %r" % got)
