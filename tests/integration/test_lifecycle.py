# SPDX-License-Identifier: Apache-2.0
"""Integration tests of the monitor's lifecycle edges (docs/protocol.md: Files, OOM, Runtime invocation,
Exit command, sd-notify relay, seccomp-notify socket, Signals, Environment fds; docs/compat.md for where
conmon 2.1.6 fails): OOM files, the sd_notify proxy, seccomp notify, --restore, LISTEN_PID, preserved and
inherited fds, reaping, signal forwarding, and an engine that dies mid-run. Every case runs against ours
and the reference unless marked.

Fixtures (tests/integration/fixtures/): fake-runtime.sh (records what the monitor ran, plays the
container with a `sleep`), seccomp_plugin.c (crun plugin ABI, compiled here), mini_engine.py (an
engine to SIGKILL). Helpers in the rootfs: /helpers/alloc, /helpers/sdnotify, /helpers/seccomp_probe.
"""

import json
import os
import re
import select
import shutil
import signal
import socket
import sys
import time

import harness
import testlib
from testlib import Registry, TestFailure, TestSkip, check, check_eq, pid_alive, read_file, run, spawn, wait_for

reg = Registry()
test = reg.test

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
FAKE_RUNTIME = os.path.join(FIXTURES, "fake-runtime.sh")
MIB = 1 << 20


# ------------------------------------------------------------------ helpers

def _with_runtime(args, runtime):
    """Monitor argv with the -r value replaced."""
    a = list(args)
    i = a.index("-r")
    a[i + 1] = runtime
    return a


def _fake_dir(ctx):
    d = os.path.join(ctx.tmp, "fake")
    os.makedirs(d, exist_ok=True)
    return d


def _fake_env(ctx, **extra):
    env = {"FAKE_RUNTIME_DIR": _fake_dir(ctx)}
    env.update(extra)
    return env


def _fake_record(ctx, name, timeout=10):
    path = os.path.join(_fake_dir(ctx), name)
    check(wait_for(lambda: os.path.exists(path), timeout), "fake runtime did not write %s" % name)
    return read_file(path).decode()


def _fake_argv(ctx):
    return _fake_record(ctx, "argv").split("\n")[:-1]


def _in_dir(ctx, b, cwd, **kw):
    """(prog, args) that run the monitor with cwd as its working directory (2.1.6 writes ./oom there;
    it must never be the source tree)."""
    os.makedirs(cwd, exist_ok=True)
    return "/usr/bin/env", ["-C", cwd, ctx.monitor] + b.args(**kw)


def _bundle_dir(ctx):
    """Inside a config_mutate callback: the bundle directory being made (harness names it b<seq>)."""
    return os.path.join(ctx.tmp, "b%d" % ctx.seq)


def _memory_limit(mib):
    def mutate(cfg):
        cfg["linux"]["resources"] = {"memory": {"limit": mib * MIB, "swap": mib * MIB}}
    return mutate


def _wait_exit_file_fast(m, timeout=20):
    """Poll the exit file tightly; returns (content, time seen)."""
    path = m.bundle.exit_file
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = read_file(path)
        if data is not None:
            return data
        time.sleep(0.002)
    raise TestFailure("exit file %s not written within %ss (monitor stderr %r)" %
                      (path, timeout, m.proc.stderr[-500:]))


def _zombie_children(pid):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2:].split()
        if fields[0] == "Z" and int(fields[1]) == pid:
            out.append(int(name))
    return out


def _can_bind(kind, port):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


# ------------------------------------------------------------------ OOM (§2.9, §4 items 6-7)

def _oom_run(ctx, mib, limit=32):
    pdir = os.path.join(ctx.tmp, "persist")
    os.makedirs(pdir, exist_ok=True)
    cwd = os.path.join(ctx.tmp, "cwd")
    b = ctx.bundle(["/helpers/alloc", str(mib)], config_mutate=_memory_limit(limit))
    prog, args = _in_dir(ctx, b, cwd, tail=["--persist-dir", pdir])
    m = b.start(args=args, prog=prog)
    m.create()
    m.runc_start()
    data = _wait_exit_file_fast(m)
    seen = {"persist": os.path.exists(os.path.join(pdir, "oom")),
            "bundle": os.path.exists(os.path.join(b.path, "oom")),
            "cwd": os.path.exists(os.path.join(cwd, "oom"))}
    return b, m, data, seen, pdir, cwd


