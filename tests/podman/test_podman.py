# SPDX-License-Identifier: Apache-2.0
"""podman 4.3.1 scenarios driving the monitor (`podman --conmon PATH`); each runs against both monitors."""

import json
import time

from testlib import Registry, TestFailure, check, check_eq, wait_for

reg = Registry()
test = reg.test


def exit_code(ctx, name):
    res = ctx.podman_ok("inspect", "--format", "{{.State.ExitCode}}", name)
    return int(res.out.strip())


def ps_status(ctx, name, all_=True):
    """Status column of `podman ps` for name, or None when not listed."""
    args = ["ps", "--format", "{{.Names}}|{{.Status}}"]
    if all_:
        args.insert(1, "-a")
    res = ctx.podman_ok(*args)
    for line in res.out.splitlines():
        n, _, st = line.partition("|")
        if n == name:
            return st
    return None


@test()
def test_version_accepted(ctx):
    # podman probes `MONITOR --version` and refuses an unparsable or too old answer.
    res = ctx.podman_ok("info", "--format", "{{json .Host.Conmon}}")
    info = json.loads(res.out)
    check("conmon version" in info.get("version", ""), "podman info conmon version %r" % info)


@test()
def test_run_rm_echo(ctx):
    name = ctx.name()
    res = ctx.podman("run", "--rm", "--name", name, *ctx.run_args(), "echo", "hi")
    check_eq((res.returncode, res.out), (0, "hi\n"), "podman run --rm echo hi (stderr %r)" % res.err)
    check(wait_for(lambda: ps_status(ctx, name) is None, 10), "container %s not removed after run --rm" % name)


@test()
def test_run_exit_code(ctx):
    res = ctx.podman("run", "--rm", *ctx.run_args(), "sh", "-c", "echo x; exit 5")
    check_eq((res.returncode, res.out), (5, "x\n"), "podman run exit status (stderr %r)" % res.err)


@test()
def test_run_d_wait_7(ctx):
    name = ctx.name()
    ctx.podman_ok("run", "-d", "--name", name, *ctx.run_args(), "sh", "-c", "sleep 0.3; exit 7")
    t0 = time.monotonic()
    res = ctx.podman("wait", name, timeout=30)
    dt = time.monotonic() - t0
    check_eq((res.returncode, res.out.strip()), (0, "7"), "podman wait (stderr %r)" % res.err)
    check(dt < 10, "podman wait took %.1fs (monitor not reaped / exit file late?)" % dt)
    check_eq(exit_code(ctx, name), 7, "inspect ExitCode")


@test()
def test_logs_order(ctx):
    name = ctx.name()
    ctx.podman_ok("run", "-d", "--name", name, *ctx.run_args(), "sh", "-c",
                  "echo out1; sleep 0.3; echo err1 >&2; sleep 0.3; echo out2; sleep 0.3; echo err2 >&2")
    ctx.podman_ok("wait", name, timeout=30)
    res = ctx.podman("logs", name, merge_stderr=True)
    check_eq((res.returncode, res.out), (0, "out1\nerr1\nout2\nerr2\n"), "podman logs (merged)")
    res = ctx.podman("logs", name)
    check_eq((res.out, res.err), ("out1\nout2\n", "err1\nerr2\n"), "podman logs stdout / stderr")


@test()
def test_stop_sleep(ctx):
    name = ctx.name()
    ctx.podman_ok("run", "-d", "--name", name, *ctx.run_args(), "sleep", "100")
    res = ctx.podman("stop", "-t", "1", name, timeout=30)
    check_eq(res.returncode, 0, "podman stop (%r)" % res)
    code = exit_code(ctx, name)
    check(code in (143, 137), "exit code after stop: %r" % code)


@test()
def test_stop_trapped_term(ctx):
    name = ctx.name()
    ctx.podman_ok("run", "-d", "--name", name, *ctx.run_args(), "sh", "-c",
                  'trap "exit 143" TERM; echo ready; sleep 100 & wait')
    check(wait_for(lambda: "ready" in ctx.podman("logs", name).out, 10), "container never became ready")
    res = ctx.podman("stop", "-t", "10", name, timeout=30)
    check_eq(res.returncode, 0, "podman stop (%r)" % res)
    check_eq(exit_code(ctx, name), 143, "exit code after stop")


@test()
def test_kill_137(ctx):
    name = ctx.name()
    ctx.podman_ok("run", "-d", "--name", name, *ctx.run_args(), "sleep", "100")
    ctx.podman_ok("kill", name)
    res = ctx.podman("wait", name, timeout=30)
    check_eq((res.returncode, res.out.strip()), (0, "137"), "podman wait after kill (stderr %r)" % res.err)


@test()
def test_nonexistent_command(ctx):
    res = ctx.podman("run", "--rm", *ctx.run_args(), "/no/such/cmd")
    check(res.returncode != 0, "podman run of a nonexistent command succeeded")
    check("/no/such/cmd" in res.err and "no such file or directory" in res.err,
          "stderr lacks runc's error text: %r" % res.err)


@test()
def test_ps_up_then_exited(ctx):
    name = ctx.name()
    ctx.podman_ok("run", "-d", "--name", name, *ctx.run_args(), "sleep", "100")
    st = ps_status(ctx, name, all_=False)
    check(st and st.startswith("Up"), "ps status while running: %r" % st)
    ctx.podman_ok("kill", name)
    ctx.podman_ok("wait", name, timeout=30)
    st = ps_status(ctx, name)
    check(st and st.startswith("Exited (137)"), "ps -a status after kill: %r" % st)
    check(ps_status(ctx, name, all_=False) is None, "still listed by ps without -a")


@test()
def test_run_attached_output(ctx):
    # Foreground run without --rm: output arrives through the attach socket, stderr kept apart.
    name = ctx.name()
    res = ctx.podman("run", "--name", name, *ctx.run_args(), "sh", "-c", "echo to-out; echo to-err >&2; exit 3")
    check_eq((res.returncode, res.out), (3, "to-out\n"), "attached run")
    check("to-err\n" in res.err, "stderr %r" % res.err)
    st = ps_status(ctx, name)
    if not (st and st.startswith("Exited (3)")):
        raise TestFailure("ps -a status %r" % st)
