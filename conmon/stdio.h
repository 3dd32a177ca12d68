/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the container's stdout/stderr (pipe or pty master) in the main loop. */
#pragma once

#include <stddef.h>

#include "conmon/ctr_log.h"

typedef void (*stdio_output_fn)(enum stdpipe pipe, const char *buf, size_t len, void *data);

struct stdio_reader;

/* Watch fd (made non-blocking); every read is passed to fn. Takes ownership of fd. */
struct stdio_reader *stdio_reader_new(int fd, enum stdpipe pipe, stdio_output_fn fn, void *data);

/* Stop and restart watching (back-pressure from slow attach clients). */
void stdio_reader_pause(struct stdio_reader *r);
void stdio_reader_resume(struct stdio_reader *r);

/* Read whatever is buffered now, without blocking (after the container exited). */
void stdio_reader_drain(struct stdio_reader *r);

void stdio_reader_free(struct stdio_reader *r);

/* Grow a pipe's kernel buffer so bursts do not block the writer; best effort. */
void stdio_grow_pipe(int fd);
