/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The port forwarder: a process that lives as long as the container and
 * relays traffic from the reserved host sockets to 127.0.0.1:CTR inside the
 * container's network namespace (no iptables). It accepts on (a duplicate of)
 * the reserved sockets in the host namespace and makes every outgoing
 * connection from inside the container's namespace, which it joins after
 * setting the listeners up. It exits, freeing its copies of the ports, when
 * the container's process exits.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

/* UDP client sessions are dropped after this long without traffic. */
#define PORT_FORWARD_UDP_IDLE_SECONDS 60

/*
 * mappings: the GArray of struct port_mapping after ports_reserve();
 * reserved_fds: its fds, same order. TCP reservations are put into listening
 * state (shared with every copy of the fd). The caller's fds stay open and
 * unchanged otherwise. Returns the forwarder's pid (a child of the caller, in
 * its own session) or -1. The caller reaps it, or it is reparented when the
 * caller exits.
 */
pid_t port_forward_start(GArray *mappings, GArray *reserved_fds, pid_t container_pid, GError **err);
