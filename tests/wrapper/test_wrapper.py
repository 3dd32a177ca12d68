#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of ctr-wrap's everyday commands, against one monitor binary.

    python3 tests/wrapper/test_wrapper.py --wrapper wrapper/ctr-wrap --monitor PATH --label ours \\
        [--build build] [-k PATTERN] [--jobs N]

Prints TAP, one result per test named `wrapper/NAME [LABEL]` (see tests/lib/testlib.py), which
tests/run.py reads. Exit status 0 unless the suite itself could not run. Needs root and runc
(reports SKIP otherwise). Each test uses its own `--root` under one /tmp/cwt-* directory, removed
at the end; containers left running are removed with `rm -f`, and this process is a child subreaper
that reaps the daemonized monitors.
"""

import contextlib
import json
import os
import re
import select
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

import testlib  # noqa: E402
from testlib import TestFailure, check, check_eq  # noqa: E402

reg = testlib.Registry()
SUITE = "wrapper"


class Ctx:
    def __init__(self, wrapper, monitor, rootfs, root):
        self.wrapper = wrapper
        self.monitor = monitor
        self.rootfs = rootfs
        self.root = root

    def argv(self, *args):
        return [self.wrapper, "--root", self.root, "--runtime", "runc", "--conmon", self.monitor] + list(args)

    def w(self, *args, timeout=60, stdin_fd=None):
        if stdin_fd is None:
            return testlib.run(self.argv(*args), timeout=timeout)
        outdir = tempfile.mkdtemp(prefix="w-", dir=self.root)
        try:
            p = testlib.spawn(self.argv(*args), outdir, stdin_fd=stdin_fd)
            rc = p.wait(timeout)
            return testlib.Result(rc, p.stdout, p.stderr)
        finally:
            shutil.rmtree(outdir, ignore_errors=True)

    def ok(self, *args, timeout=60):
        res = self.w(*args, timeout=timeout)
        if res.returncode != 0:
            raise TestFailure("ctr-wrap %s: %r" % (" ".join(args), res))
        return res

    def run_d(self, *cmd, name=None, publish=None):
        extra = (["--name", name] if name else []) + (["-p", publish] if publish else [])
        res = self.ok("run", "-d", *extra, self.rootfs, *cmd)
        cid = res.out.strip()
        check(re.fullmatch(r"[0-9a-f]{64}", cid), "run -d printed %r, want a 64-hex id" % res.out)
        return cid

    def inspect(self, ref):
        return json.loads(self.ok("inspect", ref).out)[0]

    def ps(self, *args):
        return json.loads(self.ok("ps", "--format", "json", *args).out)

    def remove_all(self):
        """At a test's end: `rm -f` every container it left, as far as ps still answers. A `run --rm`
        container's exit command deletes it from the runtime after ctr-wrap returned: wait for that, and
        delete what is still there, so that no container's cgroup outlives the root removed next."""
        try:
            for c in json.loads(testlib.run(self.argv("ps", "-a", "--format", "json"), timeout=30).out or "[]"):
                testlib.run(self.argv("rm", "-f", c["Id"]), timeout=60)
        except (ValueError, TestFailure):
            pass
        rt = os.path.join(self.root, "runtime")

        def in_runtime():
            try:
                return os.listdir(rt)
            except FileNotFoundError:
                return []
        if not testlib.wait_for(lambda: not in_runtime(), 5, interval=0.05):
            for cid in in_runtime():
                testlib.run(["runc", "--root", rt, "delete", "-f", cid], timeout=30)


@contextlib.contextmanager
def ctx_for(base, wrapper, monitor, rootfs, name):
    root = tempfile.mkdtemp(prefix=name[:20] + "-", dir=base)
    ctx = Ctx(wrapper, monitor, rootfs, root)
    try:
        yield ctx
    finally:
        ctx.remove_all()
        shutil.rmtree(root, ignore_errors=True)


def container_dirs(ctx):
    return [d for d in os.listdir(ctx.root) if re.fullmatch(r"[0-9a-f]{64}", d)]


# ------------------------------------------------------------------ tests

@reg.test()
def test_run_rm_echo(ctx):
    res = ctx.w("run", "--rm", ctx.rootfs, "/bin/echo", "hello", "world")
    check_eq(res.returncode, 0, "exit code %r" % res)
    check_eq(res.out, "hello world\n", "stdout")
    check_eq(container_dirs(ctx), [], "state left after --rm")


