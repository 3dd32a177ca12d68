# SPDX-License-Identifier: Apache-2.0
"""Security checks (docs/protocol.md: Lifecycle, Attach socket, ctl and winsz FIFOs, Files, OOM, Exit
command, Environment fds): what the container and the exit command inherit from the monitor, and the
permissions of everything the monitor creates. Every case runs against ours and the reference unless
marked.

The fd listings come from /helpers/fdlist (tests/helpers/fdlist.c), which prints "FD TARGET" for each
descriptor it was given, leaving out the one it reads /proc/self/fd with. The same static binary runs
on the host as the exit command.
"""

import os
import socket
import stat

from harness import attach_connect
from test_lifecycle import _memory_limit
from test_logging import join_stream, parse_log
from testlib import Registry, TestSkip, check, check_eq, read_file, wait_for

reg = Registry()
test = reg.test


def _fdlist(ctx):
    path = os.path.join(ctx.suite.rootfs, "helpers", "fdlist")
    if not os.access(path, os.X_OK):
        raise TestSkip("/helpers/fdlist missing from the rootfs (make build/tests/helpers/fdlist)")
    return path


def _parse_fdlist(text, what):
    fds = {}
    for line in text.replace(b"\r", b"").decode(errors="replace").splitlines():
        fd, _, target = line.partition(" ")
        check(fd.isdigit() and target, "%s: malformed fdlist line %r" % (what, line))
        fds[int(fd)] = target
    return fds


# ------------------------------------------------------------------ the container's fds (§2.0 step 10, §2.16)

def _container_fds(ctx, extra=(), terminal=False, **start):
    """Run /helpers/fdlist as the container; returns {fd: target} as it saw them."""
    _fdlist(ctx)

    def mut(cfg):
        cfg["process"]["terminal"] = terminal
    b = ctx.bundle(["/helpers/fdlist"], config_mutate=mut)
    m = b.start(args=b.args(extra=list(extra)), **start)
    check_eq(m.run_to_exit(), b"0", "exit file")
    m.wait_monitor()
    recs = parse_log(read_file(b.log))
    check_eq(join_stream(recs, "stderr"), b"", "fdlist's stderr")
    return _parse_fdlist(join_stream(recs, "stdout"), "container")


def _is_pipe(target):
    return target.startswith("pipe:[")


@test()
def test_security_container_fds(ctx):
    """Invariant: without -i/-t the container gets exactly fds 0, 1, 2: stdin /dev/null, stdout and
    stderr two different pipes; nothing of the monitor's (sync socket, start pipe, log, attach socket,
    FIFOs) leaks in."""
    fds = _container_fds(ctx)
    check_eq(sorted(fds), [0, 1, 2], "container fds %r" % fds)
    check_eq(fds[0], "/dev/null", "container stdin")
    check(_is_pipe(fds[1]) and _is_pipe(fds[2]) and fds[1] != fds[2], "stdout/stderr %r / %r: want two pipes" %
          (fds[1], fds[2]))


@test()
def test_security_container_fds_stdin(ctx):
    """Invariant: with -i the container gets exactly fds 0, 1, 2, three different pipes."""
    fds = _container_fds(ctx, extra=["-i"])
    check_eq(sorted(fds), [0, 1, 2], "container fds %r" % fds)
    check(all(_is_pipe(t) for t in fds.values()) and len(set(fds.values())) == 3,
          "container stdio %r: want three different pipes" % fds)


@test()
def test_security_container_fds_tty(ctx):
    """Invariant: with -t the container gets exactly fds 0, 1, 2, all its terminal."""
    fds = _container_fds(ctx, extra=["-t"], terminal=True)
    check_eq(sorted(fds), [0, 1, 2], "container fds %r" % fds)
    check(len(set(fds.values())) == 1 and fds[0].startswith("/dev/pts/"), "container stdio %r: want one pty" % fds)


@test()
def test_security_container_fds_preserve_3(ctx):
    """Invariant: with --preserve-fds 3 (podman: fds 3-5 are the caller's, sync and start pipes move to 6
    and 7) the container gets exactly fds 0-5, and 3-5 are the very pipes the caller passed."""
    pipes = [os.pipe() for _ in range(3)]
    want = {}
    try:
        for i, (rd, wr) in enumerate(pipes):
            want[3 + i] = "pipe:[%d]" % os.fstat(wr).st_ino
        fds = _container_fds(ctx, extra=["--runtime-opt", "--preserve-fds", "--runtime-opt", "3"],
                             extra_fds={3 + i: wr for i, (_, wr) in enumerate(pipes)}, fd_base=6)
    finally:
        for rd, wr in pipes:
            os.close(rd)
            os.close(wr)
    check_eq(sorted(fds), [0, 1, 2, 3, 4, 5], "container fds %r" % fds)
    check_eq({fd: fds[fd] for fd in (3, 4, 5)}, want, "preserved fds 3-5")


# ------------------------------------------------------------------ the exit command's fds (§2.12)

