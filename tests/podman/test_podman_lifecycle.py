# SPDX-License-Identifier: Apache-2.0
"""podman 4.3.1 lifecycle edges driving the monitor (docs/protocol.md: OOM; docs/compat.md: the sync pipe
write that fails): OOM reporting and an engine process SIGKILLed mid-run. Each runs against both monitors
unless marked."""

import os
import signal
import tempfile
import time

import pmharness
from testlib import Registry, check, check_eq, wait_for

reg = Registry()
test = reg.test


def _ps_status(ctx, name):
    res = ctx.podman_ok("ps", "-a", "--format", "{{.Names}}|{{.Status}}")
    for line in res.out.splitlines():
        n, _, st = line.partition("|")
        if n == name:
            return st
    return None


def _state(ctx, name):
    return ctx.podman_ok("inspect", "--format", "{{.State.OOMKilled}} {{.State.ExitCode}}", name).out.strip()


def _oom_run(ctx, mib):
    name = ctx.name()
    cwd = tempfile.mkdtemp(prefix="cwd-", dir=ctx.store.base)
    res = pmharness.podman_in_dir(ctx, cwd, "run", "--name", name, "--memory", "32m", "--memory-swap", "32m",
                                  *ctx.run_args(), "/helpers/alloc", str(mib), timeout=60)
    return name, res, cwd


@test(upstream="2.1.13")  # 2.1.6 writes the oom file to its cwd, podman looks in the bundle: OOMKilled stays false
def test_oom_killed_reported(ctx):
    name, res, _ = _oom_run(ctx, 128)
    check_eq(res.returncode, 137, "podman run exit status (%r)" % res)
    check_eq(_state(ctx, name), "true 137", "inspect OOMKilled ExitCode")


@test()
def test_no_false_oom(ctx):
    name, res, cwd = _oom_run(ctx, 8)
    check_eq((res.returncode, res.out), (0, "allocated 8\n"), "podman run (%r)" % res)
    check_eq(_state(ctx, name), "false 0", "inspect OOMKilled ExitCode")
    check(not os.path.exists(os.path.join(cwd, "oom")), "oom file written in the monitor's cwd")


def _wait_exited(ctx, name, timeout=30):
    st = wait_for(lambda: (_ps_status(ctx, name) or "").startswith("Exited"), timeout, interval=0.3)
    return st, _ps_status(ctx, name)


@test()
def test_engine_sigkill_run_d(ctx):
    # `podman run -d ... sleep 2`, SIGKILLed as soon as the container is listed; the monitor carries on.
    name = ctx.name()
    p = pmharness.podman_spawn(ctx.store, "run", "-d", "--name", name, *ctx.run_args(), "sleep", "2")
    try:
        check(wait_for(lambda: _ps_status(ctx, name) is not None or p.poll() is not None, 30, interval=0.05),
              "container never listed")
        p.kill(signal.SIGKILL)
        rc = p.wait(10)
    finally:
        p.kill(signal.SIGKILL)
    check(rc in (0, -signal.SIGKILL), "podman run -d: %r (stderr %r)" % (rc, p.stderr[-300:]))
    ok, st = _wait_exited(ctx, name)
    check(st and st.startswith("Exited (0)"), "ps -a status after the engine was killed: %r" % st)
    check_eq(_state(ctx, name), "false 0", "inspect OOMKilled ExitCode")


@test()
def test_engine_sigkill_attached(ctx):
    # Foreground `podman run` (attached) SIGKILLed while the container runs: the kill surely hits a live
    # engine; the monitor must still record exit 0 after the sleep.
    name = ctx.name()
    p = pmharness.podman_spawn(ctx.store, "run", "--name", name, *ctx.run_args(), "sh", "-c", "sleep 2; exit 0")
    try:
        check(wait_for(lambda: (_ps_status(ctx, name) or "").startswith("Up") or p.poll() is not None, 30,
                       interval=0.05), "container never running")
        check(p.poll() is None, "podman run ended before it could be killed: %r" % p.poll())
        t0 = time.monotonic()
        p.kill(signal.SIGKILL)
        check_eq(p.wait(10), -signal.SIGKILL, "podman run status")
    finally:
        p.kill(signal.SIGKILL)
    ok, st = _wait_exited(ctx, name)
    check(st and st.startswith("Exited (0)"), "ps -a status after the engine was killed: %r" % st)
    check(time.monotonic() - t0 < 25, "exit noticed late")
    check_eq(_state(ctx, name), "false 0", "inspect OOMKilled ExitCode")
