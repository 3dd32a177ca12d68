# SPDX-License-Identifier: Apache-2.0
"""Integration tests of the monitor's create path (docs/protocol.md: Command line, Lifecycle, Environment
fds, Runtime invocation, Files, Exit command, Log drivers, k8s-file log, Signals). Every case runs
against ours and the reference unless marked."""

import datetime
import json
import os
import re
import select
import shutil
import signal
import socket
import time

import testlib
from testlib import Registry, TestSkip, check, check_eq, pid_alive, read_file, wait_for

reg = Registry()
test = reg.test

# podman 4.3.1 / containers/common probeConmon
VERSION_RE = re.compile(r"^(version:|conmon version)? (?P<Major>\d+).(?P<Minor>\d+).(?P<Patch>\d+)")
K8S_RE = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}([+-]\d\d:\d\d)) (stdout|stderr) (F|P) (.*)$")
SYNC_ERR_RE = re.compile(rb'^\{"data": -1, "message": ".*"\}\n$', re.S)


def parse_k8s(data):
    """-> list of (ts, offset, stream, tag, content); fails on any malformed line."""
    check(data is not None, "log file missing")
    check(data == b"" or data.endswith(b"\n"), "log does not end with a newline: %r" % data[-80:])
    recs = []
    for line in data.split(b"\n")[:-1]:
        m = K8S_RE.match(line)
        check(m, "malformed k8s-file line %r" % line)
        recs.append((m.group(1), m.group(2), m.group(3).decode(), m.group(4).decode(), m.group(5)))
    return recs


def stream_text(recs, stream):
    """Reassemble a stream: P records continue, F records end a line."""
    out = b""
    for _, _, s, tag, content in recs:
        if s == stream:
            out += content + (b"\n" if tag == "F" else b"")
    return out


def wait_log(b, needle, timeout=10):
    got = wait_for(lambda: needle in (read_file(b.log) or b""), timeout)
    check(got, "%r never appeared in the log; log=%r" % (needle, read_file(b.log)))


# ------------------------------------------------------------------ CLI

@test()
def test_version(ctx):
    res = ctx.run_monitor(["--version"])
    check_eq(res.returncode, 0, "exit status")
    first = res.out.split("\n")[0]
    m = VERSION_RE.match(first)
    check(m, "first line %r does not match podman's regexp" % first)
    check(first.startswith("conmon version "), "first line %r: podman would treat it as conmon-rs" % first)
    ver = tuple(int(m.group(k)) for k in ("Major", "Minor", "Patch"))
    check(ver >= (2, 0, 1), "version %r < 2.0.1" % (ver,))


def _cli_fails(ctx, argv, needle):
    res = ctx.run_monitor(argv)
    check(res.returncode == 1, "%r: want exit 1, got %r" % (argv, res))
    check(needle in res.err, "%r: stderr %r lacks %r" % (argv, res.err, needle))
    return res


@test()
def test_cli_no_cid(ctx):
    _cli_fails(ctx, ["-u", "x", "-r", ctx.suite.runc, "-l", "none"], "Container ID not provided. Use --cid")


@test()
def test_cli_no_runtime(ctx):
    _cli_fails(ctx, ["-c", "x", "-u", "x", "-l", "none"], "Runtime path not provided. Use --runtime")


@test()
def test_cli_runtime_not_executable(ctx):
    _cli_fails(ctx, ["-c", "x", "-u", "x", "-r", "/etc/passwd", "-l", "none"], "/etc/passwd")
    _cli_fails(ctx, ["-c", "x", "-u", "x", "-r", "/nonexistent/runc", "-l", "none"], "/nonexistent/runc")


@test()
def test_cli_no_log_path(ctx):
    _cli_fails(ctx, ["-c", "x", "-u", "x", "-r", ctx.suite.runc], "Log driver not provided. Use --log-path")


@test()
def test_cli_bad_log_driver(ctx):
    _cli_fails(ctx, ["-c", "x", "-u", "x", "-r", ctx.suite.runc, "-l", "bogus:/tmp/x"], "No such log driver")


@test()
def test_cli_bad_log_level(ctx):
    _cli_fails(ctx, ["-c", "x", "-u", "x", "-r", ctx.suite.runc, "-l", "none", "--log-level", "bogus"],
               "No such log level")


@test()
def test_cli_exec_attach_without_exec(ctx):
    res = ctx.run_monitor(["-c", "x", "-u", "x", "-r", ctx.suite.runc, "-l", "none", "--exec-attach"])
    check(res.returncode == 1, "want exit 1, got %r" % res)
    check("exec" in res.err.lower(), "stderr %r does not mention exec" % res.err)


@test()
def test_cli_log_tag_with_k8s_file(ctx):
    log = os.path.join(ctx.tmp, "x.log")
    _cli_fails(ctx, ["-c", "x", "-u", "x", "-r", ctx.suite.runc, "-l", "k8s-file:" + log, "--log-tag", "t"],
               "k8s-file doesn't support --log-tag")


@test()
def test_cli_k8s_file_without_path(ctx):
    res = ctx.run_monitor(["-c", "x", "-u", "x", "-r", ctx.suite.runc, "-l", "k8s-file"])
    check(res.returncode == 1, "want exit 1, got %r" % res)


@test()
def test_cli_unknown_option(ctx):
    res = ctx.run_monitor(["--no-such-option-xyz"])
    check(res.returncode == 1, "want exit 1, got %r" % res)
    both = res.out + res.err
    check("--no-such-option-xyz" in both, "output %r does not name the option" % both)


