# SPDX-License-Identifier: Apache-2.0
"""CRI-O's create, start, kill and exit handling, and its probe of the monitor's version."""

import json
import os
import time

import testlib
from testlib import Registry, check, check_eq, read_file, wait_for
from criparse import parse_semver

reg = Registry()
test = reg.test


@test()
def test_version_probe(ctx):
    """`--version`'s third field is a semver CRI-O can parse, new enough for --sync and
    --log-global-size-max, and the monitor accepts both flags the probe turns on."""
    v = ctx.version
    check(v.supports_sync, "version %s: CRI-O would not pass --sync (needs >= 2.0.19)" % v.text)
    check(v.supports_log_global_size_max, "version %s: CRI-O would not pass --log-global-size-max" % v.text)
    check_eq(parse_semver(v.text)[:3], v.version[:3], "version parsed twice")
    c = ctx.container(["sleep", "600"])
    c.create_ok()
    c.start()
    r = c.exec_sync(["true"])
    check(r.error is None and r.exit_code == 0, "ExecSync with --sync --log-global-size-max: %r" % r)


@test()
def test_create_sync_message_is_pid(ctx):
    """Without --api-version the stream carries exactly one `{"pid": N}` value, N the
    container's pid (the runtime's pidfile), and -P names the live daemon."""
    c = ctx.container(["sleep", "600"])
    msg, raw = c.create()
    check(isinstance(msg, dict) and set(msg) == {"pid"}, "sync message %r: want only the key pid" % raw)
    check(raw.endswith(b"\n"), "sync message %r does not end with a newline" % raw)
    pidfile = read_file(c.pidfile)
    check(pidfile, "runtime pidfile %s empty or missing" % c.pidfile)
    check_eq(msg["pid"], int(pidfile), "sync pid vs the runtime's pidfile")
    check(c.monitor_pid and os.path.exists("/proc/%d" % c.monitor_pid), "daemon from -P not running")
    c.start()
    st = ctx.runtime("state", c.cid)
    check_eq(json.loads(st.stdout).get("status"), "running", "runc state after start")


@test()
def test_create_env_fds_cwd(ctx):
    """The daemon runs in the bundle with CRI-O's environment; the container gets neither
    that environment nor any fd beyond 0-2."""
    c = ctx.container(["sleep", "600"])
    c.create_ok()
    pid = c.monitor_pid
    check_eq(os.readlink("/proc/%d/cwd" % pid), c.bundle, "monitor cwd")
    env = read_file("/proc/%d/environ" % pid).split(b"\0")
    check(b"CRI_O_EXTERNAL=1" in env, "CRI_O_EXTERNAL=1 missing from %r" % env)
    c.start()
    # runc start returns before its init has exec'd the command
    check(wait_for(lambda: read_file("/proc/%d/comm" % c.pid) == b"sleep\n", 10), "container never became sleep")
    code_env = read_file("/proc/%d/environ" % c.pid) or b""
    check(b"CRI_O_EXTERNAL" not in code_env and b"_OCI_SYNCPIPE" not in code_env,
          "the monitor's environment leaked into the container: %r" % code_env)
    fds = testlib.fd_targets(c.pid)
    check_eq(sorted(fds), [0, 1, 2], "container fds %r" % fds)


@test()
def test_exit_code_and_time(ctx):
    """The exit file holds the code CRI-O parses; its ctime is when the container ended, and
    --persist-dir gets the same code."""
    c = ctx.container(["sh", "-c", "sleep 1; exit 7"])
    c.create_ok()
    t0 = time.time_ns()
    c.start()
    code, finished = c.wait_exit(20)
    seen = time.time_ns()
    check_eq(code, 7, "exit code")
    check(t0 + 900_000_000 <= finished <= seen, "exit file ctime %d not within [start+0.9s %d, seen %d]" %
          (finished, t0 + 900_000_000, seen))
    check_eq(read_file(os.path.join(c.dir, "exit")), b"7", "persist-dir exit file")


@test()
def test_exit_after_kill(ctx):
    """StopContainer's `runc kill ID 9`: the exit file says 137."""
    c = ctx.container(["sleep", "600"])
    c.create_ok()
    c.start()
    res = c.kill(9)
    check(res.returncode == 0, "runc kill: %r" % res)
    code, _ = c.wait_exit(20)
    check_eq(code, 137, "exit code after SIGKILL")


@test()
def test_create_failure_reported(ctx):
    """A create the runtime refuses: `{"pid": -1, "message": M}` with the runtime's reason,
    which CRI-O shows as `container create failed: M`."""
    c = ctx.container(["/no/such/binary"])
    msg, raw = c.create()
    check(isinstance(msg, dict) and msg.get("pid") == -1, "sync message %r: want pid -1" % raw)
    check(msg.get("message"), "no message with the failure: %r" % raw)
    check(b"no/such/binary" in raw or b"no such file" in raw.lower(),
          "message does not name the cause: %r" % raw)
    check(wait_for(lambda: c.monitor_pid is None or not os.path.exists("/proc/%d/stat" % c.monitor_pid)
                   or c.wait_monitor() is not None, 10), "monitor still running after a failed create")
