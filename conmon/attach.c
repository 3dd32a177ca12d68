/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Slow-client policy. The reference writes each packet to each client with a
 * blocking write, so one client that stops reading stalls the whole monitor
 * (logging included). Here every send is non-blocking: a packet the kernel
 * will not take yet goes into that client's queue (packets shared between
 * clients) and is sent when the socket polls writable. When a queue grows
 * past ATTACH_CLIENT_QUEUE_MAX:
 *  - a client that has never read a byte although output has been waiting
 *    for it for ATTACH_STALL_MS is disconnected at once, with a warning
 *    naming the bytes pending: nobody else notices it. One that just has
 *    not started yet (podman attaches, runs `runtime start`, then reads)
 *    gets back-pressure like any reader until then;
 *  - a client that reads, only slower than the container writes, gets
 *    back-pressure: attach_broadcast() asks the caller to stop reading the
 *    container until the queues are half empty again, so a slow terminal
 *    behind `podman run` loses nothing (the reference's behaviour);
 *  - a client that stops reading for ATTACH_STALL_MS while over the bound
 *    is disconnected and the container resumes.
 * Output is never dropped silently from a connected client.
 */
#include "conmon/attach.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <linux/sockios.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/unix_socket.h"
#include "conmon/diag.h"

#define SOCKET_NAME "attach"
#define LISTEN_BACKLOG 10
/* Largest input packet taken from a client (longer ones are truncated by the kernel). */
#define INPUT_PACKET_MAX 32768
/* Input packets taken from one client per wakeup, so that one client cannot starve the rest. */
#define INPUT_BURST 64
/* Back off accepting after an error such as EMFILE, instead of spinning on a readable listener. */
#define ACCEPT_RETRY_MS 1000
/* How long a draining client may make no progress before it counts as stuck. */
#define ATTACH_STALL_MS 1000
/* At exit, delivering what is queued may take this long at most, however the clients read. */
#define ATTACH_FLUSH_MAX_MS 10000
/* The reference's limit: a symlink this long would collide with its socket path. */
#define SYMLINK_COLLIDE_LEN 107

struct attach_server;

struct attach_client {
	struct attach_server *srv;
	int fd;
	guint source;
	GIOCondition cond; /* what source watches */
	GQueue out;	   /* GBytes packets the socket did not take yet */
	size_t out_bytes;
	guint64 handed;	     /* bytes the socket has accepted from us */
	gint64 first_offer;  /* monotonic µs when output was first handed or queued for it */
	gint64 last_drain;   /* monotonic µs of the last send from the queue */
	gint64 queued_since; /* monotonic µs when the queue last became non-empty */
	bool eof;	     /* the client sent EOF: no more input from it */
	bool paused;	     /* the stdin queue is full: not reading input */
};

struct attach_server {
	int listen_fd;
	int dir_fd; /* O_PATH fd of the directory holding the socket */
	guint listen_source;
	guint retry_source;
	char *symlink_path; /* <socket-dir>/<cuuid>, when we made it */
	GList *clients;
	struct stdin_sink *in;
	bool leave_stdin_open;
	bool congested;	       /* the caller was asked to pause */
	guint64 dropped_input; /* from clients that hung up while the stdin queue was full */
	guint stall_source;    /* checks congested clients for progress */
	void (*resume)(void *data);
	void *resume_data;
};

static char input_buf[INPUT_PACKET_MAX];

static void client_free(struct attach_client *c)
{
	if (c->source)
		g_source_remove(c->source);
	close(c->fd);
	g_queue_clear_full(&c->out, (GDestroyNotify)g_bytes_unref);
	g_free(c);
}

static void client_drop(struct attach_client *c)
{
	struct attach_server *s = c->srv;
	s->clients = g_list_remove(s->clients, c);
	client_free(c);
}

static gboolean on_client(int fd, GIOCondition cond, gpointer data);

/* Watch exactly what the client's state needs; HUP/ERR always, so a gone client is noticed. */
static void client_rearm(struct attach_client *c)
{
	GIOCondition cond = G_IO_HUP | G_IO_ERR;
	if (!c->eof && !c->paused)
		cond |= G_IO_IN;
	if (c->out.length > 0)
		cond |= G_IO_OUT;
	if (c->source && cond == c->cond)
		return;
	if (c->source)
		g_source_remove(c->source);
	c->cond = cond;
	c->source = g_unix_fd_add(c->fd, cond, on_client, c);
}

static void client_eof(struct attach_client *c)
{
	struct attach_server *s = c->srv;
	c->eof = true;
	diag_debug("attach client sent EOF");
	if (s->in && !s->leave_stdin_open)
		stdin_sink_close(s->in);
	client_rearm(c);
}

/* A client that hung up leaves input the stdin queue has no room for: it is dropped, not queued. */
static void client_drop_input(struct attach_client *c)
{
	int inq = 0;
	if (ioctl(c->fd, SIOCINQ, &inq) < 0 || inq <= 0)
		return;
	c->srv->dropped_input += (guint64)inq;
	diag_warn("attach client hung up with %d bytes of input the container's stdin has no room for: dropped", inq);
}

/*
 * Take input packets into the stdin queue, never past its limit (by more
 * than one packet): a full queue pauses a connected client, and drops what
 * a client that hung up still had in flight. Returns false when the client
 * is gone (freed). hangup: the client is gone after this, read all it sent.
 */
static bool client_read(struct attach_client *c, bool hangup)
{
	struct attach_server *s = c->srv;
	for (int i = 0; hangup || i < INPUT_BURST; i++) {
		if (s->in && stdin_sink_full(s->in)) {
			if (hangup) {
				client_drop_input(c);
				return true;
			}
			c->paused = true;
			client_rearm(c);
			return true;
		}
		ssize_t n = recv(c->fd, input_buf, sizeof(input_buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n < 0) {
			diag_debug("attach client read failed: %s", g_strerror(errno));
			client_drop(c);
			return false;
		}
		if (n == 0) {
			client_eof(c);
			return true;
		}
		if (s->in)
			stdin_sink_write(s->in, input_buf, (size_t)n);
	}
	return true;
}

/* Send queued packets; returns false when the client is gone (freed). */
static bool client_flush(struct attach_client *c)
{
	while (c->out.length > 0) {
		GBytes *pkt = g_queue_peek_head(&c->out);
		gsize len;
		const void *data = g_bytes_get_data(pkt, &len);
		ssize_t n = send(c->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0) {
			diag_debug("attach client went away: %s", g_strerror(errno));
			client_drop(c);
			return false;
		}
		g_bytes_unref(g_queue_pop_head(&c->out));
		c->out_bytes -= len;
		c->handed += len;
		c->last_drain = g_get_monotonic_time();
	}
	client_rearm(c);
	return true;
}

/* Lift the back-pressure once no client is more than half full. */
static void maybe_resume(struct attach_server *s)
{
	if (!s->congested)
		return;
	for (GList *l = s->clients; l; l = l->next) {
		struct attach_client *c = l->data;
		if (c->out_bytes > ATTACH_CLIENT_QUEUE_MAX / 2)
			return;
	}
	s->congested = false;
	if (s->stall_source)
		g_source_remove(s->stall_source);
	s->stall_source = 0;
	if (s->resume)
		s->resume(s->resume_data);
}

/*
 * Has the peer ever read anything? SIOCOUTQ on a unix socket is the memory of
 * the packets it has not consumed, never less than their payload: below what
 * we handed over means some of it was read.
 */
static bool client_ever_read(const struct attach_client *c)
{
	int outq;
	if (c->last_drain != 0)
		return true;
	if (ioctl(c->fd, SIOCOUTQ, &outq) < 0)
		return true;
	return (guint64)outq < c->handed;
}

/*
 * Stuck: output has waited for it for ATTACH_STALL_MS and it never read a
 * byte, or it made no progress for ATTACH_STALL_MS since it last drained
 * or, if later, since its backlog began.
 */
static bool client_stalled(const struct attach_client *c, gint64 now)
{
	if (now - c->first_offer > ATTACH_STALL_MS * 1000 && !client_ever_read(c))
		return true;
	return now - MAX(c->last_drain, c->queued_since) > ATTACH_STALL_MS * 1000;
}

static void client_drop_stuck(struct attach_client *c)
{
	diag_warn("attach client is not reading, disconnecting it with %zu bytes of output pending", c->out_bytes);
	client_drop(c);
}

static gboolean on_stall_check(gpointer data)
{
	struct attach_server *s = data;
	gint64 now = g_get_monotonic_time();
	for (GList *l = s->clients, *next; l; l = next) {
		struct attach_client *c = l->data;
		next = l->next;
		if (c->out_bytes > ATTACH_CLIENT_QUEUE_MAX && client_stalled(c, now))
			client_drop_stuck(c);
	}
	maybe_resume(s);
	return G_SOURCE_CONTINUE;
}

static gboolean on_client(int fd, GIOCondition cond, gpointer data)
{
	(void)fd;
	struct attach_client *c = data;
	struct attach_server *s = c->srv;
	if (cond & G_IO_OUT) {
		bool alive = client_flush(c);
		maybe_resume(s);
		if (!alive)
			return G_SOURCE_CONTINUE;
	}
	if ((cond & G_IO_IN) && !c->eof && !c->paused && !client_read(c, false))
		return G_SOURCE_CONTINUE;
	if (cond & G_IO_ERR) {
		diag_debug("attach client socket error, disconnecting it");
		client_drop(c);
		maybe_resume(s);
	} else if (cond & G_IO_HUP) {
		/* Closed without a shutdown first: what it sent still counts, then its EOF. */
		if (!c->eof && !client_read(c, true))
			return G_SOURCE_CONTINUE;
		if (!c->eof)
			client_eof(c);
		client_drop(c);
		maybe_resume(s);
	}
	return G_SOURCE_CONTINUE;
}

static void resume_clients(void *data)
{
	struct attach_server *s = data;
	for (GList *l = s->clients; l; l = l->next) {
		struct attach_client *c = l->data;
		if (c->paused) {
			c->paused = false;
			client_rearm(c);
		}
	}
}

static gboolean on_accept_retry(gpointer data);

static gboolean on_listen(int fd, GIOCondition cond, gpointer data)
{
	(void)cond;
	struct attach_server *s = data;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (cfd < 0 && errno == EAGAIN)
			return G_SOURCE_CONTINUE;
		if (cfd < 0) {
			diag_warn("Failed to accept attach client: %s", g_strerror(errno));
			s->listen_source = 0;
			s->retry_source = g_timeout_add(ACCEPT_RETRY_MS, on_accept_retry, s);
			return G_SOURCE_REMOVE;
		}
		struct attach_client *c = g_new0(struct attach_client, 1);
		c->srv = s;
		c->fd = cfd;
		g_queue_init(&c->out);
		s->clients = g_list_prepend(s->clients, c);
		client_rearm(c);
		diag_debug("accepted attach client");
	}
}

static gboolean on_accept_retry(gpointer data)
{
	struct attach_server *s = data;
	s->retry_source = 0;
	s->listen_source = g_unix_fd_add(s->listen_fd, G_IO_IN, on_listen, s);
	return G_SOURCE_REMOVE;
}

/* The short <socket-dir>/<cuuid> symlink to the bundle, replacing an old one. */
static char *make_symlink(const char *bundle, const char *socket_dir, const char *cuuid, GError **err)
{
	if (cuuid == NULL) {
		cm_set_error(err, EINVAL, "Container UUID not provided, needed for the attach socket");
		return NULL;
	}
	if (g_mkdir_with_parents(socket_dir, 0755) < 0) {
		cm_set_errno(err, errno, "Failed to create %s", socket_dir);
		return NULL;
	}
	g_autofree char *path = g_build_filename(socket_dir, cuuid, NULL);
	if (strlen(path) == SYMLINK_COLLIDE_LEN)
		path[SYMLINK_COLLIDE_LEN - 1] = '\0';
	if (unlink(path) < 0 && errno != ENOENT) {
		cm_set_errno(err, errno, "Failed to remove existing symlink %s", path);
		return NULL;
	}
	if (symlink(bundle, path) < 0) {
		cm_set_errno(err, errno, "Failed to create symlink %s for attach socket", path);
		return NULL;
	}
	return g_steal_pointer(&path);
}

static int bind_socket(struct attach_server *s, const char *dir, GError **err)
{
	s->dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->dir_fd < 0)
		return cm_set_errno(err, errno, "Failed to open %s for the attach socket", dir);
	s->listen_fd = cm_unix_listen_at(s->dir_fd, SOCKET_NAME, SOCK_SEQPACKET, 0700, LISTEN_BACKLOG, err);
	if (s->listen_fd < 0)
		g_prefix_error(err, "attach socket in %s: ", dir);
	return s->listen_fd < 0 ? -1 : 0;
}

