/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/port_relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "common/error.h"
#include "common/io.h"

#define RELAY_BUF (32 * 1024)
#define UDP_MAX 65536
#define UDP_BURST 64
#define ACCEPT_BURST 64
#define ACCEPT_PAUSE_MS 1000
#define TICK_MS 1000
/* Connections reset or sessions dropped at a limit are logged at most this often per port, with their count. */
#define LOG_EVERY_MS 10000
/* A client that vanished while its connection was idle (no FIN, no RST) is found by the kernel's keepalive. */
#define KEEPALIVE_IDLE_S 120
#define KEEPALIVE_INTVL_S 30
#define KEEPALIVE_CNT 4

/* Freed connection buffers go back to the system once the open count fell to a quarter of a peak this big. */
#define TRIM_MIN_CONNS 64

#define MAX_CONNS_LIMIT 1000000
#define MAX_SECONDS_LIMIT 86400

enum fw_kind {
	FW_PIDFD,
	FW_LISTENER,
	FW_UDP_HOST,
	FW_UDP_SESSION,
	FW_END
};

/* First member of everything registered in epoll: says what data.ptr points to. */
struct fw_tag {
	enum fw_kind kind;
};

struct fw_port {
	struct fw_tag tag;
	int fd;
	in_port_t ctr_port; /* network order */
	guint16 host_port;  /* for the log */
	bool paused;
	unsigned open;	       /* TCP connections or UDP sessions */
	unsigned turned_away;  /* connections reset or sessions dropped at the limit, not logged yet */
	gint64 quiet_until_ms; /* no log line for this port before then */
	GHashTable *sessions;  /* UDP: struct udp_key * -> struct udp_session * */
	GQueue lru;	       /* UDP: its sessions, least recently used first */
};

/* A UDP client as the hash sees it. */
struct udp_key {
	/* The relay's random seed: GHashFunc takes no user data, and spoofed sources must not collide at will. */
	guint64 seed;
	guint32 scope;
	sa_family_t family;
	in_port_t port;
	guint8 addr[16];
};

struct udp_session {
	struct fw_tag tag;
	int fd; /* -1 once dropped; freed after the current epoll batch */
	struct fw_port *host;
	struct udp_key key;
	struct sockaddr_storage client;
	socklen_t client_len;
	gint64 last_ms;
	GList lru; /* in host->lru, or in the relay's dead_sessions once dropped */
};

struct relay_conn;

struct relay_end {
	struct fw_tag tag;
	int fd;
	int side;
	struct relay_conn *conn;
	bool fin;     /* the peer's FIN arrived (EPOLLRDHUP), maybe behind data not read yet */
	bool rd_eof;  /* read up to that FIN: nothing more to read */
	bool wr_shut; /* we sent FIN on this socket */
	bool hup;     /* nothing can be written to this socket any more */
	bool registered;
	uint32_t events;
};

/* buf[i] holds bytes read from end[i] not yet written to end[1 - i]. */
struct relay_buf {
	size_t off, len;
	char data[RELAY_BUF];
};

struct relay_conn {
	struct relay_end end[2];
	struct relay_buf buf[2];
	struct fw_port *port;
	gint64 active_ms;   /* when a byte last moved */
	GList closing_link; /* in the relay's closing queue once half-closed */
	bool connecting;
	bool half_closed;
	bool closed;
	struct relay_conn *next_dead;
};

struct port_relay {
	int epfd;
	struct fw_tag pid_tag;
	struct port_relay_limits lim;
	guint64 hash_seed;
	struct fw_port *ports;
	size_t n_ports;
	size_t n_sessions;
	size_t n_conns, peak_conns;
	GQueue closing; /* half-closed connections, least recently active first */
	struct relay_conn *dead;
	GQueue dead_sessions;
	gint64 now_ms;	  /* read once per epoll batch */
	gint64 resume_ms; /* when paused listeners retry accept(); 0: none paused */
	char udp_buf[UDP_MAX];
};

static int limit_from_env(const char *name, unsigned max, unsigned *out, GError **err)
{
	const char *v = g_getenv(name);
	gint64 n;

	if (!v)
		return 0;
	if (!cm_parse_int64(v, &n) || n < 1 || n > max)
		return cm_set_error(err, EINVAL, "%s=%s: want a whole number from 1 to %u", name, v, max);
	*out = (unsigned)n;
	return 0;
}

