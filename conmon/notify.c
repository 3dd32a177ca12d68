/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/unix_socket.h"
#include "conmon/diag.h"

#define NOTIFY_SOCK "notify.sock"
/* What systemd accepts in one notification; longer datagrams are dropped. */
#define NOTIFY_MAX 4096
/*
 * At most NOTIFY_BURST datagrams are taken per NOTIFY_WINDOW_MS (200 a
 * second). Past that the socket is not read until the window ends: the
 * kernel holds what was sent and senders wait or see EAGAIN, so a flood
 * costs neither us nor the host's manager more, and nothing is reordered.
 */
#define NOTIFY_BURST 20
#define NOTIFY_WINDOW_MS 100
/*
 * A host socket that is full (EAGAIN) is offered the message again every
 * HOST_RETRY_MS, reading paused meanwhile; after HOST_RETRY_MAX_MS it is
 * dropped with a warning.
 */
#define HOST_RETRY_MS 10
#define HOST_RETRY_MAX_MS 1000

struct notify_proxy {
	int sock;     /* bound at <bundle>/notify/notify.sock */
	int host;     /* unbound; sends to host_addr */
	int host_dir; /* O_PATH directory of a host path too long for sun_path */
	struct sockaddr_un host_addr;
	socklen_t host_len;
	char *sock_path;
	bool bound;
	guint source;
	guint resume_source;
	guint retry_source;
	char *pending;	      /* filtered message the host socket did not take yet */
	gint64 pending_since; /* monotonic µs */
	gint64 window_start;  /* monotonic µs */
	unsigned in_window;   /* datagrams taken since window_start */
	bool warned_rate;
	char buf[NOTIFY_MAX];
};

static const char *const exact_lines[] = { "READY=1", "RELOADING=1", "STOPPING=1", "WATCHDOG=1", "WATCHDOG=trigger" };
static const char *const prefixes[] = { "STATUS=", "ERRNO=", "BUSERROR=", "MONOTONIC_USEC=" };

static bool line_allowed(const char *line, size_t len)
{
	for (size_t i = 0; i < G_N_ELEMENTS(exact_lines); i++)
		if (strlen(exact_lines[i]) == len && memcmp(line, exact_lines[i], len) == 0)
			return true;
	for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++) {
		size_t plen = strlen(prefixes[i]);
		if (len >= plen && memcmp(line, prefixes[i], plen) == 0)
			return true;
	}
	return false;
}

