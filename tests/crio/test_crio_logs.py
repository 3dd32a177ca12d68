# SPDX-License-Identifier: Apache-2.0
"""The container log as `kubectl logs` / `crictl logs` read it (the kubelet's CRI log parser),
journald as CRI-O's second driver, and CRI-O's log reopen."""

import os

import journald
from testlib import Registry, check, check_eq, read_file, wait_for
from criparse import read_cri_logs

reg = Registry()
test = reg.test

LONG = 20000


def _logs_of(ctx, script, **create):
    c = ctx.container(["sh", "-c", script])
    c.create_ok(**create)
    c.start()
    code, _ = c.wait_exit(20)
    check_eq(code, 0, "exit code")
    check_eq(c.wait_monitor(), 0, "monitor exit status")
    data = read_file(c.log_path)
    check(data is not None, "no log at %s" % c.log_path)
    out, err, records = read_cri_logs(data)
    return c, data, out, err, records


@test()
def test_logs_no_trailing_newline(ctx):
    """Output that ends without a newline reads back without one: the log's last record is
    the partial one, with no empty full record invented at exit (issue 12 item 1)."""
    _, data, out, err, records = _logs_of(ctx, "printf hello")
    check_eq(out, b"hello", "kubectl logs stdout (log %r)" % data)
    check_eq(err, b"", "stderr")
    check_eq([(s, t[0], x) for s, t, x in records], [("stdout", "P", b"hello")], "records")


@test()
def test_logs_exact_bytes(ctx):
    """Lines, empty lines, a line longer than the read buffer, bytes that are not text, both
    streams: each stream reads back byte for byte."""
    script = ("printf 'one\\n\\nthree\\n'; head -c %d /dev/zero | tr '\\0' y; printf '\\n'; "
              "printf 'e1\\ne2' >&2; printf '\\000\\377\\r tail '" % LONG)
    _, data, out, err, _ = _logs_of(ctx, script)
    check_eq(out, b"one\n\nthree\n" + b"y" * LONG + b"\n\0\xff\r tail ", "stdout (log %r)" % data[-300:])
    check_eq(err, b"e1\ne2", "stderr")


@test()
def test_logs_format(ctx):
    """Each line is `TIMESTAMP STREAM TAG CONTENT` that the kubelet parses with no line skipped."""
    _, data, out, _, records = _logs_of(ctx, "echo a; printf b")
    lines = data.split(b"\n")
    check_eq(lines[-1], b"", "the log ends with a newline")
    check_eq(len(records), len(lines) - 1, "records the kubelet parsed vs lines (%r)" % data)
    check_eq(out, b"a\nb", "stdout")


@test()
def test_logs_journald_second_driver(ctx):
    """`-l PATH --log-path journald:`: the file and the journal both get the output."""
    with journald.journal() as j:
        c, data, out, _, _ = _logs_of(ctx, "echo to-both; printf last", journald=True)
        check_eq(out, b"to-both\nlast", "file stdout (log %r)" % data)
        want = b"to-both\nlast"

        def journal_out(es):
            return b"".join(journald.field_bytes(e, "MESSAGE") or b"" for e in es)
        entries = j.entries(c.cid, until=lambda es: journal_out(es) == want)
        check_eq(journal_out(entries), want, "journal MESSAGEs joined")


@test()
def test_logs_reopen_after_rotation(ctx):
    """The kubelet's rotation: rename the log, ReopenContainerLog (`2 0 0` on ctl, then wait
    for the path to be created or written). Every line lands once, the old file ends where
    the new one starts, and both parse."""
    c = ctx.container(["sh", "-c", "i=0; while [ $i -lt 400 ]; do echo line$i; i=$((i+1)); sleep 0.01; done"])
    c.create_ok()
    c.start()
    check(wait_for(lambda: (read_file(c.log_path) or b"").count(b"\n") >= 20, 10), "no output before rotation")
    rotated = c.log_path + ".20260101-000000"
    os.rename(c.log_path, rotated)
    c.reopen_log()
    check(os.path.exists(c.log_path), "log path not recreated by the reopen")
    code, _ = c.wait_exit(30)
    check_eq(code, 0, "exit code")
    check_eq(c.wait_monitor(), 0, "monitor exit status")
    old_out, _, _ = read_cri_logs(read_file(rotated))
    new_out, _, _ = read_cri_logs(read_file(c.log_path))
    check(old_out and new_out, "one side of the rotation is empty (old %d bytes, new %d)" %
          (len(old_out), len(new_out)))
    check(old_out.endswith(b"\n"), "the old file ends inside a line: %r" % old_out[-40:])
    want = b"".join(b"line%d\n" % i for i in range(400))
    check_eq(old_out + new_out, want, "lines across the rotation")


@test()
def test_logs_reopen_idle(ctx):
    """A reopen with no output pending still creates the file, so CRI-O's wait ends."""
    c = ctx.container(["sh", "-c", "echo before; sleep 600"])
    c.create_ok()
    c.start()
    check(wait_for(lambda: read_file(c.log_path), 10), "no output before rotation")
    os.rename(c.log_path, c.log_path + ".1")
    c.reopen_log()
    check_eq(read_cri_logs(read_file(c.log_path))[0], b"", "new log's stdout")
    check_eq(read_cri_logs(read_file(c.log_path + ".1"))[0], b"before\n", "old log's stdout")
