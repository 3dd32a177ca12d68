#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What hostile clients make the port forwarder hold (as root, with runc):

    python3 tests/bench/port_flood.py [--wrapper wrapper/ctr-wrap] [--conmon conmon/conmon] [--build build]
        [--tcp-clients 3000] [--tcp-bytes 204800] [--udp-sources 25000] [--after 70]

- TCP: --tcp-clients clients each send up to --tcp-bytes to a container that never reads
  (netpeer tcp-hold), then close. The forwarder's RSS and fd count right after, and --after
  seconds later (past the default 60 s drain timeout).
- UDP: one datagram from each of --udp-sources distinct sources (127.0.0.A:P) to a UDP echo
  container; the forwarder's fd count, and whether a new client then gets its echo.

The limits are the forwarder's defaults unless set in the environment (CTR_WRAP_PORT_*). A
measurement, not a test: nothing is asserted. Everything runs under its own --root in /tmp.
"""

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
sys.path.insert(0, os.path.join(TOP, "tests", "wrapper"))

import testlib  # noqa: E402
from test_ports import forwarder_of, nfds, rss_kib  # noqa: E402


class W:
    def __init__(self, wrapper, conmon, root, rootfs):
        self.wrapper = wrapper
        self.base = [wrapper, "--root", root, "--runtime", "runc", "--conmon", conmon]
        self.rootfs = rootfs

    def ok(self, *args):
        return subprocess.run(self.base + list(args), check=True, capture_output=True, text=True,
                              timeout=60).stdout

    def publish(self, proto, ctr_port):
        mode = "tcp-hold" if proto == "tcp" else "udp-echo"
        cid = self.ok("run", "-d", "-p", "127.0.0.1::%d/%s" % (ctr_port, proto), self.rootfs,
                      "/helpers/netpeer", mode, str(ctr_port)).strip()
        info = json.loads(self.ok("inspect", cid))[0]
        port = int(info["Ports"][0].split("->")[0].rsplit(":", 1)[1])
        pid = testlib.wait_for(lambda: forwarder_of(self, port, proto), 5)
        return cid, port, pid


def state(pid):
    return "RSS %6.1f MB, %5d fds" % (rss_kib(pid) / 1024, nfds(pid))


def tcp_flood(w, clients, nbytes, after):
    cid, port, fwd = w.publish("tcp", 80)
    print("tcp: forwarder idle: %s" % state(fwd), flush=True)
    payload = b"x" * nbytes
    t0 = time.monotonic()
    socks = []
    relayed = total = 0
    for _ in range(clients):
        c = socket.socket()
        c.settimeout(5)
        try:
            c.connect(("127.0.0.1", port))
            # Read the greeting, so that close() sends a FIN, not the RST of unread data.
            if c.recv(3) != b"hi\n":
                raise OSError("not relayed")
            relayed += 1
            c.setblocking(False)
            sent = 0
            while sent < nbytes:
                try:
                    sent += c.send(payload[sent:])
                except BlockingIOError:
                    break
            total += sent
        except OSError:
            pass
        socks.append(c)
    print("tcp: %d clients (%d relayed) sent %.0f MB in %.1f s; all open: %s"
          % (clients, relayed, total / 1e6, time.monotonic() - t0, state(fwd)), flush=True)
    for c in socks:
        c.close()
    time.sleep(5)
    print("tcp: 5 s after they all closed: %s" % state(fwd), flush=True)
    time.sleep(max(0, after - 5))
    print("tcp: %d s after they all closed: %s" % (after, state(fwd)), flush=True)
    w.ok("rm", "-f", cid)


def udp_flood(w, sources):
    cid, port, fwd = w.publish("udp", 53)
    print("udp: forwarder idle: %s" % state(fwd), flush=True)
    t0 = time.monotonic()
    sent = 0
    a, p = 2, 20000
    while sent < sources:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.%d" % a, p))
            s.sendto(b"flood", ("127.0.0.1", port))
            sent += 1
        except OSError:
            pass
        finally:
            s.close()
        p += 1
        if p > 60000:
            a, p = a + 1, 20000
        if sent % 100 == 0:
            time.sleep(0.005)  # else the forwarder's socket buffer, not its limits, drops most of them
    time.sleep(1)
    print("udp: %d sources in %.1f s: %s" % (sent, time.monotonic() - t0, state(fwd)), flush=True)
    real = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    real.settimeout(2)
    try:
        real.sendto(b"real", ("127.0.0.1", port))
        got = real.recv(100) == b"real"
    except OSError:
        got = False
    finally:
        real.close()
    print("udp: a new client %s" % ("gets its echo" if got else "gets NO echo (locked out)"), flush=True)
    w.ok("rm", "-f", cid)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrapper", default=os.path.join(TOP, "wrapper/ctr-wrap"))
    ap.add_argument("--conmon", default=os.path.join(TOP, "conmon/conmon"))
    ap.add_argument("--build", default=os.path.join(TOP, "build"))
    ap.add_argument("--tcp-clients", type=int, default=3000)
    ap.add_argument("--tcp-bytes", type=int, default=200 * 1024)
    ap.add_argument("--udp-sources", type=int, default=25000)
    ap.add_argument("--after", type=int, default=70)
    opts = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    rootfs = testlib.prepare_rootfs(opts.build)
    root = tempfile.mkdtemp(prefix="port-flood-", dir="/tmp")
    w = W(os.path.abspath(opts.wrapper), os.path.abspath(opts.conmon), root, rootfs)
    try:
        if opts.tcp_clients:
            tcp_flood(w, opts.tcp_clients, opts.tcp_bytes, opts.after)
        if opts.udp_sources:
            udp_flood(w, opts.udp_sources)
    finally:
        ps = subprocess.run(w.base + ["ps", "-a", "--format", "json"], capture_output=True, text=True)
        for c in json.loads(ps.stdout or "[]"):
            subprocess.run(w.base + ["rm", "-f", c["Id"]], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
