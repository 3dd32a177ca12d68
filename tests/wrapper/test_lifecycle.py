#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of ctr-wrap's container lifecycle: create/start/restart, restart policies,
pause/unpause, stats, top, update and closing stdin, against one monitor binary.

    python3 tests/wrapper/test_lifecycle.py --wrapper wrapper/ctr-wrap --monitor PATH --label ours \\
        [--build build] [-k PATTERN] [--jobs N]

Same harness, output and cleanup as test_wrapper.py (whose Ctx and main it uses).
"""

import datetime
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, HERE)

import testlib  # noqa: E402
import test_wrapper as tw  # noqa: E402
from testlib import TestFailure, check, check_eq  # noqa: E402

reg = testlib.Registry()


def one_line_error(res, *words):
    """Exit 125 and a single stderr line holding every word."""
    check_eq(res.returncode, 125, "exit code %r" % res)
    lines = res.err.strip().splitlines()
    check(len(lines) == 1 and all(w in lines[0] for w in words),
          "want one line with %r, got %r" % (words, res.err))


def log_records(ctx, ref):
    """(timestamp seconds, text) of every k8s-file record of the container."""
    out = []
    for line in (testlib.read_file(ctx.inspect(ref)["LogPath"]) or b"").decode().splitlines():
        ts, _, _, text = line.split(" ", 3)
        # 2026-12-06T07:55:18.988576937+00:00: Python parses microseconds only.
        m = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d:\d\d|Z)", ts)
        base = datetime.datetime.fromisoformat(m.group(1) + (m.group(3) if m.group(3) != "Z" else "+00:00"))
        out.append((base.timestamp() + float(m.group(2) or 0), text))
    return out


def cgroup_file(pid, controller, name):
    """The file of a v1 controller, else of the unified tree, for pid's cgroup."""
    v2 = None
    for line in open("/proc/%d/cgroup" % pid).read().splitlines():
        _, ctrls, path = line.split(":", 2)
        if controller in ctrls.split(","):
            return os.path.join("/sys/fs/cgroup", ctrls, path.lstrip("/"), name)
        if not ctrls:
            v2 = path
    base = "/sys/fs/cgroup" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "/sys/fs/cgroup/unified"
    return os.path.join(base, v2.lstrip("/"), name)