struct attach_server *attach_server_new(const char *bundle, const char *socket_dir, const char *cuuid, bool full_attach,
					struct stdin_sink *in, bool leave_stdin_open, GError **err)
{
	struct attach_server *s = g_new0(struct attach_server, 1);
	s->listen_fd = -1;
	s->dir_fd = -1;
	s->in = in;
	s->leave_stdin_open = leave_stdin_open;
	if (!full_attach) {
		s->symlink_path = make_symlink(bundle, socket_dir, cuuid, err);
		if (s->symlink_path == NULL) {
			attach_server_free(s);
			return NULL;
		}
	}
	if (bind_socket(s, full_attach ? bundle : s->symlink_path, err) < 0) {
		attach_server_free(s);
		return NULL;
	}
	s->listen_source = g_unix_fd_add(s->listen_fd, G_IO_IN, on_listen, s);
	if (in)
		stdin_sink_on_writable(in, resume_clients, s);
	return s;
}

/* Hand one packet to one client: now if the socket takes it, else queued. Returns false if dropped. */
static bool client_offer(struct attach_client *c, const char *pkt, size_t len, GBytes **shared)
{
	if (c->first_offer == 0)
		c->first_offer = g_get_monotonic_time();
	if (c->out.length == 0) {
		ssize_t n;
		do
			n = send(c->fd, pkt, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n >= 0) {
			c->handed += len;
			return true;
		}
		if (errno != EAGAIN) {
			diag_debug("attach client went away: %s", g_strerror(errno));
			client_drop(c);
			return false;
		}
	}
	if (*shared == NULL)
		*shared = g_bytes_new(pkt, len);
	if (c->out.length == 0)
		c->queued_since = g_get_monotonic_time();
	g_queue_push_tail(&c->out, g_bytes_ref(*shared));
	c->out_bytes += len;
	client_rearm(c);
	return true;
}