@reg.test()
def test_run_rm_back_to_back_same_name(ctx):
    """run --rm returns the exit code without waiting for the runtime's delete; the name is free at once, ps
    never shows a half-removed container, and the exit command deletes each from the runtime afterwards."""
    seen, stop = set(), threading.Event()

    def watch():
        while not stop.is_set():
            res = testlib.run(ctx.argv("ps", "-a", "--format", "json"), timeout=30)
            if res.returncode == 0:
                seen.update(c["State"] for c in json.loads(res.out or "[]"))
            else:
                seen.add("ps failed: %r" % res)

    t = threading.Thread(target=watch)
    t.start()
    try:
        for i in range(8):
            res = ctx.w("run", "--rm", "--name", "again", ctx.rootfs, "/bin/sh", "-c", "exit %d" % (i * 3))
            check_eq(res.returncode, i * 3, "run %d: exit code %r" % (i, res))
            check_eq(res.err, "", "run %d: stderr" % i)
            check_eq(container_dirs(ctx), [], "run %d: state left after --rm" % i)
    finally:
        stop.set()
        t.join()
    check(seen <= {"created", "running", "exited"}, "ps -a meanwhile showed %r" % seen)
    rt = os.path.join(ctx.root, "runtime")
    check(testlib.wait_for(lambda: not os.listdir(rt), 15), "runtime still knows %r" % os.listdir(rt))
    # A detached --rm container that exited holds its name until its exit command removed it: a run
    # of the same name waits for that instead of failing.
    for i in range(3):
        ctx.ok("run", "-d", "--rm", "--name", "detached", ctx.rootfs, "/bin/sh", "-c", "exit 3")
        check_eq(ctx.ok("wait", "detached").out, "3\n", "wait on a detached --rm container")
        res = ctx.w("run", "--rm", "--name", "detached", ctx.rootfs, "/bin/true")
        check_eq(res.returncode, 0, "run %d right after: %r" % (i, res))
    check(testlib.wait_for(lambda: not container_dirs(ctx) and not os.listdir(rt), 15),
          "left behind: %r, runtime %r" % (container_dirs(ctx), os.listdir(rt)))
    # The same with its exit command not done yet (an exit file as the monitor writes it, no exit command):
    # the run removes it itself. A container without --rm keeps its name.
    for rm, name in ((True, "pending"), (False, "kept")):
        cid = ctx.ok("create", *(["--rm"] if rm else []), "--name", name, ctx.rootfs, "/bin/true").out.strip()
        with open(os.path.join(ctx.root, cid, "exits", cid), "w") as f:
            f.write("0")
        res = ctx.w("run", "--rm", "--name", name, ctx.rootfs, "/bin/true")
        if rm:
            check_eq(res.returncode, 0, "run over an exited --rm container %r" % res)
            check(not os.path.exists(os.path.join(ctx.root, cid)), "the exited --rm container is still there")
        else:
            check(res.returncode == 125 and "already in use" in res.err, "run over a kept container %r" % res)


@reg.test()
def test_rm_clients_get_the_exit_code(ctx):
    """start -a and attach on an --rm container, and wait on a detached one, get its exit code: its exit
    command leaves it to them, and it is gone after."""
    ctx.ok("create", "--rm", "--name", "sa", ctx.rootfs, "/bin/sh", "-c", "echo hi; exit 5")
    res = ctx.w("start", "-a", "sa")
    check(res.returncode == 5 and res.out == "hi\n", "start -a %r" % res)
    check_eq(container_dirs(ctx), [], "state left after start -a")
    ctx.ok("run", "-d", "--rm", "--name", "at", ctx.rootfs, "/bin/sh", "-c", "sleep 1; echo bye; exit 6")
    res = ctx.w("attach", "--no-stdin", "at")
    check(res.returncode == 6 and res.out == "bye\n", "attach %r" % res)
    check_eq(container_dirs(ctx), [], "state left after attach")
    ctx.ok("run", "-d", "--rm", "--name", "wt", ctx.rootfs, "/bin/sh", "-c", "sleep 0.5; exit 7")
    check_eq(ctx.w("wait", "wt").out, "7\n", "wait on a detached --rm container")
    rt = os.path.join(ctx.root, "runtime")
    check(testlib.wait_for(lambda: not container_dirs(ctx) and not os.listdir(rt), 15),
          "left behind: %r, runtime %r" % (container_dirs(ctx), os.listdir(rt)))


@reg.test()
def test_run_foreground_exit_code_and_streams(ctx):
    res = ctx.w("run", ctx.rootfs, "/bin/sh", "-c", "echo out; echo err >&2; exit 3")
    check_eq(res.returncode, 3, "exit code %r" % res)
    check_eq(res.out, "out\n", "stdout")
    check_eq(res.err, "err\n", "stderr")
    check_eq(len(container_dirs(ctx)), 1, "containers kept without --rm")


