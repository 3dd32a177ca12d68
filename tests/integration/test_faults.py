# SPDX-License-Identifier: Apache-2.0
"""Fault injection (docs/protocol.md: Lifecycle, Attach socket, ctl and winsz FIFOs, Log drivers; the
failures conmon is known for, docs/compat.md): a runtime killed in the middle of `create`, attach clients
that connect and leave by the thousand, a ctl FIFO flooded with garbage, one 100 MiB line, a fork storm
whose orphans land on the monitor, and a full disk that frees up again. Each case names the invariant it
asserts in its docstring and, where it makes sense, compares the monitor's fds and children before and
after. Every case runs against ours and the reference unless marked.

Related cases elsewhere (not repeated here): test_logging_full_disk (whole records on ENOSPC),
test_logging_fifo_without_reader, test_engine_sigkilled, test_stuck_client_does_not_block,
test_ctl_garbage_survives, test_orphans_reaped_while_running, test_no_zombies_after_exit.
"""

import errno
import fcntl
import os
import random
import re
import select
import signal
import socket
import struct
import termios
import time

from harness import attach_connect, recv_packets
from test_interactive import check_idle, payload
from test_lifecycle import _with_runtime, _zombie_children
from test_logging import Emit, _mount_tmpfs, _umount, check_stream, join_stream, need_emit, parse_log
import testlib
from testlib import Registry, TestFailure, check, check_eq, children_of, pid_alive, ppid_of, read_file, wait_for

reg = Registry()
test = reg.test

MIB = 1 << 20
SYNC_ERR_RE = re.compile(rb'^\{"data": -[0-9]+, "message": "(.*)"\}\n$', re.S)


# ------------------------------------------------------------------ helpers

def _fds(pid):
    """The monitor's open fds as {fd: target}; fails if the monitor is gone."""
    check(pid_alive(pid), "monitor %d is gone" % pid)
    return testlib.fd_targets(pid)


def _baseline_fds(pid, timeout=5):
    """The monitor's fds once they stop changing for half a second (2.1.6 arms its OOM watch only after the
    pid is out, and on a loaded machine that can take more than one 0.1 s look)."""
    last, same = [_fds(pid)], [0]

    def stable():
        time.sleep(0.1)
        now = _fds(pid)
        same[0] = same[0] + 1 if now == last[0] else 0
        last[0] = now
        return same[0] >= 5
    wait_for(stable, timeout, interval=0)
    return last[0]


def _settled_fds(pid, want, timeout=5):
    """Wait until the monitor holds exactly len(want) fds again; returns the last listing."""
    last = [None]

    def same():
        last[0] = _fds(pid)
        return len(last[0]) == len(want)
    wait_for(same, timeout, interval=0.05)
    return last[0]


def _check_fds_back(pid, before, what):
    after = _settled_fds(pid, before)
    extra = sorted("%d -> %s" % (fd, t) for fd, t in after.items() if before.get(fd) != t)
    check_eq(len(after), len(before), "monitor fd count %s (new or changed: %r)" % (what, extra[:10]))


def _monitor_state(pid, before):
    """For failure messages: alive with how many fds, or how it ended."""
    st = testlib.reaper().wait(pid, 2) if not pid_alive(pid) else None
    if st is not None:
        return "monitor ended with status %r" % testlib.decode_status(st)
    return "monitor alive with %d fds, %d before" % (len(testlib.fd_targets(pid)), len(before))


def _in_ctr(cpid, name):
    """Host path of /tmp/NAME inside the container whose init is cpid."""
    return "/proc/%d/root/tmp/%s" % (cpid, name)


def _wait_marker(cpid, name, timeout, what):
    check(wait_for(lambda: os.path.exists(_in_ctr(cpid, name)), timeout, interval=0.05),
          "container never reached %s (no /tmp/%s after %ss)" % (what, name, timeout))


def _release(cpid, name="go"):
    with open(_in_ctr(cpid, name), "w"):
        pass


def _two_phases(first, second):
    """Container script: run first, touch /tmp/phase1, wait for /tmp/go, run second."""
    return ["sh", "-c", "%s; touch /tmp/phase1; while [ ! -e /tmp/go ]; do sleep 0.05; done; %s" %
            (" ".join(first), " ".join(second))]


