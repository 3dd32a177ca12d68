#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The one test runner `make check` calls.

    python3 tests/run.py --build build --conmon conmon/conmon --wrapper wrapper/ctr-wrap \\
        --reference /usr/bin/conmon [--only unit|fuzz|integration|crio|podman|wrapper] [-k PATTERN] [--skip-reference]
        [--asan-conmon PATH] [--valgrind]

(a) every BUILD/tests/unit/test_* binary with --tap,
(a2) every BUILD/fuzz/standalone-X (make fuzz-replay) over tests/fuzz/seeds/X and
    tests/fuzz/regressions/X: one test `fuzz/X` each,
(b) the integration suite (tests/integration) once per monitor binary: ours, then the reference;
    with --asan-conmon also the sanitizer build (label asan; every sanitizer report file is a FAIL);
    with --valgrind a subset once more with our monitor under valgrind (label valgrind),
(b2) the CRI-O suite (tests/crio: the monitor driven as CRI-O v1.32 drives it) once per monitor binary,
(c) the podman suite (tests/podman) once per monitor binary.
The unit tests and the suites print TAP (`1..N`, `ok`, `not ok`, `# SKIP`, `# diagnostic` lines), read by
one TapReader. This prints one line per test: `PASS name [monitor]`, `FAIL name [monitor]: reason`, `SKIP name [monitor] (why)`;
other lines start with `#`. The last line is exactly `N passed, N failed, N skipped`.
Exit status 1 iff anything failed. Needs root for (b), (b2) and (c) (they report SKIP otherwise).
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
TESTS = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(TESTS)
sys.path.insert(0, os.path.join(TESTS, "lib"))
from testlib import match  # noqa: E402

SUITE_TIMEOUT = 300
UNIT_TIMEOUT = 120
FUZZ_REPLAY_TIMEOUT = 120
# --valgrind: the cases that exercise the monitor's main paths (create, exit files, logs, signals, attach).
# (Not the cases that race a signal against startup: valgrind makes startup seconds slower.)
VALGRIND_PATTERN = ("create_sync_data_pid|exit_file|k8s_file|sigterm_forwarded|attach_framing|ctl_two_messages"
                    "|stdin_echo")
VALGRIND_JOBS = 2
TAP_RE = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?(.*?)\s*$")


class Tally:
    def __init__(self):
        self.counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}

    def emit(self, line):
        kind = line.split(" ", 1)[0]
        self.counts[kind] += 1
        print(line, flush=True)

    def note(self, msg):
        print("# " + msg, flush=True)


class TapReader:
    """Reads TAP a line at a time, as GLib's --tap and the Python suites print it, and emits one
    PASS/FAIL/SKIP line per result. prefix: prepended to test names (`unit/test_x:`); pattern:
    -k applied here (for programs that run all their tests)."""

    def __init__(self, tally, prefix=None, pattern=None):
        self.tally, self.prefix, self.pattern = tally, prefix, pattern
        self.seen = self.failed = 0
        self.plan = None
        self.diag = []

    def feed(self, line):
        """One line of output; False when it is not TAP (neither a result, a plan nor a comment)."""
        line = line.rstrip()
        if line.startswith("#"):
            # GLib's nesting markers say nothing; the rest may explain the next failure.
            if not line.startswith("# Start of") and not line.startswith("# End of"):
                self.diag = (self.diag + [line[1:].strip()])[-3:]
            return True
        if line.startswith("Bail out!"):
            self.tally.emit("FAIL %s: %s" % (self.prefix or "suite", line))
            self.failed += 1
            return True
        plan = re.match(r"^1\.\.(\d+)", line)
        if plan:
            self.plan = int(plan.group(1))
            return True
        m = TAP_RE.match(line)
        if not m:
            return False
        self.seen += 1
        status, _, desc = m.groups()
        directive = ""
        if " # " in desc:
            desc, directive = desc.split(" # ", 1)
        elif desc.startswith("# "):
            desc, directive = "", desc[2:]
        desc = desc.strip() or str(self.seen)
        full = "%s:%s" % (self.prefix, desc) if self.prefix else desc
        diag, self.diag = self.diag, []
        if self.pattern and not match(self.pattern, full):
            return True
        d = directive.strip()
        if d.upper().startswith("SKIP"):
            self.tally.emit("SKIP %s (%s)" % (full, d[4:].strip() or "skipped"))
        elif d.upper().startswith("TODO"):
            self.tally.emit("SKIP %s (todo: %s)" % (full, d[4:].strip()))
        elif status == "ok":
            self.tally.emit("PASS %s" % full)
        else:
            self.tally.emit("FAIL %s: %s" % (full, " | ".join(diag) or "not ok"))
            self.failed += 1
        return True

    def short_of_plan(self):
        """The planned count when fewer results came, else None."""
        return self.plan if self.plan is not None and self.plan > self.seen else None


