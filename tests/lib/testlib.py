# SPDX-License-Identifier: Apache-2.0
"""Shared machinery of the test suites (standard library only).

- Reaper: makes this process a child subreaper (PID 1 here does not reap) and
  reaps every child in one thread, keeping the statuses for whoever asks.
  Because it reaps everything, nothing in a suite may use subprocess.Popen:
  use spawn()/run() from here instead.
- spawn()/run(): posix_spawn with exact fd placement (fds 3, 4, 5 as podman does).
- A tiny test registry and a parallel runner printing TAP, as GLib's unit tests do, for
  run.py to collect: `ok N - name [label]`, `ok N - name [label] # SKIP why`, and
  `# reason` followed by `not ok N - name [label]`. The plan `1..N` comes first.
- suite_main(): the command line, checks, set-up and clean-up every suite's entry point shares.
"""

import argparse
import contextlib
import ctypes
import fcntl
import fnmatch
import importlib
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

PR_SET_CHILD_SUBREAPER = 36
TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class TestFailure(AssertionError):
    pass


class TestSkip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def check_eq(got, want, what):
    if got != want:
        raise TestFailure("%s: got %r, want %r" % (what, got, want))


# ------------------------------------------------------------------ processes

class Reaper:
    """Child subreaper that reaps every child and remembers exit statuses."""

    def __init__(self):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        self.cond = threading.Condition()
        # Held while spawning so a fresh pid's stale status is dropped before the
        # reaper can record the new one.
        self.spawn_lock = threading.Lock()
        self.status = {}
        t = threading.Thread(target=self._loop, name="reaper", daemon=True)
        t.start()

    def _loop(self):
        while True:
            try:
                pid, st = os.waitpid(-1, 0)
            except ChildProcessError:
                time.sleep(0.01)
                continue
            except InterruptedError:
                continue
            # Taking spawn_lock orders this after spawn()'s forget() of a fresh pid.
            with self.spawn_lock, self.cond:
                self.status[pid] = st
                self.cond.notify_all()

    def forget(self, pid):
        with self.cond:
            self.status.pop(pid, None)

    def exited(self, pid):
        with self.cond:
            return pid in self.status

    def wait(self, pid, timeout):
        """Raw wait status of child pid, or None on timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while pid not in self.status:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.5))
            return self.status[pid]


def children_of(pid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit() and ppid_of(int(name)) == pid:
            out.append(int(name))
    return out


def drain_children(timeout=10):
    """At the end of a suite: let re-parented leftovers (exit commands, orphaned container
    processes) finish, then SIGKILL what remains. They all descend from this process, and
    leaving them would hand them to a PID 1 that never reaps."""
    me = os.getpid()
    if wait_for(lambda: not children_of(me), timeout, interval=0.1):
        return
    for pid in children_of(me):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    wait_for(lambda: not children_of(me), 5, interval=0.05)


_reaper = None


def reaper():
    global _reaper
    if _reaper is None:
        _reaper = Reaper()
    return _reaper


def decode_status(st):
    """Wait status -> Popen-style return code (negative = killed by signal)."""
    if os.WIFEXITED(st):
        return os.WEXITSTATUS(st)
    if os.WIFSIGNALED(st):
        return -os.WTERMSIG(st)
    return None


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return False
    state = data[data.rindex(")") + 2:].split()[0]
    return state not in ("Z", "X")


def stat_field(pid, index):
    """Field index (0 = state, the one after comm) of /proc/PID/stat as an int, or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    return int(data[data.rindex(")") + 2:].split()[index])


def fd_targets(pid="self"):
    """{fd: readlink target} of a process ("self" for this one); {} once it is gone.
    An fd closed meanwhile (or the listing's own) is left out."""
    base = "/proc/%s/fd" % pid
    out = {}
    try:
        names = os.listdir(base)
    except OSError:
        return out
    for fd in names:
        try:
            out[int(fd)] = os.readlink("%s/%s" % (base, fd))
        except OSError:
            pass
    return out


def ppid_of(pid):
    return stat_field(pid, 1)


class Proc:
    def __init__(self, pid, argv, out_path, err_path):
        self.pid = pid
        self.argv = argv
        self.out_path = out_path
        self.err_path = err_path
        self.returncode = None

    def wait(self, timeout=30):
        """Popen-style return code; raises TestFailure on timeout."""
        if self.returncode is None:
            st = reaper().wait(self.pid, timeout)
            if st is None:
                raise TestFailure("%s did not exit within %ss" % (os.path.basename(self.argv[0]), timeout))
            self.returncode = decode_status(st)
        return self.returncode

    def poll(self):
        if self.returncode is None and reaper().exited(self.pid):
            self.wait(0)
        return self.returncode

    def kill(self, sig=signal.SIGKILL):
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def _read(self, path):
        if path is None:
            return b""
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            return b""

    @property
    def stdout(self):
        return self._read(self.out_path)

    @property
    def stderr(self):
        return self._read(self.err_path)


