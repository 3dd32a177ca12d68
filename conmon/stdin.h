/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's stdin as seen from the monitor: the write end of the -i
 * pipe, or a dup of the pty master. Input is queued (bounded) and written
 * when the fd is writable; producers are told to pause when the queue is full.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/* Pending input beyond which producers are asked to pause. */
#define STDIN_SINK_LIMIT (1024 * 1024)

struct stdin_sink;

struct stdin_sink *stdin_sink_new(void);

/*
 * Start writing to fd (ownership taken, made non-blocking). Input queued
 * before this is flushed then. For a pty pass a dup of the master that
 * nothing else uses: closing it ends our input, not the terminal.
 */
void stdin_sink_set_fd(struct stdin_sink *s, int fd);

/*
 * Queue bytes; they are always taken. Returns false when the queue is now
 * at its limit: the caller stops reading its source until on_writable, so
 * the queue stays within the limit plus one chunk per producer.
 */
bool stdin_sink_write(struct stdin_sink *s, const char *buf, size_t len);

/* fn runs (from the main loop) each time a full queue has drained to half the limit. */
void stdin_sink_on_writable(struct stdin_sink *s, void (*fn)(void *data), void *data);

/*
 * Close the fd once queued input is written: EOF for the process on a pipe;
 * for a pty only our dup closes (the container sees no EOF, as with the
 * reference). Later input is discarded.
 */
void stdin_sink_close(struct stdin_sink *s);

/* The queue is at its limit: producers must not read more input until on_writable. */
bool stdin_sink_full(const struct stdin_sink *s);

/* Bytes queued and not yet written. */
size_t stdin_sink_pending(const struct stdin_sink *s);

void stdin_sink_free(struct stdin_sink *s);