@test()
def test_security_exit_command_fds(ctx):
    """Invariant: the exit command inherits nothing of the monitor but 0, 1, 2 (all /dev/null, the
    daemonized monitor's stdio): not the sync socket, log, attach socket or client, FIFOs, the stdin pipe
    of -i, nor an fd the engine passed down (a port reservation on fd 5)."""
    fdlist = _fdlist(ctx)
    out = os.path.join(ctx.tmp, "exit-command-fds")
    b = ctx.bundle(["sh", "-c", "sleep 0.5; exit 3"])
    port = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    port.bind(("127.0.0.1", 0))
    port.listen(1)
    try:
        m = b.start(extra=["-i"], extra_fds={5: port.fileno()},
                    tail=["--exit-command", fdlist, "--exit-command-arg", out])
    finally:
        port.close()
    m.create()
    c = attach_connect(b.path)
    try:
        m.runc_start()
        check_eq(m.wait_exit_file(), b"3", "exit file")
        check(wait_for(lambda: os.path.exists(out), 10), "the exit command did not run")
    finally:
        c.close()
    m.wait_monitor()
    fds = _parse_fdlist(read_file(out), "exit command")
    check_eq(fds, {0: "/dev/null", 1: "/dev/null", 2: "/dev/null"}, "fds of the exit command")


# ------------------------------------------------------------------ permissions (§2.4, §2.5, §2.7-2.9)

# What the contract says each artefact is created with (before the umask), and its file type.
CREATE_MODES = {
    "attach": (stat.S_IFSOCK, 0o700),           # §2.4 fchmod 0700 before bind
    "ctl": (stat.S_IFIFO, 0o660),               # §2.5 mkfifo 0660
    "winsz": (stat.S_IFIFO, 0o660),             # §2.5 mkfifo 0660
    "log": (stat.S_IFREG, 0o640),               # §2.10 open(..., 0640) since conmon 2.1.13 (2.1.6: 0600)
    "exit": (stat.S_IFREG, 0o666),              # §2.7 g_file_set_contents
    "persist exit": (stat.S_IFREG, 0o666),      # §2.7
    "conmon pidfile": (stat.S_IFREG, 0o666),    # §2.8 g_file_set_contents
    "runtime pidfile": (stat.S_IFREG, 0o666),   # §2.8 written by the runtime, with the monitor's umask
    "oom": (stat.S_IFREG, 0o666),               # §2.9 open(O_CREAT, 0666)
}


def _artefact_modes(ctx, umask):
    """Start the monitor the engine's way with the given umask (and a scratch cwd, where 2.1.6 puts ./oom);
    returns {name: st_mode} for every artefact of CREATE_MODES."""
    cwd = os.path.join(ctx.tmp, "cwd")
    pdir = os.path.join(ctx.tmp, "persist")
    os.makedirs(cwd, exist_ok=True)
    os.makedirs(pdir, exist_ok=True)

    def start(b):
        args = ["-c", 'cd "$1" && umask %s && shift && exec "$0" "$@"' % umask, ctx.monitor, cwd]
        return b.start(args=args + b.args(tail=["--persist-dir", pdir]), prog="/bin/sh")

    modes = {}
    b = ctx.bundle(["sleep", "100"])
    m = start(b)
    m.create()
    m.runc_start()
    for name, path in (("attach", "attach"), ("ctl", "ctl"), ("winsz", "winsz"), ("log", b.log),
                       ("conmon pidfile", b.conmon_pidfile), ("runtime pidfile", b.pidfile)):
        modes[name] = os.lstat(os.path.join(b.path, path)).st_mode
    ctx.runc("kill", b.cid, "KILL")
    check_eq(m.wait_exit_file(), b"137", "exit file")
    modes["exit"] = os.lstat(b.exit_file).st_mode
    modes["persist exit"] = os.lstat(os.path.join(pdir, "exit")).st_mode
    m.wait_monitor()
    os.unlink(os.path.join(pdir, "exit"))

    ob = ctx.bundle(["/helpers/alloc", "128"], config_mutate=_memory_limit(32))
    om = start(ob)
    om.create()
    om.runc_start()
    check_eq(om.wait_exit_file(timeout=20), b"137", "exit file of the OOM-killed container")
    oom = os.path.join(pdir, "oom")
    check(wait_for(lambda: os.path.exists(oom), 5), "no oom file in the persist dir")
    modes["oom"] = os.lstat(oom).st_mode
    om.wait_monitor()
    return modes


def _describe(modes):
    return ", ".join("%s %04o" % (n, stat.S_IMODE(v)) for n, v in sorted(modes.items()))


@test()
def test_security_artefact_modes(ctx):
    """Invariant: with the engine's usual umask 022, every artefact has its type and is no more open than
    the contract's creation mode after that umask (attach socket 0700, ctl/winsz FIFOs 0640, log 0640,
    exit files, pid files, oom 0644), and its owner can read and write it."""
    modes = _artefact_modes(ctx, "022")
    bad = []
    for name, (kind, create) in sorted(CREATE_MODES.items()):
        mode = modes[name]
        allowed = create & ~0o022
        perm = stat.S_IMODE(mode)
        if stat.S_IFMT(mode) != kind or perm & ~allowed or perm & 0o600 != 0o600:
            bad.append("%s %04o (allowed %04o)" % (name, perm, allowed))
    check(not bad, "artefacts more open than the contract allows under umask 022: %s [all: %s]" %
          ("; ".join(bad), _describe(modes)))


@test(upstream="2.1.8")
def test_security_no_world_writable_umask_000(ctx):
    """umask 022 as conmon 2.1.8+ (2.1.6 keeps the engine's: under umask 000 the exit files, pid files and the
    oom file are world-writable, anyone can forge an exit status or the pid the engine signals). Invariant: even
    when the engine runs with umask 000, nothing the monitor (or the runtime it starts) creates is writable by
    others."""
    modes = _artefact_modes(ctx, "000")
    bad = sorted("%s %04o" % (n, stat.S_IMODE(v)) for n, v in modes.items() if v & stat.S_IWOTH)
    check(not bad, "world-writable under umask 000: %s" % ", ".join(bad))