bool attach_broadcast(struct attach_server *s, enum stdpipe pipe, const char *buf, size_t len)
{
	char pkt[ATTACH_PACKET_MAX + 1];
	pkt[0] = (char)pipe;
	while (s->clients && len > 0) {
		size_t chunk = MIN(len, (size_t)ATTACH_PACKET_MAX);
		memcpy(pkt + 1, buf, chunk);
		GBytes *shared = NULL;
		for (GList *l = s->clients, *next; l; l = next) {
			next = l->next;
			client_offer(l->data, pkt, chunk + 1, &shared);
		}
		if (shared)
			g_bytes_unref(shared);
		buf += chunk;
		len -= chunk;
	}

	gint64 now = g_get_monotonic_time();
	for (GList *l = s->clients, *next; l; l = next) {
		struct attach_client *c = l->data;
		next = l->next;
		if (c->out_bytes <= ATTACH_CLIENT_QUEUE_MAX)
			continue;
		if (client_stalled(c, now))
			client_drop_stuck(c);
		else
			s->congested = true;
	}
	if (s->congested && s->stall_source == 0)
		s->stall_source = g_timeout_add(ATTACH_STALL_MS / 2, on_stall_check, s);
	return s->congested;
}

void attach_server_on_resume(struct attach_server *s, void (*fn)(void *data), void *data)
{
	s->resume = fn;
	s->resume_data = data;
}

