# SPDX-License-Identifier: Apache-2.0
"""Scale: many containers started and stopped in a row through our monitor leave nothing behind.

Each of LOOPS iterations does what podman does for `run -d sleep 1000` then `stop`: bundle, monitor
(podman's way, it daemonizes), create, `runc start`, wait until the container runs, stop it, wait for
the exit file and the monitor's exit, `runc delete`, remove the bundle. The stop rotates through
`runc kill KILL` (137, the pid-namespace init ignores TERM), `runc kill TERM` and SIGTERM to the
monitor, which forwards it (both 143, on a container without a pid namespace, where TERM kills).
Afterwards nothing may be left: processes, fds of the suite, mounts, files, cgroups, runc state.
"""

import os
import re
import shutil
import signal
import time

import testlib
from testlib import Registry, TestFailure, TestSkip, check, check_eq, wait_for

reg = Registry()
test = reg.test

LOOPS = 500
STOPS = ("runc-kill-KILL", "runc-kill-TERM", "monitor-SIGTERM")


def _start_time(pid):
    """Field 22 of /proc/PID/stat: with the pid, names one process even after pid reuse."""
    return testlib.stat_field(pid, 19)


def _comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def _cmdline_mentions(text):
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                argv = f.read().decode(errors="replace")
        except OSError:
            continue
        if text in argv:
            found.append("%s %s" % (name, argv.replace("\0", " ")[:160]))
    return found


def _cgroups(prefix):
    found = []
    for ctrl in os.listdir("/sys/fs/cgroup"):
        d = os.path.join("/sys/fs/cgroup", ctrl)
        if not os.path.isdir(d):
            continue
        found += [os.path.join(d, e) for e in os.listdir(d) if e.startswith(prefix)]
    return found


def _no_pidns(cfg):
    cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "pid"]


def _one(ctx, i, tracked):
    """One start/stop cycle; afterwards the harness holds nothing of it."""
    how = STOPS[i % len(STOPS)]
    b = ctx.bundle(["sleep", "1000"], config_mutate=None if how == "runc-kill-KILL" else _no_pidns)
    m = b.start()
    pid = m.create()
    m.runc_start()
    check(wait_for(lambda: _comm(pid) == "sleep", 10), "loop %d: container %d never ran sleep" % (i, pid))
    mpid = m.get_monitor_pid()
    tracked.append((pid, _start_time(pid), "container of loop %d" % i))
    tracked.append((mpid, _start_time(mpid), "monitor of loop %d" % i))
    if how == "runc-kill-KILL":
        res = ctx.runc("kill", b.cid, "KILL")
        want = b"137"
    elif how == "runc-kill-TERM":
        res = ctx.runc("kill", b.cid, "TERM")
        want = b"143"
    else:
        os.kill(mpid, signal.SIGTERM)
        res, want = None, b"143"
    check(res is None or res.returncode == 0, "loop %d: runc kill: %r" % (i, res))
    check_eq(m.wait_exit_file(), want, "loop %d (%s): exit file" % (i, how))
    check_eq(m.wait_monitor(), int(want), "loop %d (%s): monitor exit status" % (i, how))
    res = ctx.runc("delete", b.cid)
    check(res.returncode == 0, "loop %d: runc delete: %r" % (i, res))
    # Hand back what the harness would otherwise keep until the end of the test.
    r = testlib.reaper()
    for p in (m.proc.pid, mpid):
        r.forget(p)
        ctx.monitor_pids.remove(p)
    ctx.containers.remove(b.cid)
    m.sync.close()
    os.close(m.start_w)
    ctx.fds.remove(m.start_w)
    for path in (m.proc.out_path, m.proc.err_path, b.exit_file):
        os.unlink(path)
    shutil.rmtree(b.path)


@test(only="ours")
def test_scale_start_stop_loop(ctx):
    """LOOPS containers started and stopped one after the other: no process, fd, mount, file, cgroup or
    runc state of theirs survives."""
    if ctx.suite.label in ("asan", "valgrind"):
        raise TestSkip("not under %s: %d loops are slow there, and the lifecycle tests run the same paths" % (
            ctx.suite.label, LOOPS))
    fds_before = testlib.fd_targets()
    prefix = "ctrtest-" + re.sub(r"\d+$", "", ctx.new_cid())
    tracked = []
    t0 = time.monotonic()
    for i in range(LOOPS):
        _one(ctx, i, tracked)
    took = time.monotonic() - t0

    alive = [what for pid, start, what in tracked if start is not None and _start_time(pid) == start]
    check(not alive, "%d processes survived (zombies included), e.g. %s" % (len(alive), alive[:3]))
    stray = _cmdline_mentions(ctx.tmp)
    check(not stray, "processes still naming the test dir: %s" % stray[:3])
    # Other tests of the suite run in threads of this process, so fds may come and go; one per loop
    # would be hundreds.
    after = testlib.fd_targets()
    new = sorted("%d -> %s" % (fd, t) for fd, t in after.items() if fds_before.get(fd) != t)
    check(len(new) < 20 and not any(ctx.tmp in t for t in after.values()),
          "suite fds after %d loops: %d new: %s" % (LOOPS, len(new), new[:8]))
    with open("/proc/self/mountinfo") as f:
        mounts = [ln.strip() for ln in f if ctx.tmp in ln]
    check(not mounts, "mounts left under %s: %s" % (ctx.tmp, mounts[:3]))
    left = sorted(os.listdir(ctx.tmp))
    check_eq(left, ["exits", "state"], "entries left in the test dir")
    check_eq(os.listdir(ctx.exit_dir), [], "files left in the exit dir")
    check_eq(os.listdir(ctx.state), [], "runc state entries left")
    cgs = _cgroups(prefix)
    check(not cgs, "%d cgroups left, e.g. %s" % (len(cgs), cgs[:3]))
    if took > 90:
        raise TestFailure("%d loops took %.1fs (%.0f ms each), budget 90 s" % (LOOPS, took, took * 1000 / LOOPS))
