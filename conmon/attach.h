/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The attach socket: SOCK_SEQPACKET at <bundle>/attach (--full-attach) or
 * behind the <socket-dir-path>/<cuuid> symlink. Output goes to every client
 * as [1-byte stream id][up to 8192 bytes] packets; input from clients is
 * raw bytes for the container's stdin. A slow client never blocks the
 * monitor: each client has a bounded queue (policy in attach.c).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "conmon/ctr_log.h"
#include "conmon/stdin.h"

/* Output payload per packet: what the engine reads (8193-byte buffer with the id). */
#define ATTACH_PACKET_MAX 8192
/* Output waiting for one client beyond which that client is disconnected. */
#define ATTACH_CLIENT_QUEUE_MAX (4 * 1024 * 1024)

struct attach_server;

/*
 * Bind and listen (through /proc/self/fd, so any path length works).
 * Input from clients goes to in (may be NULL: no -i, input is discarded).
 * A client's EOF closes the container's stdin unless leave_stdin_open.
 */
struct attach_server *attach_server_new(const char *bundle, const char *socket_dir, const char *cuuid,
					bool full_attach, struct stdin_sink *in, bool leave_stdin_open, GError **err);

/* Fan one chunk of container output out to every client. Never blocks. */
void attach_broadcast(struct attach_server *s, enum stdpipe pipe, const char *buf, size_t len);

/* Clients connected now. */
unsigned attach_client_count(const struct attach_server *s);

/* Close clients and listener, unlink the socket and the socket-dir symlink. NULL-safe. */
void attach_server_free(struct attach_server *s);