void attach_server_accept_pending(struct attach_server *s)
{
	if (s->listen_fd >= 0)
		on_listen(s->listen_fd, G_IO_IN, s);
}

static bool queues_empty(const struct attach_server *s)
{
	for (GList *l = s->clients; l; l = l->next) {
		const struct attach_client *c = l->data;
		if (c->out_bytes > 0)
			return false;
	}
	return true;
}

static gboolean on_tick(gpointer data)
{
	(void)data;
	return G_SOURCE_CONTINUE;
}

void attach_server_flush(struct attach_server *s)
{
	/* Same stall rule as while running: wait only for clients that make progress. */
	gint64 start = g_get_monotonic_time(), last = start;
	size_t pending = SIZE_MAX;
	guint tick = g_timeout_add(ATTACH_STALL_MS / 10, on_tick, NULL);
	while (!queues_empty(s) && g_get_monotonic_time() - start < ATTACH_FLUSH_MAX_MS * 1000) {
		size_t now_pending = 0;
		for (GList *l = s->clients; l; l = l->next)
			now_pending += ((struct attach_client *)l->data)->out_bytes;
		if (now_pending < pending) {
			pending = now_pending;
			last = g_get_monotonic_time();
		} else if (g_get_monotonic_time() - last > ATTACH_STALL_MS * 1000) {
			break;
		}
		g_main_context_iteration(NULL, TRUE);
	}
	g_source_remove(tick);
	if (!queues_empty(s))
		diag_warn("attach clients stopped reading: output not delivered to them at exit");
}

unsigned attach_client_count(const struct attach_server *s)
{
	return g_list_length(s->clients);
}

void attach_server_free(struct attach_server *s)
{
	if (s == NULL)
		return;
	g_list_free_full(s->clients, (GDestroyNotify)client_free);
	if (s->stall_source)
		g_source_remove(s->stall_source);
	if (s->listen_source)
		g_source_remove(s->listen_source);
	if (s->retry_source)
		g_source_remove(s->retry_source);
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		if (unlinkat(s->dir_fd, SOCKET_NAME, 0) < 0 && errno != ENOENT)
			diag_debug("Failed to remove attach socket: %s", g_strerror(errno));
	}
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	if (s->symlink_path && unlink(s->symlink_path) < 0 && errno != ENOENT)
		diag_debug("Failed to remove %s: %s", s->symlink_path, g_strerror(errno));
	if (s->in)
		stdin_sink_on_writable(s->in, NULL, NULL);
	if (s->dropped_input > 0)
		diag_info("%" G_GUINT64_FORMAT " bytes of attach input dropped in all: the container's stdin was full",
			  s->dropped_input);
	g_free(s->symlink_path);
	g_free(s);
}