def helpers_of(cid):
    """Processes with container id cid in their argv: its monitors, exit commands and restart helpers."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        args = (testlib.read_file("/proc/%s/cmdline" % pid) or b"").split(b"\0")
        if cid.encode() in args:
            found.append((int(pid), args))
    return found


# ------------------------------------------------------------------ create / start / restart

@reg.test()
def test_create_start_keeps_log(ctx):
    res = ctx.ok("create", "--name", "cs", ctx.rootfs, "/bin/sh", "-c", "echo run; exit 3")
    cid = res.out.strip()
    check(re.fullmatch(r"[0-9a-f]{64}", cid), "create printed %r" % res.out)
    check_eq(ctx.inspect("cs")["State"], "created", "state after create")
    check("Created" in ctx.ok("ps", "-a").out, "ps -a shows Created")
    res = ctx.w("start", "-a", "cs")
    check_eq((res.returncode, res.out), (3, "run\n"), "start -a: exit code and output %r" % res)
    res = ctx.ok("start", "cs")
    check_eq(res.out, "cs\n", "start prints the name")
    check_eq(ctx.ok("wait", "cs").out, "3\n", "wait after the second start")
    check_eq([t for _, t in log_records(ctx, "cs")], ["run", "run"], "the log continues across starts")
    check_eq(ctx.inspect("cs")["Id"], cid, "same container")
    check_eq(len(tw.container_dirs(ctx)), 1, "one container")


@reg.test()
def test_restart_command(ctx):
    ctx.run_d("/bin/sh", "-c", "trap 'exit 0' TERM; echo up; while :; do sleep 0.1; done", name="rs")
    first = ctx.inspect("rs")
    time.sleep(0.3)
    ctx.ok("restart", "-t", "5", "rs")
    second = ctx.inspect("rs")
    check_eq(second["State"], "running", "state after restart")
    check(second["Pid"] != first["Pid"] and second["MonitorPid"] != first["MonitorPid"],
          "a new process and monitor: %r -> %r" % ((first["Pid"], first["MonitorPid"]),
                                                    (second["Pid"], second["MonitorPid"])))
    check(testlib.wait_for(lambda: len(log_records(ctx, "rs")) == 2, 10), "the log has both runs")
    ctx.ok("stop", "-t", "5", "rs")
    check_eq(ctx.inspect("rs")["ExitCode"], 0, "TERM handler after restart")


@reg.test()
def test_wrong_state(ctx):
    """One line naming the state and what to do, exit 125, for commands that do not fit the state."""
    ctx.run_d("/bin/sleep", "100", name="up")
    ctx.ok("create", "--name", "new", ctx.rootfs, "/bin/true")
    ctx.run_d("/bin/true", name="done")
    ctx.ok("wait", "done")
    one_line_error(ctx.w("start", "up"), "up", "running", "restart")
    one_line_error(ctx.w("unpause", "up"), "up", "running", "not paused")
    one_line_error(ctx.w("pause", "done"), "done", "exited", "start")
    one_line_error(ctx.w("pause", "new"), "new", "created", "start")
    one_line_error(ctx.w("update", "--memory", "64m", "done"), "done", "exited", "start")
    one_line_error(ctx.w("top", "done"), "done", "exited")
    one_line_error(ctx.w("stats", "--no-stream", "done"), "done", "exited")
    one_line_error(ctx.w("kill", "done"), "done", "exited")
    ctx.ok("pause", "up")
    one_line_error(ctx.w("pause", "up"), "up", "paused", "unpause")
    one_line_error(ctx.w("start", "up"), "up", "paused", "unpause")
    one_line_error(ctx.w("update", "--memory", "1k", "up"), "--memory")
    one_line_error(ctx.w("run", "--rm", "--restart", "always", ctx.rootfs, "/bin/true"), "--rm", "--restart")
    one_line_error(ctx.w("run", "--restart", "sometimes", ctx.rootfs, "/bin/true"), "sometimes", "on-failure")
    one_line_error(ctx.w("run", "--restart", "always:3", ctx.rootfs, "/bin/true"), "only on-failure")


@reg.test()
def test_start_after_rootfs_vanished(ctx):
    rootfs = os.path.join(ctx.root, "copy")
    shutil.copytree(ctx.rootfs, rootfs, symlinks=True)
    ctx.ok("create", "--name", "gone", rootfs, "/bin/true")
    check_eq(ctx.w("start", "-a", "gone").returncode, 0, "first start")
    shutil.rmtree(rootfs)
    res = ctx.w("start", "gone")
    one_line_error(res, "gone", rootfs)
    info = ctx.inspect("gone")
    check_eq((info["State"], info["ExitCode"]), ("exited", 125), "state after the failed start")
    check("Exited (125)" in ctx.ok("ps", "-a").out, "ps shows the failed start")
    check_eq(os.listdir(os.path.join(ctx.root, "runtime")), [], "runtime state left")


@reg.test()
def test_start_loop_leaks_nothing(ctx):
    """50 starts of a failing container with a published port: one name, and after the last exit no
    monitor, runtime state dir, cgroup or port reservation of it is left."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx.ok("create", "--name", "loop", "-p", "127.0.0.1:%d:80" % port, ctx.rootfs, "/bin/sh", "-c", "exit 1")
    cid = ctx.inspect("loop")["Id"]
    for i in range(50):
        res = ctx.w("start", "-a", "loop")
        check_eq(res.returncode, 1, "start %d: %r" % (i, res))
    check(testlib.wait_for(lambda: not helpers_of(cid), 15), "processes of the container left: %r" % helpers_of(cid))
    check_eq(os.listdir(os.path.join(ctx.root, "runtime")), [], "runtime state dirs")
    leftover = [os.path.join(d, "ctr-wrap", cid) for d in os.listdir("/sys/fs/cgroup")
                if os.path.isdir(os.path.join("/sys/fs/cgroup", d, "ctr-wrap", cid))]
    check_eq(leftover, [], "cgroups left")
    check(testlib.wait_for(lambda: tw._can_bind(port), 5), "port %d still reserved" % port)
    check_eq(os.listdir(os.path.join(ctx.root, "names")), ["loop"], "names")
    check_eq(ctx.inspect("loop")["State"], "exited", "state")