@test()
def test_cli_negative_exit_delay(ctx):
    res = ctx.run_monitor(["-c", "x", "-u", "x", "-r", ctx.suite.runc, "-l", "none", "--exit-delay", "-1"])
    check(res.returncode == 1, "want exit 1, got %r" % res)


# ------------------------------------------------------------------ create / sync pipe

@test()
def test_create_sync_data_pid(ctx):
    b = ctx.bundle(["sleep", "30"])
    m = b.start()
    check_eq(m.wait_parent(), 0, "first process exit status")
    raw = m.read_sync()
    check(re.fullmatch(rb'\{"data": [1-9][0-9]*\}\n', raw), "sync message %r" % raw)
    pid = json.loads(raw)["data"]
    check_eq(read_file(b.pidfile).strip(), str(pid).encode(), "runtime pid file vs sync pid")
    st = json.loads(ctx.runc("state", b.cid).out)
    check_eq(st["pid"], pid, "runc state pid")
    check_eq(st["status"], "created", "runc state before start")
    m.runc_start()
    st = json.loads(ctx.runc("state", b.cid).out)
    check_eq(st["status"], "running", "runc state after start")
    ctx.runc("kill", b.cid, "KILL")
    check_eq(m.wait_exit_file(), b"137", "exit file")


@test()
def test_create_api0_pid_key(ctx):
    b = ctx.bundle(["true"])
    m = b.start(api=False)
    check_eq(m.wait_parent(), 0, "first process exit status")
    raw = m.read_sync()
    check(re.fullmatch(rb'\{"pid": [1-9][0-9]*\}\n', raw), "api 0 sync message %r" % raw)
    m.runc_start()
    check_eq(m.wait_exit_file(), b"0", "exit file")


@test()
def test_api_version_stray_arg(ctx):
    # `--api-version 1`: a flag followed by a positional "1" that must be ignored.
    b = ctx.bundle(["true"])
    args = b.args(api=False)
    m = b.start(args=["--api-version", "1"] + args + ["--api-version", "1"])
    raw = m.read_sync()
    check(raw.startswith(b'{"data": '), "sync message %r" % raw)
    m.runc_start()
    check_eq(m.wait_exit_file(), b"0", "exit file")


@test()
def test_opt_equals_value_forms(ctx):
    b = ctx.bundle(["sh", "-c", "echo eq-form; exit 4"])
    args = ["--api-version", "1", "--cid=" + b.cid, "--cuuid=" + b.cid, "--runtime=" + ctx.suite.runc,
            "--bundle=" + b.path, "--container-pidfile=" + b.pidfile, "--name=" + b.cid,
            "--exit-dir=" + ctx.exit_dir, "--full-attach", "--runtime-arg=--root", "--runtime-arg=" + ctx.state,
            "--log-path=k8s-file:" + b.log, "--log-level=warning", "--conmon-pidfile=" + b.conmon_pidfile]
    m = b.start(args=args)
    check_eq(m.run_to_exit(), b"4", "exit file")
    check_eq(stream_text(parse_k8s(read_file(b.log)), "stdout"), b"eq-form\n", "log")


@test()
def test_start_pipe_gates_create(ctx):
    b = ctx.bundle(["true"])
    m = b.start(send_start=False)
    time.sleep(0.5)
    r, _, _ = select.select([m.sync], [], [], 0)
    check(not r, "sync message before the start byte: %r" % (m.sync.recv(4096) if r else b""))
    check(m.proc.poll() is None, "monitor exited before the start byte: %r" % m.proc.stderr)
    check(not ctx.runc("state", b.cid).returncode == 0, "container created before the start byte")
    m.send_start()
    m.create()
    m.runc_start()
    check_eq(m.wait_exit_file(), b"0", "exit file")


@test()
def test_sigterm_before_start_byte(ctx):
    # §2.0 step 3: before the container exists SIGTERM makes the monitor exit with status 1.
    b = ctx.bundle(["true"])
    m = b.start(send_start=False)
    time.sleep(0.3)
    check(m.proc.poll() is None, "monitor exited before the start byte: %r" % m.proc.stderr)
    os.kill(m.proc.pid, signal.SIGTERM)
    check_eq(m.proc.wait(5), 1, "exit status after SIGTERM while waiting for the start byte")


@test()
def test_runtime_failure_nonexistent_command(ctx):
    b = ctx.bundle(["/no/such/command"])
    m = b.start()
    m.wait_parent()
    raw = m.read_sync()
    check(SYNC_ERR_RE.match(raw), "sync message %r is not {\"data\": -1, \"message\": ...}" % raw)
    msg = json.loads(raw)["message"]
    check("/no/such/command" in msg and "no such file or directory" in msg,
          "message %r lacks runc's error text" % msg)
    check(wait_for(lambda: not pid_alive(m.get_monitor_pid()), 10), "monitor still running after runtime failure")


@test()
def test_runtime_failure_no_oci_log(ctx):
    # Without podman's --log runtime args runc writes its logrus text to stderr.
    b = ctx.bundle(["/no/such/command"])
    m = b.start(oci_log=False)
    m.wait_parent()
    raw = m.read_sync()
    check(SYNC_ERR_RE.match(raw), "sync message %r" % raw)
    msg = json.loads(raw)["message"]
    check("runc create failed" in msg and "/no/such/command" in msg, "message %r lacks runc's text" % msg)


