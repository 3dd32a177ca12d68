/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The port forwarder's relay: one epoll loop that accepts on the reserved host
 * sockets and relays every TCP connection, and every UDP client, to
 * 127.0.0.1:CTR in the network namespace the process is in when it connects.
 * It exits (which frees its copies of the ports) when the container's process
 * does. Everything it holds is bounded by struct port_relay_limits.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Defaults. 1024 connections per TCP port is more than a container's service
 * usually has open at once, and keeps a port at 2048 fds and, with 32 KiB
 * buffered per direction, 64 MiB of relay buffers in the worst case; a few
 * ports fit under the usual hard fd limits (20000 and up). UDP sessions hold
 * one fd each.
 */
#define PORT_RELAY_TCP_MAX_CONNS 1024
#define PORT_RELAY_TCP_DRAIN_SECONDS 60
#define PORT_RELAY_UDP_MAX_SESSIONS 1024
#define PORT_RELAY_UDP_IDLE_SECONDS 60

/* The environment variables that override them, read by the forwarder when it starts. */
#define PORT_RELAY_ENV_TCP_MAX_CONNS "CTR_WRAP_PORT_TCP_MAX_CONNS"
#define PORT_RELAY_ENV_TCP_DRAIN "CTR_WRAP_PORT_TCP_DRAIN_TIMEOUT"
#define PORT_RELAY_ENV_UDP_MAX_SESSIONS "CTR_WRAP_PORT_UDP_MAX_SESSIONS"
#define PORT_RELAY_ENV_UDP_IDLE "CTR_WRAP_PORT_UDP_IDLE_TIMEOUT"

struct port_relay_limits {
	unsigned tcp_max_conns;	    /* open connections per TCP port; more are reset at once */
	unsigned tcp_drain_seconds; /* a half-closed connection with nothing moving is reset after this */
	unsigned udp_max_sessions;  /* client sessions per UDP port; the least recently used makes room */
	unsigned udp_idle_seconds;  /* a UDP session without traffic is dropped after this */
};

/* The defaults, each replaced by its environment variable when set. -1 with a message naming a bad one. */
int port_relay_limits_from_env(struct port_relay_limits *lim, GError **err);

struct port_relay;

/* A relay for up to n_ports sockets that ends the process once pidfd is readable. NULL with errno. */
struct port_relay *port_relay_new(int pidfd, size_t n_ports, const struct port_relay_limits *lim);

/* Serve a reserved socket: a listening TCP one or a bound UDP one. 0, or -1 with errno. */
int port_relay_add(struct port_relay *r, int fd, bool udp, uint16_t ctr_port);

/* The loop; exits the process with 0 when the container is gone, 1 when epoll fails. */
G_GNUC_NORETURN void port_relay_run(struct port_relay *r);