# ------------------------------------------------------------------ restart policies

@reg.test()
def test_restart_on_failure_backs_off(ctx):
    ctx.ok("run", "-d", "--name", "of", "--restart", "on-failure:3", ctx.rootfs, "/bin/sh", "-c", "echo try; exit 1")

    def settled():
        info = ctx.inspect("of")
        return info if info["State"] == "exited" and not info["Restarting"] and info["RestartCount"] == 3 else None
    info = testlib.wait_for(settled, 20, interval=0.1)
    check(info, "on-failure:3 did not settle at 3 restarts: %r" % ctx.inspect("of"))
    check_eq((info["RestartPolicy"], info["RestartMax"], info["ExitCode"]), ("on-failure", 3, 1), "inspect")
    recs = log_records(ctx, "of")
    check_eq([t for _, t in recs], ["try"] * 4, "one log line per run")
    gaps = [b[0] - a[0] for a, b in zip(recs, recs[1:])]
    # Each gap holds at least the back-off: 100, 200, 400 ms.
    for gap, want in zip(gaps, (0.1, 0.2, 0.4)):
        check(gap >= want * 0.95, "gaps %r shorter than the back-off 0.1, 0.2, 0.4 s" % gaps)
    time.sleep(0.5)
    check_eq(ctx.inspect("of")["RestartCount"], 3, "no restart past MAX")


@reg.test()
def test_restart_policy_success_and_no(ctx):
    ctx.ok("run", "-d", "--name", "ok", "--restart", "on-failure", ctx.rootfs, "/bin/true")
    ctx.ok("run", "-d", "--name", "no", "--restart", "no", ctx.rootfs, "/bin/false")
    ctx.ok("wait", "ok")
    ctx.ok("wait", "no")
    time.sleep(0.5)
    for name in ("ok", "no"):
        info = ctx.inspect(name)
        check_eq((info["State"], info["RestartCount"], info["Restarting"]), ("exited", 0, False), name)


@reg.test()
def test_restart_always_brings_back_and_stop_cancels(ctx):
    # Crashes after a moment, as a flaky service would.
    ctx.ok("run", "-d", "--name", "svc", "--restart", "always", ctx.rootfs, "/bin/sh", "-c", "echo up; exit 2")
    check(testlib.wait_for(lambda: ctx.inspect("svc")["RestartCount"] >= 4, 20, interval=0.1),
          "always: fewer than 4 restarts: %r" % ctx.inspect("svc"))
    # The back-off grows to seconds: the pending restart shows in ps, which lists it without -a.
    restarting = testlib.wait_for(lambda: [c for c in ctx.ps() if c["Restarting"]], 10, interval=0.05)
    check(restarting and restarting[0]["Name"] == "svc", "ps --format json: no restarting container")
    check(testlib.wait_for(lambda: "Restarting (2)" in ctx.ok("ps").out, 10, interval=0.05), "ps table")
    ctx.ok("stop", "-t", "1", "svc")
    count = ctx.inspect("svc")["RestartCount"]
    check(testlib.wait_for(lambda: not helpers_of(ctx.inspect("svc")["Id"]), 10), "restart helper left after stop")
    time.sleep(2)
    info = ctx.inspect("svc")
    check_eq((info["State"], info["Restarting"], info["RestartCount"]), ("exited", False, count),
             "no restart after a stop by a person")
    # A start by a person turns the policy on again.
    ctx.ok("start", "svc")
    check(testlib.wait_for(lambda: ctx.inspect("svc")["RestartCount"] >= 1, 10, interval=0.1), "policy after start")
    ctx.ok("rm", "-f", "svc")
    check_eq(tw.container_dirs(ctx), [], "rm -f during the back-off")


@reg.test()
def test_kill_disables_unless_stopped(ctx):
    ctx.ok("run", "-d", "--name", "us", "--restart", "unless-stopped", ctx.rootfs, "/bin/sleep", "100")
    ctx.ok("kill", "us")
    check_eq(ctx.ok("wait", "us").out, "137\n", "killed")
    time.sleep(0.5)
    info = ctx.inspect("us")
    check_eq((info["State"], info["RestartCount"]), ("exited", 0), "no restart after kill by a person")


