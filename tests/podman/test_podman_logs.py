# SPDX-License-Identifier: Apache-2.0
"""`podman logs` of containers whose output went through the monitor: k8s-file and journald
(docs/protocol.md: Log drivers, k8s-file log, journald log). The container runs /helpers/emit; the
expected bytes come from the Python mirror of its generator in tests/integration/test_logging.py."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
import journald  # noqa: E402
from test_logging import TEXT, TEXT_CR, Emit, first_diff  # noqa: E402
from testlib import Registry, TestSkip, check, check_eq  # noqa: E402

reg = Registry()
test = reg.test


def need_emit(ctx):
    if not os.access(os.path.join(ctx.store.rootfs, "helpers", "emit"), os.X_OK):
        raise TestSkip("/helpers/emit missing from the rootfs (make build/tests/helpers/emit)")


def ends_ok(got, want):
    """Exact, except that a final line without '\\n' may come back with one."""
    return got == want or (not want.endswith(b"\n") and got == want + b"\n")


def _logs_round_trip(ctx, em, driver):
    need_emit(ctx)
    name = ctx.name()
    ctx.podman_ok("run", "-d", "--name", name, "--log-driver", driver, *ctx.run_args(), *em.argv)
    res = ctx.podman("wait", name, timeout=60)
    check_eq((res.returncode, res.out.strip()), (0, "0"), "podman wait (stderr %r)" % res.err)
    out, err = em.expected()
    res = ctx.podman("logs", name, timeout=60)
    check_eq(res.returncode, 0, "podman logs exit status (stderr %r)" % res.stderr[-300:])
    check(ends_ok(res.stdout, out), "podman logs stdout %s" % first_diff(res.stdout, out))
    check(ends_ok(res.stderr, err), "podman logs stderr %s" % first_diff(res.stderr, err))


@test()
def test_podman_logs_k8s_file(ctx):
    # lines up to 20000 bytes (split into P records and joined again), '\r' kept, partial last lines
    _logs_round_trip(ctx, Emit(71, 400000, maxlen=20000, mode=TEXT_CR, nofinal=True, maxchunk=6000), "k8s-file")


@test()
def test_podman_logs_journald(ctx):
    with journald.journal():
        _logs_round_trip(ctx, Emit(72, 200000, maxlen=20000, mode=TEXT, nofinal=True, maxchunk=6000), "journald")
