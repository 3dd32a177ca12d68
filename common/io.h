/* SPDX-License-Identifier: Apache-2.0 */
/* Small fd helpers: every loop here survives EINTR and partial transfers. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

/*
 * Write all of buf. EINTR is retried; on a non-blocking fd EAGAIN waits in
 * poll() for at most timeout_ms (-1: forever). Returns 0, or -1 with errno.
 */
int cm_write_all(int fd, const void *buf, size_t len, int timeout_ms);

/* read() retrying EINTR. */
ssize_t cm_read(int fd, void *buf, size_t len);

/* Read up to len bytes, stopping early only at EOF. Returns bytes read or -1. */
ssize_t cm_read_full(int fd, void *buf, size_t len);

int cm_set_nonblock(int fd, bool on);
int cm_set_cloexec(int fd, bool on);

/* Parse a whole decimal integer (optional sign, no junk). */
bool cm_parse_int(const char *s, int *out);
bool cm_parse_int64(const char *s, gint64 *out);