int port_relay_limits_from_env(struct port_relay_limits *lim, GError **err)
{
	lim->tcp_max_conns = PORT_RELAY_TCP_MAX_CONNS;
	lim->tcp_drain_seconds = PORT_RELAY_TCP_DRAIN_SECONDS;
	lim->udp_max_sessions = PORT_RELAY_UDP_MAX_SESSIONS;
	lim->udp_idle_seconds = PORT_RELAY_UDP_IDLE_SECONDS;
	if (limit_from_env(PORT_RELAY_ENV_TCP_MAX_CONNS, MAX_CONNS_LIMIT, &lim->tcp_max_conns, err) < 0 ||
	    limit_from_env(PORT_RELAY_ENV_TCP_DRAIN, MAX_SECONDS_LIMIT, &lim->tcp_drain_seconds, err) < 0 ||
	    limit_from_env(PORT_RELAY_ENV_UDP_MAX_SESSIONS, MAX_CONNS_LIMIT, &lim->udp_max_sessions, err) < 0 ||
	    limit_from_env(PORT_RELAY_ENV_UDP_IDLE, MAX_SECONDS_LIMIT, &lim->udp_idle_seconds, err) < 0)
		return -1;
	return 0;
}

static gint64 now_ms(void)
{
	return g_get_monotonic_time() / 1000;
}

static void loopback_addr(struct sockaddr_in *sin, in_port_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = port;
}

static int epoll_set(int epfd, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	return epoll_ctl(epfd, op, fd, &ev);
}

/* Close with RST so the client sees a refused/reset connection, like a closed port. */
static void close_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void report_turned_away(struct port_relay *f, struct fw_port *p)
{
	if (p->tag.kind == FW_UDP_HOST)
		syslog(LOG_WARNING,
		       "udp port %u: dropped %u sessions of the least recently heard clients to admit new ones "
		       "(limit %u, %s)",
		       p->host_port, p->turned_away, f->lim.udp_max_sessions, PORT_RELAY_ENV_UDP_MAX_SESSIONS);
	else
		syslog(LOG_WARNING, "tcp port %u: reset %u new connections, %u were open (limit %u, %s)", p->host_port,
		       p->turned_away, p->open, f->lim.tcp_max_conns, PORT_RELAY_ENV_TCP_MAX_CONNS);
	p->turned_away = 0;
	p->quiet_until_ms = f->now_ms + LOG_EVERY_MS;
}

/* The first of a burst is logged at once, the rest in one line per LOG_EVERY_MS (see sweep). */
static void note_turned_away(struct port_relay *f, struct fw_port *p)
{
	p->turned_away++;
	if (f->now_ms >= p->quiet_until_ms)
		report_turned_away(f, p);
}

static void conn_close(struct port_relay *f, struct relay_conn *c, bool reset)
{
	if (c->closed)
		return;
	c->closed = true;
	for (int i = 0; i < 2; i++) {
		if (c->end[i].fd < 0)
			continue;
		if (reset)
			close_reset(c->end[i].fd);
		else
			close(c->end[i].fd);
		c->end[i].fd = -1;
	}
	if (c->half_closed)
		g_queue_unlink(&f->closing, &c->closing_link);
	c->port->open--;
	f->n_conns--;
	/* Freed after the current epoll batch, which may still point at it. */
	c->next_dead = f->dead;
	f->dead = c;
}

/* Once either side closed, the connection lives only while bytes keep moving (see sweep). */
static void conn_activity(struct port_relay *f, struct relay_conn *c, bool moved)
{
	bool closing = false;

	for (int i = 0; i < 2; i++)
		closing |= c->end[i].fin || c->end[i].rd_eof || c->end[i].hup;
	if (moved)
		c->active_ms = f->now_ms;
	if (closing && !c->half_closed) {
		/* The timeout runs from the close, however long the connection was idle before. */
		c->active_ms = f->now_ms;
		c->half_closed = true;
		g_queue_push_tail_link(&f->closing, &c->closing_link);
	} else if (c->half_closed && moved) {
		g_queue_unlink(&f->closing, &c->closing_link);
		g_queue_push_tail_link(&f->closing, &c->closing_link);
	}
}

