/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sdnotify: send one datagram to $NOTIFY_SOCKET, for the sd_notify proxy tests.
 *
 *   sdnotify MESSAGE
 *
 * The two-character sequence "\n" in MESSAGE becomes a newline. Exits 0 when
 * the datagram was sent, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: sdnotify MESSAGE\n");
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
		if (argv[1][i] == '\\' && argv[1][i + 1] == 'n') {
			msg[len++] = '\n';
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
	if (sendto(fd, msg, len, 0, (struct sockaddr *)&addr, sizeof(addr)) != (ssize_t)len) {
		perror("sendto");
		return 1;
	}
	printf("sent %zu\n", len);
	return 0;
}
