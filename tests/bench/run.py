#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make bench: our monitor against the reference, side by side in one run.

Each scenario runs real runc containers under both monitors (started with
--sync so the monitor is our child and its CPU time comes from wait4) and
reports ratios: log and attach throughput (the log against the host copying a
file of the log's size), idle memory, CRI-O-style execs through the monitor
(crio_exec.py), and ctr-wrap run/exec against bare runc with a per-phase
breakdown from a perf trace (phases.py). Every figure with a goal is printed
with it at the end. Results go to docs/performance.md and docs/perf-*.png;
`--scenarios idle200` (or any comma list) runs only some, into build/bench/.
"""
import argparse
import contextlib
import ctypes
import json
import os
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import bench_image  # noqa: E402
import crio_exec  # noqa: E402
import phases  # noqa: E402

LINE = b"x" * 79 + b"\n"


def sh(*argv, **kw):
    return subprocess.run(list(argv), check=True, **kw)


def build_rootfs(path, data_bytes):
    """The busybox rootfs; with data_bytes, also /data of that many 80-byte lines."""
    sh("sh", os.path.join(TOP, "tests/lib/mkrootfs.sh"), path, stdout=subprocess.DEVNULL)
    data = os.path.join(path, "data")
    if data_bytes is not None and (not os.path.exists(data) or os.path.getsize(data) != data_bytes):
        block = LINE * (1 << 14)
        with open(data, "wb") as f:
            left = data_bytes
            while left > 0:
                chunk = block[:left]
                f.write(chunk)
                left -= len(chunk)
    return data


_SPEC = []


def runc_spec():
    """runc's default config.json, made once (a `runc spec` per container adds up at 200)."""
    if not _SPEC:
        tmp = tempfile.mkdtemp(prefix="spec-")
        try:
            sh("runc", "spec", "--bundle", tmp)
            with open(os.path.join(tmp, "config.json")) as f:
                _SPEC.append(f.read())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return json.loads(_SPEC[0])


def make_bundle(tmp, rootfs, args):
    cfg = runc_spec()
    cfg["root"] = {"path": rootfs, "readonly": True}
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = args
    cfg["linux"]["cgroupsPath"] = "/ctrbench-%d-%d" % (os.getpid(), time.monotonic_ns())
    with open(os.path.join(tmp, "config.json"), "w") as f:
        json.dump(cfg, f)
    return cfg["linux"]["cgroupsPath"]


class Run:
    """One container under one monitor, driven the way podman drives it.

    log is the -l value, or a function of the bundle dir returning it. state: a runc root
    shared by several containers (default: one in the bundle dir). With wait=False the
    caller collects the sync message itself (created(), or select() on .sync first)."""

    def __init__(self, monitor, rootfs, args, log, extra=(), state=None, parent=None, wait=True):
        self.tmp = tempfile.mkdtemp(prefix="bench-", dir=parent)
        self.proc = None
        self.sync = None
        self.cg = make_bundle(self.tmp, rootfs, args)
        self.cid = "bench%d" % time.monotonic_ns()
        self.state = state or os.path.join(self.tmp, "state")
        self.exits = os.path.join(self.tmp, "exits")
        os.mkdir(self.exits)
        if callable(log):
            log = log(self.tmp)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        rd, wr = os.pipe()
        hi_sync, hi_start = os.dup(theirs.fileno()), os.dup(rd)

        def place():
            os.setpgid(0, 0)  # podman's Setpgid: a Ctrl-C at the terminal reaches only the bench
            os.dup2(hi_sync, 3)
            os.dup2(hi_start, 4)

        argv = [monitor, "--api-version", "1", "-c", self.cid, "-u", self.cid, "-r", shutil.which("runc"),
                "-b", self.tmp, "-p", os.path.join(self.tmp, "pidfile"), "--exit-dir", self.exits, "--full-attach",
                "--runtime-arg", "--root", "--runtime-arg", self.state, "-l", log, "--sync"] + list(extra)
        env = {"PATH": os.environ["PATH"], "_OCI_SYNCPIPE": "3", "_OCI_STARTPIPE": "4"}
        try:
            self.proc = subprocess.Popen(argv, env=env, preexec_fn=place, pass_fds=(3, 4, hi_sync, hi_start),
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            for fd in (hi_sync, hi_start, rd):
                os.close(fd)
            theirs.close()
        self.sync = ours
        try:
            os.write(wr, b"\0")
        finally:
            os.close(wr)
        if wait:
            try:
                self.created()
            except BaseException:
                self.cleanup()
                raise

    def created(self):
        """Read the sync message (after the monitor's `runc create`); sets self.pid."""
        try:
            raw = self.sync.recv(4096)
        finally:
            self.sync.close()
            self.sync = None
        msg = json.loads(raw) if raw else {}
        if msg.get("data", -1) <= 0:
            raise RuntimeError("create failed: %r" % msg)
        self.pid = msg["data"]

    def start(self):
        self.t0 = time.monotonic()
        sh("runc", "--root", self.state, "start", self.cid)

    def wait(self):
        _, status, ru = os.wait4(self.proc.pid, 0)
        self.wall = time.monotonic() - self.t0
        # Includes the runtime child the monitor reaped (a few ms of `runc create`).
        self.cpu = ru.ru_utime + ru.ru_stime
        return status

    def cleanup(self):
        if self.sync:
            self.sync.close()
            self.sync = None
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        subprocess.run(["runc", "--root", self.state, "delete", "-f", self.cid], stderr=subprocess.DEVNULL)
        self.remove_files()

    def remove_files(self):
        for ctrl in os.listdir("/sys/fs/cgroup"):
            p = "/sys/fs/cgroup/%s%s" % (ctrl, self.cg)
            if os.path.isdir(p):
                try:
                    os.rmdir(p)
                except OSError:
                    pass
        shutil.rmtree(self.tmp, ignore_errors=True)


def bench_log(monitor, rootfs, size, logdir, keep=None):
    """The container cats /data into the k8s-file log. With keep, the log is renamed there
    instead of removed (the floor's input: a file of the log's size)."""
    log = os.path.join(logdir, "bench.log")
    # Each writer starts with no dirty pages of the one before it queued for writeback.
    os.sync()
    r = Run(monitor, rootfs, ["/bin/cat", "/data"], "k8s-file:" + log)
    res = {}
    try:
        r.start()
        r.wait()
        res["log_bytes"] = os.path.getsize(log)
        got, res["format_ok"] = log_check(log)
        res["lost_bytes"], res["added_bytes"] = max(0, size - got), max(0, got - size)
        if keep:
            os.rename(log, keep)
    finally:
        r.cleanup()
        if os.path.exists(log):
            os.unlink(log)
    res.update(wall=r.wall, cpu=r.cpu)
    return res


def log_check(log):
    """(container bytes the log holds, format ok) for a k8s-file log of /data (lines of 'x', on stdout).

    Every record is `TIMESTAMP stdout P|F CONTENT`; a prefix holds no 'x', so the container's bytes
    are the x's plus one newline per F record (a P record's own newline is the separator)."""
    xs = newlines = 0
    # Patterns counted across chunk boundaries: each chunk is joined to the previous one's last
    # len(pattern)-1 bytes, which cannot hold a whole match on their own.
    counts = {b" F ": 0, b" P ": 0, b" stdout ": 0}
    tail = b""
    with open(log, "rb") as f:
        while True:
            chunk = f.read(64 << 20)
            if not chunk:
                break
            xs += chunk.count(b"x")
            newlines += chunk.count(b"\n")
            for pat in counts:
                counts[pat] += (tail[len(tail) - len(pat) + 1:] + chunk).count(pat)
            tail = chunk[-8:]
    full = counts[b" F "]
    return xs + full, newlines == full + counts[b" P "] == counts[b" stdout "]


def attach_connect(bundle):
    """Like podman: open the bundle O_PATH and dial /proc/self/fd/N/attach."""
    dfd = os.open(bundle, os.O_PATH | os.O_DIRECTORY)
    try:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        c.connect("/proc/self/fd/%d/attach" % dfd)
        return c
    finally:
        os.close(dfd)


def bench_attach(monitor, rootfs, size):
    """size bytes from the container to one attach client (no log): wall until the client has them all."""
    r = Run(monitor, rootfs, ["/bin/cat", "/data"], "none")
    try:
        c = attach_connect(r.tmp)
        r.start()
        got = 0
        buf = bytearray(1 << 16)
        while True:
            n = c.recv_into(buf)
            if n == 0:
                break
            got += n - 1
            if got >= size:
                break
        client_wall = time.monotonic() - r.t0
        c.close()
        r.wait()
    finally:
        r.cleanup()
    return {"wall": client_wall, "cpu": r.cpu, "bytes": got}


def timed(argv, runs, **kw):
    walls = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        walls.append(time.monotonic() - t0)
    return statistics.median(walls)


def interleaved(argvs, runs, settle=0.1):
    """Median wall per name of {name: argv}, the commands taking turns (the order reversed every round) so
    that a drift in the machine's load reaches them all alike. `settle` seconds between commands: what one
    leaves running in the background (ctr-wrap's exit command) is not charged to the next."""
    walls = {name: [] for name in argvs}
    names = list(argvs)
    for i in range(runs):
        for name in (names if i % 2 == 0 else names[::-1]):
            t0 = time.monotonic()
            subprocess.run(argvs[name], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            walls[name].append(time.monotonic() - t0)
            time.sleep(settle)
    return {name: statistics.median(w) for name, w in walls.items()}


def run_pair(tmp, wrapper, conmon, rootfs, cfg, runs):
    """`runc run` of cfg against `ctr-wrap run --rm`, both keeping their state under tmp."""
    same = os.path.join(tmp, "same")
    os.mkdir(same)
    with open(os.path.join(same, "config.json"), "w") as f:
        json.dump(cfg, f)
    cw = [wrapper, "--root", os.path.join(tmp, "cw"), "--conmon", conmon]
    return interleaved({"runc": ["runc", "--root", os.path.join(tmp, "state"), "run", "--bundle", same,
                                 "lat%d" % os.getpid()],
                        "ctr-wrap": cw + ["run", "--rm", rootfs, "/bin/true"]}, runs)


def traced(argvs):
    """Run each argv in turn (in a perf trace): [(pid, t0)]."""
    out = []
    for argv in argvs:
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        p.wait()
        if p.returncode:
            raise RuntimeError("%s exited %d" % (" ".join(argv), p.returncode))
        out.append((p.pid, t0))
    return out


def exec_process_file(bundle, args, path):
    """What ctr-wrap exec (and CRI-O) hand the runtime: the container's process with new args, no terminal."""
    with open(os.path.join(bundle, "config.json")) as f:
        proc = json.load(f)["process"]
    proc["args"] = list(args)
    proc["terminal"] = False
    with open(path, "w") as f:
        json.dump(proc, f)


def bench_run_latency(conmon, wrapper, rootfs, runs):
    """`ctr-wrap run --rm ROOTFS true` against bare `runc run` of the same config.json (and podman);
    `ctr-wrap exec` against `runc exec` of the same process; each command's phases from a perf trace."""
    # State on tmpfs, as /run (runc's and ctr-wrap's default roots) is on a stock Debian; this VM's /run is
    # ext4, where each new inode costs up to a millisecond: that case is measured as well, below.
    tmp = tempfile.mkdtemp(prefix="lat-", dir="/dev/shm")
    ext4 = tempfile.mkdtemp(prefix="lat-", dir="/tmp")
    runc = shutil.which("runc")
    cw_root = os.path.join(tmp, "cw")
    cw = [wrapper, "--root", cw_root, "--conmon", conmon]
    ctr = None
    try:
        make_bundle(tmp, rootfs, ["/bin/true"])
        state = os.path.join(tmp, "state")
        # The same config.json ctr-wrap runs (its seccomp profile costs runc ~14 ms), and runc spec's own.
        cfg = json.loads(subprocess.run([wrapper, "spec", rootfs, "/bin/true"], check=True,
                                        stdout=subprocess.PIPE).stdout)
        cfg["linux"]["cgroupsPath"] = "/ctrbench-lat-%d" % os.getpid()
        res = run_pair(tmp, wrapper, conmon, rootfs, cfg, runs)
        res["runc (runc spec defaults)"] = timed(["runc", "--root", state, "run", "--bundle", tmp,
                                                  "latd%d" % os.getpid()], runs)
        for key, value in run_pair(ext4, wrapper, conmon, rootfs, cfg, runs).items():
            res["%s, state on ext4" % key] = value
        run_argv = cw + ["run", "--rm", rootfs, "/bin/true"]
        ctr = subprocess.run(cw + ["run", "-d", rootfs, "/bin/sleep", "1000"], check=True,
                             stdout=subprocess.PIPE).stdout.decode().strip()
        proc = os.path.join(tmp, "process.json")
        exec_process_file(os.path.join(cw_root, ctr), ["true"], proc)
        exec_argv = cw + ["exec", ctr, "true"]
        res.update(interleaved({"runc exec": ["runc", "--root", os.path.join(cw_root, "runtime"), "exec",
                                              "--process", proc, ctr],
                                "ctr-wrap exec": exec_argv}, runs))
        if phases.Trace.available():
            with phases.Trace(wrapper) as tr:
                run_pids = traced([run_argv] * runs)
                exec_pids = traced([exec_argv] * runs)
            res["run_phases"] = phases.summarize(
                [phases.run_phases(tr.events, pid, t0, wrapper, conmon, runc, "/bin/true") for pid, t0 in run_pids])
            res["exec_phases"] = phases.summarize(
                [phases.exec_phases(tr.events, pid, t0, conmon, runc) for pid, t0 in exec_pids])
            res["probed"] = bool(tr.probes)
        conf = os.path.join(tmp, "containers.conf")
        with open(conf, "w") as f:
            f.write('[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
                    '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
        pm = ["/usr/libexec/podman/catatonit", "--", "podman", "--root", tmp + "/pr", "--runroot", tmp + "/rr",
              "--tmpdir", tmp + "/pt", "--conmon", conmon, "--runtime", "runc", "run", "--rm", "--network", "none",
              "--rootfs", rootfs, "/bin/true"]
        env = dict(os.environ, CONTAINERS_CONF=conf)
        if shutil.which("podman"):
            res["podman"] = timed(pm, runs, env=env)
            subprocess.run(pm[:12] + ["rm", "-af"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            subprocess.run(["sh", "-c", "grep -o ' %s/[^ ]*' /proc/mounts | xargs -r -n1 umount -l" % tmp])
    finally:
        if ctr:
            subprocess.run(cw + ["rm", "-f", ctr], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The last `run --rm`'s exit command deletes it from the runtime after ctr-wrap returned: removing the
        # roots before it ran would leave it to recreate them.
        for root in (tmp, ext4):
            rt = os.path.join(root, "cw", "runtime")
            deadline = time.monotonic() + 15
            while os.path.isdir(rt) and os.listdir(rt) and time.monotonic() < deadline:
                time.sleep(0.05)
        time.sleep(0.2)
        for ctrl in os.listdir("/sys/fs/cgroup"):
            p = "/sys/fs/cgroup/%s/ctr-wrap" % ctrl
            if os.path.isdir(p):
                try:
                    os.rmdir(p)
                except OSError:
                    pass
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(ext4, ignore_errors=True)
    return res


def bench_exec_sync(monitors, rootfs, count):
    """count ExecSyncs of `true` per monitor, CRI-O style, alternating between the monitors."""
    ctrs, runs, samples = {}, [], {name: [] for name in monitors}
    try:
        for name, path in monitors.items():
            runs.append(Run(path, rootfs, ["/bin/sleep", "1000"], "k8s-file:/dev/null"))
            ctrs[name] = crio_exec.Container(runs[-1], ["/bin/true"])
            runs[-1].start()
        names = list(monitors)
        for i in range(count):
            for name in (names if i % 2 == 0 else names[::-1]):
                samples[name].append(crio_exec.exec_sync(monitors[name], ctrs[name]))
    finally:
        for r in runs:
            r.cleanup()
    return {name: {"count": count, "wall": statistics.median(w for w, _ in s),
                   "cpu": statistics.mean(c for _, c in s), "cpu_median": statistics.median(c for _, c in s)}
            for name, s in samples.items()}


def bench_floor(src, logdir):
    """The host writing src's bytes into a new file on the same filesystem, as the monitor writes
    its log: input from the page cache (the container's /data is cached too), and until the copy
    is on disk, since the monitor fsyncs its log before it exits (as conmon does)."""
    out = os.path.join(logdir, "floor.out")
    sh("sh", "-c", "cat '%s' > /dev/null" % src)
    os.sync()
    t0 = time.monotonic()
    sh("sh", "-c", "cat '%s' | cat > '%s' && sync '%s'" % (src, out, out))
    wall = time.monotonic() - t0
    os.unlink(out)
    return wall


def smaps(pid):
    vals = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "kB":
                vals[parts[0].rstrip(":")] = int(parts[1])
    return vals


def switches(pid):
    """Voluntary + involuntary context switches of every thread of pid (status counts one task)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if "ctxt_switches" in line:
                    total += int(line.split()[1])
    return total


def bench_idle(monitor, rootfs, seconds):
    r = Run(monitor, rootfs, ["/bin/sleep", "1000"], "k8s-file:/dev/null")
    try:
        r.start()
        time.sleep(0.5)
        before = switches(r.proc.pid)
        time.sleep(seconds)
        wakeups = switches(r.proc.pid) - before
        mem = smaps(r.proc.pid)
    finally:
        r.cleanup()
    return {"rss_kb": mem.get("Rss", 0), "pss_kb": mem.get("Pss", 0),
            "private_dirty_kb": mem.get("Private_Dirty", 0), "wakeups": wakeups}


class Deferred:
    """SIGINT/SIGTERM held off while cleaning up, raised as KeyboardInterrupt afterwards."""

    def __enter__(self):
        self.got = None
        self.old = {sig: signal.signal(sig, self._note) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def _note(self, signum, frame):
        self.got = signum

    def __exit__(self, *exc):
        for sig, old in self.old.items():
            signal.signal(sig, old)
        if self.got and not exc[0]:
            raise KeyboardInterrupt
        return False


def run_many(argvs, width, timeout=60):
    """Run commands width at a time (polled: os.wait() would take the monitors' statuses)."""
    pending, active, failed = list(argvs), [], []
    deadline = time.monotonic() + timeout
    try:
        while pending or active:
            while pending and len(active) < width:
                argv = pending.pop(0)
                active.append((argv, subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                      process_group=0)))
            time.sleep(0.002)
            for item in list(active):
                if item[1].poll() is not None:
                    active.remove(item)
                    if item[1].returncode:
                        failed.append(item[0])
            if time.monotonic() > deadline:
                raise RuntimeError("%d commands still running after %ds" % (len(active), timeout))
    finally:
        for _, p in active:
            p.kill()
            p.wait()
    return failed


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def start_many(monitor, rootfs, count, width, state, parent, runs, timeout):
    """count `sleep 1000` containers, at most width being created or started at a time. Every
    Run goes into runs as soon as it exists, so the caller can clean up after any error."""
    log = lambda tmp: "k8s-file:" + os.path.join(tmp, "ctr.log")  # noqa: E731
    creating, starting, made = [], [], 0
    deadline = time.monotonic() + timeout
    while made < count or creating or starting:
        while made < count and len(creating) + len(starting) < width:
            r = Run(monitor, rootfs, ["/bin/sleep", "1000"], log, state=state, parent=parent, wait=False)
            runs.append(r)
            creating.append(r)
            made += 1
        ready, _, _ = select.select([r.sync for r in creating], [], [], 0.002) if creating else ([], [], [])
        if not creating:
            time.sleep(0.002)
        for r in [r for r in creating if r.sync in ready]:
            creating.remove(r)
            r.created()
            r.t0 = time.monotonic()
            r.starter = subprocess.Popen(["runc", "--root", state, "start", r.cid], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, process_group=0)
            starting.append(r)
        for r in list(starting):
            if r.starter.poll() is not None:
                starting.remove(r)
                err = r.starter.stderr.read()
                r.starter.stderr.close()
                if r.starter.returncode:
                    raise RuntimeError("runc start %s: %s" % (r.cid, err.decode(errors="replace").strip()))
        if time.monotonic() > deadline:
            raise RuntimeError("only %d of %d containers started within %ds" % (made - len(creating) - len(starting),
                                                                              count, timeout))
    # Running = the container's init has exec'd sleep.
    while any(comm(r.pid) != "sleep" for r in runs):
        if time.monotonic() > deadline:
            raise RuntimeError("containers not running within %ds" % timeout)
        time.sleep(0.05)
    dead = [r.cid for r in runs if r.proc.poll() is not None]
    if dead:
        raise RuntimeError("%d monitors exited early, e.g. %s" % (len(dead), dead[0]))


def stop_many(runs, state, width):
    """runc delete -f every container in the state dir (even one whose Run never finished), reap
    the monitors (each exits once its container is gone), remove cgroups and files."""
    for r in runs:
        if r.sync:
            r.sync.close()
            r.sync = None
        starter = getattr(r, "starter", None)
        if starter:
            if starter.poll() is None:
                starter.kill()
            starter.wait()
            starter.stderr.close()
    cids = {r.cid for r in runs}
    if os.path.isdir(state):
        cids.update(os.listdir(state))
    failed = run_many([["runc", "--root", state, "delete", "-f", cid] for cid in sorted(cids)], width, timeout=120)
    if failed:
        print("warning: runc delete -f failed for %d containers, e.g. %s" % (len(failed), failed[0][-1]),
              file=sys.stderr)
    deadline = time.monotonic() + 10
    for r in runs:
        try:
            r.proc.wait(max(0.01, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            r.proc.kill()
            r.proc.wait()
    for r in runs:
        r.remove_files()
    # Orphans handed to us as subreaper (a runc init whose runc was killed): reap, now that
    # every Popen of ours has its status.
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


def bench_idle_many(monitor, rootfs, count, seconds, width):
    """count idle containers through one monitor binary each: total and mean memory and wakeups."""
    parent = tempfile.mkdtemp(prefix="bench-idle%d-" % count)
    state = os.path.join(parent, "state")
    runs = []
    try:
        t0 = time.monotonic()
        start_many(monitor, rootfs, count, width, state, parent, runs, timeout=120)
        started = time.monotonic() - t0
        time.sleep(0.5)
        pids = [r.proc.pid for r in runs]
        before = sum(switches(pid) for pid in pids)
        time.sleep(seconds)
        wakeups = sum(switches(pid) for pid in pids) - before
        mems = [smaps(pid) for pid in pids]
        if any(r.proc.poll() is not None for r in runs):
            raise RuntimeError("a monitor exited while idle")
    finally:
        with Deferred():
            t1 = time.monotonic()
            stop_many(runs, state, width * 2)
            shutil.rmtree(parent, ignore_errors=True)
            stopped = time.monotonic() - t1
    res = {"count": count, "start_s": started, "stop_s": stopped, "wakeups": wakeups}
    for key, field in (("pss_kb", "Pss"), ("private_dirty_kb", "Private_Dirty"), ("rss_kb", "Rss")):
        res[key] = sum(m.get(field, 0) for m in mems)
    for key in ("pss_kb", "private_dirty_kb", "wakeups"):
        res["mean_" + key] = res[key] / count
    return res


def plot(results, path):
    o, r = results["ours"], results["reference"]
    bars = [(label, key, what) for label, key, what in (("log wall", "log", "wall"), ("log CPU", "log", "cpu"),
                                                        ("attach wall", "attach", "wall"),
                                                        ("attach CPU", "attach", "cpu")) if key in o]
    if not bars or not shutil.which("gnuplot"):
        return False
    dat = path + ".dat"
    with open(dat, "w") as f:
        f.write("# metric ours reference\n")
        for label, key, what in bars:
            f.write('"%s" %f %f\n' % (label, o[key][what], r[key][what]))
    script = """set terminal png size 720,400
set output '%s'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set ylabel 'seconds (lower is better)'
set title '%s through one monitor: ours vs conmon 2.1.6'
plot '%s' using 2:xtic(1) title 'ours', '' using 3 title 'conmon 2.1.6'
""" % (path, results["size_label"], dat)
    subprocess.run(["gnuplot"], input=script.encode(), check=True)
    os.unlink(dat)
    return True


def ratio(a, b):
    if not b:
        return 1.0 if not a else float("nan")  # 0 wakeups each: equal
    return a / b


def report_log(results, o, r):
    floor = results["floor_wall"]
    ol, rl = o["log"], r["log"]
    return [
        "## Log throughput (k8s-file)",
        "",
        "A container `cat`s %s of 80-byte lines to stdout; the monitor writes the k8s-file log."
        " Wall = `runc start` until the monitor exited; CPU = the monitor's user+system time (wait4)."
        " Floor = the host's own `cat LOG | cat > COPY && sync COPY` of a file of our log's size (one of our"
        " logs, kept), on the same filesystem, timed in each round between our run and conmon's. Both sides"
        " are measured until the data is on disk: the monitor fsyncs its log before it exits (as conmon"
        " does), so the floor fsyncs its copy. Both read their input from the page cache (the floor's input"
        " is read once before it is timed), and `sync` runs before each writer, so none of them pays for"
        " another's writeback. Each writer follows the removal of a file of the same size: on this VM, page"
        " cache in memory the host has not handed out lately costs several times more to fill, and that"
        " would land on whichever writer came first. /data does not end with a newline (1 GiB is not a"
        " multiple of 80): its last record is a `P` record, and a log that closed it with an empty `F`"
        " record would add a newline the container never wrote. Median of %d rounds, the three writers"
        " interleaved." % (results["size_label"], results["runs"]),
        "",
        "| | ours | conmon 2.1.6 | ours / conmon |",
        "|---|---|---|---|",
        "| wall (s) | %.2f | %.2f | %.2f |" % (ol["wall"], rl["wall"], ratio(ol["wall"], rl["wall"])),
        "| monitor CPU (s) | %.2f | %.2f | %.2f |" % (ol["cpu"], rl["cpu"], ratio(ol["cpu"], rl["cpu"])),
        "| wall / floor (%.2f s) | %.2f | %.2f | |" % (floor, ratio(ol["wall"], floor), ratio(rl["wall"], floor)),
        "| floor, each round (s) | %s | | |" % " ".join("%.2f" % w for w in results["floor_walls"]),
        "| wall, each round (s) | %s | %s | |" % (" ".join("%.2f" % w for w in ol["walls"]),
                                                 " ".join("%.2f" % w for w in rl["walls"])),
        "| log bytes | %d | %d | |" % (ol["log_bytes"], rl["log_bytes"]),
        "| container bytes lost | %d | %d | |" % (ol["lost_bytes"], rl["lost_bytes"]),
        "| bytes added (a newline the container never wrote) | %d | %d | |" % (ol["added_bytes"], rl["added_bytes"]),
        "| every record `TIMESTAMP stdout P/F CONTENT` | %s | %s | |" % (
            "yes" if ol["format_ok"] else "NO", "yes" if rl["format_ok"] else "NO"),
        "",
        "Goals (issue): wall <= 0.4x conmon, CPU <= 0.3x conmon, wall <= 1.3x floor, 0 bytes lost.",
        "",
    ]


def report_idle(results, o, r):
    lines = [
        "## Idle monitor",
        "",
        "One container running `sleep`; memory from /proc/PID/smaps_rollup, wakeups = context switches"
        " of the monitor over %d s. The kernel starts each process's stack at a random offset, so one"
        " monitor's private dirty memory moves by a page or two from run to run; the mean over 200 monitors"
        " (next section) is the steadier figure." % results["idle_seconds"],
        "",
        "| | ours | conmon 2.1.6 | ours / conmon |",
        "|---|---|---|---|",
    ]
    for key, label in (("rss_kb", "RSS (KiB)"), ("pss_kb", "PSS (KiB)"), ("private_dirty_kb", "private dirty (KiB)"),
                       ("wakeups", "wakeups")):
        lines.append("| %s | %d | %d | %.2f |" % (label, o["idle"][key], r["idle"][key], ratio(o["idle"][key], r["idle"][key])))
    return lines + ["", "Goals (issue): private dirty <= 0.55x conmon, PSS <= conmon, 0 wakeups.", ""]


def report_idle_many(results, o, r):
    oi, ri = o["idle_many"], r["idle_many"]
    lines = [
        "## %d idle containers" % oi["count"],
        "",
        "%d containers running `sleep 1000`, each with its own monitor and a k8s-file log, all through one"
        " monitor binary (then the other; started %d at a time). Over %d s once all run: memory summed over"
        " every monitor's /proc/PID/smaps_rollup, wakeups = context switches of all monitors. PSS splits the"
        " shared pages among the monitors, so its total is what the host pays for all of them." % (
            oi["count"], results["idle_many_width"], results["idle_seconds"]),
        "",
        "| | ours | conmon 2.1.6 | ours / conmon |",
        "|---|---|---|---|",
    ]
    for key, label, fmt in (("pss_kb", "total PSS (KiB)", "%d"),
                            ("private_dirty_kb", "total private dirty (KiB)", "%d"),
                            ("wakeups", "total wakeups", "%d"), ("mean_pss_kb", "PSS per monitor (KiB)", "%.1f"),
                            ("mean_private_dirty_kb", "private dirty per monitor (KiB)", "%.1f"),
                            ("mean_wakeups", "wakeups per monitor", "%.2f"),
                            ("start_s", "start all (s, mostly runc)", "%.1f")):
        lines.append(("| %s | " + fmt + " | " + fmt + " | %.2f |") % (label, oi[key], ri[key], ratio(oi[key], ri[key])))
    return lines + [""]


def report_attach(results, o, r):
    return [
        "## Attach throughput",
        "",
        "The container `cat`s %s to stdout with `-l none`; one SEQPACKET client, connected before `runc start`"
        " (as podman does), reads it all. Wall = `runc start` until the client has every byte." % results["size_label"],
        "",
        "| | ours | conmon 2.1.6 | ours / conmon |",
        "|---|---|---|---|",
        "| wall (s) | %.2f | %.2f | %.2f |" % (o["attach"]["wall"], r["attach"]["wall"],
                                             ratio(o["attach"]["wall"], r["attach"]["wall"])),
        "| monitor CPU (s) | %.2f | %.2f | %.2f |" % (o["attach"]["cpu"], r["attach"]["cpu"],
                                                    ratio(o["attach"]["cpu"], r["attach"]["cpu"])),
        "",
        "Goal (issue): ours at least 2x faster, never slower. The Python client in the benchmark is part of"
        " both figures.",
        "",
    ]


def phase_lines(summary, title):
    """A phase table: median ms per phase over the traced runs, and its share of the median total."""
    total = summary["total"]
    lines = ["| %s: phase | ms | share |" % title, "|---|---|---|"]
    for label, secs, fg, n in summary["phases"]:
        note = "" if fg else " (after ctr-wrap exited)"
        if n != summary["runs"]:
            note += " (in %d of %d runs)" % (n, summary["runs"])
        lines.append("| %s%s | %.1f | %.0f%% |" % (label, note, secs * 1000, 100 * secs / total if fg else 0))
    lines.append("| **total** (median of %d traced runs) | %.1f | |" % (summary["runs"], total * 1000))
    return lines


def report_latency(results, lat):
    lines = [
        "## Run and exec latency",
        "",
        "`/bin/true` in a fresh container, median of %d: `ctr-wrap run --rm` (through our monitor) against bare"
        " `runc run` of the same config.json (`ctr-wrap spec` output, with its seccomp profile), of `runc spec`'s"
        " default config (no seccomp), and `podman run --rm --rootfs` (also through our monitor). `ctr-wrap exec"
        " CTR true` against `runc exec --process` of the same process object (the container's, with new args)."
        " Each pair takes turns, 0.1 s apart, so a drift in the machine's load reaches both and what `run --rm`"
        " leaves in the background (its exit command's `runtime delete`) is not charged to the next command. Both"
        " keep their state on tmpfs, as under the default roots in /run on a stock Debian; this VM's /run is ext4,"
        " where every file created costs more (ctr-wrap creates about 20 per run, runc about 4), so the pair is"
        " measured with its state on ext4 too." % results["runs_latency"],
        "",
        "| | wall (ms) | / runc |",
        "|---|---|---|",
    ]
    for key in ("runc", "runc (runc spec defaults)", "ctr-wrap", "podman"):
        if key in lat:
            lines.append("| %s | %.0f | %.2f |" % (key, lat[key] * 1000, ratio(lat[key], lat["runc"])))
    for key in ("runc, state on ext4", "ctr-wrap, state on ext4"):
        if key in lat:
            lines.append("| %s | %.0f | %.2f |" % (key, lat[key] * 1000,
                                                    ratio(lat[key], lat["runc, state on ext4"])))
    lines += ["", "| | wall (ms) | / runc exec |", "|---|---|---|"]
    for key in ("runc exec", "ctr-wrap exec"):
        lines.append("| %s | %.0f | %.2f |" % (key, lat[key] * 1000, ratio(lat[key], lat["runc exec"])))
    lines += ["", "Goal (issue): ctr-wrap run <= 1.3x `runc run`, ctr-wrap exec <= 1.3x `runc exec`.", ""]
    if lat.get("run_phases"):
        lines += [
            "### Where the time goes",
            "",
            "From a `perf record` of the scheduler's fork/exec/exit events over %d more runs of each command"
            " (plus uprobes on ctr-wrap's `spec_build` and `seccomp_profile_compile`%s): each command's process"
            " tree cut at the moments a process of it starts or ends. Nothing in ctr-wrap or the monitor is"
            " changed for it; the tracing itself adds a little to each process start." % (
                lat["run_phases"]["runs"], "" if lat.get("probed") else ", which perf could not place this time"),
            "",
        ]
        lines += phase_lines(lat["run_phases"], "`run --rm`") + [""]
        if lat.get("exec_phases"):
            lines += phase_lines(lat["exec_phases"], "`exec`") + [""]
    return lines


def report_exec(results, o, r):
    oe, re_ = o["exec"], r["exec"]
    return [
        "## Monitor exec path (CRI-O ExecSync)",
        "",
        "%d sequential execs of `true` in one running container per monitor (alternating between the two),"
        " each driven as CRI-O's ExecSyncContainer drives it: `-c -n -r -p -e -l TMPLOG --socket-dir-path"
        " --log-level info --sync --log-global-size-max 16777216 --exec-process-spec F --runtime-arg --root=R`,"
        " sync and start pipes as fds 3 and 4, `CRI_O_EXTERNAL=1`; the start byte is written, the monitor waited"
        " for and `{\"exit_code\": 0}` read back. Monitor CPU = the monitor's own time from its zombie's"
        " /proc/PID/schedstat (the runtime it runs is not counted); the monitor is started with posix_spawn, a"
        " vfork as Go's os/exec starts it for CRI-O, so a forked copy of the Python bench running until the"
        " monitor's exec is not counted either (it added about 1.3 ms to each monitor's figure). Wall = spawn"
        " until the monitor exited, which is what CRI-O waits for (mostly `runc exec`)." % oe["count"],
        "",
        "| per exec | ours | conmon 2.1.6 | ours / conmon |",
        "|---|---|---|---|",
        "| monitor CPU, mean (ms) | %.2f | %.2f | %.2f |" % (oe["cpu"] * 1000, re_["cpu"] * 1000,
                                                            ratio(oe["cpu"], re_["cpu"])),
        "| monitor CPU, median (ms) | %.2f | %.2f | %.2f |" % (oe["cpu_median"] * 1000, re_["cpu_median"] * 1000,
                                                              ratio(oe["cpu_median"], re_["cpu_median"])),
        "| wall, median (ms) | %.1f | %.1f | %.2f |" % (oe["wall"] * 1000, re_["wall"] * 1000,
                                                       ratio(oe["wall"], re_["wall"])),
        "",
        "Goal (issue): monitor CPU <= 0.8x conmon's, wall never slower (<= 1.0x).",
        "",
    ]


def goal_rows(results):
    """(figure, ours, reference, ratio, goal, met) for every goal whose scenario ran."""
    o, r = results["ours"], results["reference"]
    rows = []

    def add(figure, ours, ref, value, limit, fmt="%.2f"):
        rows.append((figure, fmt % ours, fmt % ref, value, "<= %.2f" % limit, value <= limit + 1e-9))

    lat = results.get("latency") or {}
    if lat:
        add("`ctr-wrap run --rm` / `runc run` (ms)", lat["ctr-wrap"] * 1000, lat["runc"] * 1000,
            ratio(lat["ctr-wrap"], lat["runc"]), 1.3, "%.0f")
        if "runc, state on ext4" in lat:
            add("the same, state on this VM's ext4 (ms)", lat["ctr-wrap, state on ext4"] * 1000,
                lat["runc, state on ext4"] * 1000, ratio(lat["ctr-wrap, state on ext4"], lat["runc, state on ext4"]),
                1.3, "%.0f")
        add("`ctr-wrap exec` / `runc exec` (ms)", lat["ctr-wrap exec"] * 1000, lat["runc exec"] * 1000,
            ratio(lat["ctr-wrap exec"], lat["runc exec"]), 1.3, "%.0f")
    if "exec" in o:
        add("monitor CPU per ExecSync, ours / conmon (ms)", o["exec"]["cpu"] * 1000, r["exec"]["cpu"] * 1000,
            ratio(o["exec"]["cpu"], r["exec"]["cpu"]), 0.8)
        add("wall per ExecSync, ours / conmon (ms)", o["exec"]["wall"] * 1000, r["exec"]["wall"] * 1000,
            ratio(o["exec"]["wall"], r["exec"]["wall"]), 1.0, "%.1f")
    if "log" in o:
        floor = results["floor_wall"]
        add("log wall, ours / floor (s)", o["log"]["wall"], floor, ratio(o["log"]["wall"], floor), 1.3)
        rows.append(("log wall, conmon / floor (s; for scale)", "%.2f" % r["log"]["wall"], "%.2f" % floor,
                     ratio(r["log"]["wall"], floor), "", None))
        rows.append(("log: container bytes lost, format", "%d, %s" % (o["log"]["lost_bytes"],
                                                                   "ok" if o["log"]["format_ok"] else "broken"),
                     "%d, %s" % (r["log"]["lost_bytes"], "ok" if r["log"]["format_ok"] else "broken"),
                     float(o["log"]["lost_bytes"]), "0, ok", o["log"]["lost_bytes"] == 0 and o["log"]["format_ok"]))
    if "idle" in o:
        add("idle private dirty, ours / conmon (KiB)", o["idle"]["private_dirty_kb"], r["idle"]["private_dirty_kb"],
            ratio(o["idle"]["private_dirty_kb"], r["idle"]["private_dirty_kb"]), 0.55, "%d")
        rows.append(("idle wakeups in %d s" % results["idle_seconds"], "%d" % o["idle"]["wakeups"],
                     "%d" % r["idle"]["wakeups"], float(o["idle"]["wakeups"]), "0", o["idle"]["wakeups"] == 0))
    if "idle_many" in o:
        om, rm = o["idle_many"], r["idle_many"]
        add("private dirty per monitor, %d idle (KiB)" % om["count"], om["mean_private_dirty_kb"],
            rm["mean_private_dirty_kb"], ratio(om["mean_private_dirty_kb"], rm["mean_private_dirty_kb"]), 0.55, "%.1f")
        rows.append(("wakeups of %d idle monitors" % om["count"], "%d" % om["wakeups"], "%d" % rm["wakeups"],
                     float(om["wakeups"]), "0", om["wakeups"] == 0))
    return rows


def report_goals(results):
    rows = goal_rows(results)
    if not rows:
        return []
    lines = ["## The figures against their goals", "",
             "| figure | ours | reference | value | goal | met |", "|---|---|---|---|---|---|"]
    for figure, ours, ref, value, goal, met in rows:
        lines.append("| %s | %s | %s | %.2f | %s | %s |" % (figure, ours, ref, value, goal or "-",
                                                             "-" if met is None else "yes" if met else "**no**"))
    return lines + [""]


def text_table(header, rows):
    """Plain-text columns for the terminal: the first left-aligned, the rest right-aligned."""
    rows = [header] + rows
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
            for row in rows]


def summary_lines(results):
    """What make bench ends with: the phase breakdowns, then every figure against its goal."""
    lines = []
    lat = results.get("latency") or {}
    for key, title in (("run_phases", "ctr-wrap run --rm ROOTFS /bin/true"), ("exec_phases", "ctr-wrap exec CTR true")):
        summary = lat.get(key)
        if not summary:
            continue
        rows = []
        for label, secs, fg, n in summary["phases"]:
            note = "" if fg else " (after ctr-wrap exited)"
            if n != summary["runs"]:
                note += " (in %d of %d runs)" % (n, summary["runs"])
            rows.append([label.replace("`", "") + note, "%.1f" % (secs * 1000),
                         "%.0f%%" % (100 * secs / summary["total"]) if fg else "-"])
        rows.append(["total (median of %d traced runs)" % summary["runs"], "%.1f" % (summary["total"] * 1000), ""])
        lines += ["", "%s: where the time goes" % title] + text_table(["phase", "ms", "share"], rows)
    goals = goal_rows(results)
    if goals:
        rows = [[figure.replace("`", ""), ours, ref, "%.2f" % value, goal or "-",
                 "-" if met is None else "met" if met else "MISSED"] for figure, ours, ref, value, goal, met in goals]
        lines += ["", "Figures against their goals (value = ours / reference)"] + text_table(
            ["figure", "ours", "reference", "value", "goal", "met"], rows)
    return lines


def write_report(results, out):
    """The sections of the scenarios that ran, in a fixed order."""
    o, r = results["ours"], results["reference"]
    lines = [
        "# Performance",
        "",
        "Generated by `make bench` (tests/bench/run.py) on %s: our monitor and Debian's conmon 2.1.6 in one"
        " run, same container, same machine. Every figure is a ratio (ours / reference, or ours / floor) from"
        " that one run, serialized with the other test runs on the machine (`flock /tmp/ctrwrap-check.lock`):"
        " absolute times depend on the machine and its load, and a single run carries its noise, so read a"
        " ratio near its goal as a tie." % results["when"],
        "",
    ]
    lines += report_goals(results)
    if "log" in o:
        lines += report_log(results, o, r)
    if "idle" in o:
        lines += report_idle(results, o, r)
    if "idle_many" in o:
        lines += report_idle_many(results, o, r)
    if "attach" in o:
        lines += report_attach(results, o, r)
    if "exec" in o:
        lines += report_exec(results, o, r)
    if results.get("latency"):
        lines += report_latency(results, results["latency"])
    if results.get("image"):
        lines += bench_image.report_image(results["image"])
    if results.get("plot"):
        lines += ["![log throughput](%s)" % os.path.basename(results["plot"]), ""]
    lines += ["## Reading the figures", ""]
    if "log" in o:
        lines.append("- Log floor: the k8s-file log is about 1.6x the container's bytes (a 45-byte prefix per 80-byte"
                     " line), so the floor copies a file of the log's size, not the container's bytes. On top of"
                     " the copy, the monitor's wall holds runc start, the container's own `cat` into the pipe, the"
                     " container's exit and the prefix formatting; against that, only the container's bytes cross"
                     " a pipe (1 MiB, grown by the monitor) and the prefixes are added in memory, where the floor"
                     " pushes all of the log's bytes through a default 64 KiB pipe, so the monitor can come in"
                     " under the floor. Our monitor makes one read (256 KiB) and one write per chunk, one"
                     " timestamp per read. Rounds vary by tens of percent on this VM (the per-round figures in"
                     " the log table): a ratio near 1 is a tie.")
    lat = results.get("latency") or {}
    if lat.get("run_phases"):
        lines.append("- Run latency, where it goes: `runtime create` is more than half of `ctr-wrap run` and is"
                     " runc's own work (bare `runc run` does the same create inside one process). What is ctr-wrap's"
                     " is the rest of the phase table: its own start-up and options, the spec (the seccomp check is"
                     " cached by the resolved profile, so only a new profile is compiled), the state dir and bundle,"
                     " the monitor's start-up before it runs the runtime, a second runtime process for `start`, and"
                     " after the exit reading the exit file and removing the state. The exit command (`ctr-wrap"
                     " cleanup`) and its `runtime delete` run while and after ctr-wrap exits: the rows marked"
                     " \"after ctr-wrap exited\" are not waited for. With the state on ext4 each file ctr-wrap and"
                     " its monitor create (state dir, lock, clients, state.json written atomically at each step,"
                     " config.json, log, pid file, sockets, FIFOs, exit file) costs an inode allocation that runc's"
                     " four files do not: that row is the one still above its goal on this VM.")
    if lat.get("exec_phases"):
        lines.append("- Exec latency: `runtime exec` dominates; ctr-wrap adds its own start-up, the monitor's start-up"
                     " and the status round trip (the rest of the `exec` table).")
    if "exec" in o:
        lines.append("- Monitor exec cost: a monitor's CPU per ExecSync is almost all process start and exit (exec,"
                     " the dynamic loader, forking the runtime, tearing down); a profile puts under 1% of our monitor's"
                     " samples in its own code. conmon 2.1.6 links 12 libraries (libsystemd and what it pulls in) where"
                     " ours links glib alone, and that loading is most of the difference. An exec whose log stayed"
                     " empty also skips the fsync conmon makes at exit.")
    if "idle" in o or "idle_many" in o:
        lines.append("- Idle memory: our monitor loads libsystemd and libseccomp only for a container that needs"
                     " journald or seccomp notify; conmon links them, and every linked library costs each monitor its"
                     " relocated data pages (about 120 KiB for libsystemd and what it pulls in)."
                     " A lone monitor's RSS and PSS are dominated by shared libraries (glib, libc)."
                     " PSS divides those pages among every process mapping them,"
                     " so with many monitors the PSS per monitor approaches its private dirty memory, the part each"
                     " monitor really adds.")
    lines.append("")
    with open(out, "w") as f:
        f.write("\n".join(lines))


SCENARIOS = ("log", "attach", "idle", "idle200", "latency", "exec", "image")


def parse_scenarios(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return set(SCENARIOS)
    bad = [n for n in names if n not in SCENARIOS]
    if bad or not names:
        raise argparse.ArgumentTypeError("unknown scenario %s (choose from %s, or all)" % (
            ", ".join(bad) or "(none)", ",".join(SCENARIOS)))
    return set(names)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conmon", required=True)
    ap.add_argument("--reference", default="/usr/bin/conmon")
    ap.add_argument("--scenarios", type=parse_scenarios, default=set(SCENARIOS), metavar="LIST",
                    help="comma list of %s (default: all); a subset writes to build/bench/ unless --out"
                    % ",".join(SCENARIOS))
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--idle-seconds", type=int, default=10)
    ap.add_argument("--idle-count", type=int, default=200, help="containers in the idle200 scenario")
    ap.add_argument("--idle-width", type=int, default=4, help="idle200: containers being started at a time")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--wrapper", default=os.path.join(TOP, "wrapper/ctr-wrap"))
    ap.add_argument("--latency-runs", type=int, default=20)
    ap.add_argument("--exec-count", type=int, default=200, help="exec: ExecSyncs per monitor")
    ap.add_argument("--out")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("make bench: needs root (runs real containers)")
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: reap what the monitors leave
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
    signal.signal(signal.SIGTERM, _interrupt)  # run the cleanups, as on Ctrl-C

    work = os.path.join(TOP, "build", "bench")
    os.makedirs(work, exist_ok=True)
    scen = args.scenarios
    if args.out is None:
        # A partial run must not replace the committed report.
        args.out = os.path.join(TOP, "docs/performance.md") if scen == set(SCENARIOS) else os.path.join(
            work, "performance.md")
    rootfs = os.path.join(work, "rootfs")
    big = scen & {"log", "attach"}
    data = build_rootfs(rootfs, args.size_mib << 20 if big else None)
    results = {"when": time.strftime("%Y-%m-%d"), "size_label": "%d MiB" % args.size_mib,
               "idle_seconds": args.idle_seconds, "runs": args.runs}
    monitors = {"ours": os.path.abspath(args.conmon), "reference": args.reference}
    for name in monitors:
        results[name] = {}
    if "log" in scen:
        size = args.size_mib << 20
        logs, floors = {name: [] for name in monitors}, []
        floor_in = os.path.join(work, "floor.in")
        try:
            # Untimed: our log kept as the floor's input, and one copy of it. In the loop each writer
            # (ours, the floor, the reference) then follows the removal of a file of the same size,
            # so none of them is the only one writing into memory the host has not handed out lately.
            bench_log(monitors["ours"], rootfs, size, work, keep=floor_in)
            bench_floor(floor_in, work)
            for _ in range(args.runs):
                for name, path in monitors.items():
                    logs[name].append(bench_log(path, rootfs, size, work))
                    if name == "ours":
                        floors.append(bench_floor(floor_in, work))
        finally:
            if os.path.exists(floor_in):
                os.unlink(floor_in)
        results["floor_wall"] = statistics.median(floors)
        results["floor_walls"] = floors
        for name in monitors:
            runs = logs[name]
            results[name]["log"] = {key: statistics.median(run[key] for run in runs)
                                    for key in ("wall", "cpu", "log_bytes")}
            results[name]["log"]["walls"] = [run["wall"] for run in runs]
            results[name]["log"]["lost_bytes"] = max(run["lost_bytes"] for run in runs)
            results[name]["log"]["added_bytes"] = max(run["added_bytes"] for run in runs)
            results[name]["log"]["format_ok"] = all(run["format_ok"] for run in runs)
            print("%-9s log: wall %.2fs (%s) cpu %.2fs, %d bytes lost, %d added, format %s" % (
                name, results[name]["log"]["wall"], " ".join("%.2f" % w for w in results[name]["log"]["walls"]),
                results[name]["log"]["cpu"], results[name]["log"]["lost_bytes"], results[name]["log"]["added_bytes"],
                "ok" if results[name]["log"]["format_ok"] else "BROKEN"))
        print("floor (cat LOG | cat > COPY && sync COPY, a file of our log's size): %.2fs (%s)" % (
            results["floor_wall"], " ".join("%.2f" % w for w in floors)))
    if "exec" in scen:
        results["exec_count"] = args.exec_count
        for name, e in bench_exec_sync(monitors, rootfs, args.exec_count).items():
            results[name]["exec"] = e
            print("%-9s exec (CRI-O ExecSync x%d): wall %.1f ms median, monitor CPU %.2f ms mean" % (
                name, e["count"], e["wall"] * 1000, e["cpu"] * 1000))
    for name, path in monitors.items():
        if "attach" in scen:
            attach = [bench_attach(path, rootfs, args.size_mib << 20) for _ in range(args.runs)]
            results[name]["attach"] = {key: statistics.median(run[key] for run in attach) for key in attach[0]}
            print("%-9s attach: wall %.2fs cpu %.2fs" % (name, results[name]["attach"]["wall"],
                                                         results[name]["attach"]["cpu"]))
        if "idle" in scen:
            # A binary just built sits in dirty page cache, which smaps counts as its private dirty memory.
            os.sync()
            results[name]["idle"] = idle = bench_idle(path, rootfs, args.idle_seconds)
            print("%-9s idle: pss %d KiB, private dirty %d KiB, %d wakeups" % (
                name, idle["pss_kb"], idle["private_dirty_kb"], idle["wakeups"]))
    if "idle200" in scen:
        results["idle_many_width"] = args.idle_width
        os.sync()
        for name, path in monitors.items():
            results[name]["idle_many"] = m = bench_idle_many(path, rootfs, args.idle_count, args.idle_seconds,
                                                             args.idle_width)
            print("%-9s %d idle: total pss %d KiB, private dirty %d KiB, %d wakeups in %ds; per monitor pss %.1f KiB,"
                  " private dirty %.1f KiB, %.2f wakeups; started in %.1fs, stopped in %.1fs" % (
                      name, m["count"], m["pss_kb"], m["private_dirty_kb"], m["wakeups"], args.idle_seconds,
                      m["mean_pss_kb"], m["mean_private_dirty_kb"], m["mean_wakeups"], m["start_s"], m["stop_s"]))
    if "latency" in scen:
        results["runs_latency"] = args.latency_runs
        results["latency"] = bench_run_latency(monitors["ours"], os.path.abspath(args.wrapper), rootfs,
                                               args.latency_runs)
        lat = results["latency"]
        print("latency: " + ", ".join("%s %.0f ms" % (k, v * 1000) for k, v in lat.items() if isinstance(v, float)))
    if "image" in scen:
        results["image"] = i = bench_image.bench_image(monitors["ours"], os.path.abspath(args.wrapper), rootfs,
                                                       args.runs, timed)
        print("image: load %.2fs, store %.0f MiB for a %.0f MiB archive; run --rm %.0f ms from the image, %.0f ms"
              " from the directory" % (i["load_s"], i["store_mib"], i["archive_mib"], i["run_image_s"] * 1000,
                                       i["run_dir_s"] * 1000))
    png = os.path.join(os.path.dirname(args.out), "perf-log.png")
    if plot(results, png):
        results["plot"] = png
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_report(results, args.out)
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print("wrote %s" % args.out)
    print("\n".join(summary_lines(results)))


if __name__ == "__main__":
    main()