@test()
def test_oom_persist_dir(ctx):
    b, m, data, seen, pdir, _ = _oom_run(ctx, 128)
    check_eq(data, b"137", "exit file of an OOM-killed container")
    check(seen["persist"], "<persist-dir>/oom missing when the exit file appeared (later: %r)" %
          os.path.exists(os.path.join(pdir, "oom")))
    check_eq(read_file(os.path.join(pdir, "exit")), b"137", "persist exit file")
    check_eq(os.path.getsize(os.path.join(pdir, "oom")), 0, "oom file size")
    m.wait_monitor()


@test(upstream="2.1.13")
def test_oom_bundle_file(ctx):
    """The oom file goes to the bundle, never the monitor's cwd (conmon 2.1.13; 2.1.6 writes it to its cwd)."""
    b, m, data, seen, _, cwd = _oom_run(ctx, 128)
    check_eq(data, b"137", "exit file of an OOM-killed container")
    check(seen["bundle"], "<bundle>/oom missing when the exit file appeared (later: %r; in the monitor's cwd: %r)" %
          (os.path.exists(os.path.join(b.path, "oom")), seen["cwd"]))
    check(not os.path.exists(os.path.join(cwd, "oom")), "an oom file was also written to the monitor's cwd")
    m.wait_monitor()


@test()
def test_oom_no_false_positive(ctx):
    b, m, data, seen, pdir, cwd = _oom_run(ctx, 8)
    check_eq(data, b"0", "exit file of a container that stayed under its limit")
    m.wait_monitor()
    for where, path in (("persist dir", pdir), ("bundle", b.path), ("cwd", cwd)):
        check(not os.path.exists(os.path.join(path, "oom")), "false oom file in the %s" % where)


@test(improvement="2.1.6 arms its OOM watch only after sending the pid: an engine that starts the container at "
     "once can have it OOM-killed before the watch exists, and the OOM is lost")
def test_oom_watch_armed_before_pid(ctx):
    """Deterministic form of a race seen under load: strace delays the monitor's first access to the
    container's memory.oom_control (v1) / memory.events (v2) by 1.5 s. A monitor that arms the watch (and
    reads its baseline counters) before it reports the pid only reports later; one that does it afterwards
    misses an OOM that happens right after `runtime start` (or takes it for the baseline)."""
    strace = shutil.which("strace")
    if not strace:
        raise TestSkip("strace not installed")
    pdir = os.path.join(ctx.tmp, "persist")
    os.mkdir(pdir)
    cwd = os.path.join(ctx.tmp, "cwd")
    os.mkdir(cwd)
    b = ctx.bundle(["/helpers/alloc", "128"], config_mutate=_memory_limit(32))
    cg = "ctrtest-" + b.cid
    paths = []
    for p in ("/sys/fs/cgroup/memory/%s/memory.oom_control" % cg, "/sys/fs/cgroup/%s/memory.events" % cg):
        paths += ["-P", p]
    calls = "open,openat,inotify_add_watch"
    argv = (["-D", "-f", "-qq", "-o", "/dev/null"] + paths +
            ["-e", "trace=" + calls, "-e", "inject=%s:delay_enter=1500000" % calls, "/usr/bin/env", "-C", cwd,
             ctx.monitor] + b.args(tail=["--persist-dir", pdir]))
    m = b.start(args=argv, prog=strace)
    m.create(timeout=30)
    m.runc_start()
    data = _wait_exit_file_fast(m, timeout=30)
    seen = os.path.exists(os.path.join(pdir, "oom"))
    check_eq(data, b"137", "exit file of an OOM-killed container")
    check(seen, "<persist-dir>/oom missing when the exit file appeared (later: %r)" %
          os.path.exists(os.path.join(pdir, "oom")))
    m.wait_monitor(20)


