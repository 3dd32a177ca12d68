/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/port_relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/io.h"

#define RELAY_BUF (64 * 1024)
#define UDP_MAX 65536
#define UDP_BURST 64
#define ACCEPT_PAUSE_MS 1000
#define TICK_MS 1000

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
	bool paused;
};

struct udp_session {
	struct fw_tag tag;
	int fd;
	struct fw_port *host;
	struct sockaddr_storage client;
	socklen_t client_len;
	gint64 last_ms;
	struct udp_session *next;
};

struct relay_conn;

struct relay_end {
	struct fw_tag tag;
	int fd;
	int side;
	struct relay_conn *conn;
	bool rd_eof;  /* peer of this socket sent FIN: nothing more to read */
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
	bool connecting;
	bool closed;
	struct relay_conn *next_dead;
};

struct port_relay {
	int epfd;
	struct fw_tag pid_tag;
	struct fw_port *ports;
	size_t n_ports;
	struct udp_session *sessions;
	struct relay_conn *dead;
	gint64 resume_ms; /* when paused listeners retry accept(); 0: none paused */
	char udp_buf[UDP_MAX];
};

static gint64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (gint64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
	/* Freed after the current epoll batch, which may still point at it. */
	c->next_dead = f->dead;
	f->dead = c;
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
			if (!e->hup && c->buf[1 - i].len > 0)
				ev |= EPOLLOUT;
		}
		if (end_register(f, e, ev) < 0) {
			conn_close(f, c, true);
			return;
		}
	}
}

static int dir_read(struct relay_conn *c, int i)
{
	struct relay_buf *b = &c->buf[i];
	struct relay_end *src = &c->end[i];

	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	while (!src->rd_eof && b->len < RELAY_BUF) {
		ssize_t n = recv(src->fd, b->data + b->len, RELAY_BUF - b->len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -1;
		}
		if (n == 0)
			src->rd_eof = true;
		b->len += (size_t)n;
	}
	return 0;
}

static int dir_write(struct relay_conn *c, int i)
{
	struct relay_buf *b = &c->buf[i];
	struct relay_end *dst = &c->end[1 - i];

	if (dst->hup) {
		b->len = 0;
		return 0;
	}
	while (b->len > 0) {
		ssize_t n = send(dst->fd, b->data + b->off, b->len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -1;
		}
		b->off += (size_t)n;
		b->len -= (size_t)n;
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
	if ((ev & (EPOLLIN | EPOLLHUP)) && dir_read(c, i) < 0) {
		conn_close(f, c, true);
		return;
	}
	if (dir_write(c, i) < 0 || dir_write(c, 1 - i) < 0) {
		conn_close(f, c, true);
		return;
	}
	conn_update(f, c);
}

static void conn_start(struct port_relay *f, int cfd, in_port_t ctr_port)
{
	struct sockaddr_in sin;
	struct relay_conn *c;
	int sfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (sfd < 0) {
		close_reset(cfd);
		return;
	}
	loopback_addr(&sin, ctr_port);
	int r = connect(sfd, (struct sockaddr *)&sin, sizeof(sin));
	if ((r < 0 && errno != EINPROGRESS) || !(c = calloc(1, sizeof(*c)))) {
		close(sfd);
		close_reset(cfd);
		return;
	}
	c->connecting = r < 0;
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
		f->resume_ms = now_ms() + ACCEPT_PAUSE_MS;
	}
}

static void listener_event(struct port_relay *f, struct fw_port *l)
{
	for (;;) {
		int cfd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			conn_start(f, cfd, l->ctr_port);
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

static struct udp_session *udp_session_get(struct port_relay *f, struct fw_port *h, const struct sockaddr_storage *from,
					   socklen_t from_len)
{
	struct udp_session *s;
	struct sockaddr_in sin;

	for (s = f->sessions; s; s = s->next)
		if (s->host == h && s->client_len == from_len && memcmp(&s->client, from, from_len) == 0)
			return s;

	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	loopback_addr(&sin, h->ctr_port);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || !(s = calloc(1, sizeof(*s)))) {
		close(fd);
		return NULL;
	}
	s->tag.kind = FW_UDP_SESSION;
	s->fd = fd;
	s->host = h;
	memcpy(&s->client, from, from_len);
	s->client_len = from_len;
	if (epoll_set(f->epfd, EPOLL_CTL_ADD, fd, EPOLLIN, s) < 0) {
		close(fd);
		free(s);
		return NULL;
	}
	s->next = f->sessions;
	f->sessions = s;
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
		s->last_ms = now_ms();
		/* Datagrams may be dropped, as on any UDP path. */
		(void)send(s->fd, f->udp_buf, (size_t)n, 0);
	}
}

static void udp_session_event(struct port_relay *f, struct udp_session *s)
{
	for (int k = 0; k < UDP_BURST; k++) {
		ssize_t n = recv(s->fd, f->udp_buf, sizeof(f->udp_buf), 0);
		if (n < 0) {
			/* ECONNREFUSED: an earlier datagram found no listener in the container. */
			if (errno == EINTR || errno == ECONNREFUSED)
				continue;
			return;
		}
		s->last_ms = now_ms();
		(void)sendto(s->host->fd, f->udp_buf, (size_t)n, 0, (struct sockaddr *)&s->client, s->client_len);
	}
}

static void sweep(struct port_relay *f)
{
	gint64 now = now_ms();

	for (struct udp_session **p = &f->sessions; *p;) {
		struct udp_session *s = *p;
		if (now - s->last_ms >= PORT_RELAY_UDP_IDLE_SECONDS * 1000) {
			*p = s->next;
			close(s->fd);
			free(s);
		} else {
			p = &s->next;
		}
	}
	if (f->resume_ms && now >= f->resume_ms) {
		f->resume_ms = 0;
		for (size_t i = 0; i < f->n_ports; i++) {
			struct fw_port *l = &f->ports[i];
			if (l->paused && epoll_set(f->epfd, EPOLL_CTL_MOD, l->fd, EPOLLIN, l) == 0)
				l->paused = false;
			else if (l->paused)
				f->resume_ms = now + ACCEPT_PAUSE_MS;
		}
	}
	while (f->dead) {
		struct relay_conn *c = f->dead;
		f->dead = c->next_dead;
		free(c);
	}
}

void port_relay_run(struct port_relay *f)
{
	struct epoll_event evs[64];

	for (;;) {
		int timeout = f->sessions || f->resume_ms ? TICK_MS : -1;
		int n = epoll_wait(f->epfd, evs, G_N_ELEMENTS(evs), timeout);
		if (n < 0 && errno != EINTR)
			_exit(1);
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

struct port_relay *port_relay_new(int pidfd, size_t n_ports)
{
	struct port_relay *f = calloc(1, sizeof(*f));

	if (!f || !(f->ports = calloc(n_ports ? n_ports : 1, sizeof(*f->ports)))) {
		free(f);
		errno = ENOMEM;
		return NULL;
	}
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

int port_relay_add(struct port_relay *f, int fd, bool udp, uint16_t ctr_port)
{
	struct fw_port *p = &f->ports[f->n_ports];

	p->tag.kind = udp ? FW_UDP_HOST : FW_LISTENER;
	p->fd = fd;
	p->ctr_port = htons(ctr_port);
	if (cm_set_nonblock(fd, true) < 0 || epoll_set(f->epfd, EPOLL_CTL_ADD, fd, EPOLLIN, p) < 0)
		return -1;
	f->n_ports++;
	return 0;
}
