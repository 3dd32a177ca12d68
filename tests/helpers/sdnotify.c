/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sdnotify: send one datagram to $NOTIFY_SOCKET, for the sd_notify proxy tests.
 *
 *   sdnotify MESSAGE [SECONDS]
 *
 * The two-character sequences "\n" and "\r" in MESSAGE become a newline and
 * a carriage return. Exits 0 when the datagram was sent, 1 otherwise. With
 * SECONDS, sends MESSAGE over and over for that long without ever waiting
 * (a full socket just counts as not sent) and prints how many were sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: sdnotify MESSAGE [SECONDS]\n");
		return 2;
	}
	const char *path = getenv("NOTIFY_SOCKET");
	if (path == NULL || path[0] == '\0') {
		fprintf(stderr, "sdnotify: NOTIFY_SOCKET not set\n");
		return 1;
	}
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "sdnotify: NOTIFY_SOCKET too long\n");
		return 1;
	}
	strcpy(addr.sun_path, path);
	if (addr.sun_path[0] == '@')
		addr.sun_path[0] = '\0';

	size_t n = strlen(argv[1]);
	char *msg = malloc(n + 1);
	if (msg == NULL)
		return 1;
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		if (argv[1][i] == '\\' && (argv[1][i + 1] == 'n' || argv[1][i + 1] == 'r')) {
			msg[len++] = argv[1][i + 1] == 'n' ? '\n' : '\r';
			i++;
		} else {
			msg[len++] = argv[1][i];
		}
	}
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	if (argc == 3) {
		double end = now() + atof(argv[2]);
		unsigned long sent = 0;
		while (now() < end) {
			if (sendto(fd, msg, len, MSG_DONTWAIT, (struct sockaddr *)&addr, sizeof(addr)) == (ssize_t)len)
				sent++;
			else if (errno != EAGAIN && errno != EINTR) {
				perror("sendto");
				return 1;
			}
		}
		printf("sent %lu\n", sent);
		return 0;
	}
	if (sendto(fd, msg, len, 0, (struct sockaddr *)&addr, sizeof(addr)) != (ssize_t)len) {
		perror("sendto");
		return 1;
	}
	printf("sent %zu\n", len);
	return 0;
}