static int end_register(struct port_relay *f, struct relay_end *e, uint32_t ev)
{
	if (e->hup && ev == 0) {
		/* A hung-up socket reports EPOLLHUP forever; stop watching it until we want to read again. */
		if (e->registered && epoll_ctl(f->epfd, EPOLL_CTL_DEL, e->fd, NULL) < 0)
			return -1;
		e->registered = false;
		return 0;
	}
	if (!e->registered) {
		if (epoll_set(f->epfd, EPOLL_CTL_ADD, e->fd, ev, e) < 0)
			return -1;
		e->registered = true;
	} else if (ev != e->events && epoll_set(f->epfd, EPOLL_CTL_MOD, e->fd, ev, e) < 0) {
		return -1;
	}
	e->events = ev;
	return 0;
}

/* Direction i (end[i] -> end[1 - i]) has nothing more to do. */
static bool dir_finished(const struct relay_conn *c, int i)
{
	const struct relay_end *dst = &c->end[1 - i];

	return dst->hup || (c->end[i].rd_eof && c->buf[i].len == 0 && dst->wr_shut);
}

static void conn_update(struct port_relay *f, struct relay_conn *c)
{
	if (dir_finished(c, 0) && dir_finished(c, 1)) {
		conn_close(f, c, false);
		return;
	}
	for (int i = 0; i < 2; i++) {
		struct relay_end *e = &c->end[i];
		const struct relay_end *o = &c->end[1 - i];
		uint32_t ev = 0;

		if (c->connecting) {
			ev = i == 1 ? EPOLLOUT : 0;
		} else {
			if (!e->rd_eof && !o->hup && c->buf[i].len < RELAY_BUF)
				ev |= EPOLLIN;
			/* Asked for even with a full buffer: a FIN behind unread data starts the drain timeout. */
			if (!e->fin && !e->rd_eof && !e->hup)
				ev |= EPOLLRDHUP;
			if (!e->hup && c->buf[1 - i].len > 0)
				ev |= EPOLLOUT;
		}
		if (end_register(f, e, ev) < 0) {
			conn_close(f, c, true);
			return;
		}
	}
}

/*
 * One recv() (out false) or send() (out true) on a non-blocking socket, retried on EINTR. Returns the bytes
 * moved (0 from recv is EOF), or -1 with errno, EAGAIN meaning not ready.
 */
static ssize_t sock_xfer(int fd, char *p, size_t len, bool out)
{
	for (;;) {
		ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (n >= 0 || errno != EINTR)
			return n;
	}
}

static int dir_read(struct relay_conn *c, int i, bool *moved)
{
	struct relay_buf *b = &c->buf[i];
	struct relay_end *src = &c->end[i];

	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	while (!src->rd_eof && b->len < RELAY_BUF) {
		ssize_t n = sock_xfer(src->fd, b->data + b->len, RELAY_BUF - b->len, false);
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if (n == 0)
			src->rd_eof = true;
		b->len += (size_t)n;
		*moved |= n > 0;
	}
	return 0;
}

static int dir_write(struct relay_conn *c, int i, bool *moved)
{
	struct relay_buf *b = &c->buf[i];
	struct relay_end *dst = &c->end[1 - i];

	if (dst->hup) {
		b->len = 0;
		return 0;
	}
	while (b->len > 0) {
		ssize_t n = sock_xfer(dst->fd, b->data + b->off, b->len, true);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -1;
		b->off += (size_t)n;
		b->len -= (size_t)n;
		*moved |= n > 0;
	}
	if (b->len == 0)
		b->off = 0;
	if (b->len == 0 && c->end[i].rd_eof && !dst->wr_shut) {
		if (shutdown(dst->fd, SHUT_WR) < 0 && errno != ENOTCONN)
			return -1;
		dst->wr_shut = true;
	}
	return 0;
}

static void end_event(struct port_relay *f, struct relay_end *e, uint32_t ev)
{
	struct relay_conn *c = e->conn;
	int i = e->side;
	bool moved = false;

	if (c->closed)
		return;
	if (c->connecting) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		if (i == 0 || getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr != 0) {
			conn_close(f, c, true);
			return;
		}
		c->connecting = false;
		conn_update(f, c);
		return;
	}
	if (ev & EPOLLERR) {
		conn_close(f, c, true);
		return;
	}
	if (ev & EPOLLHUP) {
		e->hup = true;
		c->buf[1 - i].len = 0;
	}
	if (ev & EPOLLRDHUP)
		e->fin = true;
	if ((ev & (EPOLLIN | EPOLLHUP)) && dir_read(c, i, &moved) < 0) {
		conn_close(f, c, true);
		return;
	}
	if (dir_write(c, i, &moved) < 0 || dir_write(c, 1 - i, &moved) < 0) {
		conn_close(f, c, true);
		return;
	}
	conn_activity(f, c, moved);
	conn_update(f, c);
}

