# SPDX-License-Identifier: Apache-2.0
"""ExecSync as CRI-O runs it (`-e --sync -l TMPLOG ...`) and reads it back: the exit-code
message on the pipe, then the k8s log parsed with CRI-O's own rules. The bytes the command
wrote must come back exactly (Kubernetes' CRI conformance test execSync: `echo -n hello`
returns `hello`)."""

import threading
import time

from testlib import Registry, check, check_eq

reg = Registry()
test = reg.test

LONG = 20000  # longer than the monitor's 8 KiB read buffer: split into partial records


def _running(ctx, terminal=False):
    c = ctx.container(["sleep", "600"], terminal=terminal)
    c.create_ok()
    c.start()
    return c


def _expect(r, stdout, stderr=b"", code=0):
    check(r.error is None, "ExecSync failed: %r" % r)
    check_eq(r.exit_code, code, "exit code (%r)" % r)
    check_eq(r.stdout, stdout, "stdout (log %r)" % r.log[:600])
    check_eq(r.stderr, stderr, "stderr (log %r)" % r.log[:600])


@test()
def test_execsync_echo_n(ctx):
    """Output without a final newline ends with a partial record and nothing after it, so
    `echo -n hello` reads back as `hello`, not `hello\\n` (issue 12 item 1)."""
    c = _running(ctx)
    r = c.exec_sync(["echo", "-n", "hello"])
    _expect(r, b"hello")
    c2 = c.exec_sync(["sh", "-c", "printf err >&2"])
    _expect(c2, b"", b"err")


@test()
def test_execsync_lines(ctx):
    c = _running(ctx)
    _expect(c.exec_sync(["echo", "hello"]), b"hello\n")
    _expect(c.exec_sync(["printf", "a\\nb\\nc\\n"]), b"a\nb\nc\n")
    _expect(c.exec_sync(["printf", "a\\n\\nb"]), b"a\n\nb")
    _expect(c.exec_sync(["printf", "\\n"]), b"\n")
    _expect(c.exec_sync(["true"]), b"")


@test()
def test_execsync_long_lines(ctx):
    """A line longer than the read buffer, with and without its newline."""
    c = _running(ctx)
    cmd = "head -c %d /dev/zero | tr '\\0' x" % LONG
    _expect(c.exec_sync(["sh", "-c", cmd]), b"x" * LONG)
    _expect(c.exec_sync(["sh", "-c", cmd + "; echo"]), b"x" * LONG + b"\n")
    _expect(c.exec_sync(["sh", "-c", "printf 'ab\\n'; " + cmd + "; printf '\\ncd'"]),
            b"ab\n" + b"x" * LONG + b"\ncd")


@test()
def test_execsync_stdout_stderr(ctx):
    c = _running(ctx)
    _expect(c.exec_sync(["sh", "-c", "echo out; echo err >&2; printf o2; printf e2 >&2"]),
            b"out\no2", b"err\ne2")


@test()
def test_execsync_binary_bytes(ctx):
    """Bytes that are not text (NUL, 0xff, CR, spaces at the ends) come back unchanged."""
    c = _running(ctx)
    _expect(c.exec_sync(["printf", "\\000a\\377 b \\r\\n  "]), b"\0a\xff b \r\n  ")


@test()
def test_execsync_exit_codes(ctx):
    c = _running(ctx)
    _expect(c.exec_sync(["sh", "-c", "exit 3"]), b"", code=3)
    _expect(c.exec_sync(["sh", "-c", "echo oops >&2; exit 1"]), b"", b"oops\n", code=1)
    _expect(c.exec_sync(["sh", "-c", "printf partial; exit 42"]), b"partial", code=42)
    _expect(c.exec_sync(["false"]), b"", code=1)


@test()
def test_execsync_timeout(ctx):
    """-T: `{"exit_code": -1, "message": "command timed out"}`, which CRI-O turns into a
    response with exit code -1 and that stderr (not an error: the kubelet's probes need it)."""
    c = _running(ctx)
    t0 = time.monotonic()
    r = c.exec_sync(["sh", "-c", "echo started; sleep 60"], timeout=2, wait=50)
    took = time.monotonic() - t0
    check(r.error is None, "timed-out ExecSync returned an error: %r" % r)
    check_eq(r.exit_code, -1, "exit code (%r)" % r)
    check_eq(r.stderr, b"command timed out", "stderr")
    check(took < 45, "the command was not stopped at its timeout (%.1fs)" % took)
    # The container is still fine afterwards.
    _expect(c.exec_sync(["echo", "-n", "after"], timeout=10), b"after")


@test()
def test_execsync_missing_executable(ctx):
    """The runtime cannot start the command: CRI-O must not report success, and what it
    returns names the missing file."""
    c = _running(ctx)
    r = c.exec_sync(["/no/such/binary"])
    check(r.error is not None or r.exit_code != 0, "missing executable reported as success: %r" % r)
    said = (r.error or "").encode() + r.stderr + r.stdout
    check(b"no/such/binary" in said or b"no such file" in said.lower(),
          "nothing names the missing executable: %r" % r)


@test()
def test_execsync_terminal(ctx):
    """A terminal container: CRI-O passes -t, stdout and stderr share the console, the
    terminal turns \\n into \\r\\n, and output without a newline still reads back as written."""
    c = _running(ctx, terminal=True)
    _expect(c.exec_sync(["echo", "-n", "hello"]), b"hello")
    _expect(c.exec_sync(["sh", "-c", "echo a; echo b >&2"]), b"a\r\nb\r\n")


@test()
def test_execsync_concurrent(ctx):
    """Probes overlap: several ExecSyncs on one container at once, each with its own log,
    each getting back only its own bytes."""
    c = _running(ctx)
    results = {}

    def one(i):
        try:
            results[i] = c.exec_sync(["sh", "-c", "printf 'n%d\\n'; printf e%d >&2; printf -- -%d; exit %d" %
                                      (i, i, i, i)])
        except Exception as e:  # noqa: B902 - reported below
            results[i] = e
    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for i in range(4):
        r = results.get(i)
        check(not isinstance(r, Exception) and r is not None, "ExecSync %d: %r" % (i, r))
        _expect(r, b"n%d\n-%d" % (i, i), b"e%d" % i, code=i)


@test()
def test_execsync_background_child(ctx):
    """A probe that leaves a child holding stdout (`sleep 60 &`) still returns when the
    command itself exits, with its output."""
    c = _running(ctx)
    t0 = time.monotonic()
    r = c.exec_sync(["sh", "-c", "sleep 60 & printf bg"], wait=70)
    took = time.monotonic() - t0
    _expect(r, b"bg")
    check(took < 50, "ExecSync waited for the background child (%.1fs)" % took)
