/* SPDX-License-Identifier: Apache-2.0 */
/*
 * <bundle>/ctl: "TYPE HEIGHT WIDTH\n" lines from the engine. Type 1 resizes
 * the terminal, type 2 reopens the log files. <bundle>/winsz carries
 * "HEIGHT WIDTH\n" resize requests (compatibility with the reference).
 * Parsed as conmon 2.2 does: leading integers, anything after them ignored;
 * malformed lines, unknown types and sizes outside 0..1000 are warned about
 * and dropped. Every line of a write is handled once.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

struct ctl_handlers {
	void (*resize)(unsigned short rows, unsigned short cols, void *data);
	void (*reopen_logs)(void *data);
	void *data;
};

struct ctl_fifo;

/* Create both FIFOs (replacing stale ones) and watch them in the main loop. */
struct ctl_fifo *ctl_fifo_new(const char *dir, const struct ctl_handlers *handlers, GError **err);

/* Unlink the FIFOs and stop watching. NULL-safe. */
void ctl_fifo_free(struct ctl_fifo *c);

/* Exposed for unit tests and fuzzing: feed bytes as if read from ctl. */
void ctl_fifo_feed(struct ctl_fifo *c, const char *buf, size_t len);
