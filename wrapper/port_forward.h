/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The port forwarder: a process that lives as long as the container and
 * relays traffic from the reserved host sockets to 127.0.0.1:CTR inside the
 * container's network namespace (no iptables; the relay is port_relay.c). It
 * is the hidden command `ctr-wrap port-forward tcp:CTR|udp:CTR...`, started by
 * port_forward_start() with its fds at fixed numbers: 3 the status pipe, 4 a
 * pidfd of the container's process, 5 the container's network namespace, 6
 * and up the reserved sockets in argument order. It accepts on the reserved
 * sockets in the host namespace and makes every outgoing connection from
 * inside the container's namespace, which it joins after setting the
 * listeners up. It exits, freeing its copies of the ports, when the
 * container's process exits.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

/*
 * self: an executable whose `SELF port-forward ...` runs port_forward_main()
 * (ctr-wrap itself). mappings: the GArray of struct port_mapping after
 * ports_reserve(); reserved_fds: its fds, same order. TCP reservations are
 * put into listening state (shared with every copy of the fd). The caller's
 * fds stay open and unchanged otherwise. Returns the forwarder's pid (a child
 * of the caller, in its own session) once it is set up, or -1. The caller
 * reaps it, or it is reparented when the caller exits.
 */
pid_t port_forward_start(const char *self, GArray *mappings, GArray *reserved_fds, pid_t container_pid, GError **err);

/* `port-forward tcp:CTR|udp:CTR...` with the fds in place: sets up, reports, relays. Returns only on failure. */
int port_forward_main(int argc, char **argv);