@reg.test()
def test_start_all_restartable(ctx):
    for name, policy in (("a", "always"), ("u", "unless-stopped"), ("s", "unless-stopped"), ("n", "no")):
        ctx.ok("create", "--name", name, "--restart", policy, ctx.rootfs, "/bin/sleep", "100")
    ctx.ok("stop", "s")
    res = ctx.ok("start", "--all-restartable")
    check_eq(sorted(res.out.split()), ["a", "u"], "started at boot")
    states = {c["Name"]: c["State"] for c in ctx.ps("-a")}
    check_eq(states, {"a": "running", "u": "running", "s": "created", "n": "created"}, "states")


# ------------------------------------------------------------------ pause, stats, top, update

@reg.test()
def test_pause_unpause_stop_kill(ctx):
    ctx.run_d("/bin/sh", "-c", "while :; do echo tick; sleep 0.05; done", name="pz")
    ctx.ok("pause", "pz")
    info = ctx.inspect("pz")
    check_eq((info["State"], info["Paused"]), ("paused", True), "inspect after pause")
    check("Paused" in ctx.ok("ps").out, "ps shows Paused")
    pid = info["Pid"]
    check_eq(open(cgroup_file(pid, "freezer", "freezer.state")).read().strip()
             if os.path.isdir("/sys/fs/cgroup/freezer") else "FROZEN", "FROZEN", "freezer state")
    n = len(log_records(ctx, "pz"))
    time.sleep(0.4)
    check_eq(len(log_records(ctx, "pz")), n, "output while paused")
    ctx.ok("unpause", "pz")
    check_eq(ctx.inspect("pz")["State"], "running", "after unpause")
    check(testlib.wait_for(lambda: len(log_records(ctx, "pz")) > n, 5), "output after unpause")
    ctx.ok("pause", "pz")
    t0 = time.monotonic()
    ctx.ok("stop", "-t", "1", "pz")
    check(time.monotonic() - t0 < 20, "stop of a paused container")
    check_eq(ctx.inspect("pz")["State"], "exited", "stopped while paused")
    ctx.run_d("/bin/sleep", "100", name="pk")
    ctx.ok("pause", "pk")
    ctx.ok("kill", "pk")
    check_eq(ctx.ok("wait", "pk").out, "137\n", "kill of a paused container")


@reg.test()
def test_stats(ctx):
    ctx.run_d("/bin/sh", "-c", "while :; do :; done", name="busy")
    ctx.ok("run", "-d", "--name", "idle", "-m", "64m", "--pids-limit", "50", ctx.rootfs, "/bin/sh", "-c",
           "sleep 100 & sleep 100 & wait")
    time.sleep(1)
    res = ctx.ok("stats", "--no-stream", "--format", "json")
    rows = {r["Name"]: r for r in json.loads(res.out)}
    check_eq(sorted(rows), ["busy", "idle"], "containers in stats")
    check(rows["busy"]["CPUPerc"] > 20, "busy CPU %%: %r" % rows["busy"])
    check(rows["idle"]["CPUPerc"] < 20, "idle CPU %%: %r" % rows["idle"])
    check_eq(rows["idle"]["MemLimit"], 64 * 1024 * 1024, "memory limit")
    check(0 < rows["idle"]["MemUsage"] < rows["idle"]["MemLimit"], "memory usage %r" % rows["idle"])
    check_eq(rows["idle"]["PIDs"], 3, "pids of sh and two sleeps")
    for key in ("BlockInput", "BlockOutput", "NetInput", "NetOutput", "MemPerc", "CPUNano"):
        check(key in rows["idle"] and rows["idle"][key] >= 0, "stats field %s" % key)
    table = ctx.ok("stats", "--no-stream", "idle").out.splitlines()
    check(table[0].split()[:4] == ["ID", "NAME", "CPU", "%"] and len(table) == 2, "table %r" % table)
    check("/ 67.1MB" in table[1], "memory column %r" % table[1])
    # Streaming: a refreshed table every second until interrupted.
    outdir = tempfile.mkdtemp(prefix="st-", dir=ctx.root)
    p = testlib.spawn(ctx.argv("stats", "busy"), outdir)
    time.sleep(2.5)
    # TERM, not INT: a suite started in the background inherits SIGINT ignored.
    os.kill(p.pid, signal.SIGTERM)
    p.wait(10)
    out = p.stdout.decode() if isinstance(p.stdout, bytes) else p.stdout
    check(out.count("NAME") >= 2, "stats refreshes: %r" % out[:300])


