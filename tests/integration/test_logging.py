# SPDX-License-Identifier: Apache-2.0
"""Container logging, every driver (docs/protocol.md: Log drivers, k8s-file log, journald log, ctl and
winsz FIFOs; docs/compat.md for the log failures of conmon 2.1.6).

The container runs /helpers/emit (tests/helpers/emit.c), which writes a deterministic pseudo-random
stream; emit_stream() below recomputes it, so what a driver kept is compared byte for byte."""

import contextlib
import datetime
import os
import re
import shutil
import stat
import struct
import time

import journald
from testlib import Registry, TestSkip, check, check_eq, read_file, run, wait_for

reg = Registry()
test = reg.test

# ------------------------------------------------------------------ emit's generator, mirrored

POOL = 256 * 1024
M64 = (1 << 64) - 1
TABLES = {
    0: bytes(32 + b % 95 for b in range(256)),
    1: bytes(13 if b % 32 == 0 else 32 + b % 95 for b in range(256)),
    2: bytes(13 if b == 10 else b for b in range(256)),
}
TEXT, TEXT_CR, BINARY = 0, 1, 2


def emit_stream(seed, total, maxlen, mode, streams, nofinal):
    """(stdout, stderr) bytes of `emit SEED TOTAL MAXLEN MODE STREAMS NOFINALNL ...` (see emit.c)."""
    s = seed or 88172645463325252

    def nxt():
        nonlocal s
        x = s
        x ^= (x << 13) & M64
        x ^= x >> 7
        x ^= (x << 17) & M64
        s = x
        return x

    raw = bytearray(POOL)
    for i in range(0, POOL, 8):
        struct.pack_into("<Q", raw, i, nxt())
    pool = bytes(raw).translate(TABLES[mode])
    out = ([], [])
    made = 0
    while made < total:
        r = nxt()
        st = (r & 1) if streams == 3 else streams - 1
        kind = (r >> 1) & 3
        cap = min(200 if kind < 2 else 9000 if kind == 2 else maxlen, maxlen)
        n = nxt() % (cap + 1)
        off = nxt() % (POOL - n + 1)
        out[st].append(pool[off:off + n] + b"\n")
        made += n + 1
    if nofinal:
        for st in (0, 1):
            if streams & (1 << st):
                n = nxt() % 100 + 1
                off = nxt() % (POOL - n + 1)
                out[st].append(pool[off:off + n])
    return b"".join(out[0]), b"".join(out[1])


class Emit:
    def __init__(self, seed, total, maxlen=102400, mode=TEXT, streams=3, nofinal=False, maxchunk=65536, pause_us=0):
        self.params = (seed, total, maxlen, mode, streams, int(nofinal))
        self.argv = ["/helpers/emit"] + [str(x) for x in self.params + (maxchunk, pause_us)]

    def expected(self):
        return emit_stream(*self.params)


def need_emit(ctx):
    if not os.access(os.path.join(ctx.suite.rootfs, "helpers", "emit"), os.X_OK):
        raise TestSkip("/helpers/emit missing from the rootfs (make build/tests/helpers/emit)")


# ------------------------------------------------------------------ strict k8s-file parser

TS = rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9})([+-]\d\d:\d\d)"
REC_RE = re.compile(TS + rb" (stdout|stderr) ([FP]) ([^\n]*)\Z", re.S)


class Rec:
    __slots__ = ("ts", "off", "stream", "tag", "content", "size")

    def __init__(self, m, size):
        self.ts, self.off = m.group(1), m.group(2)
        self.stream = m.group(3).decode()
        self.tag = m.group(4).decode()
        self.content = m.group(5)
        self.size = size


def parse_log(data, what="log"):
    """Every record whole and well-formed, the file ends with a newline."""
    check(data is not None, "%s missing" % what)
    check(data == b"" or data.endswith(b"\n"), "%s does not end with a newline (torn record): %r" %
          (what, data[-80:]))
    recs = []
    for i, line in enumerate(data.split(b"\n")[:-1]):
        m = REC_RE.match(line)
        check(m, "%s: malformed record %d: %r" % (what, i, line[:200]))
        recs.append(Rec(m, len(line) + 1))
    return recs