# ------------------------------------------------------------------ sd_notify proxy (§2.13)

def _notify_bundle(ctx, message):
    def mutate(cfg):
        ndir = os.path.join(_bundle_dir(ctx), "notify")
        os.mkdir(ndir)
        cfg["mounts"].append({"destination": "/run/notify", "type": "bind", "source": ndir,
                              "options": ["rbind", "rw"]})
        cfg["process"]["env"].append("NOTIFY_SOCKET=/run/notify/notify.sock")
    return ctx.bundle(["/helpers/sdnotify", message], config_mutate=mutate)


def _host_dgram(ctx):
    path = os.path.join(ctx.tmp, "host-notify.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    return s, path


def _recv_all(sock, timeout):
    got = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            return got
        got.append(sock.recv(65536))


@test()
def test_sdnotify_ready(ctx):
    host, hpath = _host_dgram(ctx)
    try:
        b = _notify_bundle(ctx, "MAINPID=1\\nREADY=1\\nSTATUS=ok")
        m = b.start(extra=["--sdnotify-socket", hpath])
        check_eq(m.run_to_exit(), b"0", "exit file (sdnotify helper failed? log %r)" % read_file(b.log))
        got = _recv_all(host, 2)
    finally:
        host.close()
    check(got, "nothing forwarded to the host socket (container log %r)" % read_file(b.log))
    check(any(b"READY=1" in d.split(b"\n") for d in got), "no READY=1 forwarded: %r" % got)
    check(not any(b"MAINPID" in d for d in got), "MAINPID was forwarded: %r" % got)
    if not ctx.is_reference:
        check_eq(got, [b"READY=1\nSTATUS=ok"], "forwarded datagrams")


@test()
def test_sdnotify_nothing_relevant(ctx):
    # Only MAINPID: nothing must reach the host.
    host, hpath = _host_dgram(ctx)
    try:
        b = _notify_bundle(ctx, "MAINPID=1")
        m = b.start(extra=["--sdnotify-socket", hpath])
        check_eq(m.run_to_exit(), b"0", "exit file (log %r)" % read_file(b.log))
        got = _recv_all(host, 1)
    finally:
        host.close()
    check_eq(got, [], "datagrams forwarded for a MAINPID-only message")


# ------------------------------------------------------------------ seccomp notify (§2.14, §4 item 22)

def _runc_has_notify(ctx):
    res = ctx.runc("features")
    if res.returncode != 0:
        return True  # runc 1.1 has no `features`; 1.1.0+ supports listenerPath: the run will tell
    try:
        feats = json.loads(res.out)
    except ValueError:
        return True
    return "SCMP_ACT_NOTIFY" in ((feats.get("linux") or {}).get("seccomp") or {}).get("actions", ["SCMP_ACT_NOTIFY"])


@test(improvement="2.1.6 dies with 'seccomp support not present' whenever the option is given (inverted #ifdef)")
def test_seccomp_notify_plugin(ctx):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise TestSkip("no C compiler for the plugin")
    if not _runc_has_notify(ctx):
        raise TestSkip("runc does not support SCMP_ACT_NOTIFY")
    so = os.path.join(ctx.tmp, "plugin.so")
    res = run([cc, "-shared", "-fPIC", "-O2", "-Wall", "-o", so, os.path.join(FIXTURES, "seccomp_plugin.c")],
              outdir=ctx.tmp)
    check(res.returncode == 0, "plugin build failed: %r" % res)
    sock = os.path.join(ctx.tmp, "seccomp.sock")
    plog = os.path.join(ctx.tmp, "plugin.log")

    def mutate(cfg):
        cfg["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["getpgid", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}
    b = ctx.bundle(["/helpers/seccomp_probe", "getpgid", "mkdirat", "getppid"], config_mutate=mutate)
    m = b.start(extra=["--seccomp-notify-socket", sock, "--seccomp-notify-plugins", so],
                env_extra={"SECCOMP_PLUGIN_LOG": plog})
    rc = m.wait_parent()
    raw = m.read_sync()
    check(rc == 0 and raw.startswith(b'{"data": ') and b'"data": -1' not in raw,
          "create failed: parent rc %r, sync %r, oci-log %r, stderr %r" %
          (rc, raw, read_file(b.oci_log), m.proc.stderr[-300:]))
    m.runc_start()
    check_eq(m.wait_exit_file(), b"0", "exit file")
    m.wait_monitor()
    out = b"".join(line.split(b" ", 3)[3] + b"\n" for line in (read_file(b.log) or b"").splitlines()
                   if b" stdout " in line)
    check_eq(out, b"getpgid ret=4242 errno=0\nmkdirat ret=-1 errno=122\ngetppid ret=0 errno=0\n",
             "probe output (plugin log %r)" % read_file(plog))
    plugin_log = (read_file(plog) or b"").decode()
    want_head = "start size=32 ok=1\nname=%s\nbundle=%s\n" % (b.cid, b.path)
    check(plugin_log.startswith(want_head), "plugin start: log %r, want it to begin %r" % (plugin_log, want_head))
    reqs = re.findall(r"^request nr=(\d+) ", plugin_log, re.M)
    check_eq(reqs, ["121", "258"], "syscalls offered to the plugin (getpgid, mkdirat)")
    check(plugin_log.endswith("stop 00\n"), "plugin stop not called: %r" % plugin_log)


@test(improvement="2.1.6 dies with 'seccomp support not present' whenever the option is given (inverted #ifdef)")
def test_seccomp_notify_unhandled_enotsup(ctx):
    # No plugin: every notified syscall fails cleanly (ENOTSUP), the container is not stuck.
    if not _runc_has_notify(ctx):
        raise TestSkip("runc does not support SCMP_ACT_NOTIFY")
    sock = os.path.join(ctx.tmp, "seccomp.sock")

    def mutate(cfg):
        cfg["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["getpgid"], "action": "SCMP_ACT_NOTIFY"}]}
    b = ctx.bundle(["/helpers/seccomp_probe", "getpgid"], config_mutate=mutate)
    m = b.start(extra=["--seccomp-notify-socket", sock])
    rc = m.wait_parent()
    raw = m.read_sync()
    check(rc == 0 and raw.startswith(b'{"data": ') and b'"data": -1' not in raw,
          "create failed: parent rc %r, sync %r, oci-log %r" % (rc, raw, read_file(b.oci_log)))
    m.runc_start()
    check_eq(m.wait_exit_file(), b"0", "exit file")
    m.wait_monitor()
    out = b"".join(line.split(b" ", 3)[3] + b"\n" for line in (read_file(b.log) or b"").splitlines()
                   if b" stdout " in line)
    check_eq(out, b"getpgid ret=-1 errno=95\n", "probe output")


# ------------------------------------------------------------------ restore (§2.11)

@test()
def test_restore_argv(ctx):
    img = os.path.join(ctx.tmp, "checkpoint")
    os.mkdir(img)
    b = ctx.bundle(["true"])
    args = _with_runtime(b.args(oci_log=False, extra=["--restore", img, "--runtime-opt", "--tcp-established"]),
                         FAKE_RUNTIME)
    m = b.start(args=args, env_extra=_fake_env(ctx, FAKE_SLEEP="2"))
    t0 = time.monotonic()
    pid = m.create()
    want = ["--root", ctx.state, "restore", "--bundle", b.path, "--pid-file", b.pidfile, "--detach",
            "--image-path", img, "--work-path", b.path, "--tcp-established", b.cid]
    check_eq(_fake_argv(ctx), want, "runtime argv")
    check_eq(read_file(b.pidfile), str(pid).encode(), "sync pid vs pid file")
    check(pid_alive(pid), "the restored 'container' is not running")
    mpid = m.get_monitor_pid()
    check(wait_for(lambda: testlib.ppid_of(pid) == mpid, 3), "container pid not re-parented to the monitor")
    check_eq(m.wait_exit_file(timeout=10), b"0", "exit file")
    dt = time.monotonic() - t0
    check(dt >= 1.5, "exit file after %.2fs, before the 2s sleep ended" % dt)
    m.wait_monitor()


@test()
def test_restore_with_exec_rejected(ctx):
    img = os.path.join(ctx.tmp, "checkpoint")
    os.mkdir(img)
    spec = os.path.join(ctx.tmp, "process.json")
    with open(spec, "w") as f:
        json.dump({"args": ["true"], "cwd": "/", "env": []}, f)
    res = ctx.run_monitor(["-c", "x", "-u", "x", "-r", FAKE_RUNTIME, "-l", "none", "-b", ctx.tmp,
                           "-p", os.path.join(ctx.tmp, "pid"), "-e", "--exec-process-spec", spec,
                           "--restore", img], env={"PATH": os.environ["PATH"], "FAKE_RUNTIME_DIR": _fake_dir(ctx)})
    check(res.returncode == 1, "exec + restore: want exit 1, got %r" % res)
    check("restore" in res.err.lower() and "exec" in res.err.lower(), "stderr %r names neither" % res.err)
    check(not os.path.exists(os.path.join(_fake_dir(ctx), "argv")), "the runtime was run anyway")


# ------------------------------------------------------------------ LISTEN_PID (§2.0 step 12)

def _listen_run(ctx, listen_pid, replace=False, sync_mode=False):
    b = ctx.bundle(["true"])
    extra = ["--replace-listen-pid"] if replace else []
    if sync_mode:
        extra.append("--sync")
    args = _with_runtime(b.args(oci_log=False, extra=extra), FAKE_RUNTIME)
    env = _fake_env(ctx, FAKE_SLEEP="0.2", LISTEN_FDS="1")
    if listen_pid == "self":
        # LISTEN_PID = the monitor's own pid, as systemd sets it for the process it starts.
        m = b.start(args=["-c", 'LISTEN_PID=$$ exec "$0" "$@"', ctx.monitor] + args, prog="/bin/sh",
                    env_extra=env)
    else:
        env["LISTEN_PID"] = listen_pid
        m = b.start(args=args, env_extra=env)
    return b, m


@test(improvement="2.1.6 compares LISTEN_PID with the runtime's parent (the daemonized monitor), so a LISTEN_PID "
     "naming the engine is never replaced")
def test_listen_pid_parent_replaced(ctx):
    # LISTEN_PID naming the monitor's parent (us, the engine): the runtime must see its own pid.
    b, m = _listen_run(ctx, str(os.getpid()))
    m.create()
    check_eq(m.wait_exit_file(), b"0", "exit file")
    lp = _fake_record(ctx, "listen-pid").strip()
    me = _fake_record(ctx, "self-pid").strip()
    check_eq(lp, me, "LISTEN_PID seen by the runtime (%s = the engine's pid, monitor %s)" %
             (os.getpid(), m.get_monitor_pid()))
    check_eq(_fake_record(ctx, "listen-fds").strip(), "1", "LISTEN_FDS")


@test()
def test_listen_pid_self_replaced(ctx):
    # systemd style: LISTEN_PID = the monitor's own pid (--sync: no daemonizing fork).
    b, m = _listen_run(ctx, "self", sync_mode=True)
    raw, msg = m.sync_json()
    check(msg.get("data", -1) > 0, "create failed: %r" % raw)
    check_eq(m.wait_exit_file(), b"0", "exit file")
    check_eq(_fake_record(ctx, "listen-pid").strip(), _fake_record(ctx, "self-pid").strip(),
             "LISTEN_PID seen by the runtime")


@test()
def test_listen_pid_unrelated_kept(ctx):
    b, m = _listen_run(ctx, "1")
    m.create()
    check_eq(m.wait_exit_file(), b"0", "exit file")
    check_eq(_fake_record(ctx, "listen-pid").strip(), "1", "unrelated LISTEN_PID must be left alone")


@test()
def test_listen_pid_replace_flag(ctx):
    b, m = _listen_run(ctx, "1", replace=True)
    m.create()
    check_eq(m.wait_exit_file(), b"0", "exit file")
    check_eq(_fake_record(ctx, "listen-pid").strip(), _fake_record(ctx, "self-pid").strip(),
             "LISTEN_PID with --replace-listen-pid")


def _listen_garbage(ctx, value):
    b, m = _listen_run(ctx, value)
    rc = m.wait_parent()
    raw = m.read_sync()
    check_eq(rc, 0, "first process exit status")
    check(raw.startswith(b'{"data": -1') and b"LISTEN_PID" in raw,
          "garbage LISTEN_PID %r not reported on the sync pipe: %r" % (value, raw))
    check(not os.path.exists(os.path.join(_fake_dir(ctx), "argv")), "the runtime ran with LISTEN_PID %r" % value)
    check_eq(m.wait_monitor(), 1, "monitor exit status")
    check(not os.path.exists(b.exit_file), "exit file written for a container never created")


@test()
def test_listen_pid_garbage(ctx):
    _listen_garbage(ctx, "abc")


@test(improvement="2.1.6 parses LISTEN_PID with strtol and takes '12abc' for 12")
def test_listen_pid_trailing_garbage(ctx):
    _listen_garbage(ctx, "12abc")


# ------------------------------------------------------------------ preserved fds (§1.3)

@test()
def test_preserve_fds_fake_runtime(ctx):
    b = ctx.bundle(["true"])
    args = _with_runtime(b.args(oci_log=False, extra=["--runtime-opt", "--preserve-fds", "--runtime-opt", "1"]),
                         FAKE_RUNTIME)
    rd, wr = os.pipe()
    ctx.fds.append(rd)
    try:
        m = b.start(args=args, extra_fds={3: wr}, fd_base=4, env_extra=_fake_env(ctx, FAKE_SLEEP="0.2"))
    finally:
        os.close(wr)
    m.create()
    check_eq(m.wait_exit_file(), b"0", "exit file")
    argv = _fake_argv(ctx)
    want = ["--root", ctx.state, "create", "--bundle", b.path, "--pid-file", b.pidfile, "--preserve-fds", "1",
            b.cid]
    check_eq(argv, want, "runtime argv")
    fds = [int(x) for x in _fake_record(ctx, "fds").split()]
    check(3 in fds, "preserved fd 3 not open in the runtime: %r" % fds)


@test()
def test_preserve_fds_container_view(ctx):
    # Real runc: the container has fd 3 and nothing of the monitor's (sync / start pipes were 4 and 5).
    b = ctx.bundle(["sh", "-c", "ls /proc/self/fd; echo via-fd3 >&3"])
    rd, wr = os.pipe()
    ctx.fds.append(rd)
    try:
        m = b.start(args=b.args(extra=["--runtime-opt", "--preserve-fds", "--runtime-opt", "1"]),
                    extra_fds={3: wr}, fd_base=4)
    finally:
        os.close(wr)
    check_eq(m.run_to_exit(), b"0", "exit file")
    m.wait_monitor()
    check_eq(os.read(rd, 4096) if select.select([rd], [], [], 5)[0] else b"", b"via-fd3\n", "fd 3 data")
    lines = [ln.split(b" ", 3)[3] for ln in (read_file(b.log) or b"").splitlines() if b" stdout " in ln]
    fds = sorted(int(x) for x in lines if x.isdigit())
    # ls itself opens one directory fd (the highest); everything else must be 0-3.
    check(fds[:4] == [0, 1, 2, 3] and len(fds) <= 5, "fds seen in the container: %r" % fds)


# ------------------------------------------------------------------ inherited fds (§2.16, §4 item 8)

@test()
def test_inherited_ports_tcp_and_udp(ctx):
    b = ctx.bundle(["sh", "-c", "sleep 0.5; exit 2"])
    socks = []
    for _ in range(20):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        socks.append((socket.SOCK_STREAM, s))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    socks.append((socket.SOCK_DGRAM, u))
    ports = [(k, s.getsockname()[1]) for k, s in socks]
    inodes = {"socket:[%d]" % os.fstat(s.fileno()).st_ino for _, s in socks}
    # fds 5.. : beyond podman's sync/start pipes, no --preserve-fds. The exit command keeps the monitor alive.
    fds = {5 + i: s.fileno() for i, (_, s) in enumerate(socks)}
    try:
        m = b.start(extra_fds=fds, tail=["--exit-command", "/bin/sleep", "--exit-command-arg", "3"])
    finally:
        for _, s in socks:
            s.close()
    m.create()
    m.runc_start()
    mpid = m.get_monitor_pid()
    held = {t for t in testlib.fd_targets(mpid).values() if t in inodes}
    check_eq(len(held), len(inodes), "inherited sockets held by the monitor while the container runs")
    busy = [p for p in ports if _can_bind(*p)]
    check(not busy, "ports free while the container runs: %r" % busy)
    check_eq(m.wait_exit_file(), b"2", "exit file")
    still = [p for p in ports if not _can_bind(*p)]
    check(not still, "ports still bound when the exit file appeared: %r" % still)
    check(pid_alive(mpid), "monitor gone already (test needs it alive)")
    held = {t for t in testlib.fd_targets(mpid).values() if t in inodes}
    check(not held, "monitor still holds %d inherited sockets" % len(held))


# ------------------------------------------------------------------ reaping (§2.12, §4 items 13-14)

@test()
def test_no_zombies_after_exit(ctx):
    b = ctx.bundle(["sh", "-c", "for i in $(seq 50); do (sleep 0.1 &) ; done; sleep 1"])
    m = b.start(tail=["--exit-command", "/bin/sleep", "--exit-command-arg", "2"])
    m.create()
    m.runc_start()
    mpid = m.get_monitor_pid()
    check_eq(m.wait_exit_file(), b"0", "exit file")
    zombies = []
    for _ in range(10):
        if not pid_alive(mpid):
            break
        zombies = _zombie_children(mpid)
        if zombies:
            break
        time.sleep(0.1)
    check(not zombies, "zombie children of the monitor while it runs its exit command: %r" % zombies)
    check(pid_alive(mpid), "monitor gone before the exit command ended (test needs it alive)")
    check_eq(m.wait_monitor(10), 0, "monitor exit status")


@test()
def test_orphans_reaped_while_running(ctx):
    # Orphans re-parented to the monitor (a subreaper) while the container runs must be reaped at once.
    b = ctx.bundle(["true"])
    args = _with_runtime(b.args(oci_log=False, tail=["--exit-command", "/bin/sleep", "--exit-command-arg", "2"]),
                         FAKE_RUNTIME)
    m = b.start(args=args, env_extra=_fake_env(ctx, FAKE_SLEEP="2", FAKE_ORPHANS="50"))
    pid = m.create()
    mpid = m.get_monitor_pid()
    time.sleep(1)
    check(pid_alive(pid), "the container ended too early for this test")
    zombies = _zombie_children(mpid)
    check(not zombies, "%d zombie children of the monitor while the container runs" % len(zombies))
    check_eq(m.wait_exit_file(), b"0", "exit file")
    time.sleep(0.3)
    check(pid_alive(mpid), "monitor gone before the exit command ended (test needs it alive)")
    check_eq(_zombie_children(mpid), [], "zombie children while the exit command runs")
    check_eq(m.wait_monitor(10), 0, "monitor exit status")


# ------------------------------------------------------------------ signals (§2.15, §4 item 11)

def _signal_case(ctx, sig, code):
    script = ('trap "exit 3" TERM; trap "exit 4" INT; trap "exit 5" QUIT; echo ready; '
              'while :; do sleep 0.1; done')
    b = ctx.bundle(["sh", "-c", script])
    m = b.start()
    m.create()
    m.runc_start()
    check(wait_for(lambda: b"ready" in (read_file(b.log) or b""), 10), "container never became ready")
    mpid = m.get_monitor_pid()
    os.kill(mpid, sig)
    check_eq(m.wait_exit_file(), str(code).encode(), "exit file after %s to the monitor" % sig.name)
    check_eq(m.wait_monitor(), code, "monitor exit status")


@test()
def test_signal_term_forwarded(ctx):
    _signal_case(ctx, signal.SIGTERM, 3)


@test()
def test_signal_int_forwarded(ctx):
    _signal_case(ctx, signal.SIGINT, 4)


@test()
def test_signal_quit_forwarded(ctx):
    _signal_case(ctx, signal.SIGQUIT, 5)


# ------------------------------------------------------------------ engine killed (§4 item 15)

@test()
def test_engine_sigkilled(ctx):
    b = ctx.bundle(["sh", "-c", "sleep 2; exit 0"])
    out = os.path.join(ctx.tmp, "engine-sync")
    ctx.containers.append(b.cid)
    eng = spawn([sys.executable, os.path.join(FIXTURES, "mini_engine.py"), out, ctx.monitor] + b.args(), ctx.tmp)
    try:
        msg = wait_for(lambda: read_file(out), 20)
        check(msg is not None, "mini engine got no sync message (stderr %r)" % eng.stderr[-300:])
        check(re.fullmatch(rb'\{"data": [1-9][0-9]*\}\n', msg), "sync message %r" % msg)
    finally:
        eng.kill(signal.SIGKILL)
        eng.wait(10)
    pidtext = wait_for(lambda: read_file(b.conmon_pidfile), 5)
    check(pidtext, "conmon pidfile not written")
    mpid = int(pidtext)
    ctx.track_monitor(mpid)
    check(pid_alive(mpid), "monitor died with the engine")
    res = ctx.runc("start", b.cid)
    check(res.returncode == 0, "runc start: %r" % res)
    data = wait_for(lambda: read_file(b.exit_file), 15)
    check_eq(data, b"0", "exit file after the engine was SIGKILLed")
    st = testlib.reaper().wait(mpid, 10)
    check(st is not None, "monitor still running")
    check_eq(testlib.decode_status(st), 0, "monitor exit status")


@test()
def test_exec_engine_gone_exit_file(ctx):
    # §4 item 15: the engine closes its sync socket after the exec pid; the final {"data": status} write
    # then fails (EPIPE) and must not cost the exit file.
    b = ctx.bundle(["sleep", "100"])
    m = b.start()
    m.create()
    m.runc_start()
    edir = os.path.join(b.path, "exec1")
    os.makedirs(os.path.join(edir, "exit"))
    spec = os.path.join(edir, "process.json")
    cfg = harness.make_config(["sh", "-c", "sleep 0.5; exit 4"], "/", "/x")
    with open(spec, "w") as f:
        json.dump(cfg["process"], f)
    a = ["--api-version", "1", "-c", b.cid, "-u", "exec1", "-r", ctx.suite.runc, "-b", edir,
         "-p", os.path.join(edir, "exec_pid"), "-n", b.cid, "--exit-dir", os.path.join(edir, "exit"),
         "--full-attach", "--runtime-arg", "--root", "--runtime-arg", ctx.state, "-l", "none",
         "--log-level", "warning", "--conmon-pidfile", os.path.join(edir, "conmon.pid"), "-e",
         "--exec-process-spec", spec]
    e = b.start(args=a)
    check_eq(e.wait_parent(), 0, "exec monitor parent exit status")
    raw, msg = e.sync_json()
    check(msg.get("data", -1) > 0, "exec pid message %r" % raw)
    e.sync.close()
    data = wait_for(lambda: read_file(os.path.join(edir, "exit", b.cid)), 10)
    check_eq(data, b"4", "exec exit file after the engine closed the sync socket")
    pid = int(read_file(os.path.join(edir, "conmon.pid")))
    ctx.track_monitor(pid)
    st = testlib.reaper().wait(pid, 10)
    check(st is not None, "exec monitor still running")
    check(os.WIFEXITED(st), "exec monitor killed by signal %r (SIGPIPE?)" % testlib.decode_status(st))