@reg.test()
def test_top(ctx):
    ctx.run_d("/bin/sh", "-c", "sleep 101 & sleep 102 & wait", name="tp")
    check(testlib.wait_for(lambda: "sleep 102" in ctx.ok("top", "tp").out, 5), "top: %r" % ctx.ok("top", "tp").out)
    lines = ctx.ok("top", "tp").out.splitlines()
    check(lines[0].split()[:2] == ["UID", "PID"] and len(lines) == 4, "top default columns %r" % lines)
    res = ctx.ok("top", "tp", "-o", "pid,args")
    check_eq(sorted(line.split(None, 1)[1] for line in res.out.splitlines()[1:]),
             ["/bin/sh -c sleep 101 & sleep 102 & wait", "sleep 101", "sleep 102"], "top -o pid,args")
    one_line_error(ctx.w("top", "tp", "-o", "args"), "PID")


@reg.test()
def test_update(ctx):
    ctx.ok("run", "-d", "--name", "up", "-m", "64m", ctx.rootfs, "/bin/sleep", "100")
    ctx.ok("update", "--memory", "128m", "--cpus", "0.5", "--pids-limit", "40", "up")
    pid = ctx.inspect("up")["Pid"]
    limit = cgroup_file(pid, "memory", "memory.limit_in_bytes")
    if not os.path.exists(limit):
        limit = cgroup_file(pid, "memory", "memory.max")
    check_eq(int(open(limit).read()), 128 << 20, "cgroup memory limit after update")
    pids = cgroup_file(pid, "pids", "pids.max")
    check_eq(open(pids).read().strip(), "40", "pids limit after update")
    info = ctx.inspect("up")
    check_eq((info["Memory"], info["CpuQuota"], info["CpuPeriod"], info["PidsLimit"]),
             (128 << 20, 50000, 100000, 40), "inspect after update")
    ctx.ok("stop", "-t", "0", "up")
    ctx.ok("start", "up")
    pid = ctx.inspect("up")["Pid"]
    check_eq(int(open(cgroup_file(pid, "memory", os.path.basename(limit))).read()), 128 << 20,
             "memory limit after the next start")


# ------------------------------------------------------------------ closing stdin

@reg.test()
def test_attach_closes_stdin_once(ctx):
    path = os.path.join(ctx.root, "input")
    with open(path, "w") as f:
        f.write("one\ntwo\n")
    ctx.ok("run", "-d", "-i", "--name", "cat", ctx.rootfs, "/bin/cat")
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        res = ctx.w("attach", "cat", stdin_fd=fd, timeout=30)
    finally:
        os.close(fd)
    check_eq((res.returncode, res.out), (0, "one\ntwo\n"), "cat ends when attach's input ends %r" % res)
    check_eq(ctx.inspect("cat")["State"], "exited", "cat exited")
    # A created -i container, started attached with our input.
    ctx.ok("create", "-i", "--name", "cat2", ctx.rootfs, "/bin/sh", "-c", "wc -l")
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        res = ctx.w("start", "-a", "-i", "cat2", stdin_fd=fd, timeout=30)
    finally:
        os.close(fd)
    check_eq((res.returncode, res.out.strip()), (0, "2"), "start -a -i %r" % res)


@reg.test()
def test_help_new_commands(ctx):
    for cmd in ("create", "start", "restart", "pause", "unpause", "stats", "top", "update"):
        res = ctx.w(cmd, "--help")
        check(res.returncode == 0 and "Usage" in res.out, "%s --help %r" % (cmd, res))


if __name__ == "__main__":
    sys.exit(tw.main(reg))
