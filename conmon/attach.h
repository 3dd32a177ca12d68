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
struct attach_server *attach_server_new(const char *bundle, const char *socket_dir, const char *cuuid, bool full_attach,
					struct stdin_sink *in, bool leave_stdin_open, GError **err);

/*
 * Fan one chunk of container output out to every client. Never blocks.
 * Returns true when a client that is reading, but slowly, has more queued
 * than the bound: the caller should stop reading the container until the
 * resume callback runs.
 */
bool attach_broadcast(struct attach_server *s, enum stdpipe pipe, const char *buf, size_t len);

/* fn runs when the back-pressure asked for by attach_broadcast() is lifted. */
void attach_server_on_resume(struct attach_server *s, void (*fn)(void *data), void *data);

/* At exit: take the connections still in the listen backlog (a client that attached just before a quick exit). */
void attach_server_accept_pending(struct attach_server *s);

/* At exit: deliver queued output to clients that keep reading (bounded). */
void attach_server_flush(struct attach_server *s);

/* Clients connected now. */
unsigned attach_client_count(const struct attach_server *s);

/* Close clients and listener, unlink the socket and the socket-dir symlink. NULL-safe. */
void attach_server_free(struct attach_server *s);