def _resolve(prog):
    if "/" in prog:
        return prog
    found = shutil.which(prog)
    if not found:
        raise FileNotFoundError("%s: not found in PATH" % prog)
    return found


def spawn(argv, outdir, env=None, fds=None, stdin_fd=None, setpgid=True, merge_stderr=False, stdio_fds=None):
    """Start argv with exactly the fds given ({child_fd: our_fd}) besides 0/1/2.

    stdout/stderr go to files in outdir so that
    daemons holding them open never block us (or to stdio_fds=(out, err)); stdin is /dev/null
    unless given.
    Every fd this process owns is O_CLOEXEC (Python's default), so only what is
    listed here is inherited.
    """
    if env is None:
        env = dict(os.environ)
    path = _resolve(argv[0])
    fd, out_path = tempfile.mkstemp(dir=outdir, prefix="out-")
    os.close(fd)
    fd, err_path = tempfile.mkstemp(dir=outdir, prefix="err-")
    os.close(fd)
    temp = []
    try:
        null = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        temp.append(null)
        out = os.open(out_path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        temp.append(out)
        err = os.open(err_path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        temp.append(err)
        want = {0: stdin_fd if stdin_fd is not None else null, 1: out, 2: out if merge_stderr else err}
        if stdio_fds:
            want[1], want[2] = stdio_fds
        want.update(fds or {})
        # Move every source above the targets first so one dup2 never clobbers
        # the source of another.
        actions = []
        for dst, src in sorted(want.items()):
            high = fcntl.fcntl(src, fcntl.F_DUPFD_CLOEXEC, 100)
            temp.append(high)
            actions.append((os.POSIX_SPAWN_DUP2, high, dst))
        kw = {"file_actions": actions}
        if setpgid:
            kw["setpgroup"] = 0
        r = reaper()
        with r.spawn_lock:
            pid = os.posix_spawn(path, argv, env, **kw)
            r.forget(pid)
    finally:
        for fd in temp:
            os.close(fd)
    return Proc(pid, argv, out_path, err_path)


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    @property
    def out(self):
        return self.stdout.decode(errors="replace")

    @property
    def err(self):
        return self.stderr.decode(errors="replace")

    def __repr__(self):
        return "rc=%r out=%r err=%r" % (self.returncode, self.out[-400:], self.err[-800:])


def run(argv, timeout=60, env=None, outdir=None, check_rc=False, fds=None, merge_stderr=False):
    """Run to completion; on timeout the process group is killed and TestFailure raised."""
    own = outdir is None
    if own:
        outdir = tempfile.mkdtemp(prefix="run-")
    try:
        p = spawn(argv, outdir, env=env, fds=fds, merge_stderr=merge_stderr)
        try:
            rc = p.wait(timeout)
        except TestFailure:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait(10)
            raise TestFailure("timed out after %ss: %s" % (timeout, " ".join(argv)))
        res = Result(rc, p.stdout, p.stderr)
        for path in (p.out_path, p.err_path):
            try:
                os.unlink(path)
            except OSError:
                pass
    finally:
        if own:
            shutil.rmtree(outdir, ignore_errors=True)
    if check_rc and res.returncode != 0:
        raise TestFailure("%s failed: %r" % (" ".join(argv), res))
    return res


def wait_for(pred, timeout, interval=0.02):
    """Poll pred() until truthy; returns its value or None after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def read_file(path):
    """The file's bytes, or None once it is gone (a /proc file of a process that just exited: ESRCH)."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None


# ------------------------------------------------------------------ rootfs

def prepare_rootfs(build_dir):
    """Build (once) the busybox rootfs under the build dir, with test helpers in /helpers."""
    dest = os.path.join(os.path.abspath(build_dir), "tests", "rootfs")
    # Several suites may start at once: serialize on a lock file.
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest + ".lock", "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        res = run(["sh", os.path.join(TESTS_DIR, "lib", "mkrootfs.sh"), dest], timeout=120)
        if res.returncode != 0:
            raise RuntimeError("mkrootfs.sh failed: %s" % res.err)
        hdir = os.path.join(os.path.abspath(build_dir), "tests", "helpers")
        os.makedirs(os.path.join(dest, "helpers"), exist_ok=True)
        if os.path.isdir(hdir):
            for name in os.listdir(hdir):
                src = os.path.join(hdir, name)
                if os.path.isfile(src) and os.access(src, os.X_OK):
                    shutil.copy2(src, os.path.join(dest, "helpers", name + ".tmp"))
                    os.replace(os.path.join(dest, "helpers", name + ".tmp"), os.path.join(dest, "helpers", name))
    return dest


# ------------------------------------------------------------------ registry / runner

class TestCase:
    def __init__(self, name, func, improvement=None, only=None, upstream=None):
        self.name = name
        self.func = func
        self.improvement = improvement
        self.only = only
        self.upstream = upstream


class Registry:
    def __init__(self):
        self.tests = []

    def test(self, name=None, improvement=None, only=None, upstream=None):
        """Decorator. improvement="why": must pass on ours, may fail on the reference
        (reported SKIP there). upstream="2.2.1": behaviour a newer conmon settled on, which the
        2.1.6 reference predates (a failure there is reported SKIP too).
        only="ours"/"reference": run against that monitor only."""
        def deco(func):
            n = name or func.__name__.replace("test_", "", 1)
            self.tests.append(TestCase(n, func, improvement, only, upstream))
            return func
        return deco


class Printer:
    """TAP output, safe to share between the runner's threads."""

    def __init__(self, out=None):
        self.lock = threading.Lock()
        self.out = out or sys.stdout
        self.count = 0

    def _write(self, text):
        self.out.write(text)
        self.out.flush()

    def plan(self, n):
        with self.lock:
            self._write("1..%d\n" % n)

    def result(self, kind, name, why=None):
        """kind: PASS, FAIL (why: the reason, one diagnostic line before it) or SKIP (why)."""
        why = " | ".join(str(why).splitlines()) if why is not None else None
        with self.lock:
            self.count += 1
            if kind == "PASS":
                self._write("ok %d - %s\n" % (self.count, name))
            elif kind == "SKIP":
                self._write("ok %d - %s # SKIP %s\n" % (self.count, name, why or "skipped"))
            else:
                self._write("# %s\nnot ok %d - %s\n" % (why or "failed", self.count, name))


def one_line(msg, limit=600):
    msg = " ".join(str(msg).split())
    return msg if len(msg) <= limit else msg[:limit] + "..."


def run_suite(registry, suite, label, make_ctx, pattern=None, jobs=2, printer=None, is_reference=False):
    """Run every registered test; make_ctx(test) returns a context manager giving the test's ctx."""
    printer = printer or Printer()
    selected = []
    for tc in registry.tests:
        full = "%s/%s [%s]" % (suite, tc.name, label)
        if pattern and not match(pattern, full):
            continue
        selected.append((tc, full))
    printer.plan(len(selected))

    def one(item):
        tc, full = item
        want = "reference" if is_reference else "ours"
        if tc.only and tc.only != want:
            printer.result("SKIP", full, "%s only" % tc.only)
            return
        try:
            with make_ctx(tc) as ctx:
                tc.func(ctx)
        except TestSkip as e:
            printer.result("SKIP", full, one_line(e))
            return
        except BaseException as e:  # noqa: B902 - a test must never take the runner down
            if isinstance(e, (TestFailure, AssertionError)):
                why = one_line(e)
            else:
                why = one_line("%s: %s | %s" % (type(e).__name__, e,
                                                traceback.format_exc(limit=-2).strip().splitlines()[-3:]))
            if tc.improvement and is_reference:
                printer.result("SKIP", full, "improvement: %s; reference: %s" % (tc.improvement, one_line(why, 200)))
            elif tc.upstream and is_reference:
                printer.result("SKIP", full, "conmon %s behaviour; reference: %s" % (tc.upstream, one_line(why, 200)))
            else:
                printer.result("FAIL", full, why)
            return
        printer.result("PASS", full)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as ex:
        list(ex.map(one, selected))


def match(pattern, text):
    """-k semantics: case-insensitive substring, or a glob when it has * ? [; `a|b` = either."""
    for alt in pattern.split("|"):
        if not alt:
            continue
        if any(c in alt for c in "*?["):
            if fnmatch.fnmatch(text, alt) or fnmatch.fnmatch(text, "*" + alt + "*"):
                return True
        elif alt.lower() in text.lower():
            return True
    return False


# ------------------------------------------------------------------ suite entry points

def seal_inherited_fds():
    """Mark every fd this process inherited (other than 0/1/2) close-on-exec, so children
    get exactly the fds we hand them, as with podman (Go opens everything O_CLOEXEC)."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass


def discover(directory):
    """Import every test_*.py in directory; return the registries they define as `reg`."""
    if directory not in sys.path:
        sys.path.insert(0, directory)
    regs = []
    for fn in sorted(os.listdir(directory)):
        if fn.startswith("test_") and fn.endswith(".py"):
            mod = importlib.import_module(fn[:-3])
            if isinstance(getattr(mod, "reg", None), Registry):
                regs.append(mod.reg)
    merged = Registry()
    for r in regs:
        merged.tests.extend(r.tests)
    return merged


def report_all(kind, registry, suite, label, pattern, reason, printer=None):
    """One FAIL or SKIP line per selected test, when a whole suite cannot run."""
    printer = printer or Printer()
    names = ["%s/%s [%s]" % (suite, tc.name, label) for tc in registry.tests]
    names = [n for n in names if not pattern or match(pattern, n)]
    printer.plan(len(names))
    for full in names:
        printer.result(kind, full, reason)


def monitor_preflight(suite, opts, reg, printer):
    """What every suite checks first: the monitor binary (opts.monitor, a path or a name on PATH) and root.
    Returns the monitor's path, or None after reporting every case as FAIL/SKIP."""
    monitor = os.path.abspath(opts.monitor) if "/" in opts.monitor else shutil.which(opts.monitor) or opts.monitor
    if not (os.path.isfile(monitor) and os.access(monitor, os.X_OK)):
        report_all("FAIL", reg, suite, opts.label, opts.pattern,
                   "monitor binary %s not found or not executable" % opts.monitor, printer)
        return None
    if os.geteuid() != 0:
        report_all("SKIP", reg, suite, opts.label, opts.pattern, "needs root", printer)
        return None
    return monitor


def suite_main(suite, setup, directory=None, registry=None, jobs=3, needs=(), extra_args=(), tmp_prefix=None):
    """The entry point of every suite, for tests/run.py:

        SCRIPT --monitor PATH --label LABEL [--reference] [--build build] [-k PATTERN] [--jobs N] [EXTRA...]

    Runs every case of the test_*.py in directory (or of registry) against one monitor and prints
    TAP; returns the exit status (0 unless the suite itself broke). When the monitor is missing, we
    are not root, or one of needs (each fn(opts) -> None, or ("FAIL"|"SKIP", reason)) says so,
    every case is reported that way instead. extra_args: (flag, argparse keywords) pairs.
    setup(opts, monitor, rootfs, base, stack) is called once and returns make_ctx(test), a context
    manager giving the test's ctx; base is a fresh /tmp/<tmp_prefix>* directory (None without
    tmp_prefix), removed at the end; stack an ExitStack for the suite's own clean-up, run after
    leftover children are drained. What setup raises fails every case."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--monitor", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--reference", action="store_true", help="this monitor is the reference (improvements may fail)")
    ap.add_argument("--build", default="build")
    ap.add_argument("-k", dest="pattern")
    ap.add_argument("--jobs", type=int, default=jobs)
    for flag, kw in extra_args:
        ap.add_argument(flag, **kw)
    opts = ap.parse_args()

    seal_inherited_fds()
    reg = registry or discover(directory)
    printer = Printer()

    def all_cases(kind, reason):
        report_all(kind, reg, suite, opts.label, opts.pattern, reason, printer)
        return 0

    monitor = monitor_preflight(suite, opts, reg, printer)
    if monitor is None:
        return 0
    for need in needs:
        unmet = need(opts)
        if unmet:
            return all_cases(*unmet)
    reaper()
    try:
        rootfs = prepare_rootfs(opts.build)
    except Exception as e:  # noqa: B902
        return all_cases("FAIL", "rootfs: %s" % e)
    with contextlib.ExitStack() as stack:
        base = None
        if tmp_prefix:
            base = tempfile.mkdtemp(prefix=tmp_prefix, dir="/tmp")
            stack.callback(shutil.rmtree, base, ignore_errors=True)
        try:
            make_ctx = setup(opts, monitor, rootfs, base, stack)
        except Exception as e:  # noqa: B902
            return all_cases("FAIL", "setup: %s" % e)
        try:
            run_suite(reg, suite, opts.label, make_ctx, pattern=opts.pattern, jobs=opts.jobs, printer=printer,
                      is_reference=opts.reference)
        finally:
            drain_children()
    return 0