def join_stream(recs, stream):
    """P records continue a line, F ends it."""
    parts = []
    for r in recs:
        if r.stream == stream:
            parts.append(r.content)
            if r.tag == "F":
                parts.append(b"\n")
    return b"".join(parts)


def tails_ok(got, want):
    """got == want, except that a final line without '\\n' may have been closed by an empty F."""
    return got == want or (not want.endswith(b"\n") and got == want + b"\n")


def first_diff(a, b):
    n = min(len(a), len(b))
    i = next((k for k in range(n) if a[k] != b[k]), n)
    return "at byte %d of %d/%d: got %r want %r" % (i, len(a), len(b), a[i:i + 40], b[i:i + 40])


def check_stream(recs, stream, want, what="log"):
    got = join_stream(recs, stream)
    check(tails_ok(got, want), "%s %s differs %s" % (what, stream, first_diff(got, want)))
    mine = [r for r in recs if r.stream == stream]
    if want and not want.endswith(b"\n") and got == want + b"\n":
        check(mine[-1].tag == "F" and mine[-1].content == b"" and len(mine) > 1 and mine[-2].tag == "P",
              "%s %s: extra newline not from an empty F closing a P" % (what, stream))


def check_suffix(got, want, what):
    """got (per-stream content of a truncated/rotated log) must be a suffix of what was written."""
    if want.endswith(got) or (not want.endswith(b"\n") and got.endswith(b"\n") and want.endswith(got[:-1])):
        return
    raise AssertionError("%s: %d bytes are not a suffix of the %d written (tail %r vs %r)" %
                         (what, len(got), len(want), got[-60:], want[-60:]))


def run_emit(ctx, em, log=None, extra=(), env_extra=None, timeout=30):
    b = ctx.bundle(em.argv)
    m = b.start(log=log, extra=list(extra), env_extra=env_extra)
    check_eq(m.run_to_exit(timeout=timeout), b"0", "exit file")
    m.wait_monitor(15)
    return b, m


# ------------------------------------------------------------------ 1. round trip

def _round_trip(ctx, em):
    need_emit(ctx)
    t0 = time.monotonic()
    b, _ = run_emit(ctx, em, timeout=40)
    recs = parse_log(read_file(b.log))
    out, err = em.expected()
    check_stream(recs, "stdout", out)
    check_stream(recs, "stderr", err)
    check(time.monotonic() - t0 < 40, "took %.1fs" % (time.monotonic() - t0))


@test()
def test_logging_round_trip_binary_long_lines(ctx):
    # lines up to 100 KiB, any byte but '\n' (so '\r' too), both streams, no final newline
    _round_trip(ctx, Emit(11, 8 << 20, maxlen=102400, mode=BINARY, nofinal=True, maxchunk=65536))


@test()
def test_logging_round_trip_cr_newline_end(ctx):
    _round_trip(ctx, Emit(12, 6 << 20, maxlen=102400, mode=TEXT_CR, nofinal=False, maxchunk=9000))


@test()
def test_logging_round_trip_short_lines_small_writes(ctx):
    _round_trip(ctx, Emit(13, 5 << 20, maxlen=2000, mode=TEXT_CR, nofinal=True, maxchunk=300))


@test()
def test_logging_round_trip_stderr_only_binary(ctx):
    _round_trip(ctx, Emit(14, 20 << 20, maxlen=102400, mode=BINARY, streams=2, nofinal=True, maxchunk=131072))


@test()
def test_logging_round_trip_empty_lines(ctx):
    # maxlen 0: nothing but newlines, each an empty F record
    _round_trip(ctx, Emit(15, 200000, maxlen=0, mode=TEXT, maxchunk=5000))


# ------------------------------------------------------------------ 2. exact format, local time

