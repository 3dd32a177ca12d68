/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netpeer: the container end of the port forwarder tests, listening on
 * 0.0.0.0:PORT.
 *
 *   netpeer tcp-hold PORT   accept every connection, send it "hi\n" and never
 *                           read from it; close it only once it is reset
 *   netpeer udp-echo PORT   send every datagram back to where it came from
 *
 * Runs until killed. Raises its soft fd limit to the hard one; when fds run
 * out, new connections wait in the listen backlog.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int bind_any(int type, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = INADDR_ANY };
	int one = 1;
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("netpeer: bind");
		exit(1);
	}
	return fd;
}

static int udp_echo(int port)
{
	static char buf[65536];
	int fd = bind_any(SOCK_DGRAM, port);

	for (;;) {
		struct sockaddr_storage from;
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
		if (n >= 0)
			(void)sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
		else if (errno != EINTR)
			return 1;
	}
}

static int tcp_hold(int port)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[64];
	int lfd = bind_any(SOCK_STREAM, port);
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ev.data.fd = lfd;
	if (listen(lfd, 4096) < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		perror("netpeer: listen");
		return 1;
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd != lfd) {
				/* Reset or closed by the forwarder: only then is it let go, still unread. */
				close(fd);
				continue;
			}
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0) {
				if (errno == EMFILE || errno == ENFILE)
					usleep(100 * 1000);
				continue;
			}
			struct epoll_event cev = { .events = EPOLLRDHUP, .data.fd = c };
			if (write(c, "hi\n", 3) != 3 || epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) < 0)
				close(c);
		}
	}
}

int main(int argc, char **argv)
{
	struct rlimit rl;

	if (argc != 3) {
		fprintf(stderr, "usage: netpeer tcp-hold|udp-echo PORT\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (strcmp(argv[1], "tcp-hold") == 0)
		return tcp_hold(atoi(argv[2]));
	if (strcmp(argv[1], "udp-echo") == 0)
		return udp_echo(atoi(argv[2]));
	fprintf(stderr, "netpeer: unknown mode %s\n", argv[1]);
	return 2;
}
