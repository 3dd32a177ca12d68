# SPDX-License-Identifier: Apache-2.0
"""Integration tests of interactive I/O (docs/protocol.md: Attach socket, Console socket, Exec attach,
ctl and winsz FIFOs): attach socket framing and input, -i / --leave-stdin-open, -t with the console
socket, the ctl/winsz FIFOs, a stuck attach client, and exec sessions with podman's attach handshake.
Every case runs against ours and the reference unless marked."""

import json
import os
import re
import select
import socket
import time

from harness import attach_connect, attach_read, ctl_write, make_config, payload_bytes, recv_packets, started
from testlib import Registry, check, check_eq, pid_alive, read_file, wait_for

reg = Registry()
test = reg.test

SYNC_ERR_RE = re.compile(rb'^\{"data": -[0-9]+, "message": ".*"\}\n$', re.S)


def payload(pkts, ids=(2, 3)):
    """Concatenated payloads of the packets whose stream id is in ids."""
    return b"".join(p[1:] for p in pkts if p and p[0] in ids)


def check_ids(pkts, allowed):
    bad = [p[:20] for p in pkts if not p or p[0] not in allowed]
    check(not bad, "packets with unexpected stream ids %r (allowed %r)" % (bad, allowed))


# ------------------------------------------------------------------ attach output framing

@test()
def test_attach_framing_stdout_stderr(ctx):
    b, m = started(ctx, ["sh", "-c", "sleep 1; echo out; sleep 0.2; echo err >&2; sleep 0.2; exit 4"])
    pkts, eof = attach_read(b, m)
    check(eof, "attach socket not closed after the container exited; got %r" % pkts)
    check_eq(pkts, [b"\x02out\n", b"\x03err\n"], "attach packets")
    check_eq(m.wait_exit_file(), b"4", "exit file")


@test()
def test_attach_large_write_split(ctx):
    # 20000 bytes in one write(): packets of at most 8193 bytes (1 id byte + 8192).
    b, m = started(ctx, ["sh", "-c", "sleep 1; yes abcdefghijklmnopqrstuvwxyz | head -c 20000"])
    pkts, eof = attach_read(b, m)
    check(eof, "no EOF on the attach socket after exit")
    check_ids(pkts, (2,))
    sizes = [len(p) for p in pkts]
    check(max(sizes) <= 8193, "packet sizes %r exceed 8193" % sizes)
    want = (b"abcdefghijklmnopqrstuvwxyz\n" * 800)[:20000]
    got = payload(pkts)
    check(got == want, "payload: %d bytes, first difference at %r" %
          (len(got), next((i for i, (x, y) in enumerate(zip(got, want)) if x != y), min(len(got), len(want)))))
    check_eq(m.wait_exit_file(), b"0", "exit file")


@test()
def test_attach_quick_exit(ctx):
    # Output written right before the container exits still reaches a connected client.
    b, m = started(ctx, ["sh", "-c", "echo quick; echo quick-err >&2"])
    pkts, eof = attach_read(b, m)
    check_eq(sorted(pkts), [b"\x02quick\n", b"\x03quick-err\n"], "attach packets")
    check(eof, "no EOF after exit")
    check_eq(m.wait_exit_file(), b"0", "exit file")