@reg.test()
def test_run_d_wait(ctx):
    cid = ctx.run_d("/bin/sh", "-c", "sleep 0.3; exit 7", name="seven")
    res = ctx.ok("wait", "seven")
    check_eq(res.out, "7\n", "wait output")
    info = ctx.inspect(cid[:12])
    check_eq(info["State"], "exited", "state")
    check_eq(info["ExitCode"], 7, "exit code")
    check_eq(info["Name"], "seven", "name")


@reg.test()
def test_run_d_rm(ctx):
    res = ctx.ok("run", "-d", "--rm", ctx.rootfs, "/bin/true")
    cdir = os.path.join(ctx.root, res.out.strip())
    check(testlib.wait_for(lambda: not os.path.exists(cdir), 15), "run -d --rm: %s still there" % cdir)


@reg.test()
def test_logs(ctx):
    ctx.run_d("/bin/sh", "-c", "echo first; echo oops >&2; printf 'no newline'; sleep 1; echo; echo last",
              name="lg")
    res = ctx.w("logs", "-f", "lg", timeout=20)
    check_eq(res.returncode, 0, "logs -f exit %r" % res)
    check_eq(res.out, "first\nno newline\nlast\n", "logs -f stdout (P records joined, final line kept)")
    check_eq(res.err, "oops\n", "logs -f stderr")
    res = ctx.ok("logs", "--tail", "1", "lg")
    check_eq(res.out + res.err, "last\n", "logs --tail 1")
    res = ctx.ok("logs", "--since", "2999-01-01T00:00:00Z", "lg")
    check_eq(res.out + res.err, "", "logs --since in the future")


@reg.test()
def test_logs_follow_ends_with_container(ctx):
    ctx.run_d("/bin/sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.3; done; echo final", name="fl")
    res = ctx.w("logs", "-f", "fl", timeout=20)
    check_eq(res.out, "line1\nline2\nline3\nfinal\n", "logs -f output")


@reg.test()
def test_logs_follow_across_size_limit(ctx):
    """The monitor replaces a log that hits max-size with a new file: -f goes on reading the new one."""
    script = ("i=100; while [ $i -lt 400 ]; do echo line$i-%s; i=$((i+1)); sleep 0.005; done; echo END"
              % ("padding-" * 7))
    res = ctx.ok("run", "-d", "--name", "big", "--log-opt", "max-size=8k", ctx.rootfs, "/bin/sh", "-c", script)
    check(res.out.strip(), "run -d printed no id")
    res = ctx.w("logs", "-f", "big", timeout=30)
    check_eq(res.returncode, 0, "logs -f exit %r" % res)
    lines = res.out.splitlines()
    check(lines and lines[-1] == "END", "logs -f stopped before END: last lines %r" % lines[-3:])
    nums = [int(line[4:7]) for line in lines[:-1]]
    check_eq(nums, sorted(set(nums)), "lines out of order or repeated")
    check(len(nums) >= 150, "logs -f saw only %d of 300 lines" % len(nums))


@reg.test()
def test_cgroup_parent_slice_uses_systemd_driver(ctx):
    """A NAME.slice parent is handed to the runtime's systemd cgroup driver, not made a literal directory."""
    res = ctx.w("run", "--rm", "--cgroup-parent", "machine.slice", ctx.rootfs, "/bin/cat", "/proc/self/cgroup")
    if os.path.isdir("/run/systemd/system"):
        check_eq(res.returncode, 0, "run under systemd %r" % res)
        check("machine.slice/" in res.out, "cgroup not under machine.slice: %r" % res.out)
    else:
        check_eq(res.returncode, 126, "exit code without systemd %r" % res)
        check("systemd" in res.err, "error does not name systemd: %r" % res.err)
    check_eq(container_dirs(ctx), [], "state left behind")


@reg.test()
def test_ps_running_then_exited(ctx):
    cid = ctx.run_d("/bin/sh", "-c", "sleep 1.5", name="pss")
    running = [c for c in ctx.ps() if c["Id"] == cid]
    check(running and running[0]["State"] == "running", "ps: want running, got %r" % running)
    table = ctx.ok("ps").out
    check("pss" in table and "Up" in table, "ps table: %r" % table)
    ctx.ok("wait", cid)
    check_eq([c for c in ctx.ps() if c["Id"] == cid], [], "ps without -a lists an exited container")
    allc = [c for c in ctx.ps("-a") if c["Id"] == cid]
    check(allc and allc[0]["State"] == "exited" and allc[0]["ExitCode"] == 0, "ps -a: %r" % allc)
    check("Exited (0)" in ctx.ok("ps", "-a").out, "ps -a table")


