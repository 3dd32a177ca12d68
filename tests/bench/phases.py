# SPDX-License-Identifier: Apache-2.0
"""Where `ctr-wrap run` and `ctr-wrap exec` spend their time, seen from outside.

`perf record` of the scheduler's fork/exec/exit tracepoints (and, when perf can
place them, uprobes on two ctr-wrap functions) while the commands run, then each
command's process tree is split into phases: no timing code in ctr-wrap or the
monitor, nothing in the way of the processes. Times are CLOCK_MONOTONIC, like
time.monotonic(), so the bench's own start time lines up with the trace.
"""
import collections
import os
import shutil
import signal
import subprocess
import tempfile
import time

GROUP = "ctrbench"
# ctr-wrap functions timed by uprobes: the whole spec, and the seccomp compile inside it.
PROBES = (("spec", "spec_build"), ("seccomp", "seccomp_profile_compile"))
TRACEPOINTS = "sched:sched_process_exec,sched:sched_process_exit,sched:sched_process_fork"


def _quiet(argv):
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


class Trace:
    """`with Trace(wrapper) as t: ...` records; afterwards t.events holds what happened."""

    def __init__(self, wrapper):
        self.wrapper = wrapper
        self.events = []
        self.probes = []
        self.dir = tempfile.mkdtemp(prefix="bench-perf-")
        self.data = os.path.join(self.dir, "perf.data")
        self.proc = None

    @staticmethod
    def available():
        return shutil.which("perf") is not None and _quiet(
            ["perf", "record", "-q", "-k", "mono", "-o", "/dev/null", "-e", "sched:sched_process_exec", "-a", "--",
             "true"])

    def _add_probes(self):
        _quiet(["perf", "probe", "-q", "-d", GROUP + ":*"])  # what an interrupted bench left behind
        for name, func in PROBES:
            ok = _quiet(["perf", "probe", "-q", "-x", self.wrapper, "-a", "%s:%s=%s" % (GROUP, name, func)]) and \
                _quiet(["perf", "probe", "-q", "-x", self.wrapper, "-a", "%s:%s=%s%%return" % (GROUP, name, func)])
            if ok:
                self.probes += ["%s:%s" % (GROUP, name), "%s:%s__return" % (GROUP, name)]

    def __enter__(self):
        self._add_probes()
        events = ",".join([TRACEPOINTS] + self.probes)
        self.proc = subprocess.Popen(["perf", "record", "-q", "-k", "mono", "-a", "-o", self.data, "-e", events],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # perf has opened its events once it has written the file's header.
        deadline = time.monotonic() + 10
        while not (os.path.exists(self.data) and os.path.getsize(self.data) > 0):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("perf record did not start")
            time.sleep(0.05)
        time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        try:
            if self.proc and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
                self.proc.wait(30)
            if not exc[0] and os.path.exists(self.data):
                out = subprocess.run(["perf", "script", "-i", self.data, "-F", "pid,tid,time,event,trace", "--ns"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
                self.events = parse(out.decode(errors="replace"))
        finally:
            if self.probes:
                _quiet(["perf", "probe", "-q", "-d", GROUP + ":*"])
            shutil.rmtree(self.dir, ignore_errors=True)
        return False


def parse(text):
    """perf script lines -> (time, tgid, tid, event, {field: value})."""
    events = []
    for line in text.splitlines():
        parts = line.split(None, 3)
        if len(parts) < 3 or "/" not in parts[0]:
            continue
        tgid, tid = (int(x) for x in parts[0].split("/"))
        when = float(parts[1].rstrip(":"))
        event = parts[2].rstrip(":")
        fields = {}
        for item in (parts[3].split() if len(parts) > 3 else ()):
            key, eq, value = item.partition("=")
            if eq:
                fields[key] = value
        events.append((when, tgid, tid, event, fields))
    return events


class Tree:
    """Processes descended from one root: first exec, last exec, exit, parent, probe hits."""

    def __init__(self, events, root):
        parent = {}
        for when, tgid, tid, event, f in events:
            if event.endswith("sched_process_fork"):
                parent[int(f["child_pid"])] = tgid
        self.parent = parent

        def below(pid):
            seen = set()
            while pid not in seen:
                if pid == root:
                    return True
                seen.add(pid)
                if pid not in parent:
                    return False
                pid = parent[pid]
            return False

        self.execs = collections.defaultdict(list)
        self.exit = {}
        self.hits = collections.defaultdict(list)
        self.forked = {}
        for when, tgid, tid, event, f in events:
            if not below(tgid):
                continue
            if event.endswith("sched_process_exec"):
                self.execs[tgid].append((when, f.get("filename", "")))
            elif event.endswith("sched_process_exit") and f.get("group_dead", "true") == "true":
                self.exit[tgid] = when
            elif event.endswith("sched_process_fork"):
                self.forked.setdefault(int(f["child_pid"]), when)
            elif event.startswith(GROUP + ":"):
                self.hits[event[len(GROUP) + 1:]].append(when)
        self.root = root

    def procs(self, filename):
        """Processes whose first exec was filename, in exec order."""
        found = [(x[0][0], pid) for pid, x in self.execs.items() if x and x[0][1] == filename]
        return [pid for _, pid in sorted(found)]

    def last_exec(self, filename):
        found = [(x[-1][0], pid) for pid, x in self.execs.items() if x and x[-1][1] == filename]
        return [pid for _, pid in sorted(found)]

    def start(self, pid):
        return self.execs[pid][0][0]

    def family(self, pid):
        """pid and everything it forked."""
        out = {pid}
        grew = True
        while grew:
            grew = False
            for child, par in self.parent.items():
                if par in out and child not in out and (child in self.execs or child in self.exit):
                    out.add(child)
                    grew = True
        return out

    def probe_span(self, name):
        """Summed entry->return time of a probed function (None when not probed)."""
        entries, returns = self.hits.get(name), self.hits.get(name + "__return")
        if not entries or not returns or len(entries) != len(returns):
            return None
        return sum(r - e for e, r in zip(sorted(entries), sorted(returns)))


def _serial(rows, end):
    """(label, start, stop[, on_foreground]) in time order -> [(label, seconds, on_foreground)]; without
    the flag a row is on the foreground when it ended before end. The gap after the last foreground row
    is the tail."""
    out, last = [], None
    for row in rows:
        label, a, b = row[:3]
        if a is None or b is None:
            continue
        fg = row[3] if len(row) > 3 else b <= end + 1e-6
        out.append((label, b - a, fg))
        if fg:
            last = b if last is None else max(last, b)
    return out, last


def run_phases(events, root, t0, wrapper, conmon, runtime, command):
    """Phases of one `ctr-wrap run --rm ROOTFS command` whose process is root, spawned at t0."""
    t = Tree(events, root)
    if root not in t.execs or root not in t.exit:
        return None
    end = t.exit[root]
    cw = t.start(root)
    mons = t.procs(conmon)
    if not mons:
        return None
    mon = mons[0]
    monfam = t.family(mon)
    rts = t.procs(runtime)
    create = next((p for p in rts if t.parent.get(p) in monfam), None)
    start = next((p for p in rts if t.parent.get(p) == root), None)
    exitcmd = next((p for p in t.procs(wrapper) if p in monfam), None)
    ctr = next(iter(t.last_exec(command)), None)
    deletes = [p for p in rts if p not in (create, start)]
    by_us = [p for p in deletes if t.parent.get(p) == root]
    by_cmd = [p for p in deletes if exitcmd is not None and t.parent.get(p) == exitcmd]
    rows = [("fork+exec of ctr-wrap", t0, cw)]
    spec_at, spec_ret = t.hits.get("spec"), t.hits.get("spec__return")
    spec = t.probe_span("spec")
    # Not called at all when ctr-wrap found the profile's check in its cache.
    seccomp = t.probe_span("seccomp") or 0.0
    if spec is not None:
        rows += [("ctr-wrap: options, host detection", cw, spec_at[0]),
                 ("spec generation (without seccomp)", spec_at[0], spec_at[0] + spec - seccomp),
                 ("seccomp compile", spec_at[0] + spec - seccomp, spec_ret[-1]),
                 ("state dir, bundle write, monitor spawn", spec_ret[-1], t.start(mon))]
    else:
        rows.append(("ctr-wrap: options, spec, seccomp, state, monitor spawn", cw, t.start(mon)))
    if create is None or start is None:
        return None
    rows += [("monitor: start-up until runtime create", t.start(mon), t.start(create)),
             ("runtime create", t.start(create), t.exit.get(create)),
             ("sync to ctr-wrap, attach, lock -> runtime start", t.exit.get(create), t.start(start)),
             ("runtime start", t.start(start), t.exit.get(start))]
    started = t.exit.get(start)
    if ctr is not None and ctr in t.exit:
        started = max(started, t.exit[ctr])
    # After the exit ctr-wrap reads the exit file and removes the state; the exit command (ctr-wrap
    # cleanup, started by the monitor) waits for it and deletes the container from the runtime meanwhile
    # or afterwards, off the user's path.
    rows.append(("container exit -> ctr-wrap exit (exit file read, state removed)", started, end, True))
    if exitcmd is not None:
        rows.append(("container exit -> exit command (monitor: reap, exit file)", started, t.start(exitcmd), False))
        cmd_end = t.exit.get(exitcmd)
        inner = by_cmd[0] if by_cmd else None
        if inner is not None:
            rows += [("exit command: start-up until runtime delete", t.start(exitcmd), t.start(inner), False),
                     ("runtime delete (by the exit command)", t.start(inner), t.exit.get(inner), False),
                     ("exit command: after runtime delete", t.exit.get(inner), cmd_end, False)]
        else:
            rows.append(("exit command (ctr-wrap cleanup)", t.start(exitcmd), cmd_end, False))
    for p in by_us:
        rows.append(("runtime delete (by ctr-wrap)", t.start(p), t.exit.get(p), True))
    rows.sort(key=lambda r: r[1] if r[1] is not None else 0)
    out, _ = _serial(rows, end)
    return {"total": end - t0, "phases": out}


def exec_phases(events, root, t0, conmon, runtime):
    """Phases of one `ctr-wrap exec CONTAINER command` whose process is root."""
    t = Tree(events, root)
    if root not in t.execs or root not in t.exit:
        return None
    end = t.exit[root]
    cw = t.start(root)
    mons = t.procs(conmon)
    rts = t.procs(runtime)
    if not mons or not rts:
        return None
    mon, rt = mons[0], rts[0]
    rows = [("fork+exec of ctr-wrap", t0, cw),
            ("ctr-wrap: options, state, process.json, monitor spawn", cw, t.start(mon)),
            ("monitor: start-up until runtime exec", t.start(mon), t.start(rt)),
            ("runtime exec", t.start(rt), t.exit.get(rt))]
    out, last = _serial(rows, end)
    if last is not None:
        out.append(("process exit -> status to ctr-wrap -> exit", end - last, True))
    return {"total": end - t0, "phases": out}


def summarize(runs):
    """Median seconds per phase label over runs (a label missing in a run is not counted there)."""
    runs = [r for r in runs if r]
    if not runs:
        return None
    order, values, fg = [], collections.defaultdict(list), {}
    for r in runs:
        for label, secs, on_fg in r["phases"]:
            if label not in values:
                order.append(label)
            values[label].append(secs)
            fg[label] = fg.get(label, True) and on_fg
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    return {"runs": len(runs), "total": med([r["total"] for r in runs]),
            "phases": [(label, med(values[label]), fg[label], len(values[label])) for label in order]}
