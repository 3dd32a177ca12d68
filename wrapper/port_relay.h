/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The port forwarder's relay: one epoll loop that accepts on the reserved host
 * sockets and relays every TCP connection, and every UDP client, to
 * 127.0.0.1:CTR in the network namespace the process is in when it connects.
 * It exits (which frees its copies of the ports) when the container's process
 * does.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* UDP client sessions are dropped after this long without traffic. */
#define PORT_RELAY_UDP_IDLE_SECONDS 60

struct port_relay;

/* A relay for up to n_ports sockets that ends the process once pidfd is readable. NULL with errno. */
struct port_relay *port_relay_new(int pidfd, size_t n_ports);

/* Serve a reserved socket: a listening TCP one or a bound UDP one. 0, or -1 with errno. */
int port_relay_add(struct port_relay *r, int fd, bool udp, uint16_t ctr_port);

/* The loop; exits the process with 0 when the container is gone, 1 when epoll fails. */
G_GNUC_NORETURN void port_relay_run(struct port_relay *r);