@reg.test()
def test_stop_kill_codes(ctx):
    ctx.run_d("/bin/sleep", "100", name="st")
    t0 = time.monotonic()
    ctx.ok("stop", "-t", "1", "st")
    check(time.monotonic() - t0 < 8, "stop -t 1 took too long")
    check_eq(ctx.ok("wait", "st").out, "137\n", "stop of a TERM-ignoring pid 1 -> SIGKILL")
    ctx.run_d("/bin/sh", "-c", "trap 'exit 9' TERM; while :; do sleep 0.1; done", name="tr")
    time.sleep(0.3)
    ctx.ok("stop", "tr")
    check_eq(ctx.ok("wait", "tr").out, "9\n", "stop -> TERM handler exit code")
    ctx.run_d("/bin/sleep", "100", name="kl")
    ctx.ok("kill", "kl")
    check_eq(ctx.ok("wait", "kl").out, "137\n", "kill -> 137")
    ctx.run_d("/bin/sh", "-c", "trap 'exit 12' USR1; while :; do sleep 0.1; done", name="k2")
    time.sleep(0.3)
    ctx.ok("kill", "-s", "USR1", "k2")
    check_eq(ctx.ok("wait", "k2").out, "12\n", "kill -s USR1")


@reg.test()
def test_rm(ctx):
    cid = ctx.run_d("/bin/sleep", "100", name="rmme")
    res = ctx.w("rm", "rmme")
    check_eq(res.returncode, 125, "rm of a running container %r" % res)
    check("rm -f" in res.err, "rm error names the fix: %r" % res.err)
    ctx.ok("rm", "-f", "rmme")
    check(not os.path.exists(os.path.join(ctx.root, cid)), "state left after rm -f")
    # The name is free again.
    ctx.run_d("/bin/true", name="rmme")
    ctx.ok("wait", "rmme")
    ctx.ok("rm", "rmme")
    check_eq(container_dirs(ctx), [], "state left after rm")


@reg.test()
def test_name_clash(ctx):
    ctx.run_d("/bin/true", name="dup")
    res = ctx.w("run", "--name", "dup", ctx.rootfs, "/bin/true")
    check_eq(res.returncode, 125, "second --name dup %r" % res)
    check("already in use" in res.err, "error: %r" % res.err)


@reg.test()
def test_exec(ctx):
    ctx.run_d("/bin/sleep", "100", name="ex")
    res = ctx.w("exec", "ex", "/bin/sh", "-c", "echo in-exec; echo to-err >&2; exit 3")
    check_eq(res.returncode, 3, "exec exit code %r" % res)
    check_eq(res.out, "in-exec\n", "exec stdout")
    check_eq(res.err, "to-err\n", "exec stderr")
    res = ctx.w("exec", "ex", "/nonexistent")
    check_eq(res.returncode, 127, "exec of a missing command %r" % res)
    check_eq(ctx.inspect("ex")["State"], "running", "container after exec")
    leftovers = [d for d in os.listdir(ctx.inspect("ex")["Bundle"]) if d.startswith("exec-")]
    check_eq(leftovers, [], "exec bundles left behind")


@reg.test()
def test_stdin(ctx):
    path = os.path.join(ctx.root, "input")
    with open(path, "w") as f:
        f.write("one\ntwo\n")
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        res = ctx.w("run", "--rm", "-i", ctx.rootfs, "/bin/sh", "-c", "wc -l", stdin_fd=fd, timeout=30)
    finally:
        os.close(fd)
    check_eq(res.returncode, 0, "run -i %r" % res)
    check_eq(res.out.strip(), "2", "line count seen by the container")


@reg.test()
def test_missing_command(ctx):
    res = ctx.w("run", "--rm", ctx.rootfs, "/no/such/cmd")
    check_eq(res.returncode, 127, "exit code %r" % res)
    check("no such file or directory" in res.err or "not found" in res.err, "runc's message: %r" % res.err)
    check_eq(container_dirs(ctx), [], "state left after a failed create")


@reg.test()
def test_unknown_container(ctx):
    for cmd in (["logs"], ["wait"], ["stop"], ["kill"], ["rm"], ["inspect"], ["attach"], ["exec"]):
        args = cmd + ["nope"] + (["/bin/true"] if cmd == ["exec"] else [])
        res = ctx.w(*args)
        check_eq(res.returncode, 125, "%s exit code %r" % (cmd[0], res))
        check("ctr-wrap: no such container nope (see ctr-wrap ps -a)" in res.err, "%s: %r" % (cmd[0], res.err))