@test()
def test_runtime_failure_bad_config(ctx):
    b = ctx.bundle(["true"])
    with open(os.path.join(b.path, "config.json"), "w") as f:
        f.write('{"ociVersion": ')
    m = b.start()
    m.wait_parent()
    raw = m.read_sync()
    check(SYNC_ERR_RE.match(raw), "sync message %r" % raw)
    msg = json.loads(raw)["message"]
    check("runc create failed" in msg, "message %r lacks runc's text" % msg)


@test(improvement="a runtime that fails without writing to stderr is still reported as "
                  "{\"data\": -1, \"message\": ...} (2.1.6 sends nothing: podman sees EOF; 2.2 sends no reason)")
def test_runtime_failure_silent(ctx):
    b = ctx.bundle(["true"])
    m = b.start(args=[a if a != ctx.suite.runc else "/bin/false" for a in b.args()])
    m.wait_parent()
    raw = m.read_sync()
    check(raw, "no sync message at all (EOF) after a silent runtime failure")
    check(re.match(rb'^\{"data": -1(, "message": ".*")?\}\n$', raw, re.S), "sync message %r" % raw)


# ------------------------------------------------------------------ pid and exit files

@test()
def test_conmon_pidfile(ctx):
    b = ctx.bundle(["sleep", "30"])
    m = b.start()
    m.create()
    data = read_file(b.conmon_pidfile)
    check(re.fullmatch(rb"[1-9][0-9]*", data or b""), "conmon pidfile content %r (want digits, no newline)" % data)
    pid = int(data)
    check(pid != m.proc.pid, "conmon pidfile names the first process, not the forked monitor")
    check(pid_alive(pid), "process %d from the conmon pidfile is not alive" % pid)
    exe = os.path.realpath("/proc/%d/exe" % pid)
    check_eq(exe, os.path.realpath(ctx.monitor), "exe of the pidfile's process")
    m.runc_start()
    time.sleep(0.2)
    check(pid_alive(pid), "monitor died while the container runs")
    ctx.runc("kill", b.cid, "KILL")
    m.wait_exit_file()
    m.wait_monitor(10)


@test()
def test_exit_file_code(ctx):
    b = ctx.bundle(["sh", "-c", "exit 7"])
    m = b.start()
    check_eq(m.run_to_exit(), b"7", "exit file content")


@test()
def test_exit_file_zero(ctx):
    b = ctx.bundle(["true"])
    m = b.start()
    check_eq(m.run_to_exit(), b"0", "exit file content")


@test()
def test_persist_dir_exit(ctx):
    pdir = os.path.join(ctx.tmp, "persist")
    os.mkdir(pdir)
    b = ctx.bundle(["sh", "-c", "exit 7"])
    m = b.start(extra=["--persist-dir", pdir])
    check_eq(m.run_to_exit(), b"7", "exit-dir file")
    check_eq(wait_for(lambda: read_file(os.path.join(pdir, "exit")), 5), b"7", "persist-dir exit file")


@test()
def test_signal_exit_137(ctx):
    b = ctx.bundle(["sleep", "30"])
    m = b.start()
    m.create()
    m.runc_start()
    ctx.runc("kill", b.cid, "KILL")
    check_eq(m.wait_exit_file(), b"137", "exit file after runc kill KILL")


@test()
def test_signal_exit_term(ctx):
    # A pid-namespace init ignores TERM without a handler, so run without a pid namespace: 128+15.
    def no_pidns(cfg):
        cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "pid"]
    b = ctx.bundle(["sleep", "30"], config_mutate=no_pidns)
    m = b.start()
    m.create()
    m.runc_start()
    ctx.runc("kill", b.cid, "TERM")
    check_eq(m.wait_exit_file(), b"143", "exit file after runc kill TERM")


@test()
def test_monitor_exits_with_container(ctx):
    """The monitor exits once the container has, with the container's status as its own."""
    b = ctx.bundle(["sh", "-c", "sleep 0.3; exit 2"])
    m = b.start()
    m.create()
    m.runc_start()
    check_eq(m.wait_exit_file(), b"2", "exit file")
    check_eq(m.wait_monitor(10), 2, "monitor exit status")


# ------------------------------------------------------------------ k8s-file

