# SPDX-License-Identifier: Apache-2.0
"""AttachContainer as CRI-O does it: ctl opened for writing, a SOCK_SEQPACKET dial of
SOCKETDIR/ID/attach, packets of [stream byte][data] read into an 8193-byte buffer, stdin
written raw and ended with shutdown(SHUT_WR), resizes as `1 H W` lines on ctl."""

import os

from testlib import Registry, check, check_eq

reg = Registry()
test = reg.test


@test()
def test_attach_streams(ctx):
    """Output after the attach arrives framed with 2 (stdout) and 3 (stderr), byte-exact,
    and the connection ends when the container does."""
    c = ctx.container(["sh", "-c", "read go; echo out; echo err >&2; head -c 20000 /dev/zero | tr '\\0' z; "
                                   "printf end"], stdin=True, stdin_once=True)
    c.create_ok()
    c.start()
    a = c.attach()
    try:
        a.send(b"go\n")
        a.close_write()
        a.pump(timeout=20)
        check(a.eof, "attach connection not closed after the container exited (got %d bytes)" % len(a.stdout))
        check_eq(a.unknown, [], "packets with an unknown stream byte")
        check_eq(bytes(a.stdout), b"out\n" + b"z" * 20000 + b"end", "stdout")
        check_eq(bytes(a.stderr), b"err\n", "stderr")
    finally:
        a.close()
    code, _ = c.wait_exit(20)
    check_eq(code, 0, "exit code")


@test()
def test_attach_stdin_once(ctx):
    """-i without --leave-stdin-open (stdinOnce): the client's half-close is the
    container's EOF, so `cat` echoes what it got and exits 0."""
    c = ctx.container(["cat"], stdin=True, stdin_once=True)
    c.create_ok()
    c.start()
    a = c.attach()
    payload = b"first line\n" + bytes(range(256)) + b"\nno newline at the end"
    try:
        a.send(payload)
        a.close_write()
        a.pump(timeout=20)
        check_eq(bytes(a.stdout), payload, "stdout echoed by cat")
    finally:
        a.close()
    code, _ = c.wait_exit(20)
    check_eq(code, 0, "cat's exit code")


@test()
def test_attach_resize(ctx):
    """A terminal container: `1 H W` on ctl sizes the console; the size shows in stty."""
    c = ctx.container(["sh", "-c", "while read x; do stty size; done"], terminal=True)
    c.create_ok()
    c.start()
    a = c.attach()
    try:
        a.resize(37, 111)
        for _ in range(20):
            a.send(b"x\n")
            if a.pump(lambda at: b"37 111" in at.stdout, timeout=0.5):
                break
        check(b"37 111" in a.stdout, "size 37x111 not seen: %r" % bytes(a.stdout[-200:]))
        a.resize(12, 50)
        for _ in range(20):
            a.send(b"x\n")
            if a.pump(lambda at: b"12 50" in at.stdout, timeout=0.5):
                break
        check(b"12 50" in a.stdout, "second size 12x50 not seen: %r" % bytes(a.stdout[-200:]))
        check_eq(a.stderr, b"", "a terminal has no stderr stream")
    finally:
        a.close()


@test()
def test_attach_leave_stdin_open(ctx):
    """-i --leave-stdin-open (stdinOnce false): a client's half-close does not close the
    container's stdin, so a second attach still talks to the same `cat`."""
    c = ctx.container(["cat"], stdin=True, stdin_once=False)
    c.create_ok()
    c.start()
    for word in (b"first\n", b"second\n"):
        a = c.attach()
        try:
            a.send(word)
            a.close_write()
            check(a.pump(lambda at: bytes(at.stdout) == word, timeout=10),
                  "attach got %r, want %r" % (bytes(a.stdout), word))
        finally:
            a.close()
    check(not os.path.exists(c.exit_file), "cat exited after a client's half-close")
