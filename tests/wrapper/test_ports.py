#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Hostile peers against ctr-wrap's port forwarder (-p): what it holds stays bounded.

    python3 tests/wrapper/test_ports.py --wrapper wrapper/ctr-wrap --monitor PATH --label ours \\
        [--build build] [-k PATTERN] [--jobs N]

Same harness, output and cleanup as test_wrapper.py (whose Ctx and main it uses). The container
end is /helpers/netpeer (tests/helpers/netpeer.c); the limits are lowered through the forwarder's
environment variables (docs/man/ctr-wrap.1, PORTS). The forwarder is ctr-wrap's and the same
whichever monitor runs the container, so these run with our monitor only.
"""

import os
import socket
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, HERE)

import testlib  # noqa: E402
import test_wrapper as tw  # noqa: E402
from testlib import TestFailure, TestSkip, check, check_eq  # noqa: E402

reg = testlib.Registry()
LABEL = sys.argv[sys.argv.index("--label") + 1] if "--label" in sys.argv else ""
# Above what the forwarder holds besides its connections: stdio, pidfd, epoll, the port, syslog.
SLACK = 3


def start(ctx, proto, env, ctr_port):
    """Run netpeer behind -p 127.0.0.1::CTR_PORT/PROTO with env added; (host port, forwarder pid)."""
    if LABEL != "ours":
        raise TestSkip("the forwarder does not depend on the monitor; run with ours")
    mode = "tcp-hold" if proto == "tcp" else "udp-echo"
    res = testlib.run(ctx.argv("run", "-d", "-p", "127.0.0.1::%d/%s" % (ctr_port, proto), ctx.rootfs,
                               "/helpers/netpeer", mode, str(ctr_port)), env=dict(os.environ, **env))
    if res.returncode != 0:
        raise TestFailure("run -d: %r" % res)
    port = int(ctx.inspect(res.out.strip())["Ports"][0].split("->")[0].rsplit(":", 1)[1])
    pid = testlib.wait_for(lambda: forwarder_of(ctx, port, proto), 5)
    check(pid, "no port-forward process holds %s port %d" % (proto, port))
    return port, pid


def served_then_idle(port, fwd):
    """A first client is served; then the forwarder's fd count once that connection is gone too."""
    idle = nfds(fwd)
    check(testlib.wait_for(lambda: new_client_greeted(port), 10), "the published port serves a client")
    check(testlib.wait_for(lambda: nfds(fwd) <= idle, 10), "the first connection is still held")
    return idle


def forwarder_of(ctx, port, proto):
    """The pid of the `ctr-wrap port-forward` holding our host port (the monitor holds it too)."""
    holders = set()
    with open("/proc/net/%s" % proto) as f:
        for line in f.read().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and (proto == "udp" or fields[3] == "0A"):
                holders.add("socket:[%s]" % fields[9])
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv[0] == ctx.wrapper.encode() and argv[1:2] == [b"port-forward"] and \
                holders & set(testlib.fd_targets(pid).values()):
            return int(pid)
    return None


def nfds(pid):
    return len(testlib.fd_targets(pid))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def greeted(sock):
    """netpeer tcp-hold says hi to every connection it accepted through the forwarder."""
    try:
        sock.settimeout(5)
        return sock.recv(3) == b"hi\n"
    except OSError:
        return False


def try_connect(port):
    """A connection, or None: one turned away may be reset before connect() returns."""
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError:
        return None


def new_client_greeted(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            return greeted(c)
    except OSError:
        return False


@reg.test()
def test_port_tcp_connection_cap(ctx):
    cap = 20
    port, fwd = start(ctx, "tcp", {"CTR_WRAP_PORT_TCP_MAX_CONNS": str(cap)}, 80)
    base = served_then_idle(port, fwd)
    conns = [try_connect(port) for _ in range(2 * cap)]
    try:
        served = sum(c is not None and greeted(c) for c in conns)
        held = nfds(fwd)
    finally:
        for c in conns:
            if c is not None:
                c.close()
    check_eq(served, cap, "connections relayed out of %d at a cap of %d" % (2 * cap, cap))
    check(held <= base + 2 * cap + SLACK, "forwarder held %d fds with %d connections open (idle: %d)"
          % (held, cap, base))
    check(testlib.wait_for(lambda: nfds(fwd) <= base + SLACK, 10),
          "forwarder fds after the clients closed: %d (idle: %d)" % (nfds(fwd), base))
    check(new_client_greeted(port), "a new client is served after the flood closed")


@reg.test()
def test_port_tcp_undeliverable_half_closed_dropped(ctx):
    """Clients send what the container never reads, then close: dropped after the drain timeout."""
    port, fwd = start(ctx, "tcp", {"CTR_WRAP_PORT_TCP_DRAIN_TIMEOUT": "2"}, 80)
    base = served_then_idle(port, fwd)
    base_rss = rss_kib(fwd)
    payload = b"x" * (128 * 1024)
    for _ in range(100):
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            check(greeted(c), "a client is relayed")
            c.setblocking(False)
            sent = 0
            while sent < len(payload):
                try:
                    sent += c.send(payload[sent:])
                except BlockingIOError:
                    break
        finally:
            c.close()
    t0 = time.monotonic()
    check(nfds(fwd) > base + SLACK, "the undelivered connections are held while the timeout runs")
    held_rss = rss_kib(fwd)
    check(testlib.wait_for(lambda: nfds(fwd) <= base + SLACK, 20),
          "forwarder fds %.0f s after the clients closed: %d (idle: %d)" % (time.monotonic() - t0, nfds(fwd), base))
    check(rss_kib(fwd) <= base_rss + 2048, "forwarder RSS %d KiB after the drop, %d KiB with the connections, %d idle"
          % (rss_kib(fwd), held_rss, base_rss))
    check(new_client_greeted(port), "a new client is served afterwards")


@reg.test()
def test_port_udp_sessions_bounded(ctx):
    cap = 50
    port, fwd = start(ctx, "udp", {"CTR_WRAP_PORT_UDP_MAX_SESSIONS": str(cap)}, 53)

    def echoed(sock, msg):
        try:
            sock.sendto(msg, ("127.0.0.1", port))
            sock.settimeout(0.5)
            return sock.recv(100) == msg
        except OSError:
            return False

    real = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    flood = []
    try:
        real.bind(("127.0.0.1", 0))
        check(testlib.wait_for(lambda: echoed(real, b"ping"), 10), "the published port echoes")
        base = nfds(fwd)
        # 500 sources on distinct ports, each one datagram: a spoofed flood, as the forwarder sees it.
        for _ in range(10 * cap):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            flood.append(s)
            s.bind(("127.0.0.1", 0))
            s.sendto(b"flood", ("127.0.0.1", port))
        # Once the flood has filled the table, the forwarder stays at the cap, not at one fd per source.
        testlib.wait_for(lambda: nfds(fwd) >= base + cap - 1, 5)
        held = nfds(fwd)
        check(held <= base + cap + SLACK, "forwarder held %d fds after %d sources (with one session: %d)"
              % (held, len(flood), base))
        fresh = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            check(testlib.wait_for(lambda: echoed(fresh, b"new"), 5), "a new client is echoed at the cap")
        finally:
            fresh.close()
        check(testlib.wait_for(lambda: echoed(real, b"again"), 5), "the first client is echoed again")
        check(nfds(fwd) <= base + cap + SLACK, "forwarder fds after the real clients: %d" % nfds(fwd))
    finally:
        for s in flood:
            s.close()
        real.close()


if __name__ == "__main__":
    sys.exit(tw.main(reg))