@reg.test()
def test_bad_run_options(ctx):
    """Wrong input to run: one line naming the fix, exit 125, nothing created."""
    cases = [
        (["--log-driver", "none", "--log-opt", "max-size=1m"], "only the k8s-file log driver takes options"),
        (["--log-opt", "max-size=1k"], "max-size must be at least"),
        (["--name", "we\"ird"], "invalid name"),
        (["-p", "99999:80"], "99999"),
        (["--cap-add", "CAP_NOPE"], "NOPE"),
        (["-s", "x"], "Unknown option"),
    ]
    for opts, text in cases:
        res = ctx.w("run", "--rm", *opts, ctx.rootfs, "/bin/true")
        check_eq(res.returncode, 125, "run %s: exit code %r" % (" ".join(opts), res))
        lines = res.err.strip().splitlines()
        check(len(lines) == 1 and text in lines[0], "run %s: want one line with %r, got %r" % (opts, text, res.err))
    res = ctx.w("run", "--rm", os.path.join(ctx.root, "no-rootfs"), "/bin/true")
    check_eq(res.returncode, 125, "missing rootfs %r" % res)
    check_eq(container_dirs(ctx), [], "state left behind")


@reg.test()
def test_help(ctx):
    for cmd in ("run", "ps", "logs", "attach", "exec", "stop", "kill", "wait", "rm", "inspect"):
        res = ctx.w(cmd, "--help")
        check_eq(res.returncode, 0, "%s --help %r" % (cmd, res))
        check("Usage" in res.out, "%s --help output: %r" % (cmd, res.out[:200]))
    res = ctx.w("--help")
    check(res.returncode == 0 and "run" in res.out, "--help: %r" % res)
    res = ctx.w("frobnicate")
    check_eq(res.returncode, 125, "unknown command")


def _help_options(text):
    """The options a GLib or ctr-wrap help text lists: -x and --long, without -h/--help."""
    opts = set()
    for m in re.finditer(r"(?m)^\s+(?:(-\w), )?(--[\w-]+)", text):
        opts.update(o for o in m.groups() if o and o not in ("-h", "--help"))
    return opts


def _man_commands(man):
    """The man page's COMMANDS section as {command: its subsection text}, roff escapes undone."""
    text = re.sub(r"\\f[BIRP]", "", man.replace("\\-", "-"))
    section = re.search(r"(?ms)^\.SH COMMANDS$(.*?)^\.SH ", text)
    check(section, "docs/man/ctr-wrap.1 has no COMMANDS section")
    parts = re.split(r'(?m)^\.SS "?(\S+)', section.group(1))
    return dict(zip(parts[1::2], parts[2::2])), text


@reg.test()
def test_docs_consistent(ctx):
    """Every command and option --help shows is in the man page and offered by the bash completion."""
    top = os.path.dirname(os.path.dirname(HERE))
    man = testlib.read_file(os.path.join(top, "docs", "man", "ctr-wrap.1"))
    completion = os.path.join(top, "docs", "ctr-wrap.bash")
    check(man is not None and os.path.isfile(completion), "docs/man/ctr-wrap.1 or docs/ctr-wrap.bash missing")
    usage = ctx.ok("--help").out
    commands = re.findall(r"(?m)^  ([a-z]+) ", usage.split("Commands:", 1)[1].split("\n\n", 1)[0])
    check(len(commands) >= 11, "commands in --help: %r" % commands)
    options = {"": _help_options(usage.split("Global options:", 1)[1])}
    for cmd in commands:
        options[cmd] = _help_options(ctx.ok(cmd, "--help").out)
    check("--publish" in options["run"] and "--id" in options["spec"], "options parsed: %r" % options)

    sections, man_text = _man_commands(man.decode())
    check_eq(sorted(set(commands) - set(sections)), [], "commands missing from the man page's COMMANDS")
    globals_text = re.search(r"(?ms)^\.SH GLOBAL OPTIONS$(.*?)^\.SH ", man_text)
    check(globals_text, "the man page has no GLOBAL OPTIONS section")
    for cmd, opts in options.items():
        # spec and create document the container options they share with run under run.
        shared = sections["run"] if cmd in ("spec", "create") else ""
        text = globals_text.group(1) if not cmd else sections.get(cmd, "") + shared
        missing = sorted(o for o in opts if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), text))
        check_eq(missing, [], "options of %r missing from its man page section" % (cmd or "ctr-wrap"))

    # Ask the completion itself, in bash, the way readline would.
    script = ['source "$1"',
              'q() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _ctr_wrap;'
              ' printf "%s\\n" "== $*" "${COMPREPLY[@]}"; }',
              "q ctr-wrap ''", "q ctr-wrap -"] + ["q ctr-wrap %s -" % c for c in commands]
    res = testlib.run(["bash", "-c", "\n".join(script), "bash", completion], timeout=30)
    check_eq(res.returncode, 0, "bash completion run %r" % res)
    replies = {}
    for block in res.out.split("== ")[1:]:
        query, _, rest = block.partition("\n")
        replies[query] = set(rest.split())
    check_eq(sorted(set(commands) - replies.get("ctr-wrap ", set())), [], "commands the completion does not offer")
    for cmd, opts in options.items():
        query = "ctr-wrap %s -" % cmd if cmd else "ctr-wrap -"
        check_eq(sorted(opts - replies.get(query, set())), [], "options the completion does not offer for %r" % query)