def run_unit(opts, tally):
    bins = sorted(p for p in glob.glob(os.path.join(opts.build, "tests", "unit", "test_*"))
                  if os.path.isfile(p) and os.access(p, os.X_OK) and not p.endswith((".o", ".d", ".c")))
    if not bins:
        tally.note("no unit test binaries under %s/tests/unit" % opts.build)
        return
    for b in bins:
        name = "unit/" + os.path.basename(b)
        tap = TapReader(tally, name, opts.pattern)
        try:
            res = subprocess.run([os.path.abspath(b), "--tap", "--keep-going"], cwd=SRC, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=UNIT_TIMEOUT)
            out, rc = res.stdout.decode(errors="replace"), res.returncode
        except subprocess.TimeoutExpired as e:
            for line in (e.stdout or b"").decode(errors="replace").splitlines():
                tap.feed(line)
            tally.emit("FAIL %s: timed out after %ds" % (name, UNIT_TIMEOUT))
            continue
        for line in out.splitlines():
            tap.feed(line)
        if tap.failed:
            continue
        if rc != 0 and (not opts.pattern or match(opts.pattern, name)):
            tail = " | ".join(out.strip().splitlines()[-3:])
            tally.emit("FAIL %s: exit status %d: %s" % (name, rc, tail))
        elif tap.short_of_plan() and not opts.pattern:
            tally.emit("FAIL %s: plan 1..%d but only %d results" % (name, tap.plan, tap.seen))


