/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's stdin as seen from the monitor: the write end of the -i
 * pipe, or the pty master. Input is queued (bounded) and written when the
 * fd is writable; producers are told to pause when the queue is full.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

struct stdin_sink;

struct stdin_sink *stdin_sink_new(void);

/* Start writing to fd (ownership taken). Input queued before this is flushed then. */
void stdin_sink_set_fd(struct stdin_sink *s, int fd);

/* Queue bytes; returns false when the queue is full (caller stops reading its source). */
bool stdin_sink_write(struct stdin_sink *s, const char *buf, size_t len);

/* Called once when the queue drains below the limit after a full write. */
void stdin_sink_on_writable(struct stdin_sink *s, void (*fn)(void *data), void *data);

/* Close the container's stdin once queued input is written (EOF for the process). */
void stdin_sink_close(struct stdin_sink *s);

void stdin_sink_free(struct stdin_sink *s);