@test()
def test_attach_output_complete_at_exit(ctx):
    # 1 MiB written just before exit, to a client that only starts reading a moment later (as a
    # busy podman may): it gets every byte, in order, before EOF. Nothing queued may be dropped.
    n = 1024 * 1024
    b, m = started(ctx, ["sh", "-c", "sleep 0.5; yes 0123456789abcdefghijklmnopqrstu | head -c %d" % n])
    pkts, eof = attach_read(b, m, delay=1.5, read_timeout=15)
    check_ids(pkts, (2,))
    got = payload(pkts)
    want = (b"0123456789abcdefghijklmnopqrstu\n" * (n // 32 + 1))[:n]
    check(got == want, "attach payload: %d of %d bytes%s" %
          (len(got), n, "" if want.startswith(got) else ", corrupted"))
    check(eof, "no EOF after exit")
    check_eq(m.wait_exit_file(), b"0", "exit file")


@test()
def test_attach_two_clients(ctx):
    b, m = started(ctx, ["sh", "-c", "sleep 1; echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three"])
    c1 = attach_connect(b.path)
    c2 = attach_connect(b.path)
    try:
        m.runc_start()
        p1, e1 = recv_packets(c1, timeout=10)
        p2, e2 = recv_packets(c2, timeout=5)
    finally:
        c1.close()
        c2.close()
    want = [b"\x02one\n", b"\x03two\n", b"\x02three\n"]
    check_eq(p1, want, "client 1 packets")
    check_eq(p2, want, "client 2 packets")
    check(e1 and e2, "clients not closed at exit")
    check_eq(m.wait_exit_file(), b"0", "exit file")


# ------------------------------------------------------------------ -i: input

@test()
def test_stdin_echo_and_eof(ctx):
    b, m = started(ctx, ["cat"], extra=["-i"])
    c = attach_connect(b.path)
    try:
        m.runc_start()
        c.send(b"hello \x00\xff raw\n")
        pkts, _ = recv_packets(c, until=lambda p: b"raw\n" in payload(p), timeout=10)
        check_eq(payload(pkts), b"hello \x00\xff raw\n", "echo of raw input (no id byte)")
        check_ids(pkts, (2,))
        # podman copies stdin in 32 KiB reads: messages up to 32768 bytes arrive whole.
        big = [bytes([0x61 + i]) * 32767 + b"\n" for i in range(3)]
        for msg in big:
            c.send(msg)
        pkts, _ = recv_packets(c, until=lambda p: len(payload(p)) >= 3 * 32768, timeout=10)
        got = payload(pkts)
        check(got == b"".join(big), "echo of 3 x 32768-byte messages: %d bytes, counts %r" %
              (len(got), [got.count(bytes([0x61 + i])) for i in range(3)]))
        c.shutdown(socket.SHUT_WR)
        check_eq(m.wait_exit_file(timeout=10), b"0", "exit file after client EOF (cat must see EOF)")
        _, eof = recv_packets(c, timeout=5)
        check(eof, "attach socket not closed after exit")
    finally:
        c.close()


@test()
def test_stdin_input_before_start(ctx):
    # Input sent before the container runs is queued (the pipe exists from create on).
    b, m = started(ctx, ["cat"], extra=["-i"])
    c = attach_connect(b.path)
    try:
        c.send(b"early\n")
        time.sleep(0.2)
        m.runc_start()
        pkts, _ = recv_packets(c, until=lambda p: b"early\n" in payload(p), timeout=10)
        check_eq(payload(pkts), b"early\n", "echo of input sent before start")
        c.shutdown(socket.SHUT_WR)
        check_eq(m.wait_exit_file(timeout=10), b"0", "exit file")
    finally:
        c.close()


@test()
def test_leave_stdin_open(ctx):
    b, m = started(ctx, ["cat"], extra=["-i", "--leave-stdin-open"])
    c = attach_connect(b.path)
    m.runc_start()
    c.send(b"first\n")
    pkts, _ = recv_packets(c, until=lambda p: b"first\n" in payload(p), timeout=10)
    check_eq(payload(pkts), b"first\n", "echo")
    c.shutdown(socket.SHUT_WR)
    time.sleep(1)
    check(read_file(b.exit_file) is None, "container exited after the client's EOF despite --leave-stdin-open")
    st = json.loads(ctx.runc("state", b.cid).out)
    check_eq(st["status"], "running", "container state after client EOF")
    c.close()
    c2 = attach_connect(b.path)
    try:
        c2.send(b"second\n")
        pkts, _ = recv_packets(c2, until=lambda p: b"second\n" in payload(p), timeout=10)
        check_eq(payload(pkts), b"second\n", "echo via a second client")
    finally:
        c2.close()
    ctx.runc("kill", b.cid, "KILL")
    check_eq(m.wait_exit_file(), b"137", "exit file")


@test()
def test_no_stdin_without_i(ctx):
    # Without -i the container's stdin is /dev/null: cat ends at once, client input is dropped.
    b, m = started(ctx, ["sh", "-c", "sleep 1; cat; echo done"])
    c = attach_connect(b.path)
    try:
        c.send(b"ignored\n")
        m.runc_start()
        pkts, eof = recv_packets(c, timeout=10)
        check_eq(payload(pkts), b"done\n", "output")
    finally:
        c.close()
    check_eq(m.wait_exit_file(), b"0", "exit file")


# ------------------------------------------------------------------ -t: terminal and resize

TTY_LOOP = 'sleep 0.5; echo tty-ready; stty size; while read x; do [ "$x" = q ] && exit 3; stty size; done'


class Tty:
    """A -t -i container running TTY_LOOP with one attach client; size() asks for `stty size`."""

    def __init__(self, ctx, pre_start_ctl=None, extra=("-t", "-i")):
        self.b, self.m = started(ctx, ["sh", "-c", TTY_LOOP], extra=extra, terminal=True)
        if pre_start_ctl:
            ctl_write(self.b.path, pre_start_ctl)
            time.sleep(0.2)
        self.c = attach_connect(self.b.path)
        self.pkts = []
        self.m.runc_start()

    def wait_for_text(self, needle, timeout=10):
        pkts, _ = recv_packets(self.c, until=lambda p: needle in payload(self.pkts + p), timeout=timeout)
        self.pkts += pkts
        check(needle in payload(self.pkts), "%r never came; got %r" % (needle, payload(self.pkts)[-300:]))

    def size(self):
        """Current `stty size` line (asks once, waits for the answer)."""
        mark = len(payload(self.pkts))
        self.c.send(b"\n")
        pat = re.compile(rb"\r\n(\d+ \d+)\r\n")
        pkts, _ = recv_packets(self.c, until=lambda p: pat.search(payload(self.pkts + p)[mark:]), timeout=10)
        self.pkts += pkts
        m = pat.search(payload(self.pkts)[mark:])
        check(m, "no `stty size` answer; got %r" % payload(self.pkts)[mark:])
        return m.group(1).decode()

    def quit(self):
        self.c.send(b"q\n")
        check_eq(self.m.wait_exit_file(), b"3", "exit file")


@test()
def test_tty_output_and_initial_resize(ctx):
    t = Tty(ctx, pre_start_ctl="1 40 100\n")
    t.wait_for_text(b"tty-ready\r\n40 100\r\n")
    check_ids(t.pkts, (2,))
    check(payload(t.pkts).startswith(b"tty-ready\r\n"), "tty output %r" % payload(t.pkts)[:100])
    ctl_write(t.b.path, "1 50 120\n")
    check(wait_for(lambda: t.size() == "50 120", 5, interval=0.1), "later resize not applied")
    t.quit()


@test()
def test_tty_input_without_i(ctx):
    # podman run -it passes -t alone (-i only without a tty): input must still reach the terminal,
    # and a client's EOF (podman's detach) must not end the container.
    t = Tty(ctx, pre_start_ctl="1 21 71\n", extra=("-t",))
    t.wait_for_text(b"21 71\r\n")
    check_eq(t.size(), "21 71", "stty size via attach input with -t only")
    t.c.shutdown(socket.SHUT_WR)
    time.sleep(0.5)
    check(read_file(t.b.exit_file) is None, "container exited after the client's EOF (-t without -i)")
    t.c.close()
    t.c = attach_connect(t.b.path)
    t.pkts = []
    check_eq(t.size(), "21 71", "input from a second client")
    t.quit()


@test()
def test_ctl_reopen_accepted(ctx):
    t = Tty(ctx, pre_start_ctl="1 24 80\n")
    t.wait_for_text(b"24 80\r\n")
    ctl_write(t.b.path, "2 0 0\n")
    time.sleep(0.2)
    ctl_write(t.b.path, "1 30 90\n")
    check(wait_for(lambda: t.size() == "30 90", 5, interval=0.1), "resize after a reopen not applied")
    t.quit()
    # The reopen truncates or continues the file: output after it must be there.
    log = read_file(t.b.log) or b""
    check(b"30 90" in log, "log after reopen lacks later output: %r" % log[-300:])


@test()
def test_ctl_garbage_survives(ctx):
    t = Tty(ctx, pre_start_ctl="1 24 80\n")
    t.wait_for_text(b"24 80\r\n")
    for junk in ("hello\n", "\n", "1 2\n", "9 9 9\n", "1 2 3 4\n", "1 -5 99999\n", "x" * 300 + "\n",
                 "1 1 1"):
        ctl_write(t.b.path, junk)
        time.sleep(0.05)
    ctl_write(t.b.path, "\n")
    time.sleep(0.1)
    ctl_write(t.b.path, "1 33 44\n")
    check(wait_for(lambda: t.size() == "33 44", 5, interval=0.1), "valid resize after garbage not applied")
    t.quit()
    check(wait_for(lambda: not pid_alive(t.m.get_monitor_pid()), 10), "monitor still running after exit")


@test(upstream="2.2.0")
def test_ctl_invalid_rejected(ctx):
    """Sizes outside 0..1000 and unknown message types are rejected (conmon 2.2.0; 2.1.6 applies them)."""
    t = Tty(ctx, pre_start_ctl="1 24 80\n")
    t.wait_for_text(b"24 80\r\n")
    for bad in ("1 -5 99999\n", "1 5000 5000\n", "1 30 1001\n", "2 -1 0\n", "9 30 30\n"):
        ctl_write(t.b.path, bad)
        time.sleep(0.3)
        check_eq(t.size(), "24 80", "size after ctl %r" % bad)
    t.quit()


@test(upstream="2.2.0")
def test_ctl_two_messages_one_write(ctx):
    """Every line of a batched write is applied once (conmon 2.2.0; 2.1.6 repeats the first)."""
    t = Tty(ctx, pre_start_ctl="1 24 80\n")
    t.wait_for_text(b"24 80\r\n")
    ctl_write(t.b.path, "1 20 30\n1 25 35\n")
    time.sleep(0.3)
    check_eq(t.size(), "25 35", "size after two messages in one write")
    t.quit()


# ------------------------------------------------------------------ stuck attach client

BIG = 50 * 1024 * 1024


@test(improvement="stuck attach client must not stall the monitor")
def test_stuck_client_does_not_block(ctx):
    b, m = started(ctx, ["sh", "-c", 'sleep 0.5; yes "$(head -c 1023 /dev/zero | tr "\\0" x)" | head -c %d' % BIG])
    c = attach_connect(b.path)  # never reads
    ctx.fds.append(c.detach())
    m.get_monitor_pid()  # tracked, so a monitor stuck on the client is killed at cleanup
    t0 = time.monotonic()
    m.runc_start()
    data = m.wait_exit_file(timeout=12)
    dt = time.monotonic() - t0
    check_eq(data, b"0", "exit file")
    check(wait_for(lambda: not pid_alive(m.get_monitor_pid()), 10), "monitor still running after exit")
    log = read_file(b.log) or b""
    n = 0
    for line in log.split(b"\n")[:-1]:
        parts = line.split(b" ", 3)
        n += len(parts[3]) + (1 if parts[2] == b"F" else 0)
    check_eq(n, BIG, "bytes in the k8s log (took %.1fs)" % dt)
    check(not os.path.exists(os.path.join(b.path, "attach")), "attach socket left behind")


@test()
def test_slow_reader_gets_everything(ctx):
    # A client that reads steadily but slower than the container writes (podman piping into a
    # slow consumer) must still get every byte: 8 MiB, read with a pause after each ~1 MiB.
    n = 8 * 1024 * 1024
    b, m = started(ctx, ["sh", "-c", 'sleep 0.5; yes "$(head -c 511 /dev/zero | tr "\\0" y)" | head -c %d' % n])
    pkts, eof = attach_read(b, m, batch=128, pause=0.25, read_timeout=5, deadline=20)
    check_eq((payload_bytes(pkts), eof), (n, True), "(bytes, EOF) at a slow but steady reader")
    check_eq(m.wait_exit_file(), b"0", "exit file")


@test()
def test_late_starting_reader_gets_everything(ctx):
    # podman attaches, runs `runc start`, and only then reads: under load it may start reading after
    # a fast container has already queued more than the 4 MiB bound. Here reading starts 0.6 s after an
    # 8 MiB burst began: such a client gets back-pressure, not the disconnection a stuck one gets.
    n = 8 * 1024 * 1024
    b, m = started(ctx, ["sh", "-c", 'sleep 0.5; yes "$(head -c 511 /dev/zero | tr "\\0" y)" | head -c %d' % n])
    pkts, eof = attach_read(b, m, delay=1.1, read_timeout=5, deadline=20)
    check_eq((payload_bytes(pkts), eof), (n, True), "(bytes, EOF) at a reader that started late")
    check_eq(m.wait_exit_file(), b"0", "exit file")


# ------------------------------------------------------------------ exec sessions

def process_spec(args, terminal=False):
    cfg = make_config(args, "/", "/x", terminal=terminal)
    return cfg["process"]


class Exec:
    """One exec session started the way podman 4.3.1 does (§1.7 exec, §2.6)."""

    def __init__(self, ctx, b, args, sid="exec1", attach=True, api=True, terminal=False, extra=(), runtime=None):
        self.ctx = ctx
        self.b = b
        self.dir = os.path.join(b.path, sid)
        os.makedirs(os.path.join(self.dir, "exit"))
        spec = os.path.join(self.dir, "process.json")
        with open(spec, "w") as f:
            json.dump(process_spec(args, terminal), f)
        self.exit_file = os.path.join(self.dir, "exit", b.cid)
        a = ["--api-version", "1"] if api else []
        a += ["-c", b.cid, "-u", sid, "-r", runtime or ctx.suite.runc, "-b", self.dir, "-p", os.path.join(self.dir, "exec_pid"),
              "-n", b.cid, "--exit-dir", os.path.join(self.dir, "exit"), "--full-attach",
              "--runtime-arg", "--root", "--runtime-arg", ctx.state, "-l", "none", "--log-level", "warning"]
        a += list(extra)
        a += ["-e"] + (["--exec-attach"] if attach else []) + ["--exec-process-spec", spec]
        env, fds = {}, {}
        self.attach_pipe = None
        if attach:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            self.attach_pipe = ours
            env["_OCI_ATTACHPIPE"] = "5"
            fds[5] = theirs.fileno()
        try:
            self.m = b.start(args=a, extra_fds=fds, env_extra=env, send_start=False)
        finally:
            if attach:
                theirs.close()

    def attach_msg(self, timeout=10):
        r, _, _ = select.select([self.attach_pipe], [], [], timeout)
        check(r, "no attach-pipe message within %ss (monitor stderr %r)" % (timeout, self.m.proc.stderr[-300:]))
        return self.attach_pipe.recv(4096)

    def handshake(self):
        """First start byte, attach-pipe message, connect, second start byte; returns the client."""
        self.m.send_start()
        check_eq(self.m.wait_parent(), 0, "exec monitor parent exit status")
        check_eq(self.attach_msg(), b'{"data": 0}\n', "attach pipe message")
        c = attach_connect(self.dir)
        self.m.send_start()
        return c


def running_sleeper(ctx):
    b = ctx.bundle(["sleep", "100"])
    m = b.start()
    m.create()
    m.runc_start()
    return b, m


@test()
def test_exec_attach_output_and_exit(ctx):
    b, _ = running_sleeper(ctx)
    e = Exec(ctx, b, ["sh", "-c", "echo exec-out; sleep 0.2; echo exec-err >&2; exit 5"])
    c = e.handshake()
    raw, msg = e.m.sync_json()
    check(re.fullmatch(rb'\{"data": [1-9][0-9]*\}\n', raw), "first sync message %r" % raw)
    pkts, eof = recv_packets(c, timeout=10)
    check_eq(pkts, [b"\x02exec-out\n", b"\x03exec-err\n"], "exec attach packets")
    check(eof, "exec attach socket not closed at exit")
    check_eq(e.m.read_sync(), b'{"data": 5}\n', "second sync message")
    check_eq(e.m.wait_exit_file(path=e.exit_file), b"5", "exec exit file")
    st = json.loads(ctx.runc("state", b.cid).out)
    check_eq(st["status"], "running", "container after the exec")


@test()
def test_exec_stdin(ctx):
    b, _ = running_sleeper(ctx)
    e = Exec(ctx, b, ["cat"], extra=["-i"])
    c = e.handshake()
    e.m.sync_json()
    c.send(b"via-exec\n")
    pkts, _ = recv_packets(c, until=lambda p: b"via-exec\n" in payload(p), timeout=10)
    check_eq(payload(pkts), b"via-exec\n", "exec echo")
    c.shutdown(socket.SHUT_WR)
    check_eq(e.m.read_sync(), b'{"data": 0}\n', "exit sync message after stdin EOF")
    check_eq(e.m.wait_exit_file(path=e.exit_file), b"0", "exec exit file")


@test()
def test_exec_tty(ctx):
    b, _ = running_sleeper(ctx)
    # runc starts the process as soon as it has sent the pty master: the monitor's resize
    # of the new pty races with a `stty size` run at once (so it does with conmon).
    e = Exec(ctx, b, ["sh", "-c", "sleep 0.2; stty size; echo in-tty; sleep 0.3"], terminal=True, extra=["-t"])
    e.m.send_start()
    check_eq(e.m.wait_parent(), 0, "exec monitor parent exit status")
    check_eq(e.attach_msg(), b'{"data": 0}\n', "attach pipe message")
    ctl_write(e.dir, "1 12 34\n")  # podman resizes the exec ctl before the second byte
    c = attach_connect(e.dir)
    e.m.send_start()
    e.m.sync_json()
    pkts, _ = recv_packets(c, until=lambda p: b"in-tty\r\n" in payload(p), timeout=10)
    check_ids(pkts, (2,))
    check_eq(payload(pkts), b"12 34\r\nin-tty\r\n", "exec tty output")
    check_eq(e.m.read_sync(), b'{"data": 0}\n', "exit sync message")


@test()
def test_exec_nonexistent_command(ctx):
    b, _ = running_sleeper(ctx)
    e = Exec(ctx, b, ["/no/such/cmd"])
    e.handshake()
    raw = e.m.read_sync()
    msgs = [raw]
    if re.fullmatch(rb'\{"data": [1-9][0-9]*\}\n', raw):
        msgs.append(e.m.read_sync())
    last = msgs[-1]
    check(SYNC_ERR_RE.match(last), "sync messages %r: want a negative data with a message" % msgs)
    check("/no/such/cmd" in json.loads(last)["message"], "message %r does not name the command" % last)
    check(wait_for(lambda: not pid_alive(e.m.proc.pid) and not _monitor_for(e.dir), 10),
          "exec monitor still running")
    st = json.loads(ctx.runc("state", b.cid).out)
    check_eq(st["status"], "running", "container after the failed exec")


@test(upstream="2.2.1")
def test_exec_runtime_nonzero_after_start(ctx):
    """A `runtime exec` that exits non-zero after starting the process (its pid file written) has not
    failed, as in conmon 2.2.1 (a runtime may pass the command's status on; 2.1.6 reports -1): the
    engine gets the pid, then the command's own exit status."""
    b, _ = running_sleeper(ctx)
    wrapper = os.path.join(ctx.tmp, "runtime-exits-3")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\n%s "$@"\nexit 3\n' % ctx.suite.runc)
    os.chmod(wrapper, 0o755)
    e = Exec(ctx, b, ["sh", "-c", "sleep 0.5; exit 7"], runtime=wrapper)
    c = e.handshake()
    try:
        raw, _ = e.m.sync_json()
        check(re.fullmatch(rb'\{"data": [1-9][0-9]*\}\n', raw), "first sync message %r: want the pid" % raw)
        check_eq(e.m.read_sync(), b'{"data": 7}\n', "exit sync message")
    finally:
        c.close()
    check_eq(e.m.wait_exit_file(path=e.exit_file), b"7", "exec exit file")


def _monitor_for(path):
    """Pids of processes whose command line names path (the exec monitor daemon)."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/cmdline" % name, "rb") as f:
                    if path.encode() in f.read():
                        if pid_alive(int(name)):
                            out.append(int(name))
            except OSError:
                pass
    return out


@test()
def test_exec_legacy_api0(ctx):
    b, _ = running_sleeper(ctx)
    e = Exec(ctx, b, ["sh", "-c", "exit 6"], attach=False, api=False)
    e.m.send_start()
    check_eq(e.m.wait_parent(), 0, "exec monitor parent exit status")
    check_eq(e.m.read_sync(), b'{"exit_code": 6}\n', "only sync message of a legacy exec")
    check_eq(e.m.read_sync(timeout=5), b"", "EOF after the legacy exec message")
    check_eq(e.m.wait_exit_file(path=e.exit_file), b"6", "exec exit file")


@test()
def test_exec_handshake_start_pipe_eof(ctx):
    # The engine goes away between the two start bytes: EOF on the start pipe must let the
    # monitor proceed or fail cleanly, never hang.
    b, _ = running_sleeper(ctx)
    e = Exec(ctx, b, ["sh", "-c", "exit 5"])
    e.m.send_start()
    check_eq(e.m.wait_parent(), 0, "exec monitor parent exit status")
    check_eq(e.attach_msg(), b'{"data": 0}\n', "attach pipe message")
    time.sleep(0.3)
    mons = _monitor_for(e.dir)
    check(mons, "exec monitor gone before the second start byte")
    os.close(e.m.start_w)
    ctx.fds.remove(e.m.start_w)
    msgs = []
    while True:
        raw = e.m.read_sync(timeout=10)
        if not raw:
            break
        msgs.append(raw)
        if raw != b'{"data": 0}\n' and not re.fullmatch(rb'\{"data": [1-9][0-9]*\}\n', raw):
            break
        if raw == b'{"data": 5}\n':
            break
    ok = (msgs and (msgs[-1] == b'{"data": 5}\n' or SYNC_ERR_RE.match(msgs[-1])))
    check(ok, "sync messages after start-pipe EOF: %r" % msgs)
    check(wait_for(lambda: not _monitor_for(e.dir), 10), "exec monitor still running after start-pipe EOF")


@test()
def test_exec_handshake_pending_monitor_responsive(ctx):
    # Second start byte not sent yet: the monitor waits (alive, no runtime exec yet), then proceeds.
    b, _ = running_sleeper(ctx)
    e = Exec(ctx, b, ["sh", "-c", "echo late; sleep 0.3; exit 2"])
    e.m.send_start()
    check_eq(e.m.wait_parent(), 0, "exec monitor parent exit status")
    check_eq(e.attach_msg(), b'{"data": 0}\n', "attach pipe message")
    time.sleep(1)
    check(_monitor_for(e.dir), "exec monitor gone while waiting for the second start byte")
    check(not os.path.exists(os.path.join(e.dir, "exec_pid")), "runtime exec ran before the second byte")
    c = attach_connect(e.dir)
    e.m.send_start()
    e.m.sync_json()
    pkts, _ = recv_packets(c, timeout=10)
    check_eq(pkts, [b"\x02late\n"], "exec output")
    check_eq(e.m.read_sync(), b'{"data": 2}\n', "exit sync message")


@test()
def test_exec_quick_exit_output(ctx):
    # The exec'd process may be gone before the runtime returns: its output must still reach the
    # client that connected during the handshake.
    b, _ = running_sleeper(ctx)
    e = Exec(ctx, b, ["sh", "-c", "echo fast; echo fast-err >&2; exit 9"])
    c = e.handshake()
    e.m.sync_json()
    pkts, eof = recv_packets(c, timeout=10)
    check_eq(sorted(pkts), [b"\x02fast\n", b"\x03fast-err\n"], "exec attach packets")
    check(eof, "no EOF after the exec exited")
    check_eq(e.m.read_sync(), b'{"data": 9}\n', "exit sync message")


# ------------------------------------------------------------------ paths and hang-ups

def long_bundle(ctx, args, terminal=False):
    """A bundle whose path is far beyond sun_path's 108 bytes."""
    from harness import Bundle
    cid = ctx.new_cid()
    path = os.path.join(ctx.tmp, *(["d" * 60] * 4), "b%d" % ctx.seq)
    os.makedirs(path)
    cfg = make_config(args, ctx.suite.rootfs, "/ctrtest-" + cid)
    cfg["process"]["terminal"] = terminal
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(cfg, f)
    return Bundle(ctx, cid, path)


@test()
def test_attach_long_bundle_path(ctx):
    b = long_bundle(ctx, ["sh", "-c", "sleep 0.5; echo long-path"])
    m = b.start()
    m.create()
    c = attach_connect(b.path)
    try:
        m.runc_start()
        pkts, _ = recv_packets(c, timeout=10)
    finally:
        c.close()
    check_eq(pkts, [b"\x02long-path\n"], "attach packets through a %d-byte bundle path" % len(b.path))
    check_eq(m.wait_exit_file(), b"0", "exit file")


@test(improvement="the console socket works whatever TMPDIR's length (2.1.6 fails to bind a long path)")
def test_tty_long_tmpdir(ctx):
    tmpdir = os.path.join(ctx.tmp, *(["t" * 60] * 3))
    os.makedirs(tmpdir)
    b = ctx.bundle(["sh", "-c", "echo in-tty"], config_mutate=lambda cfg: cfg["process"].update(terminal=True))
    m = b.start(extra=["-t"], env_extra={"TMPDIR": tmpdir})
    m.create()
    m.runc_start()
    check_eq(m.wait_exit_file(), b"0", "exit file")
    log = read_file(b.log) or b""
    check(b"in-tty" in log, "tty output not logged: %r" % log)


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def check_idle(pid, what, seconds=1.5):
    hz = os.sysconf("SC_CLK_TCK")
    t0 = cpu_ticks(pid)
    time.sleep(seconds)
    used = (cpu_ticks(pid) - t0) / hz
    check(used < 0.15 * seconds, "monitor used %.2fs of CPU in %.1fs %s (busy loop?)" % (used, seconds, what))


@test()
def test_tty_hangup_no_busy_loop(ctx):
    # The container closes every slave fd but keeps running: the master reports HUP/EIO, which
    # must be treated as EOF, not polled in a loop (conmon#167, #440).
    b = ctx.bundle(["sh", "-c", "echo bye; exec 0<&- 1>&- 2>&-; sleep 2.5"],
                   config_mutate=lambda cfg: cfg["process"].update(terminal=True))
    m = b.start(extra=["-t", "-i"])
    m.create()
    c = attach_connect(b.path)
    try:
        m.runc_start()
        recv_packets(c, until=lambda p: b"bye" in payload(p), timeout=10)
        time.sleep(0.3)
        check_idle(m.get_monitor_pid(), "after the terminal hung up")
        check_eq(m.wait_exit_file(), b"0", "exit file")
    finally:
        c.close()


def closed_stdio(ctx, send_input):
    b, m = started(ctx, ["sh", "-c", "echo bye; exec 0<&- 1>&- 2>&-; sleep 2.5"], extra=["-i"])
    c = attach_connect(b.path)
    try:
        m.runc_start()
        recv_packets(c, until=lambda p: b"bye" in payload(p), timeout=10)
        time.sleep(0.3)
        if send_input:
            c.send(b"into a closed stdin\n")
        check_idle(m.get_monitor_pid(), "after the container closed its stdio" +
                   (" and a client sent input" if send_input else ""))
        check_eq(m.wait_exit_file(), b"0", "exit file")
    finally:
        c.close()


@test()
def test_closed_stdout_no_busy_loop(ctx):
    closed_stdio(ctx, False)


@test(improvement="input for a container that closed its stdin is dropped, not retried in a busy loop")
def test_input_to_closed_stdin_no_busy_loop(ctx):
    closed_stdio(ctx, True)


@test()
def test_exec_attach_start_message_read_whole(ctx):
    """An engine that writes "start\\n" releases one wait per message, not one per byte: the exec runtime
    waits for the second message, after the attach client is in place (conmon reads each message whole)."""
    b, _ = running_sleeper(ctx)
    e = Exec(ctx, b, ["sh", "-c", "echo early-bird"])
    os.write(e.m.start_w, b"start\n")
    check_eq(e.m.wait_parent(), 0, "exec monitor parent exit status")
    check_eq(e.attach_msg(), b'{"data": 0}\n', "attach pipe message")
    r, _, _ = select.select([e.m.sync], [], [], 1.0)
    check(not r, "the exec started before its second start message: %r" % (e.m.sync.recv(4096) if r else b""))
    c = attach_connect(e.dir)
    os.write(e.m.start_w, b"start\n")
    e.m.sync_json()
    pkts, _ = recv_packets(c, until=lambda p: b"early-bird\n" in payload(p), timeout=10)
    check_eq(payload(pkts), b"early-bird\n", "exec output to the attach client")
    check_eq(e.m.read_sync(), b'{"data": 0}\n', "exit sync message")


@test()
def test_ctl_resize_ignores_trailing_fields(ctx):
    """conmon reads "%d %d %d": `1 2 2 3` resizes to 2x2, anything after the third number is ignored."""
    t = Tty(ctx, pre_start_ctl="1 24 80\n")
    t.wait_for_text(b"24 80\r\n")
    ctl_write(t.b.path, "1 12 34 56\n")
    check(wait_for(lambda: t.size() == "12 34", 5, interval=0.1), "`1 12 34 56` not applied as 12x34")
    ctl_write(t.b.path, "1 21 43trailing junk\n")
    check(wait_for(lambda: t.size() == "21 43", 5, interval=0.1), "`1 21 43trailing junk` not applied as 21x43")
    t.quit()


@test()
def test_exec_attach_without_attach_pipe(ctx):
    b, _ = running_sleeper(ctx)
    e = Exec(ctx, b, ["true"], attach=False, extra=["--exec-attach"])
    e.m.send_start()
    text = b"--attach specified but _OCI_ATTACHPIPE was not"
    check(wait_for(lambda: text in e.m.proc.stderr, 10), "stderr %r lacks %r" % (e.m.proc.stderr, text))
    check(not os.path.exists(os.path.join(e.dir, "exec_pid")), "the exec ran without its attach pipe")


@test(upstream="2.1.11")
def test_exec_tty_runtime_argv(ctx):
    """`runtime exec` gets no --tty (dropped in conmon 2.1.11): the process spec already asks for the terminal,
    and gVisor refuses the flag."""
    b, _ = running_sleeper(ctx)
    argv_log = os.path.join(ctx.tmp, "exec-argv")
    wrapper = os.path.join(ctx.tmp, "runtime-wrapper")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nprintf "%%s\\n" "$@" > %s\nexec %s "$@"\n' % (argv_log, ctx.suite.runc))
    os.chmod(wrapper, 0o755)
    e = Exec(ctx, b, ["true"], terminal=True, extra=["-t"], runtime=wrapper)
    e.handshake()
    e.m.sync_json()
    check_eq(e.m.read_sync(), b'{"data": 0}\n', "exit sync message")
    argv = (read_file(argv_log) or b"").decode().split("\n")
    check("exec" in argv, "the wrapper did not see an exec: %r" % argv)
    check("--tty" not in argv, "runtime exec got --tty: %r" % argv)
    check("--console-socket" in argv, "runtime exec without --console-socket: %r" % argv)
