/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib.h>
#include <unistd.h>

#include "common/io.h"
#include "conmon/diag.h"

/* Big reads amortise the per-read work (one timestamp, one log write) over many lines. */
#define STDIO_READ_SIZE (256 * 1024)
#define PIPE_SIZE (1024 * 1024)

struct stdio_reader {
	int fd;
	enum stdpipe pipe;
	guint source;
	stdio_output_fn fn;
	void *data;
};

/* One buffer serves every reader: the monitor is single-threaded. */
static char read_buf[STDIO_READ_SIZE];

static void stop(struct stdio_reader *r)
{
	if (r->source)
		g_source_remove(r->source);
	r->source = 0;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/*
 * Read once (in the loop: one chunk per wakeup, so that attach clients are
 * served between reads and back-pressure takes effect) or until EAGAIN
 * (draining at exit). Returns false once the stream has ended (fd closed).
 */
static bool read_some(struct stdio_reader *r, bool until_empty)
{
	do {
		ssize_t n = cm_read(r->fd, read_buf, sizeof(read_buf));
		if (n > 0) {
			r->fn(r->pipe, read_buf, (size_t)n, r->data);
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			return true;
		/* EIO: a pty master whose last slave closed — that is EOF, not an error. */
		if (n < 0 && errno != EIO)
			diag_warn("read from container stdio failed: %s", g_strerror(errno));
		close(r->fd);
		r->fd = -1;
		return false;
	} while (until_empty);
	return true;
}

static gboolean on_readable(int fd, GIOCondition cond, gpointer data)
{
	(void)fd;
	(void)cond;
	struct stdio_reader *r = data;
	if (read_some(r, false))
		return G_SOURCE_CONTINUE;
	r->source = 0;
	return G_SOURCE_REMOVE;
}

struct stdio_reader *stdio_reader_new(int fd, enum stdpipe pipe, stdio_output_fn fn, void *data)
{
	struct stdio_reader *r = g_new0(struct stdio_reader, 1);
	*r = (struct stdio_reader){ .fd = fd, .pipe = pipe, .fn = fn, .data = data };
	if (cm_set_nonblock(fd, true) < 0)
		diag_warn("unable to make container stdio non-blocking: %s", g_strerror(errno));
	stdio_reader_resume(r);
	return r;
}

void stdio_reader_pause(struct stdio_reader *r)
{
	if (r->source) {
		g_source_remove(r->source);
		r->source = 0;
	}
}

void stdio_reader_resume(struct stdio_reader *r)
{
	if (r->fd >= 0 && r->source == 0)
		r->source = g_unix_fd_add(r->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, r);
}

void stdio_reader_drain(struct stdio_reader *r)
{
	if (r->fd >= 0 && !read_some(r, true))
		stop(r);
}

void stdio_reader_free(struct stdio_reader *r)
{
	if (r == NULL)
		return;
	stop(r);
	g_free(r);
}

void stdio_grow_pipe(int fd)
{
	if (fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE) < 0)
		diag_debug("unable to grow pipe: %s", g_strerror(errno));
}