static int set_keepalive(int fd)
{
	int on = 1, idle = KEEPALIVE_IDLE_S, intvl = KEEPALIVE_INTVL_S, cnt = KEEPALIVE_CNT;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) < 0)
		return -1;
	return 0;
}

static void conn_start(struct port_relay *f, struct fw_port *l, int cfd)
{
	struct sockaddr_in sin;
	struct relay_conn *c;

	if (set_keepalive(cfd) < 0) {
		close_reset(cfd);
		return;
	}
	int sfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sfd < 0) {
		close_reset(cfd);
		return;
	}
	loopback_addr(&sin, l->ctr_port);
	int r = connect(sfd, (struct sockaddr *)&sin, sizeof(sin));
	if ((r < 0 && errno != EINPROGRESS) || !(c = calloc(1, sizeof(*c)))) {
		close(sfd);
		close_reset(cfd);
		return;
	}
	c->connecting = r < 0;
	c->port = l;
	c->active_ms = f->now_ms;
	c->closing_link.data = c;
	l->open++;
	f->n_conns++;
	f->peak_conns = MAX(f->peak_conns, f->n_conns);
	for (int i = 0; i < 2; i++) {
		c->end[i].tag.kind = FW_END;
		c->end[i].side = i;
		c->end[i].conn = c;
	}
	c->end[0].fd = cfd;
	c->end[1].fd = sfd;
	conn_update(f, c);
}

static void pause_listener(struct port_relay *f, struct fw_port *l)
{
	if (epoll_set(f->epfd, EPOLL_CTL_MOD, l->fd, 0, l) == 0) {
		l->paused = true;
		f->resume_ms = f->now_ms + ACCEPT_PAUSE_MS;
	}
}

static void listener_event(struct port_relay *f, struct fw_port *l)
{
	/* Bounded: a flood of connections must not starve the established ones (epoll reports the rest again). */
	for (int k = 0; k < ACCEPT_BURST; k++) {
		int cfd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			/* Accepted and reset rather than left in the backlog, where it would wait for nothing. */
			if (l->open >= f->lim.tcp_max_conns) {
				close_reset(cfd);
				note_turned_away(f, l);
			} else {
				conn_start(f, l, cfd);
			}
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		/* Out of fds or memory: a level-triggered listener would spin, so back off. */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			pause_listener(f, l);
		return;
	}
}

static guint64 mix64(guint64 h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static guint udp_key_hash(gconstpointer p)
{
	const struct udp_key *k = p;
	guint64 w[2];
	guint64 h = mix64(k->seed ^ ((guint64)k->family << 48 | (guint64)k->port << 32 | k->scope));

	memcpy(w, k->addr, sizeof(w));
	h = mix64(h ^ w[0]);
	h = mix64(h ^ w[1]);
	return (guint)(h ^ (h >> 32));
}

static gboolean udp_key_equal(gconstpointer a, gconstpointer b)
{
	const struct udp_key *x = a, *y = b;

	return x->family == y->family && x->port == y->port && x->scope == y->scope &&
	       memcmp(x->addr, y->addr, sizeof(x->addr)) == 0;
}

static int udp_key_set(struct udp_key *k, guint64 seed, const struct sockaddr_storage *from)
{
	memset(k, 0, sizeof(*k));
	k->seed = seed;
	k->family = from->ss_family;
	if (from->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)from;
		k->port = sin->sin_port;
		memcpy(k->addr, &sin->sin_addr, sizeof(sin->sin_addr));
	} else if (from->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)from;
		k->port = sin6->sin6_port;
		k->scope = sin6->sin6_scope_id;
		memcpy(k->addr, &sin6->sin6_addr, sizeof(sin6->sin6_addr));
	} else {
		return -1;
	}
	return 0;
}

/* Closed now, freed after the current epoll batch, which may still point at it. */
static void udp_session_drop(struct port_relay *f, struct udp_session *s)
{
	struct fw_port *h = s->host;

	g_hash_table_remove(h->sessions, &s->key);
	g_queue_unlink(&h->lru, &s->lru);
	close(s->fd);
	s->fd = -1;
	h->open--;
	f->n_sessions--;
	g_queue_push_tail_link(&f->dead_sessions, &s->lru);
}