# ------------------------------------------------------------------ the runtime dies during create (§2.0 step 15)

HANG_RUNTIME = """#!/bin/sh
# A runtime whose `create` never returns: it says so on stderr, records its pid, then hangs.
for a in "$@"; do
	if [ "$a" = create ]; then
		echo "fake runtime: hanging in create" >&2
		printf '%%s' "$$" >"%(dir)s/runtime.pid.tmp"
		mv "%(dir)s/runtime.pid.tmp" "%(dir)s/runtime.pid"
		exec sleep 1000
	fi
done
echo "fake runtime: not a create: $*" >&2
exit 1
"""


@test()
def test_fault_runtime_killed_mid_create(ctx):
    """Invariant: a runtime SIGKILLed while `create` hangs is reported as a failure on the sync pipe
    (negative data + the runtime's stderr, then EOF), within seconds; the monitor exits with status 1 (no
    crash, no hang), writes no exit file, and leaves no process behind."""
    d = os.path.join(ctx.tmp, "hang")
    os.mkdir(d)
    script = os.path.join(d, "runtime")
    with open(script, "w") as f:
        f.write(HANG_RUNTIME % {"dir": d})
    os.chmod(script, 0o755)
    b = ctx.bundle(["true"])
    m = b.start(args=_with_runtime(b.args(oci_log=False), script))
    check_eq(m.wait_parent(), 0, "monitor's first process")
    mpid = m.get_monitor_pid()
    rpid_file = os.path.join(d, "runtime.pid")
    check(wait_for(lambda: os.path.exists(rpid_file), 10), "the fake runtime never ran create (stderr %r)" %
          m.proc.stderr[-300:])
    rpid = int(read_file(rpid_file))
    check_eq(ppid_of(rpid), mpid, "parent of the hanging runtime")
    if select.select([m.sync], [], [], 0.3)[0]:
        raise TestFailure("sync message while the runtime still hangs: %r" % m.sync.recv(4096))
    os.kill(rpid, signal.SIGKILL)
    t0 = time.monotonic()
    raw = m.read_sync(timeout=10)
    match = SYNC_ERR_RE.match(raw)
    check(match, "sync message after the runtime was killed: %r, want negative data with a message" % raw)
    check(b"hanging in create" in match.group(1), "message %r lacks the runtime's stderr" % raw)
    check_eq(m.read_sync(timeout=5), b"", "after the failure message (EOF expected)")
    check_eq(m.wait_monitor(10), 1, "monitor exit status")
    dt = time.monotonic() - t0
    check(dt < 5, "monitor took %.1fs to give up after the runtime died" % dt)
    check(not pid_alive(rpid), "the killed runtime %d is still there" % rpid)
    check(not os.path.exists(b.exit_file), "exit file written for a container never created")
    left = [p for p in _pids_naming(b.cid) if p != os.getpid()]
    check(not left, "processes naming the container left behind: %r" % left)


def _pids_naming(text):
    out = []
    needle = text.encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                if needle in f.read() and pid_alive(int(name)):
                    out.append(int(name))
        except OSError:
            pass
    return out


# ------------------------------------------------------------------ attach churn (§2.4)

CHURN = 10000
SNDTIMEO = struct.pack("ll", 10, 0)


@test(improvement="2.1.6 keeps each departed attach client's fd until a write to it fails: 10,000 leaked fds "
                  "while the container is quiet (and, with output arriving meanwhile, it died with SIGSEGV)")
