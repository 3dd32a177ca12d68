/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The journald log writer: one journal entry per line with the fields
 * podman 4.3.1 reads back (MESSAGE, CONTAINER_ID_FULL, PRIORITY 6/3, ...).
 * Lines without '\n' are held per stream and joined with what follows; a
 * held line that outgrows JOURNALD_LINE_MAX, or is still held at the end,
 * goes out marked CONTAINER_PARTIAL_MESSAGE=true. All fields: docs/protocol.md,
 * "journald log".
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "conmon/ctr_log.h"

/* The reference holds at most 8 KiB; longer joins mean fewer split lines (conmon#335). */
#define JOURNALD_LINE_MAX (64 * 1024)

struct journald_log_config {
	const char *cid; /* required, longer than 12 characters */
	const char *name;
	const char *tag;
	char *const *labels; /* "KEY=VALUE", KEY of A-Z 0-9 _ */
	bool no_partial_message;
};

/* Validates the configuration; does not talk to journald yet. */
struct journald_log *journald_log_new(const struct journald_log_config *cfg, GError **err);

/* Log one chunk of stdout or stderr (other values are ignored). */
void journald_log_write(struct journald_log *log, enum stdpipe pipe, const char *buf, size_t len);

/* Send held partial lines, free. NULL-safe. */
void journald_log_free(struct journald_log *log);

/* Failed sends so far. */
guint64 journald_log_failures(const struct journald_log *log);

/* Internals, exposed for the unit tests. */

/* Most fields one entry can have: 8 fixed ones and one per label. */
size_t journald_log_max_fields(const struct journald_log *log);

/*
 * Fill iov with the fields of one entry, in the reference's order. message
 * is the whole "MESSAGE=..." field. Returns the number of fields used.
 */
size_t journald_log_fields(const struct journald_log *log, enum stdpipe pipe, const char *message, size_t message_len,
			   bool partial, struct iovec *iov, size_t max);

/* Replace sd_journal_sendv (returns 0 or -errno). */
typedef int (*journald_send_fn)(const struct iovec *iov, int n, void *data);
void journald_log_set_sender(struct journald_log *log, journald_send_fn fn, void *data);