@reg.test()
def test_monitor_lost(ctx):
    cid = ctx.run_d("/bin/sleep", "100", name="lost")
    mpid = ctx.inspect("lost")["MonitorPid"]
    check(mpid > 0, "monitor pid recorded")
    os.kill(mpid, signal.SIGKILL)
    check(testlib.wait_for(lambda: ctx.inspect("lost")["State"] == "unknown", 10), "state after monitor death")
    check("Unknown (monitor lost)" in ctx.ok("ps", "-a").out, "ps shows the lost monitor")
    ctx.ok("rm", "-f", "lost")
    check(not os.path.exists(os.path.join(ctx.root, cid)), "state left")


@reg.test()
def test_attach(ctx):
    ctx.run_d("/bin/sh", "-c", "sleep 1; echo late; echo late-err >&2; exit 5", name="at")
    res = ctx.w("attach", "at", timeout=20)
    check_eq(res.returncode, 5, "attach returns the exit code %r" % res)
    check_eq(res.out, "late\n", "attach stdout")
    check_eq(res.err, "late-err\n", "attach stderr")
    res = ctx.w("attach", "at")
    check_eq(res.returncode, 125, "attach to an exited container")


@reg.test()
def test_publish(ctx):
    ctx.run_d("/bin/sh", "-c", "mkdir -p /tmp/www && echo hi-port > /tmp/www/index.html && "
              "exec httpd -f -p 80 -h /tmp/www", name="web", publish="127.0.0.1::80")
    ports = ctx.inspect("web")["Ports"]
    m = re.fullmatch(r"127\.0\.0\.1:(\d+)->80/tcp", ports[0]) if ports else None
    check(m, "inspect Ports: %r" % ports)
    port = int(m.group(1))

    def fetch():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                c.sendall(b"GET / HTTP/1.0\r\n\r\n")
                data = b""
                while True:
                    d = c.recv(4096)
                    if not d:
                        return data
                    data += d
        except OSError:
            return None
    body = testlib.wait_for(fetch, 10, interval=0.2)
    check(body and b"hi-port" in body, "fetch through the published port: %r" % body)
    ctx.ok("rm", "-f", "web")
    check(testlib.wait_for(lambda: _can_bind(port), 5), "host port %d still held after rm -f" % port)


def _can_bind(port):
    with socket.socket() as s:
        # The fetch left a TIME_WAIT entry on the port; that is not a holder.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _pty(rows=30, cols=100):
    import fcntl
    import struct
    import termios
    master, slave = os.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.set_inheritable(master, False)
    os.set_inheritable(slave, False)
    return master, slave


def _read_until(fd, needle, timeout=10):
    import select
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf and time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                break
            if not d:
                break
            buf += d
    return buf


@reg.test()
def test_tty_detach_attach(ctx):
    outdir = tempfile.mkdtemp(prefix="tty-", dir=ctx.root)
    master, slave = _pty()
    try:
        p = testlib.spawn(ctx.argv("run", "-it", "--name", "tt", ctx.rootfs, "/bin/sh"), outdir,
                          stdin_fd=slave, stdio_fds=(slave, slave))
        os.write(master, b"stty size\n")
        got = _read_until(master, b"30 100")
        check(b"30 100" in got, "terminal size inside: %r" % got[-300:])
        os.write(master, b"\x10\x11")
        check_eq(p.wait(15), 0, "run -it after ctrl-p,ctrl-q")
        check_eq(ctx.inspect("tt")["State"], "running", "state after detach")
    finally:
        os.close(master)
        os.close(slave)
    master, slave = _pty()
    try:
        p = testlib.spawn(ctx.argv("attach", "tt"), outdir, stdin_fd=slave, stdio_fds=(slave, slave))
        time.sleep(0.3)
        os.write(master, b"echo back-$((40+2))\n")
        got = _read_until(master, b"back-42")
        check(b"back-42" in got, "output after re-attach: %r" % got[-300:])
        os.write(master, b"exit 4\n")
        check_eq(p.wait(15), 4, "attach returns the exit code")
    finally:
        os.close(master)
        os.close(slave)
        shutil.rmtree(outdir, ignore_errors=True)