def run_suite(opts, tally, suite, label, monitor, reference, env=None, pattern=None, jobs=None, script=None,
              extra=()):
    """env: extra environment for the suite (and so for the monitors it starts);
    pattern/jobs: instead of opts.pattern/opts.jobs; script/extra: another entry point than suite.py."""
    script = os.path.join(TESTS, suite, script or "suite.py")
    argv = [sys.executable, script, "--monitor", monitor, "--label", label, "--build", opts.build] + list(extra)
    if reference:
        argv.append("--reference")
    pattern = pattern or opts.pattern
    if pattern:
        argv += ["-k", pattern]
    jobs = jobs or opts.jobs
    if jobs:
        argv += ["--jobs", str(jobs)]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, cwd=SRC, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True,
                         env=dict(os.environ, **env) if env else None)
    errbuf = []

    def drain_err():
        for chunk in iter(lambda: p.stderr.readline(), b""):
            errbuf.append(chunk.decode(errors="replace"))
    t = threading.Thread(target=drain_err, daemon=True)
    t.start()
    timer = threading.Timer(SUITE_TIMEOUT, lambda: _kill_group(p))
    timer.start()
    tap = TapReader(tally)
    try:
        for raw in iter(p.stdout.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            if not tap.feed(line) and line.strip():
                tally.note(line)
        rc = p.wait()
    finally:
        timer.cancel()
    t.join(5)
    dt = time.monotonic() - t0
    if rc != 0:
        why = "timed out after %ds" % SUITE_TIMEOUT if dt >= SUITE_TIMEOUT else "exit status %d" % rc
        tail = " | ".join("".join(errbuf).strip().splitlines()[-4:])
        tally.emit("FAIL %s/suite [%s]: %s %s" % (suite, label, why, tail))
    elif tap.short_of_plan():
        tally.emit("FAIL %s/suite [%s]: plan 1..%d but only %d results" % (suite, label, tap.plan, tap.seen))
    elif errbuf and opts.verbose:
        for ln in "".join(errbuf).splitlines():
            tally.note(ln)
    tally.note("%s [%s] took %.1fs" % (suite, label, dt))


def run_fuzz_replay(opts, tally):
    """Each fuzz target's standalone replayer over its seeds and saved regressions."""
    bins = sorted(p for p in glob.glob(os.path.join(opts.build, "fuzz", "standalone-*"))
                  if os.path.isfile(p) and os.access(p, os.X_OK) and not p.endswith((".o", ".d")))
    if not bins:
        tally.note("no fuzz replayers under %s/fuzz (make fuzz-replay)" % opts.build)
        return
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0", UBSAN_OPTIONS="print_stacktrace=1")
    for b in bins:
        target = os.path.basename(b)[len("standalone-"):]
        name = "fuzz/" + target
        if opts.pattern and not match(opts.pattern, name):
            continue
        dirs = [os.path.join(TESTS, "fuzz", d, target) for d in ("seeds", "regressions")]
        try:
            res = subprocess.run([os.path.abspath(b)] + dirs, cwd=SRC, stdin=subprocess.DEVNULL, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=FUZZ_REPLAY_TIMEOUT)
        except subprocess.TimeoutExpired:
            tally.emit("FAIL %s: timed out after %ds" % (name, FUZZ_REPLAY_TIMEOUT))
            continue
        out = res.stdout.decode(errors="replace").strip().splitlines()
        if res.returncode == 0:
            tally.emit("PASS %s" % name)
            continue
        # The input being replayed, then what went wrong.
        inputs = [ln for ln in out if ln.startswith("input ")]
        why = [ln.strip() for ln in out if re.search(r"check failed|ERROR: |runtime error|SUMMARY", ln)]
        tally.emit("FAIL %s: exit status %d: %s" % (name, res.returncode, " | ".join(
            (inputs[-1:] + why[:3]) or out[-3:])))


def report_files(tally, suite, label, paths, bad=None, head=6):
    """One FAIL per report file (or, with bad, per file with a line matching bad): the
    first matching line and what follows it (the stack), then the command if logged."""
    for path in sorted(paths):
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except OSError as e:
            tally.emit("FAIL %s/report [%s]: %s: %s" % (suite, label, path, e))
            continue
        if bad and not re.search(bad, text, re.M):
            continue
        # valgrind prefixes "==PID== ", ASan separates reports with "=====" lines
        lines = [re.sub(r"^==\d+==\s*", "", ln).strip() for ln in text.splitlines()]
        lines = [ln[:300] for ln in lines if ln and not re.fullmatch(r"=+", ln)]
        first = next((i for i, ln in enumerate(lines) if re.search(bad, ln)), 0) if bad else 0
        shown = lines[first:first + head]
        shown += [ln for ln in lines if ln.startswith("Command:")][:1]
        tally.emit("FAIL %s/report [%s]: %s: %s" % (suite, label, os.path.basename(path), " | ".join(shown)))


def run_asan(opts, tally, monitor):
    """The integration suite against the sanitizer build. The monitor daemonizes with stderr on
    /dev/null, so sanitizer reports are only seen as files under log_path. (gcc links UBSan as
    its own libubsan, which ignores log_path: a UBSan finding in the daemon shows only as its
    death, exit status 1, making the test fail.)"""
    logs = tempfile.mkdtemp(prefix="asan-logs-")
    try:
        env = {"ASAN_OPTIONS": "log_path=%s/asan:detect_leaks=1:abort_on_error=0" % logs,
               "UBSAN_OPTIONS": "print_stacktrace=1:log_path=%s/ubsan" % logs}
        if not (os.path.isfile(monitor) and os.access(monitor, os.X_OK)):
            tally.emit("FAIL integration/suite [asan]: %s not built (make asan)" % monitor)
            return
        run_suite(opts, tally, "integration", "asan", monitor, False, env=env)
        reports, traced = [], []
        for path in glob.glob(os.path.join(logs, "*")):
            with open(path, errors="replace") as f:
                text = f.read()
            # Leak checking needs ptrace itself: a monitor run under strace (some tests do) cannot
            # have it. Only that message in the file: nothing to report.
            only_lsan_fatal = "LeakSanitizer has encountered a fatal error" in text and not re.search(
                r"ERROR: (AddressSanitizer|LeakSanitizer: detected)|runtime error", text)
            (traced if only_lsan_fatal else reports).append(path)
        tally.note("integration [asan]: %d sanitizer report file(s)%s" % (len(reports), (
            "; %d traced monitor(s) could not run the leak check" % len(traced)) if traced else ""))
        report_files(tally, "integration", "asan", reports)
    finally:
        shutil.rmtree(logs, ignore_errors=True)


VALGRIND_BAD = r"ERROR SUMMARY: [1-9]|definitely lost: [1-9]|are definitely lost in loss record"


def run_valgrind(opts, tally, monitor):
    """A subset of the integration suite with our monitor under valgrind (memcheck). The
    wrapper stands in for the monitor binary; the daemonized child is a fork, so it stays
    under valgrind and logs to its own vg.PID; runc and the exit command are exec'd natively."""
    vg = shutil.which("valgrind")
    if not vg:
        tally.emit("SKIP integration/suite [valgrind] (valgrind not installed)")
        return
    work = tempfile.mkdtemp(prefix="vg-")
    try:
        logs = os.path.join(work, "logs")
        os.mkdir(logs)
        wrapper = os.path.join(work, "conmon")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec %s --trace-children=no --child-silent-after-fork=no "
                    "--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "
                    "--log-file=%s/vg.%%p %s \"$@\"\n" % (vg, logs, monitor))
        os.chmod(wrapper, 0o755)
        # work is private (mkdtemp 0700): the wrapper only has to be reachable by root.
        run_suite(opts, tally, "integration", "valgrind", wrapper, False, pattern=opts.pattern or VALGRIND_PATTERN,
                  jobs=VALGRIND_JOBS)
        files = glob.glob(os.path.join(logs, "vg.*"))
        unknown = set()
        for path in files:
            with open(path, errors="replace") as f:
                unknown.update(re.findall(r"unhandled amd64-linux syscall: (\d+)", f.read()))
        tally.note("integration [valgrind]: %d valgrind log(s)%s" % (len(files), (
            "; syscalls valgrind does not know (ENOSYS to the monitor): " + ", ".join(sorted(unknown)))
            if unknown else ""))
        report_files(tally, "integration", "valgrind", files, bad=VALGRIND_BAD, head=8)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _kill_group(p):
    try:
        os.killpg(p.pid, 9)
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--conmon", default="conmon/conmon", help="our monitor binary")
    ap.add_argument("--wrapper", default="wrapper/ctr-wrap", help="ctr-wrap binary (exported as CTR_WRAP)")
    ap.add_argument("--reference", default="/usr/bin/conmon", help="reference monitor binary")
    ap.add_argument("--only", action="append", choices=["unit", "fuzz", "integration", "crio", "podman", "wrapper"],
                    help="run only this part (repeatable)")
    ap.add_argument("-k", dest="pattern", help="only tests whose name contains PATTERN (or matches a glob)")
    ap.add_argument("--skip-reference", action="store_true", help="do not run the suites against the reference")
    ap.add_argument("--jobs", type=int, default=0, help="parallel tests per suite (default: the suite's own)")
    ap.add_argument("-v", "--verbose", action="store_true", help="also show the suites' stderr")
    ap.add_argument("--asan-conmon", metavar="PATH",
                    help="also run the integration suite against this sanitizer build (label asan)")
    ap.add_argument("--valgrind", action="store_true",
                    help="also run a subset of the integration suite with our monitor under valgrind")
    opts = ap.parse_args()
    os.chdir(SRC)
    opts.build = os.path.abspath(opts.build)
    os.environ["CTR_WRAP"] = os.path.abspath(opts.wrapper)
    parts = opts.only or ["unit", "fuzz", "integration", "crio", "podman", "wrapper"]

    tally = Tally()
    t0 = time.monotonic()
    monitors = [("ours", os.path.abspath(opts.conmon), False)]
    if not opts.skip_reference:
        monitors.append(("reference", opts.reference, True))
    if "unit" in parts:
        run_unit(opts, tally)
    if "fuzz" in parts:
        run_fuzz_replay(opts, tally)
    for suite in ("integration", "crio", "podman"):
        if suite not in parts:
            continue
        for label, path, is_ref in monitors:
            run_suite(opts, tally, suite, label, path, is_ref)
        if suite == "integration" and opts.asan_conmon:
            run_asan(opts, tally, os.path.abspath(opts.asan_conmon))
        if suite == "integration" and opts.valgrind:
            run_valgrind(opts, tally, os.path.abspath(opts.conmon))
    if "wrapper" in parts:
        # ctr-wrap end to end, driving each monitor as its engine.
        for label, path, is_ref in monitors:
            for script in ("test_wrapper.py", "test_images.py", "test_lifecycle.py", "test_ports.py"):
                run_suite(opts, tally, "wrapper", label, path, False, script=script,
                          extra=("--wrapper", os.path.abspath(opts.wrapper)))
    tally.note("total %.1fs" % (time.monotonic() - t0))
    c = tally.counts
    print("%d passed, %d failed, %d skipped" % (c["PASS"], c["FAIL"], c["SKIP"]), flush=True)
    return 1 if c["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