def test_fault_attach_churn(ctx):
    """Invariant: 10,000 attach clients that connect and leave at once (half of them after a
    shutdown(SHUT_WR)) cost nothing: the monitor stays alive, holds as many fds and children afterwards
    as before (no leak), and a client connecting afterwards still receives the container's output."""
    # Output only on demand (a file in the container's /tmp), so the churn happens while it is quiet.
    b = ctx.bundle(["sh", "-c", "while :; do if [ -e /tmp/tick ]; then rm /tmp/tick; echo tick; fi; "
                                "sleep 0.05; done"])
    m = b.start()
    cpid = m.create()
    m.runc_start()
    mpid = m.get_monitor_pid()
    before = _baseline_fds(mpid)
    kids = sorted(children_of(mpid))
    _tick_reaches_new_client(b, cpid, "before the churn")
    dfd = os.open(b.path, os.O_PATH | os.O_CLOEXEC)
    target = "/proc/self/fd/%d/attach" % dfd
    t0 = time.monotonic()
    try:
        for i in range(CHURN):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            # Blocking, so a full backlog makes connect() wait for the monitor; bounded by SO_SNDTIMEO.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, SNDTIMEO)
            try:
                s.connect(target)
                if i % 2:
                    s.shutdown(socket.SHUT_WR)
            except OSError as e:
                raise TestFailure("connect %d of %d after %.1fs: %s (%s)" %
                                  (i + 1, CHURN, time.monotonic() - t0, e, _monitor_state(mpid, before)))
            finally:
                s.close()
            if time.monotonic() - t0 > 60:
                raise TestFailure("only %d connections in 60s: the monitor accepts too slowly" % (i + 1))
    finally:
        os.close(dfd)
    dt = time.monotonic() - t0
    _check_fds_back(mpid, before, "after %d attach connections (%.1fs)" % (CHURN, dt))
    check_eq(sorted(children_of(mpid)), kids, "monitor's children after the churn")
    _tick_reaches_new_client(b, cpid, "after the churn")
    check(pid_alive(mpid), "monitor died after the churn")
    ctx.runc("kill", b.cid, "KILL")
    check_eq(m.wait_exit_file(), b"137", "exit file")
    m.wait_monitor(10)


def _tick_reaches_new_client(b, cpid, when):
    c = attach_connect(b.path)
    try:
        _release(cpid, "tick")
        pkts, _ = recv_packets(c, until=lambda p: b"tick\n" in payload(p), timeout=5)
        check(payload(pkts) == b"tick\n", "output to a client connected %s: %r" % (when, pkts))
    finally:
        c.close()


# ------------------------------------------------------------------ ctl flood (§2.5)

FLOOD = 10 * MIB
# Lines every monitor must ignore: nothing here is three integers, so neither a resize nor a reopen.
MALFORMED = [b"hello\n", b"\n", b"1 2\n", b"2\n", b"1 a b\n", b"2 - -\n", b"x" * 300 + b"\n", b"\x00\x01\xff\n",
             b"\t \r\n", b"-\n", b"2 0\n", b"1 2 \n", b"\xff" * 1000 + b"\n"]
NOT_DIGITS = bytes.maketrans(b"0123456789+-", b"abcdefghijkl")


def _garbage(n, seed):
    """n bytes: random blocks (digits and signs mapped to letters) between malformed lines."""
    rnd = random.Random(seed)
    out = bytearray()
    while len(out) < n:
        out += rnd.randbytes(rnd.randrange(1, 20000)).translate(NOT_DIGITS)
        out += rnd.choice(MALFORMED)
    return bytes(out[:n])


def _fifo_pending(fd):
    buf = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return int.from_bytes(buf, "little")


def _flood(path, data, stall=5):
    """Push data through the FIFO (non-blocking writes, as podman opens it); returns when the monitor
    has read all of it. TestFailure when it reads nothing for `stall` seconds."""
    fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        view = memoryview(data)
        off = 0
        while off < len(data):
            if not select.select([], [fd], [], stall)[1]:
                raise TestFailure("the monitor stopped reading ctl after %d of %d bytes" % (off, len(data)))
            try:
                off += os.write(fd, view[off:off + 65536])
            except BlockingIOError:
                continue
        if not wait_for(lambda: _fifo_pending(fd) == 0, stall, interval=0.02):
            raise TestFailure("the monitor left %d bytes in ctl" % _fifo_pending(fd))
    finally:
        os.close(fd)


@test(improvement="2.1.6 wedges on a ctl line longer than its 200-byte buffer that arrives in pieces: it never "
                  "reads ctl again (later resizes and reopens are lost) and spins at 100% CPU")