@reg.test()
def test_exec_stdin_tty_detach(ctx):
    """exec -i forwards stdin; exec -it gets the caller's terminal size and returns the exit code; the detach
    keys leave an exec session running."""
    ctx.run_d("/bin/sleep", "100", name="ext")
    path = os.path.join(ctx.root, "exec-input")
    with open(path, "w") as f:
        f.write("one\ntwo\nthree\n")
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        res = ctx.w("exec", "-i", "ext", "/bin/sh", "-c", "wc -l; exit 6", stdin_fd=fd, timeout=30)
    finally:
        os.close(fd)
    check_eq((res.returncode, res.out.strip()), (6, "3"), "exec -i %r" % res)
    outdir = tempfile.mkdtemp(prefix="extty-", dir=ctx.root)
    master, slave = _pty()
    try:
        p = testlib.spawn(ctx.argv("exec", "-it", "ext", "/bin/sh"), outdir, stdin_fd=slave,
                          stdio_fds=(slave, slave))
        os.write(master, b"stty size; tty\n")
        got = _read_until(master, b"/dev/pts/")
        check(b"30 100" in got and b"/dev/pts/" in got, "terminal inside the exec: %r" % got[-300:])
        os.write(master, b"exit 5\n")
        check_eq(p.wait(15), 5, "exec -it exit code")
    finally:
        os.close(master)
        os.close(slave)
    master, slave = _pty()
    try:
        p = testlib.spawn(ctx.argv("exec", "-it", "ext", "/bin/sh", "-c", "echo ready; exec sleep 100"), outdir,
                          stdin_fd=slave, stdio_fds=(slave, slave))
        got = _read_until(master, b"ready")
        check(b"ready" in got, "exec output before detach: %r" % got[-300:])
        os.write(master, b"\x10\x11")
        check_eq(p.wait(15), 0, "exec -it after ctrl-p,ctrl-q")
        ps = ctx.ok("exec", "ext", "/bin/sh", "-c", "ps -o args | grep -c '^sleep 100$'").out
        check_eq(ps.strip(), "1", "the detached exec's sleep still runs")
    finally:
        os.close(master)
        os.close(slave)
        shutil.rmtree(outdir, ignore_errors=True)

@reg.test()
def test_own_files_private_and_untrusted_state_refused(ctx):
    """Under umask 000 our files stay 0600; state others could have written is refused, not used."""
    umask0 = ["sh", "-c", 'umask 000; exec "$@"', "sh", ctx.wrapper, "--root", ctx.root, "--conmon", ctx.monitor]
    res = testlib.run(umask0 + ["run", "-d", "--name", "priv", ctx.rootfs, "sleep", "30"])
    check_eq(res.returncode, 0, "run under umask 000 %r" % res)
    cid = res.out.strip()
    cache = os.path.join(ctx.root, "default-runtime")
    state = os.path.join(ctx.root, cid, "state.json")
    for path in (cache, state, os.path.join(ctx.root, "lock"), os.path.join(ctx.root, cid, "lock"),
                 os.path.join(ctx.root, cid, "config.json")):
        check_eq(oct(os.stat(path).st_mode & 0o777), oct(0o600), "mode of %s" % path)
    for path in (os.path.join(ctx.root, "names"), os.path.join(ctx.root, "runtime"), os.path.join(ctx.root, cid),
                 os.path.join(ctx.root, cid, "exits")):
        check_eq(oct(os.stat(path).st_mode & 0o777), oct(0o700), "mode of %s" % path)
    os.chmod(cache, 0o666)
    res = testlib.run(umask0 + ["run", "--rm", ctx.rootfs, "true"])
    check_eq(res.returncode, 125, "run with a world-writable default-runtime %r" % res)
    check("default-runtime" in res.err and "writable" in res.err, "error: %r" % res.err)
    os.chmod(cache, 0o600)
    os.chown(cache, 65534, 65534)
    res = testlib.run(umask0 + ["run", "--rm", ctx.rootfs, "true"])
    check_eq(res.returncode, 125, "run with a default-runtime owned by nobody %r" % res)
    check("owned by uid 65534" in res.err, "error: %r" % res.err)
    os.unlink(cache)
    os.chown(state, 65534, 65534)
    res = ctx.w("inspect", cid)
    check_eq(res.returncode, 125, "inspect with state.json owned by nobody %r" % res)
    check("state.json" in res.err and "owned by uid 65534" in res.err, "error: %r" % res.err)
    os.chown(state, 0, 0)
    os.lchown(os.path.join(ctx.root, "names", "priv"), 65534, 65534)
    res = ctx.w("inspect", "priv")
    check_eq(res.returncode, 125, "inspect through a name link owned by nobody %r" % res)
    check("names/priv" in res.err and "owned by uid 65534" in res.err, "error: %r" % res.err)
    check_eq(ctx.inspect(cid)["State"], "running", "the container itself is still managed by id")