static void udp_session_touch(struct port_relay *f, struct udp_session *s)
{
	s->last_ms = f->now_ms;
	g_queue_unlink(&s->host->lru, &s->lru);
	g_queue_push_tail_link(&s->host->lru, &s->lru);
}

/* The least recently used session of h makes room; false when h has none. */
static bool udp_evict(struct port_relay *f, struct fw_port *h)
{
	GList *oldest = g_queue_peek_head_link(&h->lru);

	if (!oldest)
		return false;
	udp_session_drop(f, oldest->data);
	note_turned_away(f, h);
	return true;
}

static int udp_session_socket(struct port_relay *f, struct fw_port *h)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	/* Other ports may have used up the fds: this port's oldest client yields its own. */
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) && udp_evict(f, h))
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	loopback_addr(&sin, h->ctr_port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct udp_session *udp_session_get(struct port_relay *f, struct fw_port *h, const struct sockaddr_storage *from,
					   socklen_t from_len)
{
	struct udp_key key;
	struct udp_session *s;

	if (udp_key_set(&key, f->hash_seed, from) < 0)
		return NULL;
	s = g_hash_table_lookup(h->sessions, &key);
	if (s) {
		udp_session_touch(f, s);
		return s;
	}
	if (h->open >= f->lim.udp_max_sessions)
		udp_evict(f, h);
	int fd = udp_session_socket(f, h);
	if (fd < 0)
		return NULL;
	if (!(s = calloc(1, sizeof(*s)))) {
		close(fd);
		return NULL;
	}
	s->tag.kind = FW_UDP_SESSION;
	s->fd = fd;
	s->host = h;
	s->key = key;
	memcpy(&s->client, from, from_len);
	s->client_len = from_len;
	s->last_ms = f->now_ms;
	s->lru.data = s;
	if (epoll_set(f->epfd, EPOLL_CTL_ADD, fd, EPOLLIN, s) < 0) {
		close(fd);
		free(s);
		return NULL;
	}
	g_hash_table_insert(h->sessions, &s->key, s);
	g_queue_push_tail_link(&h->lru, &s->lru);
	h->open++;
	f->n_sessions++;
	return s;
}

static void udp_host_event(struct port_relay *f, struct fw_port *h)
{
	for (int k = 0; k < UDP_BURST; k++) {
		struct sockaddr_storage from;
		socklen_t from_len = sizeof(from);

		memset(&from, 0, sizeof(from));
		ssize_t n = recvfrom(h->fd, f->udp_buf, sizeof(f->udp_buf), 0, (struct sockaddr *)&from, &from_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		struct udp_session *s = udp_session_get(f, h, &from, from_len);
		if (!s)
			continue;
		/* Datagrams may be dropped, as on any UDP path. */
		(void)send(s->fd, f->udp_buf, (size_t)n, 0);
	}
}

static void udp_session_event(struct port_relay *f, struct udp_session *s)
{
	for (int k = 0; k < UDP_BURST && s->fd >= 0; k++) {
		ssize_t n = recv(s->fd, f->udp_buf, sizeof(f->udp_buf), 0);
		if (n < 0) {
			/* ECONNREFUSED: an earlier datagram found no listener in the container. */
			if (errno == EINTR || errno == ECONNREFUSED)
				continue;
			return;
		}
		udp_session_touch(f, s);
		(void)sendto(s->host->fd, f->udp_buf, (size_t)n, 0, (struct sockaddr *)&s->client, s->client_len);
	}
}

/* Timeouts, deferred log lines, paused listeners and frees; after every epoll batch. */
static void sweep(struct port_relay *f)
{
	gint64 now = f->now_ms;
	gint64 drain_ms = (gint64)f->lim.tcp_drain_seconds * 1000;
	gint64 idle_ms = (gint64)f->lim.udp_idle_seconds * 1000;
	GList *l;

	while ((l = g_queue_peek_head_link(&f->closing))) {
		struct relay_conn *c = l->data;
		if (now - c->active_ms < drain_ms)
			break;
		conn_close(f, c, true);
	}
	for (size_t i = 0; i < f->n_ports; i++) {
		struct fw_port *p = &f->ports[i];
		while ((l = g_queue_peek_head_link(&p->lru))) {
			struct udp_session *s = l->data;
			if (now - s->last_ms < idle_ms)
				break;
			udp_session_drop(f, s);
		}
		if (p->turned_away && now >= p->quiet_until_ms)
			report_turned_away(f, p);
	}
	if (f->resume_ms && now >= f->resume_ms) {
		f->resume_ms = 0;
		for (size_t i = 0; i < f->n_ports; i++) {
			struct fw_port *p = &f->ports[i];
			if (p->paused && epoll_set(f->epfd, EPOLL_CTL_MOD, p->fd, EPOLLIN, p) == 0)
				p->paused = false;
			else if (p->paused)
				f->resume_ms = now + ACCEPT_PAUSE_MS;
		}
	}
	while (f->dead) {
		struct relay_conn *c = f->dead;
		f->dead = c->next_dead;
		free(c);
	}
	while ((l = g_queue_pop_head_link(&f->dead_sessions)))
		free(l->data);
	/* Else a flood's buffers stay in the heap, counted in RSS, long after the flood. */
	if (f->peak_conns >= TRIM_MIN_CONNS && f->n_conns <= f->peak_conns / 4) {
		malloc_trim(0);
		f->peak_conns = f->n_conns;
	}
}

/* Something in sweep() will be due without any event: a timeout, a log line or a paused listener. */
static bool needs_tick(const struct port_relay *f)
{
	if (f->closing.length || f->n_sessions || f->resume_ms)
		return true;
	for (size_t i = 0; i < f->n_ports; i++)
		if (f->ports[i].turned_away)
			return true;
	return false;
}

void port_relay_run(struct port_relay *f)
{
	struct epoll_event evs[64];

	for (;;) {
		int n = epoll_wait(f->epfd, evs, G_N_ELEMENTS(evs), needs_tick(f) ? TICK_MS : -1);
		if (n < 0 && errno != EINTR)
			_exit(1);
		f->now_ms = now_ms();
		for (int k = 0; k < n; k++) {
			struct fw_tag *tag = evs[k].data.ptr;
			switch (tag->kind) {
			case FW_PIDFD:
				/* The container is gone: exiting closes every socket, so the ports are free now. */
				_exit(0);
			case FW_LISTENER: listener_event(f, (struct fw_port *)tag); break;
			case FW_UDP_HOST: udp_host_event(f, (struct fw_port *)tag); break;
			case FW_UDP_SESSION: udp_session_event(f, (struct udp_session *)tag); break;
			case FW_END: end_event(f, (struct relay_end *)tag, evs[k].events); break;
			}
		}
		sweep(f);
	}
}

struct port_relay *port_relay_new(int pidfd, size_t n_ports, const struct port_relay_limits *lim)
{
	struct port_relay *f = calloc(1, sizeof(*f));

	if (!f || !(f->ports = calloc(n_ports ? n_ports : 1, sizeof(*f->ports)))) {
		free(f);
		errno = ENOMEM;
		return NULL;
	}
	f->lim = *lim;
	f->hash_seed = (guint64)g_random_int() << 32 | g_random_int();
	g_queue_init(&f->closing);
	g_queue_init(&f->dead_sessions);
	f->now_ms = now_ms();
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	f->pid_tag.kind = FW_PIDFD;
	if (f->epfd < 0 || epoll_set(f->epfd, EPOLL_CTL_ADD, pidfd, EPOLLIN, &f->pid_tag) < 0) {
		int e = errno;
		if (f->epfd >= 0)
			close(f->epfd);
		free(f->ports);
		free(f);
		errno = e;
		return NULL;
	}
	return f;
}

static int host_port_of(int fd, guint16 *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

int port_relay_add(struct port_relay *f, int fd, bool udp, uint16_t ctr_port)
{
	struct fw_port *p = &f->ports[f->n_ports];

	p->tag.kind = udp ? FW_UDP_HOST : FW_LISTENER;
	p->fd = fd;
	p->ctr_port = htons(ctr_port);
	g_queue_init(&p->lru);
	if (host_port_of(fd, &p->host_port) < 0 || cm_set_nonblock(fd, true) < 0 ||
	    epoll_set(f->epfd, EPOLL_CTL_ADD, fd, EPOLLIN, p) < 0)
		return -1;
	if (udp)
		p->sessions = g_hash_table_new(udp_key_hash, udp_key_equal);
	f->n_ports++;
	return 0;
}
