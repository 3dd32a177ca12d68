/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fdlist: print the file descriptors this process was given, for the
 * security tests (what a container process or the monitor's exit command
 * inherited).
 *
 *   fdlist [OUT]
 *
 * One line per descriptor, ascending: "FD TARGET\n", TARGET being the
 * readlink of /proc/self/fd/FD. The descriptor that reads the directory is
 * left out. With OUT the list goes to OUT (written as OUT.tmp, then renamed,
 * and opened only after the listing, so it is not in it); else to stdout.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FDS 4096

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static int fds[MAX_FDS];
	static char out[MAX_FDS * (PATH_MAX / 8)];
	size_t nfds = 0, len = 0;
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;

	if (dir == NULL) {
		perror("fdlist: /proc/self/fd");
		return 1;
	}
	while ((de = readdir(dir)) != NULL && nfds < MAX_FDS) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (*de->d_name == '\0' || *end != '\0' || fd == dirfd(dir))
			continue;
		fds[nfds++] = (int)fd;
	}
	qsort(fds, nfds, sizeof(fds[0]), cmp_int);
	for (size_t i = 0; i < nfds; i++) {
		char link[64], target[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fds[i]);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		int w = snprintf(out + len, sizeof(out) - len, "%d %s\n", fds[i], n < 0 ? "?" : target);
		if (w < 0 || (size_t)w >= sizeof(out) - len)
			break;
		len += (size_t)w;
	}
	closedir(dir);

	if (argc < 2)
		return write_all(STDOUT_FILENO, out, len) < 0 ? 1 : 0;
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write_all(fd, out, len) < 0 || close(fd) < 0 || rename(tmp, argv[1]) < 0) {
		perror("fdlist: OUT");
		return 1;
	}
	return 0;
}