@reg.test()
def test_corrupt_state_json_still_removable(ctx):
    """A corrupt state.json shows as broken in ps -a; rm -f (by name or id) deletes it from the runtime too."""
    rt_root = os.path.join(ctx.root, "runtime")
    for ref in ("name", "id"):
        cid = ctx.run_d("sleep", "30", name="bad" + ref)
        with open(os.path.join(ctx.root, cid, "state.json"), "w") as f:
            f.write('{"id": "%s", "name": ' % cid)
        listed = [c for c in ctx.ps("-a") if c["Id"] == cid]
        check(listed and listed[0]["State"] == "broken", "ps -a: %r" % listed)
        check("bad state.json" in listed[0].get("Error", ""), "ps -a error: %r" % listed)
        check(cid[:12] in ctx.ok("ps", "-a").out, "ps -a table misses the broken container")
        res = ctx.w("rm", "bad" + ref if ref == "name" else cid[:16])
        check(res.returncode != 0 and "state.json" in res.err, "rm without -f %r" % res)
        ctx.ok("rm", "-f", "bad" + ref if ref == "name" else cid[:16])
        check(not os.path.exists(os.path.join(ctx.root, cid)), "directory left after rm -f")
        check(not os.path.lexists(os.path.join(ctx.root, "names", "bad" + ref)), "name left after rm -f")
        res = testlib.run(["runc", "--root", rt_root, "state", cid])
        check(res.returncode != 0, "runtime still knows the container: %r" % res)


@reg.test()
def test_detached_run_leaves_no_caller_fd(ctx):
    """out=$(ctr-wrap run -d ...) returns at once: the monitor keeps no copy of the caller's stdout/stderr."""
    outdir = tempfile.mkdtemp(prefix="w-", dir=ctx.root)
    r_out, w_out = os.pipe()
    r_err, w_err = os.pipe()
    try:
        p = testlib.spawn(ctx.argv("run", "-d", "-p", "127.0.0.1::80", ctx.rootfs, "sleep", "30"), outdir,
                          stdio_fds=(w_out, w_err))
        os.close(w_out)
        os.close(w_err)
        w_out = w_err = -1
        check_eq(p.wait(30), 0, "run -d exit code")
        out = b""
        for fd in (r_out, r_err):
            while True:
                # EOF only once nobody holds the write end; the container sleeps 30 s, a holder outlives 20.
                ready, _, _ = select.select([fd], [], [], 20)
                check(ready, "the caller's %s pipe is still held open" % ("stdout" if fd == r_out else "stderr"))
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                out += chunk if fd == r_out else b""
        cid = out.decode().strip()
        check_eq(ctx.inspect(cid)["State"], "running", "container still running when the caller's pipes hit EOF")
    finally:
        for fd in (r_out, r_err, w_out, w_err):
            if fd >= 0:
                os.close(fd)
        shutil.rmtree(outdir, ignore_errors=True)


# ------------------------------------------------------------------ entry point

def setup(opts, monitor, rootfs, base, stack):
    wrapper = os.path.abspath(opts.wrapper)
    return lambda tc: ctx_for(base, wrapper, monitor, rootfs, tc.name)


def need_wrapper(opts):
    path = os.path.abspath(opts.wrapper)
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return None
    return ("FAIL", "wrapper binary %s not found or not executable" % path)


def need_runc(opts):
    return None if shutil.which("runc") else ("SKIP", "runc not installed")


WRAPPER_ARG = ("--wrapper", {"required": True})


def main(registry=None, suite_setup=setup, tmp_prefix="cwt-"):
    """Also the entry point of test_lifecycle.py and test_images.py, with their registries."""
    return testlib.suite_main(SUITE, suite_setup, registry=registry or reg, needs=[need_wrapper, need_runc],
                              extra_args=[WRAPPER_ARG], tmp_prefix=tmp_prefix)


if __name__ == "__main__":
    sys.exit(main())