def _utc_offset_of(zone):
    res = run(["date", "+%z"], env={"TZ": zone, "PATH": "/usr/bin:/bin"})
    z = res.out.strip()
    return z[:3] + ":" + z[3:]


@test()
def test_logging_timestamp_format_local_zones(ctx):
    for zone in ("Asia/Kolkata", "America/St_Johns", "UTC"):
        if not os.path.exists(os.path.join("/usr/share/zoneinfo", zone)):
            raise TestSkip("tzdata lacks %s" % zone)
    for zone in ("Asia/Kolkata", "America/St_Johns", "UTC"):
        want_off = _utc_offset_of(zone)
        b = ctx.bundle(["sh", "-c", "echo out; echo err >&2; printf part"])
        m = b.start(env_extra={"TZ": zone})
        t0 = time.time()
        m.run_to_exit()
        m.wait_monitor()
        recs = parse_log(read_file(b.log), "log (TZ=%s)" % zone)
        check(len(recs) >= 3, "TZ=%s: records %r" % (zone, [(r.stream, r.tag, r.content) for r in recs]))
        for r in recs:
            check_eq(r.off.decode(), want_off, "TZ=%s offset" % zone)
            sign = 1 if r.off[:1] == b"+" else -1
            tz = datetime.timezone(sign * datetime.timedelta(hours=int(r.off[1:3]), minutes=int(r.off[4:6])))
            t = datetime.datetime.strptime(r.ts[:26].decode(), "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=tz)
            check(abs(t.timestamp() - t0) < 60, "TZ=%s: timestamp %r%r is not now" % (zone, r.ts, r.off))
        got = sorted((r.stream, r.tag, r.content) for r in recs if r.content)
        check_eq(got, [("stderr", "F", b"err"), ("stdout", "F", b"out"), ("stdout", "P", b"part")], "records")


# ------------------------------------------------------------------ 3. --log-size-max (truncate)

@test()
def test_logging_size_max_truncate(ctx):
    need_emit(ctx)
    size_max = 8192 * 3
    maxlen = 3000
    em = Emit(21, 600000, maxlen=maxlen, mode=TEXT_CR, nofinal=True, maxchunk=4000, pause_us=300)
    b = ctx.bundle(em.argv)
    m = b.start(extra=["--log-size-max", str(size_max)])
    m.create()
    m.runc_start()
    biggest = 0
    t0 = time.monotonic()
    while not os.path.exists(b.exit_file) and time.monotonic() - t0 < 30:
        with contextlib.suppress(FileNotFoundError):
            biggest = max(biggest, os.stat(b.log).st_size)
        time.sleep(0.002)
    check_eq(m.wait_exit_file(), b"0", "exit file")
    m.wait_monitor()
    bound = size_max + maxlen + 64
    check(biggest <= bound, "log grew to %d bytes, max %d + one record" % (biggest, size_max))
    data = read_file(b.log)
    check(len(data) <= bound, "final log %d bytes > %d" % (len(data), bound))
    recs = parse_log(data)
    check(recs, "log empty after truncation")
    out, err = em.expected()
    check_suffix(join_stream(recs, "stdout"), out, "stdout after the last truncation")
    check_suffix(join_stream(recs, "stderr"), err, "stderr after the last truncation")
    check(not os.path.exists(b.log + ".tmp"), "%s.tmp left behind" % b.log)


# ------------------------------------------------------------------ 4. --log-rotate (2.2 feature)

@test(only="ours")
def test_logging_rotate_max_files(ctx):
    need_emit(ctx)
    size_max = 8192 * 2
    maxlen = 2000
    em = Emit(31, 400000, maxlen=maxlen, mode=BINARY, nofinal=True, maxchunk=3000)
    b, _ = run_emit(ctx, em, extra=["--log-size-max", str(size_max), "--log-rotate", "--log-max-files", "2"])
    files = [b.log + ".2", b.log + ".1", b.log]
    for p in files:
        check(os.path.exists(p), "%s missing; dir %r" % (p, sorted(os.listdir(b.path))))
    check(not os.path.exists(b.log + ".3"), "%s.3 exists with --log-max-files 2" % b.log)
    recs = []
    total = 0
    for p in files:
        data = read_file(p)
        total += len(data)
        check(len(data) <= size_max + maxlen + 64, "%s has %d bytes, max %d" % (p, len(data), size_max))
        recs += parse_log(data, os.path.basename(p))
    check(total >= size_max, "only %d bytes kept in 3 files, want at least the last %d" % (total, size_max))
    out, err = em.expected()
    check_suffix(join_stream(recs, "stdout"), out, "stdout across .2 .1 and the log")
    check_suffix(join_stream(recs, "stderr"), err, "stderr across .2 .1 and the log")


# ------------------------------------------------------------------ 5. kubelet rotation + ctl reopen flood

def _write_ctl(ctl, msg):
    fd = os.open(ctl, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        os.write(fd, msg)
    finally:
        os.close(fd)


@test()
def test_logging_reopen_flood(ctx):
    need_emit(ctx)
    em = Emit(41, 500000, maxlen=300, mode=TEXT, nofinal=True, maxchunk=700, pause_us=600)
    b = ctx.bundle(em.argv)
    m = b.start()
    m.create()
    ctl = os.path.join(b.path, "ctl")
    if not wait_for(lambda: os.path.exists(ctl), 2):
        raise TestSkip("monitor made no %s (ctl FIFO not in this build)" % ctl)
    check(stat.S_ISFIFO(os.stat(ctl).st_mode), "ctl is not a FIFO")
    m.runc_start()
    renamed = []
    t0 = time.monotonic()
    while not os.path.exists(b.exit_file) and time.monotonic() - t0 < 30:
        dst = "%s.rot%04d" % (b.log, len(renamed))
        try:
            os.rename(b.log, dst)
            renamed.append(dst)
        except FileNotFoundError:
            pass
        _write_ctl(ctl, b"2 0 0\n")
        time.sleep(0.1)
    check_eq(m.wait_exit_file(), b"0", "exit file")
    m.wait_monitor()
    check(len(renamed) >= 10, "only %d rotations happened while the container ran" % len(renamed))
    recs = []
    for p in renamed + [b.log]:
        recs += parse_log(read_file(p) if os.path.exists(p) else b"", os.path.basename(p))
    out, err = em.expected()
    check_stream(recs, "stdout", out, "rotated files + log")
    check_stream(recs, "stderr", err, "rotated files + log")


def _log_fsyncs(ctx, cmd):
    """fsync calls the monitor makes on a container's k8s-file log (strace -P follows the path's fds)."""
    b = ctx.bundle(cmd)
    trace = os.path.join(ctx.tmp, "fsync-%s.out" % b.cid)
    argv = ["-D", "-f", "-qq", "-e", "trace=fsync,fdatasync", "-P", b.log, "-o", trace, ctx.monitor] + b.args()
    m = b.start(args=argv, prog=shutil.which("strace"))
    m.create(timeout=30)
    m.runc_start()
    check_eq(m.wait_exit_file(), b"0", "exit file")
    m.wait_monitor(15)
    with open(trace) as f:
        return [ln.strip() for ln in f if "sync(" in ln], read_file(b.log)


@test(improvement="a container that wrote nothing to its k8s-file log costs no fsync at exit (CRI-O runs an "
      "exec probe through the monitor every few seconds per pod; 2.1.6 syncs the empty log each time)")
def test_logging_fsync_only_when_written(ctx):
    if not shutil.which("strace"):
        raise TestSkip("strace not installed")
    calls, log = _log_fsyncs(ctx, ["echo", "kept"])
    check(b" stdout F kept\n" in log, "log of echo: %r" % log)
    check(calls, "a log that was written to is not synced before the monitor exits")
    calls, log = _log_fsyncs(ctx, ["true"])
    check_eq(log, b"", "log of true")
    check(not calls, "empty log synced: %r" % calls)


@test(improvement="a ctl reopen (2 0 0) of a log that was not renamed away keeps its content (2.1.6 truncates it: "
                  "conmon#367, data loss when the kubelet's rename and the reopen race)")
def test_logging_reopen_without_rename_keeps_data(ctx):
    b = ctx.bundle(["sh", "-c", "echo before; sleep 1; echo after"])
    m = b.start()
    m.create()
    ctl = os.path.join(b.path, "ctl")
    if not wait_for(lambda: os.path.exists(ctl), 2):
        raise TestSkip("monitor made no %s (ctl FIFO not in this build)" % ctl)
    m.runc_start()
    check(wait_for(lambda: b"before" in (read_file(b.log) or b""), 10), "'before' never logged")
    _write_ctl(ctl, b"2 0 0\n")
    check_eq(m.wait_exit_file(), b"0", "exit file")
    m.wait_monitor()
    check_eq(join_stream(parse_log(read_file(b.log)), "stdout"), b"before\nafter\n", "stdout in the log")


# ------------------------------------------------------------------ 6. none, passthrough, two drivers

@test()
def test_logging_none_drains(ctx):
    # nothing stored, but the pipes are drained: 4 MiB does not block the container
    need_emit(ctx)
    b, _ = run_emit(ctx, Emit(51, 4 << 20, maxlen=5000), log="none")
    check(not os.path.exists(b.log), "-l none made %s" % b.log)
    check_eq(sorted(f for f in os.listdir(b.path) if f.endswith(".log")), [], "log files in the bundle")


@test()
def test_logging_passthrough_exact_bytes(ctx):
    need_emit(ctx)
    em = Emit(52, 2 << 20, maxlen=20000, mode=BINARY, nofinal=True, maxchunk=10000)
    b, m = run_emit(ctx, em, log="passthrough")
    out, err = em.expected()
    check(m.proc.stdout == out, "monitor stdout differs %s" % first_diff(m.proc.stdout, out))
    check(m.proc.stderr.endswith(err), "monitor stderr lacks the container's stderr %s" %
          first_diff(m.proc.stderr[-len(err):], err))
    check(not os.path.exists(b.log), "passthrough made %s" % b.log)


@test()
def test_logging_k8s_file_plus_none(ctx):
    need_emit(ctx)
    em = Emit(53, 300000, maxlen=20000, mode=TEXT_CR, nofinal=True)
    b = ctx.bundle(em.argv)
    args = b.args(extra=["-l", "none"])
    m = b.start(args=args)
    check_eq(m.run_to_exit(), b"0", "exit file")
    m.wait_monitor()
    recs = parse_log(read_file(b.log))
    out, err = em.expected()
    check_stream(recs, "stdout", out)
    check_stream(recs, "stderr", err)


def journal_streams(entries):
    out, err = [], []
    for e in entries:
        msg = journald.field_bytes(e, "MESSAGE") or b""
        (out if e.get("PRIORITY") == "6" else err).append(msg)
    return b"".join(out), b"".join(err)


@test()
def test_logging_k8s_file_plus_journald(ctx):
    need_emit(ctx)
    em = Emit(54, 200000, maxlen=20000, mode=TEXT, nofinal=True)
    out, err = em.expected()
    with journald.journal() as j:
        b = ctx.bundle(em.argv)
        m = b.start(args=b.args(extra=["-l", "journald"]))
        check_eq(m.run_to_exit(), b"0", "exit file")
        m.wait_monitor()
        entries = j.entries(b.cid, until=lambda es: journal_streams(es) == (out, err))
    recs = parse_log(read_file(b.log))
    check_stream(recs, "stdout", out)
    check_stream(recs, "stderr", err)
    jo, je = journal_streams(entries)
    check(jo == out, "journal stdout differs %s" % first_diff(jo, out))
    check(je == err, "journal stderr differs %s" % first_diff(je, err))


# ------------------------------------------------------------------ 7. targets that block or fill up

@test(improvement="podman#17666: a k8s-file target that is a FIFO without a reader must not hang the monitor")
def test_logging_fifo_without_reader(ctx):
    need_emit(ctx)
    fifo = os.path.join(ctx.tmp, "log.fifo")
    os.mkfifo(fifo)
    b = ctx.bundle(Emit(61, 10 << 20, maxlen=5000).argv)
    m = b.start(log="k8s-file:" + fifo)
    rc = m.wait_parent(8)
    check_eq(rc, 0, "monitor's first process")
    m.create(timeout=8)
    m.runc_start()
    check_eq(m.wait_exit_file(timeout=30), b"0", "exit file (container blocked on its output?)")
    m.wait_monitor(10)


def _mount_tmpfs(path, size):
    os.mkdir(path)
    res = run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", path], timeout=20)
    if res.returncode != 0:
        raise TestSkip("cannot mount a tmpfs: %r" % res)


def _umount(path):
    if run(["umount", path], timeout=20).returncode != 0:
        run(["umount", "-l", path], timeout=20)


@test(improvement="on a full disk (ENOSPC) the k8s-file log keeps only whole records "
                  "(2.1.6 leaves a torn record)")
def test_logging_full_disk(ctx):
    need_emit(ctx)
    d = os.path.join(ctx.tmp, "small")
    _mount_tmpfs(d, "1m")
    try:
        em = Emit(62, 5 << 20, maxlen=3000, mode=TEXT, nofinal=True, maxchunk=8000)
        b = ctx.bundle(em.argv)
        log = os.path.join(d, "ctr.log")
        m = b.start(log="k8s-file:" + log)
        check_eq(m.run_to_exit(timeout=30), b"0", "exit file on a full disk")
        m.wait_monitor(15)
        data = read_file(log)
        check(len(data) > 500000, "only %d bytes logged before the disk was full" % len(data))
        recs = parse_log(data)
        out, err = em.expected()
        # Whole records only (parse_log). What was kept starts like what was written: the first
        # records went in before the disk filled up (later ones may squeeze into a page's tail).
        for s, want in (("stdout", out), ("stderr", err)):
            got = join_stream(recs, s)[:100000]
            check(want.startswith(got), "%s kept on the full disk does not start like what was written %s" %
                  (s, first_diff(got, want[:len(got)])))
    finally:
        _umount(d)


# ------------------------------------------------------------------ 8. journald

@test()
def test_logging_journald_fields_and_content(ctx):
    long_line = "L" * 20000
    script = ("echo out1; echo err1 >&2; echo '%s'; printf 'e\\tx\\n' >&2; echo out2; printf tail-out; "
              "printf tail-err >&2" % long_line)
    want_out = b"out1\n" + long_line.encode() + b"\nout2\ntail-out"
    want_err = b"err1\ne\tx\ntail-err"
    with journald.journal() as j:
        b = ctx.bundle(["sh", "-c", script])
        name = "jname-" + str(os.getpid())
        args = [a for a in b.args(log="journald", extra=["--log-tag", "jtag"])]
        args[args.index("-n") + 1] = name
        m = b.start(args=args)
        check_eq(m.run_to_exit(), b"0", "exit file")
        m.wait_monitor()
        entries = j.entries(b.cid, until=lambda es: journal_streams(es) == (want_out, want_err))
    check(entries, "no journal entries with CONTAINER_ID_FULL=%s" % b.cid)
    jo, je = journal_streams(entries)
    check(jo == want_out, "joined stdout %s" % first_diff(jo, want_out))
    check(je == want_err, "joined stderr %s" % first_diff(je, want_err))
    for e in entries:
        check(e.get("PRIORITY") in ("6", "3"), "PRIORITY %r" % e.get("PRIORITY"))
        check_eq(e.get("CONTAINER_ID"), b.cid[:12], "CONTAINER_ID")
        check_eq(e.get("CONTAINER_ID_FULL"), b.cid, "CONTAINER_ID_FULL")
        check_eq(e.get("CONTAINER_NAME"), name, "CONTAINER_NAME")
        check_eq(e.get("CONTAINER_TAG"), "jtag", "CONTAINER_TAG")
        check_eq(e.get("SYSLOG_IDENTIFIER"), "jtag", "SYSLOG_IDENTIFIER")
        msg = journald.field_bytes(e, "MESSAGE")
        partial = e.get("CONTAINER_PARTIAL_MESSAGE")
        if msg.endswith(b"\n"):
            check(partial is None, "CONTAINER_PARTIAL_MESSAGE on a whole line %r" % msg[:60])
        else:
            check_eq(partial, "true", "CONTAINER_PARTIAL_MESSAGE of %r" % msg[:60])
    prio = {journald.field_bytes(e, "MESSAGE"): e.get("PRIORITY") for e in entries}
    check_eq((prio.get(b"out1\n"), prio.get(b"err1\n")), ("6", "3"), "PRIORITY of out1 / err1")


@test()
def test_logging_journald_identifier_defaults(ctx):
    # no tag: SYSLOG_IDENTIFIER = name; neither: the short id
    with journald.journal() as j:
        got = []
        for use_name in (True, False):
            b = ctx.bundle(["echo", "ident"])
            args = b.args(log="journald")
            if not use_name:
                i = args.index("-n")
                del args[i:i + 2]
            m = b.start(args=args)
            m.run_to_exit()
            m.wait_monitor()
            es = j.entries(b.cid, until=lambda es: len(es) >= 1)
            check(es, "no journal entry for %s" % b.cid)
            got.append((es[0].get("SYSLOG_IDENTIFIER"), es[0].get("CONTAINER_NAME"), es[0].get("CONTAINER_TAG")))
            want = (b.cid if use_name else b.cid[:12], b.cid if use_name else None, None)
            check_eq(got[-1], want, "SYSLOG_IDENTIFIER, CONTAINER_NAME, CONTAINER_TAG (name given: %s)" % use_name)


@test()
def test_logging_journald_short_cid_rejected(ctx):
    res = ctx.run_monitor(["-c", "abcdef123456", "-u", "x", "-r", ctx.suite.runc, "-b", ctx.tmp,
                           "-l", "journald"])
    check(res.returncode != 0, "a 12-char cid accepted with -l journald: %r" % res)
    check("Container ID must be longer than 12 characters" in res.err, "stderr %r" % res.err)


@test(upstream="2.2.0")
def test_logging_journald_priority_prefix(ctx):
    """A line starting with a systemd priority prefix <N> (N 0-7) is logged with PRIORITY=N and without the
    prefix (conmon 2.2); other lines keep 6 (stdout) / 3 (stderr); <8> and a prefix later in the line are text.
    --log-label adds its field to every entry."""
    script = "echo '<4>warned'; echo '<7>' >&2; echo '<8>not a prefix'; echo 'x <3>y'; echo plain >&2"
    with journald.journal() as j:
        b = ctx.bundle(["sh", "-c", script])
        m = b.start(args=b.args(log="journald", extra=["--log-label", "COMPAT_TEST=yes"]))
        check_eq(m.run_to_exit(), b"0", "exit file")
        m.wait_monitor()
        entries = j.entries(b.cid, until=lambda es: len(es) >= 5)
    got = sorted((journald.field_bytes(e, "MESSAGE"), e.get("PRIORITY")) for e in entries)
    want = sorted([(b"warned\n", "4"), (b"\n", "7"), (b"<8>not a prefix\n", "6"), (b"x <3>y\n", "6"),
                   (b"plain\n", "3")])
    check_eq(got, want, "MESSAGE and PRIORITY of each entry")
    check_eq({e.get("COMPAT_TEST") for e in entries}, {"yes"}, "--log-label field")