@test()
def test_k8s_file_format(ctx):
    b = ctx.bundle(["sh", "-c", "echo line1; echo line2; echo err1 >&2; printf 'a\\n\\nb\\n'"])
    m = b.start()
    check_eq(m.run_to_exit(), b"0", "exit file")
    recs = parse_k8s(read_file(b.log))
    check_eq(stream_text(recs, "stdout"), b"line1\nline2\na\n\nb\n", "stdout in log")
    check_eq(stream_text(recs, "stderr"), b"err1\n", "stderr in log")
    check(all(r[3] == "F" for r in recs), "unexpected P records %r" % recs)
    check(b"" in [r[4] for r in recs if r[2] == "stdout"], "no empty F record for the empty line")
    off = time.localtime().tm_gmtoff
    want = "%s%02d:%02d" % ("+" if off >= 0 else "-", abs(off) // 3600, abs(off) % 3600 // 60)
    for r in recs:
        check_eq(r[1].decode(), want, "timestamp offset")
    stamps = [r[0] for r in recs]
    now = time.time()
    for s in stamps:
        t = datetime.datetime.strptime(s[:26].decode(), "%Y-%m-%dT%H:%M:%S.%f").replace(
            tzinfo=datetime.timezone(datetime.timedelta(seconds=off))).timestamp()
        check(abs(now - t) < 120, "timestamp %r is not now" % s)


@test()
def test_k8s_file_local_time(ctx):
    # POSIX TZ without tzdata: 5h30 east of UTC.
    b = ctx.bundle(["echo", "tz"])
    m = b.start(env_extra={"TZ": "XST-5:30"})
    m.run_to_exit()
    recs = parse_k8s(read_file(b.log))
    check(recs, "empty log")
    check_eq(recs[0][1], b"+05:30", "offset with TZ=XST-5:30")


@test()
def test_k8s_file_stream_order(ctx):
    b = ctx.bundle(["sh", "-c", "echo out1; sleep 0.3; echo err1 >&2; sleep 0.3; echo out2; sleep 0.3; "
                                "echo err2 >&2"])
    m = b.start()
    m.run_to_exit()
    recs = parse_k8s(read_file(b.log))
    got = [(r[2], r[4]) for r in recs]
    check_eq(got, [("stdout", b"out1"), ("stderr", b"err1"), ("stdout", b"out2"), ("stderr", b"err2")], "records")


@test()
def test_k8s_file_partial_line(ctx):
    b = ctx.bundle(["sh", "-c", "printf part; sleep 0.3; printf 'ial\\n'; echo next"])
    m = b.start()
    m.run_to_exit()
    recs = parse_k8s(read_file(b.log))
    check_eq(recs[0][3:], ("P", b"part"), "first record")
    check_eq(stream_text(recs, "stdout"), b"partial\nnext\n", "reassembled stdout")


@test()
def test_k8s_file_bulk(ctx):
    b = ctx.bundle(["seq", "1", "200000"])
    m = b.start()
    check_eq(m.run_to_exit(timeout=30), b"0", "exit file")
    m.wait_monitor()
    want = "".join("%d\n" % i for i in range(1, 200001)).encode()
    got = stream_text(parse_k8s(read_file(b.log)), "stdout")
    check(got == want, "stdout in log differs: %d bytes, want %d" % (len(got), len(want)))


@test()
def test_k8s_file_long_line(ctx):
    # A line longer than conmon's 8 KiB reads: it may be split into P records (2.1.6 does), but must
    # reassemble exactly and end with an F record.
    b = ctx.bundle(["sh", "-c", "head -c 20000 /dev/zero | tr '\\0' a; echo"])
    m = b.start()
    m.run_to_exit()
    m.wait_monitor()
    recs = parse_k8s(read_file(b.log))
    check_eq(stream_text(recs, "stdout"), b"a" * 20000 + b"\n", "reassembled line")
    check_eq(recs[-1][3], "F", "last record")


@test()
def test_k8s_file_ends_with_partial(ctx):
    """Output ending without a newline leaves the P record last: no empty F is added at exit. conmon
    2.2.0 added one (conmon#252) and 2.2.1 reverted it: CRI-O rebuilds ExecSync output by keeping F
    content and trimming the newline of P content, so `echo -n hello` came back as `hello\\n`."""
    b = ctx.bundle(["sh", "-c", "echo full; printf tail; printf oops >&2"])
    m = b.start()
    m.run_to_exit()
    m.wait_monitor()
    recs = parse_k8s(read_file(b.log))
    for stream, last in (("stdout", b"tail"), ("stderr", b"oops")):
        got = [r for r in recs if r[2] == stream]
        check(got and got[-1][3:] == ("P", last), "last %s record %r, want P %r" % (stream, got[-1:], last))
    check_eq(stream_text(recs, "stdout"), b"full\ntail", "reassembled stdout")


@test(upstream="2.1.13")
def test_k8s_file_mode_0640(ctx):
    """The k8s log is created 0640 (conmon 2.1.13+, conmon#539): a log group can read it."""
    b = ctx.bundle(["true"])
    m = b.start()
    m.run_to_exit()
    check_eq(oct(os.stat(b.log).st_mode & 0o7777), oct(0o640), "mode of the k8s log")


@test()
def test_log_none(ctx):
    b = ctx.bundle(["sh", "-c", "echo nothing-to-see; exit 3"])
    m = b.start(log="none")
    check_eq(m.run_to_exit(), b"3", "exit file")
    check(not os.path.exists(b.log), "-l none created %s" % b.log)


@test()
def test_log_passthrough(ctx):
    b = ctx.bundle(["sh", "-c", "echo out-pass; echo err-pass >&2; exit 4"])
    m = b.start(log="passthrough")
    check_eq(m.run_to_exit(), b"4", "exit file")
    m.wait_monitor()
    check_eq(m.proc.stdout, b"out-pass\n", "monitor stdout")
    check(b"err-pass\n" in m.proc.stderr, "monitor stderr %r" % m.proc.stderr)


@test()
def test_log_level_debug(ctx):
    b = ctx.bundle(["sh", "-c", "exit 5"])
    m = b.start(log_level="debug")
    check_eq(m.run_to_exit(), b"5", "exit file")


@test()
def test_syslog_accepted(ctx):
    b = ctx.bundle(["sh", "-c", "exit 5"])
    m = b.start(log_level="debug", extra=["--syslog"])
    check_eq(m.run_to_exit(), b"5", "exit file")


# ------------------------------------------------------------------ exit command, timeout, signals

def _exit_command_args(script, *args):
    a = ["--exit-command", "/bin/sh", "--exit-command-arg", "-c", "--exit-command-arg", script,
         "--exit-command-arg", "sh"]
    for x in args:
        a += ["--exit-command-arg", x]
    return a


@test()
def test_exit_command(ctx):
    b = ctx.bundle(["sh", "-c", "exit 6"])
    mk = os.path.join(ctx.tmp, "marker")
    script = ('if test -e "$EXITF"; then cat "$EXITF" > "$MK.exit"; fi; '
              'printf "%s|" "$@" > "$MK.tmp"; mv "$MK.tmp" "$MK"').replace("$EXITF", b.exit_file).replace("$MK", mk)
    m = b.start(tail=_exit_command_args(script, "a1", "a 2", "--rm"))
    check_eq(m.run_to_exit(), b"6", "exit file")
    check(wait_for(lambda: os.path.exists(mk), 10), "exit command did not run")
    check_eq(read_file(mk), b"a1|a 2|--rm|", "exit command argv")
    check_eq(read_file(mk + ".exit"), b"6", "exit file as seen by the exit command")


@test()
def test_exit_command_env(ctx):
    # podman passes CONTAINERS_CONF & co. in the monitor's environment; the exit command needs them.
    b = ctx.bundle(["true"])
    mk = os.path.join(ctx.tmp, "marker")
    m = b.start(tail=_exit_command_args('printf %s "$CT_TEST_VAR" > ' + mk + ".tmp; mv " + mk + ".tmp " + mk),
                env_extra={"CT_TEST_VAR": "passed-on"})
    m.run_to_exit()
    check(wait_for(lambda: os.path.exists(mk), 10), "exit command did not run")
    check_eq(read_file(mk), b"passed-on", "variable seen by the exit command")


@test()
def test_exit_delay(ctx):
    b = ctx.bundle(["true"])
    mk = os.path.join(ctx.tmp, "marker")
    m = b.start(tail=["--exit-command", "/bin/touch", "--exit-command-arg", mk, "--exit-delay", "2"])
    m.run_to_exit()
    t0 = time.monotonic()
    check(wait_for(lambda: os.path.exists(mk), 10, interval=0.05), "exit command did not run")
    dt = time.monotonic() - t0
    check(1.7 <= dt <= 5, "exit command ran %.2fs after the exit file, want about 2s" % dt)


@test()
def test_timeout(ctx):
    pdir = os.path.join(ctx.tmp, "persist")
    os.mkdir(pdir)
    b = ctx.bundle(["sleep", "100"])
    t0 = time.monotonic()
    m = b.start(extra=["--timeout", "2"], tail=["--persist-dir", pdir])
    m.create()
    m.runc_start()
    check_eq(m.wait_exit_file(timeout=10), b"-1", "exit file after --timeout")
    dt = time.monotonic() - t0
    check(1.5 <= dt <= 6, "timed out after %.2fs, want about 2s" % dt)
    check_eq(read_file(os.path.join(pdir, "exit")), b"-1", "persist exit file")
    check(wait_for(lambda: json.loads(ctx.runc("state", b.cid).out or "{}").get("status") == "stopped", 5),
          "container still running after the timeout")
    m.wait_monitor(10)


@test()
def test_sigterm_forwarded(ctx):
    b = ctx.bundle(["sh", "-c", 'trap "echo got-term; exit 3" TERM; echo ready; sleep 100 & wait'])
    m = b.start()
    m.create()
    m.runc_start()
    wait_log(b, b"ready")
    mpid = m.get_monitor_pid()
    os.kill(mpid, signal.SIGTERM)
    check_eq(m.wait_exit_file(), b"3", "exit file after SIGTERM to the monitor")
    recs = parse_k8s(read_file(b.log))
    check_eq(stream_text(recs, "stdout"), b"ready\ngot-term\n", "log")


@test()
def test_sync_mode(ctx):
    b = ctx.bundle(["sh", "-c", "sleep 0.5; exit 5"])
    m = b.start(extra=["--sync"])
    raw = m.read_sync()
    check(re.fullmatch(rb'\{"data": [1-9][0-9]*\}\n', raw), "sync message %r" % raw)
    check(m.proc.poll() is None, "--sync: the process we started exited before the container (rc %r)" % m.proc.poll())
    m.runc_start()
    check_eq(m.wait_exit_file(), b"5", "exit file")
    rc = m.proc.wait(10)
    check(rc is not None, "--sync monitor did not exit")


# ------------------------------------------------------------------ inherited fds

def _listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s


def _can_bind(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


@test()
def test_inherited_fd_closed_at_exit(ctx):
    b = ctx.bundle(["sh", "-c", "sleep 0.5; exit 2"])
    ls = _listener()
    port = ls.getsockname()[1]
    inode = "socket:[%d]" % os.fstat(ls.fileno()).st_ino
    # The exit command keeps the monitor alive well after the exit file: a late close would show.
    m = b.start(extra_fds={5: ls.fileno()}, tail=["--exit-command", "/bin/sleep", "--exit-command-arg", "3"])
    ls.close()
    m.create()
    m.runc_start()
    mpid = m.get_monitor_pid()
    held = [fd for fd, t in testlib.fd_targets(mpid).items() if t == inode]
    check(held, "monitor does not hold the inherited socket while the container runs")
    check(not _can_bind(port), "port free while the container runs")
    check_eq(m.wait_exit_file(), b"2", "exit file")
    check(_can_bind(port), "port still bound when the exit file appeared")
    check(pid_alive(mpid), "monitor gone already (test needs it alive)")
    held = [fd for fd, t in testlib.fd_targets(mpid).items() if t == inode]
    check(not held, "monitor still holds the socket on fds %r" % held)


@test()
def test_inherited_fd_closed_before_exit_file(ctx):
    """Deterministic order check: strace the monitor; the close of the inherited fd must come before
    the exit file is created."""
    strace = shutil.which("strace")
    if not strace:
        raise TestSkip("strace not installed")
    b = ctx.bundle(["sh", "-c", "sleep 0.3; exit 2"])
    ls = _listener()
    inode = "socket:[%d]" % os.fstat(ls.fileno()).st_ino
    trace = os.path.join(ctx.tmp, "strace.out")
    argv = ["-D", "-f", "-qq", "-e", "trace=close,close_range,open,openat,creat,rename,renameat,renameat2,linkat",
            "-o", trace, ctx.monitor] + b.args()
    m = b.start(args=argv, extra_fds={5: ls.fileno()}, prog=strace)
    ls.close()
    m.create(timeout=30)
    m.runc_start()
    mpid = m.get_monitor_pid()
    fds = [fd for fd, t in testlib.fd_targets(mpid).items() if t == inode]
    check(fds, "monitor does not hold the inherited socket while the container runs")
    check_eq(m.wait_exit_file(), b"2", "exit file")
    m.wait_monitor(15)
    cid = re.escape(b.cid)
    create_re = re.compile(r'(open|openat|creat)\(.*"[^"]*%s[^"/]*".*O_CREAT|(rename|renameat2?|linkat)\(.*%s' %
                           (cid, cid))
    closed_at = created_at = None
    with open(trace) as f:
        lines = [ln for ln in f if ln.split(" ", 1)[0] == str(mpid)]
    for i, ln in enumerate(lines):
        if closed_at is None:
            mc = re.search(r"\bclose\((\d+)\)\s+=\s+0", ln)
            mr = re.search(r"\bclose_range\((\d+), (\d+|~0U?|4294967295)", ln)
            if mc and int(mc.group(1)) in fds:
                closed_at = i
            elif mr:
                lo = int(mr.group(1))
                hi = int(mr.group(2)) if mr.group(2).isdigit() else 1 << 31
                if any(lo <= fd <= hi for fd in fds):
                    closed_at = i
        if created_at is None and create_re.search(ln):
            created_at = i
    check(created_at is not None, "no exit file creation found in the monitor's trace")
    check(closed_at is not None, "inherited fd %r never closed by the monitor" % fds)
    check(closed_at < created_at, "inherited fd closed after the exit file was created: %r then %r" %
          (lines[created_at].strip(), lines[closed_at].strip()))


# ------------------------------------------------------------------ more of podman's create-path usage

@test()
def test_log_bare_path(ctx):
    # `-l PATH` without a driver name means k8s-file.
    b = ctx.bundle(["echo", "bare"])
    m = b.start(log=b.log)
    m.run_to_exit()
    check_eq(stream_text(parse_k8s(read_file(b.log)), "stdout"), b"bare\n", "log")


@test()
def test_runtime_flags_passthrough(ctx):
    b = ctx.bundle(["sh", "-c", "exit 9"])
    m = b.start(extra=["--no-new-keyring", "--no-pivot"])
    check_eq(m.run_to_exit(), b"9", "exit file")


@test()
def test_preserve_fds(ctx):
    # podman --preserve-fds 1: the extra fd is 3, so the sync and start pipes move to 4 and 5.
    b = ctx.bundle(["sh", "-c", "echo via-fd3 >&3; exit 0"])
    rd, wr = os.pipe()
    ctx.fds.append(rd)
    try:
        m = b.start(args=b.args(extra=["--runtime-opt", "--preserve-fds", "--runtime-opt", "1"]),
                    extra_fds={3: wr}, fd_base=4, send_start=False)
    finally:
        os.close(wr)
    m.send_start()
    check_eq(m.run_to_exit(), b"0", "exit file")
    m.wait_monitor()
    data = b""
    while select.select([rd], [], [], 5)[0]:
        chunk = os.read(rd, 4096)
        if not chunk:
            break
        data += chunk
    check_eq(data, b"via-fd3\n", "data the container wrote to the preserved fd 3")


@test()
def test_daemon_releases_stdio(ctx):
    # podman's cmd.Wait() returns only when the monitor's stdout/stderr pipes reach EOF:
    # the daemonized monitor must not keep them open while the container runs.
    b = ctx.bundle(["sleep", "30"])
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    ctx.fds += [out_r, err_r]
    try:
        m = b.start(stdio_fds=(out_w, err_w))
    finally:
        os.close(out_w)
        os.close(err_w)
    m.create()
    for fd, what in ((out_r, "stdout"), (err_r, "stderr")):
        deadline = time.monotonic() + 5
        while True:
            left = deadline - time.monotonic()
            check(left > 0 and select.select([fd], [], [], left)[0], "monitor %s pipe still open while the "
                  "container runs (podman's cmd.Wait would hang)" % what)
            if not os.read(fd, 4096):
                break
    m.runc_start()
    ctx.runc("kill", b.cid, "KILL")
    check_eq(m.wait_exit_file(), b"137", "exit file")


@test(upstream="2.2.1")
def test_version_format(ctx):
    """conmon's exact two lines: the version whose behaviour we match, then the commit. CRI-O takes the third
    whitespace-separated field as a semver to decide which options to pass."""
    res = ctx.run_monitor(["--version"])
    check_eq(res.returncode, 0, "exit status")
    lines = res.out.split("\n")
    check_eq(len(lines), 3, "lines of --version %r" % res.out)
    check_eq(lines[0], "conmon version 2.2.1", "first line")
    check(re.fullmatch(r"commit: \S+", lines[1]), "second line %r" % lines[1])
    third = res.out.split()[2]
    check(re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", third), "third field %r is not semver" % third)


@test(upstream="2.1.8")
def test_cli_parse_error_on_stderr(ctx):
    res = ctx.run_monitor(["--no-such-option-xyz"])
    check_eq(res.returncode, 1, "exit status")
    check_eq(res.err, "conmon: option parsing failed: Unknown option --no-such-option-xyz\n", "stderr")
    check_eq(res.out, "", "stdout")


def _exact_failure(ctx, argv, err):
    res = ctx.run_monitor(argv)
    check_eq((res.returncode, res.err), (1, err), "exit status and stderr of %r" % argv)


@test(upstream="2.2.0")
def test_cli_log_max_files(ctx):
    base = ["-c", "x", "-u", "x", "-r", ctx.suite.runc, "-l", "none"]
    _exact_failure(ctx, base + ["--log-max-files", "-1"], "conmon: log-max-files must be non-negative, got -1\n")
    _exact_failure(ctx, base + ["--log-rotate", "--log-max-files", "0"],
                   "conmon: log-max-files must be at least 1 when log-rotate is enabled, got 0\n")
    # checked before the container id, as conmon does
    _exact_failure(ctx, ["--log-max-files", "-3"], "conmon: log-max-files must be non-negative, got -3\n")


@test(upstream="2.2.0")
def test_cli_log_max_files_zero_without_rotate(ctx):
    b = ctx.bundle(["sh", "-c", "exit 2"])
    m = b.start(extra=["--log-max-files", "0"])
    check_eq(m.run_to_exit(), b"2", "exit file")


@test(upstream="2.2.0")
def test_log_rotate_alone_keeps_one_backup(ctx):
    """--log-rotate without --log-max-files keeps one backup (<log>.1), as conmon's default of 1."""
    b = ctx.bundle(["sh", "-c", "for i in $(seq 1 60); do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; done"])
    m = b.start(extra=["--log-size-max", "400", "--log-rotate"])
    check_eq(m.run_to_exit(), b"0", "exit file")
    m.wait_monitor()
    check(os.path.exists(b.log + ".1"), "no %s.1" % b.log)
    check(not os.path.exists(b.log + ".2"), "%s.2 exists: more than one backup kept" % b.log)
    last = stream_text(parse_k8s(read_file(b.log)), "stdout")
    check(last.endswith(b"line-60-xxxxxxxxxxxxxxxxxxxxxxxx\n"), "current log ends %r" % last[-80:])


@test(upstream="2.2.0")
def test_cli_log_label_validation(ctx):
    base = ["-c", "x" * 20, "-u", "x", "-r", ctx.suite.runc, "-l", "journald"]
    cases = [
        ("=x", "Container labels must be in format LABEL=VALUE (no LABEL present in '=x')"),
        ("NOEQUALS", "Container labels must be in format LABEL=VALUE (none or more than one '=' present in "
                     "'NOEQUALS')"),
        ("A=b=c", "Container labels must be in format LABEL=VALUE (none or more than one '=' present in 'A=b=c')"),
        ("lower=x", "Container label names must contain only uppercase letters, numbers and underscore "
                    "(in 'lower=x')"),
    ]
    for label, text in cases:
        _exact_failure(ctx, base + ["--log-label", label], "[conmon:e]: %s\n" % text)
    log = os.path.join(ctx.tmp, "x.log")
    _exact_failure(ctx, ["-c", "x", "-u", "x", "-r", ctx.suite.runc, "-l", "k8s-file:" + log, "--log-label", "A=b"],
                   "[conmon:e]: k8s-file doesn't support --log-label\n")


@test(upstream="2.2.0")
def test_cli_no_partial_message_without_journald(ctx):
    """--no-container-partial-message without journald: a warning that it has no effect, and the container runs."""
    b = ctx.bundle(["sh", "-c", "printf tail; exit 6"])
    m = b.start(extra=["--no-container-partial-message"])
    check_eq(m.run_to_exit(), b"6", "exit file")
    want = "[conmon:w]: --no-container-partial-message has no effect without journald log driver\n"
    check(want.encode() in m.proc.stderr, "monitor stderr %r lacks %r" % (m.proc.stderr, want))


@test(improvement="EOF on the start pipe before any byte means the engine is gone: no container is created "
                  "(2.1.6 and 2.2.1 go on and create an orphan)")
def test_start_pipe_eof_creates_nothing(ctx):
    b = ctx.bundle(["sleep", "30"])
    m = b.start(send_start=False)
    os.close(m.start_w)
    ctx.fds.remove(m.start_w)
    rc = m.wait_parent()
    check(rc != 0, "monitor exited %r after the engine closed the start pipe" % rc)
    check(b"engine is gone" in m.proc.stderr, "stderr %r does not say why" % m.proc.stderr)
    check(not os.path.exists(b.pidfile), "the runtime created the container")
    check_eq(ctx.runc("state", b.cid).returncode != 0, True, "runc knows the container")



@test(upstream="2.2.0")
def test_sync_message_escaping(ctx):
    """The runtime's error text is escaped as conmon 2.2 does: \\/ for '/', short forms for \\t \\r \\b \\f,
    \\u00XX for the other control bytes (2.1.6 leaves '/' and 0x1f as they are and writes \\r as \\u000d)."""
    rt = os.path.join(ctx.tmp, "failing-runtime")
    with open(rt, "w") as f:
        f.write(r"""#!/bin/sh
printf 'err /x\t\r\b\f\001\037 "q" \\ end' >&2
exit 1
""")
    os.chmod(rt, 0o755)
    b = ctx.bundle(["true"])
    m = b.start(args=[a if a != ctx.suite.runc else rt for a in b.args()])
    m.wait_parent()
    check_eq(m.read_sync(), rb'{"data": -1, "message": "err \/x\t\r\b\f\u0001\u001f \"q\" \\ end"}' + b"\n",
             "sync message")


@test(upstream="2.1.9")
def test_log_passthrough_on_a_terminal(ctx):
    """-l passthrough while the engine's stdio is a terminal (podman 5's passthrough-tty): conmon 2.1.9 accepts
    it (2.1.6 refused: TIOCSTI); the container writes straight to that terminal."""
    master, slave = os.openpty()
    ctx.fds += [master, slave]
    b = ctx.bundle(["sh", "-c", "echo via-tty; exit 5"])
    m = b.start(log="passthrough", stdio_fds=(slave, slave))
    check_eq(m.run_to_exit(), b"5", "exit file")
    got = b""
    deadline = time.monotonic() + 5
    while b"via-tty" not in got and time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            got += os.read(master, 4096)
    check(b"via-tty\r\n" in got, "terminal got %r" % got)


@test()
def test_log_passthrough_with_terminal(ctx):
    """podman 5's passthrough-tty with -t: the runtime still gets --console-socket for the container's own
    terminal, as conmon gives it, and the container runs."""
    def mut(cfg):
        cfg["process"]["terminal"] = True
    b = ctx.bundle(["sh", "-c", "exit 3"], config_mutate=mut)
    m = b.start(log="passthrough", extra=["-t"])
    check_eq(m.run_to_exit(), b"3", "exit file")


@test(upstream="main (05eff51)")
def test_runtime_no_pidfile_reported(ctx):
    """A runtime that exits 0 without writing the pid file never started the process: the failure goes to the
    engine on the sync pipe with what the runtime printed (conmon main; 2.1.6 and 2.2.1 only warn and exit)."""
    rt = os.path.join(ctx.tmp, "pidless-runtime")
    with open(rt, "w") as f:
        f.write("#!/bin/sh\necho 'nothing started here' >&2\nexit 0\n")
    os.chmod(rt, 0o755)
    b = ctx.bundle(["true"])
    m = b.start(args=[a if a != ctx.suite.runc else rt for a in b.args()])
    m.wait_parent()
    check_eq(m.read_sync(), b'{"data": -1, "message": "nothing started here\\n"}\n', "sync message")


@test(upstream="2.1.8")
def test_oom_score_adj_restored(ctx):
    """The monitor protects itself (oom_score_adj -1000) but the runtime, hence the container, and the exit
    command get the engine's own score back (conmon 2.1.8, 2.1.9; 2.1.6 reset them to 0)."""
    b = ctx.bundle(["cat", "/proc/self/oom_score_adj"])
    mk = os.path.join(ctx.tmp, "exit-cmd-score")
    tail = _exit_command_args('cat /proc/self/oom_score_adj > "%s.tmp"; mv "%s.tmp" "%s"' % (mk, mk, mk))
    args = ["-c", 'echo 300 > /proc/self/oom_score_adj && exec "$0" "$@"', ctx.monitor] + b.args(tail=tail)
    m = b.start(args=args, prog="/bin/sh")
    check_eq(m.run_to_exit(), b"0", "exit file")
    check(wait_for(lambda: os.path.exists(mk), 10), "exit command did not run")
    check_eq(stream_text(parse_k8s(read_file(b.log)), "stdout"), b"300\n", "the container's oom_score_adj")
    check_eq(read_file(mk), b"300\n", "the exit command's oom_score_adj")


@test(upstream="2.1.8")
def test_stdio_pipes_open_to_the_container_user(ctx):
    """The container's stdio pipes are chmod 0777 (conmon 2.1.8; 2.1.6 only did it for terminals): a container
    user other than root can reopen /dev/stdout."""
    b = ctx.bundle(["sh", "-c", "stat -L -c %a /proc/self/fd/1 /proc/self/fd/2"])
    m = b.start()
    check_eq(m.run_to_exit(), b"0", "exit file")
    m.wait_monitor()
    check_eq(stream_text(parse_k8s(read_file(b.log)), "stdout"), b"777\n777\n", "modes of the stdout/stderr pipes")


@test(upstream="2.1.7")
def test_socket_dir_link_removed_at_exit(ctx):
    """Without --full-attach the attach socket is reached through <socket-dir>/<cuuid>, a link to the bundle;
    it goes away with the container (conmon 2.1.7; 2.1.6 leaks it)."""
    sdir = os.path.join(ctx.tmp, "sockets")
    os.mkdir(sdir)
    b = ctx.bundle(["sleep", "1"])
    args = [a for a in b.args(extra=["--socket-dir-path", sdir]) if a != "--full-attach"]
    m = b.start(args=args)
    m.create()
    link = os.path.join(sdir, b.cid)
    check(os.path.islink(link), "no %s while the container runs (%r)" % (link, os.listdir(sdir)))
    m.runc_start()
    check_eq(m.wait_exit_file(), b"0", "exit file")
    m.wait_monitor()
    check(not os.path.lexists(link), "%s left behind" % link)