char *notify_filter(const char *msg, size_t len)
{
	g_autoptr(GString) out = g_string_new(NULL);
	const char *end = msg + len;
	for (const char *line = msg; line < end;) {
		/* systemd splits at '\r' too: "STATUS=x\rMAINPID=1" must not pass as one STATUS line. */
		size_t llen = 0;
		while (line + llen < end && line[llen] != '\n' && line[llen] != '\r')
			llen++;
		/* MAINPID and anything unknown stay in the container; so do lines with NULs. */
		if (llen > 0 && memchr(line, '\0', llen) == NULL && line_allowed(line, llen)) {
			if (out->len > 0)
				g_string_append_c(out, '\n');
			g_string_append_len(out, line, (gssize)llen);
		}
		line += llen + 1;
	}
	if (out->len == 0)
		return NULL;
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static int host_address(struct notify_proxy *p, const char *host, GError **err)
{
	struct sockaddr_un *addr = &p->host_addr;
	size_t len = strlen(host);
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	/* "@name": the abstract namespace, as systemd spells NOTIFY_SOCKET. */
	if (host[0] == '@') {
		if (len > sizeof(addr->sun_path))
			return cm_set_error(err, ENAMETOOLONG, "Notify socket name too long: %s", host);
		memcpy(addr->sun_path + 1, host + 1, len - 1);
		p->host_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
		return 0;
	}
	if (len < sizeof(addr->sun_path)) {
		memcpy(addr->sun_path, host, len);
		p->host_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
		return 0;
	}
	g_autofree char *dir = g_path_get_dirname(host);
	g_autofree char *base = g_path_get_basename(host);
	p->host_dir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (p->host_dir < 0)
		return cm_set_errno(err, errno, "Failed to open %s", dir);
	return cm_unix_addr_at(addr, &p->host_len, p->host_dir, base, err);
}

static int bind_notify_socket(struct notify_proxy *p, const char *bundle, GError **err)
{
	g_autofree char *dir = g_build_filename(bundle, "notify", NULL);
	/* podman creates it (and bind-mounts it into the container); others may not. */
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return cm_set_errno(err, errno, "Failed to create %s", dir);
	_cleanup_close_ int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return cm_set_errno(err, errno, "Failed to open %s", dir);
	p->sock_path = g_build_filename(dir, NOTIFY_SOCK, NULL);
	/* The container's user, whoever that is, must be able to send. */
	p->sock = cm_unix_listen_at(dirfd, NOTIFY_SOCK, SOCK_DGRAM, 0777, -1, err);
	if (p->sock < 0)
		return -1;
	p->bound = true;
	return 0;
}

/* Returns false when the host socket is full (EAGAIN): msg is not sent and not lost. */
static bool send_host(struct notify_proxy *p, const char *msg)
{
	ssize_t n;
	do {
		n = sendto(p->host, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&p->host_addr,
			   p->host_len);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return false;
	/* Refused or missing: the host's listener (the engine, systemd) is gone, nobody to tell. */
	if (n < 0 && (errno == ECONNREFUSED || errno == ENOENT))
		diag_debug("notify message not sent, the host socket is gone: %s", g_strerror(errno));
	else if (n < 0)
		diag_warn("Failed to send notify message to the host: %s", g_strerror(errno));
	return true;
}

/* Returns false when the filtered message is left pending: the caller stops reading until it is sent. */
static bool forward(struct notify_proxy *p, const char *msg, size_t len)
{
	g_autofree char *out = notify_filter(msg, len);
	if (out == NULL)
		return true;
	diag_debug("forwarding sd_notify message: %s", out);
	if (send_host(p, out))
		return true;
	p->pending = g_steal_pointer(&out);
	p->pending_since = g_get_monotonic_time();
	return false;
}

static gboolean on_datagram(int fd, GIOCondition cond, gpointer data);

static gboolean on_resume(gpointer data)
{
	struct notify_proxy *p = data;
	p->resume_source = 0;
	p->source = g_unix_fd_add(p->sock, G_IO_IN, on_datagram, p);
	return G_SOURCE_REMOVE;
}

static gboolean on_host_retry(gpointer data)
{
	struct notify_proxy *p = data;
	if (!send_host(p, p->pending)) {
		if (g_get_monotonic_time() - p->pending_since < HOST_RETRY_MAX_MS * 1000)
			return G_SOURCE_CONTINUE;
		diag_warn("Host notify socket takes nothing: dropping notify message %s", p->pending);
	}
	g_clear_pointer(&p->pending, g_free);
	p->retry_source = 0;
	p->source = g_unix_fd_add(p->sock, G_IO_IN, on_datagram, p);
	return G_SOURCE_REMOVE;
}

/* Whether one more datagram may be taken now; if not, reading pauses until the window ends. */
static bool rate_allows(struct notify_proxy *p)
{
	gint64 now = g_get_monotonic_time();
	if (now - p->window_start >= NOTIFY_WINDOW_MS * 1000) {
		p->window_start = now;
		p->in_window = 0;
	}
	if (p->in_window < NOTIFY_BURST) {
		p->in_window++;
		return true;
	}
	if (!p->warned_rate) {
		p->warned_rate = true;
		diag_warn("container sends sd_notify messages faster than %d a second: relaying them at that rate",
			  NOTIFY_BURST * 1000 / NOTIFY_WINDOW_MS);
	}
	guint wait_ms = (guint)((p->window_start + NOTIFY_WINDOW_MS * 1000 - now + 999) / 1000);
	p->source = 0;
	p->resume_source = g_timeout_add(MAX(wait_ms, 1u), on_resume, p);
	return false;
}

static gboolean on_datagram(int fd, GIOCondition cond, gpointer data)
{
	(void)cond;
	struct notify_proxy *p = data;
	for (;;) {
		if (!rate_allows(p))
			return G_SOURCE_REMOVE;
		/* Passed fds are closed here: the host hears only the filtered text. */
		int flags;
		ssize_t n = cm_recv_fds(fd, p->buf, NOTIFY_MAX, NULL, 0, &flags);
		if (n < 0) {
			/* Nothing was taken: the attempt does not count. */
			p->in_window--;
			if (errno != EAGAIN)
				diag_warn("Failed to receive notify message: %s", g_strerror(errno));
			return G_SOURCE_CONTINUE;
		}
		if (flags & MSG_TRUNC) {
			diag_warn("Dropping notify message longer than %d bytes", NOTIFY_MAX);
			continue;
		}
		if (!forward(p, p->buf, (size_t)n)) {
			p->source = 0;
			p->retry_source = g_timeout_add(HOST_RETRY_MS, on_host_retry, p);
			return G_SOURCE_REMOVE;
		}
	}
}

struct notify_proxy *notify_proxy_new(const char *bundle, const char *host_socket, GError **err)
{
	struct notify_proxy *p = g_new0(struct notify_proxy, 1);
	p->sock = p->host = p->host_dir = -1;
	if (host_address(p, host_socket, err) < 0 || bind_notify_socket(p, bundle, err) < 0) {
		notify_proxy_free(p);
		return NULL;
	}
	p->host = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (p->host < 0) {
		cm_set_errno(err, errno, "Failed to create socket");
		notify_proxy_free(p);
		return NULL;
	}
	p->source = g_unix_fd_add(p->sock, G_IO_IN, on_datagram, p);
	return p;
}

/* A container that notifies and exits at once can leave its message queued when the monitor ends: relay what
 * is there (at most one window's worth, each tried once) rather than drop it. */
static void drain(struct notify_proxy *p)
{
	if (p->pending && send_host(p, p->pending))
		g_clear_pointer(&p->pending, g_free);
	for (int i = 0; i < NOTIFY_BURST && !p->pending; i++) {
		int flags;
		ssize_t n = cm_recv_fds(p->sock, p->buf, NOTIFY_MAX, NULL, 0, &flags);

		if (n < 0)
			return;
		if (!(flags & MSG_TRUNC))
			forward(p, p->buf, (size_t)n);
	}
}

void notify_proxy_free(struct notify_proxy *p)
{
	if (p == NULL)
		return;
	if (p->sock >= 0)
		drain(p);
	if (p->source)
		g_source_remove(p->source);
	if (p->resume_source)
		g_source_remove(p->resume_source);
	if (p->retry_source)
		g_source_remove(p->retry_source);
	g_free(p->pending);
	if (p->sock >= 0)
		close(p->sock);
	if (p->bound)
		unlink(p->sock_path);
	if (p->host >= 0)
		close(p->host);
	if (p->host_dir >= 0)
		close(p->host_dir);
	g_free(p->sock_path);
	g_free(p);
}