def test_fault_ctl_flood(ctx):
    """Invariant: 10 MiB of random bytes and malformed lines on the ctl FIFO, written while the container
    prints, then an overlong line written in two pieces, are read and ignored: the monitor stays alive
    without an fd leak and without spinning, every byte the container wrote is in the log (bytes in ==
    bytes out), and a valid reopen (`2 0 0`, after a kubelet-style rename) afterwards still works: the
    rest of the output goes to the new file."""
    need_emit(ctx)
    first = Emit(81, 1 * MIB, maxlen=2000, nofinal=False, maxchunk=3000, pause_us=300)
    second = Emit(82, 300000, maxlen=2000, nofinal=False, maxchunk=3000)
    b = ctx.bundle(_two_phases(first.argv, second.argv))
    m = b.start()
    cpid = m.create()
    mpid = m.get_monitor_pid()
    ctl = os.path.join(b.path, "ctl")
    check(wait_for(lambda: os.path.exists(ctl), 5), "no ctl FIFO")
    m.runc_start()
    before = _baseline_fds(mpid)
    t0 = time.monotonic()
    _flood(ctl, _garbage(FLOOD, 8))
    dt = time.monotonic() - t0
    check(pid_alive(mpid), "monitor died in the flood")
    # A slow writer: an overlong line whose first piece is read on its own.
    _flood(ctl, b"\n" + b"x" * 50)
    _flood(ctl, b"y" * 300 + b"\n")
    _wait_marker(cpid, "phase1", 30, "the end of its first output")
    _check_fds_back(mpid, before, "after %d MiB of ctl garbage (%.1fs)" % (FLOOD // MIB, dt))
    check_eq(children_of(mpid), [cpid], "monitor's children after the flood")
    check_idle(mpid, "after the ctl flood", seconds=1.0)
    rotated = b.log + ".1"
    os.rename(b.log, rotated)
    _flood(ctl, b"\n")  # ends whatever garbage line is still open
    _flood(ctl, b"2 0 0\n")
    check(wait_for(lambda: os.path.exists(b.log), 5), "ctl reopen after the flood did not recreate the log")
    _check_fds_back(mpid, before, "after the reopen")
    _release(cpid)
    check_eq(m.wait_exit_file(timeout=20), b"0", "exit file")
    m.wait_monitor(10)
    for em, path, what in ((first, rotated, "log before the reopen"), (second, b.log, "log after the reopen")):
        recs = parse_log(read_file(path), what)
        out, err = em.expected()
        check_stream(recs, "stdout", out, what)
        check_stream(recs, "stderr", err, what)


# ------------------------------------------------------------------ one 100 MiB line (§2.10)

HUGE = 100 * MIB


def _peak_rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


@test()
def test_fault_100mib_without_newline(ctx):
    """Invariant: 100 MiB on stdout without a single newline come back from the k8s log byte for byte
    (the P records joined, the last one stays last: see k8s_file_ends_with_partial), every record is whole, the exit file appears, and the monitor never
    holds the line in memory (peak RSS well under the line's size)."""
    b = ctx.bundle(["sh", "-c", "head -c %d /dev/zero | tr '\\0' x" % HUGE])
    # The exit command keeps the monitor around after the exit file, to read its peak RSS.
    m = b.start(tail=["--exit-command", "/bin/sleep", "--exit-command-arg", "1"])
    m.create()
    mpid = m.get_monitor_pid()
    m.runc_start()
    check_eq(m.wait_exit_file(timeout=60), b"0", "exit file")
    peak = _peak_rss_kib(mpid)
    m.wait_monitor(15)
    data = read_file(b.log)
    recs = parse_log(data)
    check(recs, "empty log")
    check_eq({r.stream for r in recs}, {"stdout"}, "streams in the log")
    tags = {r.tag for r in recs}
    check_eq(tags, {"P"}, "tags of the records carrying the line")
    got = b"".join(r.content for r in recs)
    check_eq(len(got), HUGE, "bytes of the line in the log")
    check(got.count(b"x") == HUGE, "the line in the log is not all 'x'")
    check(peak is not None, "could not read the monitor's peak RSS")
    check(peak * 1024 < HUGE // 2, "monitor peak RSS %d KiB for a %d MiB line" % (peak, HUGE // MIB))


# ------------------------------------------------------------------ fork storm (§2.0 step 9, §4 item 14)

FORKS = 1000


@test()
def test_fault_fork_storm(ctx):
    """Invariant: a container (sharing the host pid namespace, so its orphans are re-parented to the
    monitor, a subreaper) forks 1,000 children it waits for and 1,000 orphans: afterwards the monitor has
    no zombie and no child but the container, holds as many fds as before, every child's line is in the
    log exactly once (bytes in == bytes out), and the exit file says 7."""
    script = ("for i in $(seq %d); do echo child-$i & done; wait; "
              "for i in $(seq %d); do (echo orphan-$i &); done" % (FORKS, FORKS))

    def no_pid_ns(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "pid"]
    b = ctx.bundle(_two_phases([script], ["exit 7"]), config_mutate=no_pid_ns)
    m = b.start()
    cpid = m.create()
    mpid = m.get_monitor_pid()
    m.runc_start()
    before = _baseline_fds(mpid)
    t0 = time.monotonic()
    _wait_marker(cpid, "phase1", 60, "the end of its fork storm")
    dt = time.monotonic() - t0
    state = {}

    def settled():
        state["kids"] = sorted(children_of(mpid))
        state["zombies"] = _zombie_children(mpid)
        return state["kids"] == [cpid] and not state["zombies"]
    wait_for(settled, 10, interval=0.05)
    check_eq(state["zombies"], [], "zombie children of the monitor after %d orphans (%.1fs)" % (FORKS, dt))
    check_eq(state["kids"], [cpid], "monitor's children after the storm")
    _check_fds_back(mpid, before, "after the fork storm")
    _release(cpid)
    check_eq(m.wait_exit_file(), b"7", "exit file")
    m.wait_monitor(10)
    recs = parse_log(read_file(b.log))
    lines = join_stream(recs, "stdout").split(b"\n")
    check_eq(lines[-1], b"", "end of stdout")
    want = sorted([b"child-%d" % i for i in range(1, FORKS + 1)] + [b"orphan-%d" % i for i in range(1, FORKS + 1)])
    got = sorted(lines[:-1])
    if got != want:
        missing = sorted(set(want) - set(got))
        raise TestFailure("%d lines logged, want %d; missing %r; duplicates %d" %
                          (len(got), len(want), missing[:5], len(got) - len(set(got))))
    check_eq(join_stream(recs, "stderr"), b"", "stderr")


# ------------------------------------------------------------------ full disk, then space again (§4 item 3)

def _fill(path):
    """Fill the file system holding path: write until ENOSPC."""
    block = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                f.write(block)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
        while True:
            try:
                f.write(b"\0")
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                return


@test()
def test_fault_disk_full_then_freed(ctx):
    """Invariant (what test_logging_full_disk does not assert): while the log's file system is full the
    container is never wedged (it finishes 2 MiB of output), the monitor neither leaks fds nor spins;
    once space is back, logging resumes with whole records and the output written after that is in the
    log byte for byte."""
    need_emit(ctx)
    d = os.path.join(ctx.tmp, "small")
    _mount_tmpfs(d, "1m")
    try:
        filler = os.path.join(d, "filler")
        _fill(filler)
        lost = Emit(91, 2 * MIB, maxlen=3000, nofinal=False, maxchunk=8000)
        kept = Emit(92, 200000, maxlen=3000, nofinal=False, maxchunk=8000)
        b = ctx.bundle(_two_phases(lost.argv, kept.argv))
        log = os.path.join(d, "ctr.log")
        m = b.start(log="k8s-file:" + log)
        cpid = m.create()
        mpid = m.get_monitor_pid()
        m.runc_start()
        before = _baseline_fds(mpid)
        _wait_marker(cpid, "phase1", 20, "the end of its output on a full disk")
        _check_fds_back(mpid, before, "on a full disk")
        check_eq(children_of(mpid), [cpid], "monitor's children on a full disk")
        check_idle(mpid, "with the log's disk full", seconds=1.0)
        os.unlink(filler)
        _release(cpid)
        check_eq(m.wait_exit_file(timeout=20), b"0", "exit file")
        m.wait_monitor(10)
        recs = parse_log(read_file(log))
        out, err = kept.expected()
        check_stream(recs, "stdout", out, "log after space came back")
        check_stream(recs, "stderr", err, "log after space came back")
    finally:
        _umount(d)
