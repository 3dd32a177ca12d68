# SPDX-License-Identifier: Apache-2.0
"""A systemd-journald for tests, on a machine whose PID 1 is not systemd (environment.md).

    with journald.journal() as j:          # TestSkip when no journald can be had
        ...monitor with -l journald...
        entries = j.entries(cid, until=lambda es: len(es) >= 3)

There is one /run/systemd/journal/socket per machine, so every user takes an exclusive
flock on LOCK for the whole time it needs the journal (tests of all suites and threads are
serialized on it). Under the lock: if a journald is already running, it is used and left
alone; otherwise one is started (volatile storage via a drop-in in /run, no rate limit),
and stopped by its PID when the holder is done; the files it made (/run/log/journal, the
socket dir, the drop-in) are removed again if they did not exist before.
"""

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import tempfile
import time

from testlib import TestFailure, TestSkip, read_file, run, spawn, wait_for

JOURNALD = "/lib/systemd/systemd-journald"
LOCK = "/run/ctr-test-journald.lock"
SOCK_DIR = "/run/systemd/journal"
SOCK = SOCK_DIR + "/socket"
CONF_DIR = "/run/systemd/journald.conf.d"
CONF = CONF_DIR + "/ctr-test.conf"
RUNTIME_JOURNAL = "/run/log/journal"
CONF_TEXT = "[Journal]\nStorage=volatile\nRateLimitIntervalSec=0\nRateLimitBurst=0\n"


def running_pids():
    """Live (not zombie) systemd-journald processes."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        comm = read_file("/proc/%s/comm" % name)
        stat = read_file("/proc/%s/stat" % name)
        if comm is None or stat is None or comm.strip() != b"systemd-journal":
            continue
        state = stat[stat.rindex(b")") + 2:].split()[0]
        if state not in (b"Z", b"X"):
            out.append(int(name))
    return out


def _socket_ready():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.connect(SOCK)
        return True
    except OSError:
        return False
    finally:
        s.close()


class Journal:
    def __init__(self, started_pid):
        self.started_pid = started_pid  # None when somebody else's journald is used

    def entries(self, cid, until=None, timeout=10):
        """JSON entries with CONTAINER_ID_FULL=cid, in journal order; polls until until(entries)."""
        got = []

        def poll():
            nonlocal got
            res = run(["journalctl", "--no-pager", "-a", "-o", "json", "CONTAINER_ID_FULL=" + cid], timeout=30)
            got = [json.loads(ln) for ln in res.out.splitlines() if ln.strip()]
            return until(got) if until else got

        wait_for(poll, timeout, interval=0.2)
        return got


def field_bytes(entry, key):
    """A journal field as bytes: journalctl -o json prints binary values as lists of ints."""
    v = entry.get(key)
    if v is None:
        return None
    if isinstance(v, list):
        if v and isinstance(v[0], list):  # the field occurs more than once
            v = v[0]
        elif v and isinstance(v[0], str):
            v = v[0]
    if isinstance(v, str):
        return v.encode()
    return bytes(v)


def _start(outdir):
    created = []
    for d in (SOCK_DIR, CONF_DIR, RUNTIME_JOURNAL):
        if not os.path.exists(d):
            created.append(d)
    os.makedirs(SOCK_DIR, exist_ok=True)
    os.makedirs(CONF_DIR, exist_ok=True)
    with open(CONF, "w") as f:
        f.write(CONF_TEXT)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(SOCK)  # stale, from a journald that is gone
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    proc = spawn([JOURNALD], outdir, env=env)
    if not wait_for(lambda: proc.poll() is not None or _socket_ready(), 10, interval=0.05) or proc.poll() is not None:
        _stop(proc, created)
        raise TestSkip("systemd-journald did not start: %r" % proc.stderr[-300:])
    return proc, created


def _stop(proc, created):
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except TestFailure:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(CONF)
    for d in reversed(created):
        shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def journal(lock_timeout=120):
    if not os.access(JOURNALD, os.X_OK):
        raise TestSkip("%s not installed (package systemd)" % JOURNALD)
    if not shutil.which("journalctl"):
        raise TestSkip("journalctl not installed")
    lk = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    outdir = None
    started = None
    try:
        deadline = time.monotonic() + lock_timeout
        while True:
            try:
                fcntl.flock(lk, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TestSkip("journald lock %s held by another test for %ss" % (LOCK, lock_timeout))
                time.sleep(0.1)
        if running_pids():
            if not wait_for(_socket_ready, 5):
                raise TestSkip("a journald runs but %s does not accept datagrams" % SOCK)
            yield Journal(None)
            return
        outdir = tempfile.mkdtemp(prefix="journald-")
        started = _start(outdir)
        yield Journal(started[0].pid)
    finally:
        if started:
            _stop(*started)
        if outdir:
            shutil.rmtree(outdir, ignore_errors=True)
        os.close(lk)  # releases the flock
