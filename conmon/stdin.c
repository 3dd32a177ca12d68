/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/stdin.h"

#include <errno.h>
#include <glib-unix.h>
#include <unistd.h>

#include "common/io.h"
#include "conmon/diag.h"

/* A pty master with no slave open polls as hung up yet may not take input: look again later. */
#define HUP_RETRY_MS 100
/* Compact the queue once this much of its front has been written. */
#define COMPACT_MIN (64 * 1024)

struct stdin_sink {
	int fd;
	GByteArray *queue;
	size_t head;	  /* bytes at the front of queue already written */
	guint out_source; /* G_IO_OUT watch, armed only while input is pending */
	guint retry_source;
	guint notify_source;
	bool closing; /* close once drained; new input is dropped */
	bool broken;  /* the container's stdin is gone; input is dropped */
	bool full;    /* a producer was told to pause */
	void (*on_writable)(void *data);
	void *data;
};

static size_t pending(const struct stdin_sink *s)
{
	return s->queue->len - s->head;
}

static void drop_queue(struct stdin_sink *s)
{
	g_byte_array_set_size(s->queue, 0);
	s->head = 0;
}

static void close_fd(struct stdin_sink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static void clear_source(guint *id)
{
	if (*id)
		g_source_remove(*id);
	*id = 0;
}

static void fail(struct stdin_sink *s, int errnum)
{
	if (errnum == EPIPE || errnum == EIO)
		diag_debug("container stdin is closed, dropping %zu bytes of input", pending(s));
	else
		diag_warn("write to container stdin failed, dropping %zu bytes of input: %s", pending(s),
			  g_strerror(errnum));
	s->broken = true;
	drop_queue(s);
	close_fd(s);
}

/* Write until the queue is empty or the fd would block; returns bytes written. */
static size_t flush(struct stdin_sink *s)
{
	size_t done = 0;
	while (s->fd >= 0 && pending(s) > 0) {
		ssize_t n = write(s->fd, s->queue->data + s->head, pending(s));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			fail(s, errno);
			break;
		}
		s->head += (size_t)n;
		done += (size_t)n;
	}
	if (pending(s) == 0) {
		drop_queue(s);
	} else if (s->head >= COMPACT_MIN && s->head >= pending(s)) {
		g_byte_array_remove_range(s->queue, 0, (guint)s->head);
		s->head = 0;
	}
	return done;
}

static gboolean on_notify(gpointer data)
{
	struct stdin_sink *s = data;
	s->notify_source = 0;
	if (s->on_writable)
		s->on_writable(s->data);
	return G_SOURCE_REMOVE;
}

static gboolean on_out(int fd, GIOCondition cond, gpointer data);
static gboolean on_retry(gpointer data);

/* Bring the watches in line with the state after a flush; no busy loop on a hung-up fd. */
static void update(struct stdin_sink *s, bool stalled_on_hup)
{
	if (s->fd >= 0 && pending(s) == 0 && s->closing)
		close_fd(s);
	bool want_out = s->fd >= 0 && pending(s) > 0;
	if (!want_out || stalled_on_hup)
		clear_source(&s->out_source);
	if (!want_out)
		clear_source(&s->retry_source);
	if (want_out && stalled_on_hup && s->retry_source == 0)
		s->retry_source = g_timeout_add(HUP_RETRY_MS, on_retry, s);
	if (want_out && s->out_source == 0 && s->retry_source == 0)
		s->out_source = g_unix_fd_add(s->fd, G_IO_OUT | G_IO_HUP | G_IO_ERR, on_out, s);

	bool drained = pending(s) <= STDIN_SINK_LIMIT / 2 || s->broken || s->closing;
	if (s->full && drained) {
		s->full = false;
		if (s->notify_source == 0)
			s->notify_source = g_idle_add(on_notify, s);
	}
}

static gboolean on_out(int fd, GIOCondition cond, gpointer data)
{
	(void)fd;
	struct stdin_sink *s = data;
	size_t done = flush(s);
	update(s, done == 0 && (cond & (G_IO_HUP | G_IO_ERR)) && pending(s) > 0);
	return G_SOURCE_CONTINUE;
}

static gboolean on_retry(gpointer data)
{
	struct stdin_sink *s = data;
	s->retry_source = 0;
	flush(s);
	update(s, false);
	return G_SOURCE_REMOVE;
}

struct stdin_sink *stdin_sink_new(void)
{
	struct stdin_sink *s = g_new0(struct stdin_sink, 1);
	s->fd = -1;
	s->queue = g_byte_array_new();
	return s;
}

void stdin_sink_set_fd(struct stdin_sink *s, int fd)
{
	clear_source(&s->out_source);
	clear_source(&s->retry_source);
	close_fd(s);
	if (s->broken) {
		close(fd);
		return;
	}
	if (cm_set_nonblock(fd, true) < 0)
		diag_warn("unable to make container stdin non-blocking: %s", g_strerror(errno));
	s->fd = fd;
	flush(s);
	update(s, false);
}

bool stdin_sink_write(struct stdin_sink *s, const char *buf, size_t len)
{
	if (s->broken || s->closing) {
		diag_debug("dropping %zu bytes of input: container stdin is closed", len);
		return true;
	}
	g_byte_array_append(s->queue, (const guint8 *)buf, (guint)len);
	/* An armed watch means the fd was full a moment ago: no point trying now. */
	if (s->out_source == 0 && s->retry_source == 0)
		flush(s);
	update(s, false);
	if (s->broken || pending(s) < STDIN_SINK_LIMIT)
		return true;
	s->full = true;
	return false;
}

void stdin_sink_on_writable(struct stdin_sink *s, void (*fn)(void *data), void *data)
{
	s->on_writable = fn;
	s->data = data;
}

void stdin_sink_close(struct stdin_sink *s)
{
	s->closing = true;
	update(s, false);
}

bool stdin_sink_full(const struct stdin_sink *s)
{
	return !s->broken && !s->closing && pending(s) >= STDIN_SINK_LIMIT;
}

size_t stdin_sink_pending(const struct stdin_sink *s)
{
	return pending(s);
}

void stdin_sink_free(struct stdin_sink *s)
{
	if (s == NULL)
		return;
	clear_source(&s->out_source);
	clear_source(&s->retry_source);
	clear_source(&s->notify_source);
	close_fd(s);
	g_byte_array_unref(s->queue);
	g_free(s);
}
