/* SPDX-License-Identifier: Apache-2.0 */
#include "unix_socket.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"

int cm_unix_addr_at(struct sockaddr_un *addr, socklen_t *len, int dir_fd, const char *name, GError **err)
{
	*addr = (struct sockaddr_un){ .sun_family = AF_UNIX };
	int n = snprintf(addr->sun_path, sizeof(addr->sun_path), "/proc/self/fd/%d/%s", dir_fd, name);
	if (n < 0 || (size_t)n >= sizeof(addr->sun_path))
		return cm_set_error(err, ENAMETOOLONG, "Socket name too long: %s", name);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
	return 0;
}

int cm_unix_listen_at(int dir_fd, const char *name, int type, mode_t mode, int backlog, GError **err)
{
	struct sockaddr_un addr;
	socklen_t len = 0;
	if (cm_unix_addr_at(&addr, &len, dir_fd, name, err) < 0)
		return -1;
	if (unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT)
		return cm_set_errno(err, errno, "Failed to remove stale socket %s", name);
	_cleanup_close_ int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return cm_set_errno(err, errno, "Failed to create socket %s", name);
	/* bind() creates the file from the socket inode's mode: never wider than asked, even briefly. */
	if (fchmod(fd, mode) < 0)
		return cm_set_errno(err, errno, "Failed to set the mode of socket %s", name);
	if (bind(fd, (struct sockaddr *)&addr, len) < 0)
		return cm_set_errno(err, errno, "Failed to bind socket %s", name);
	/* The umask narrowed it at bind: make it exact. */
	if (fchmodat(dir_fd, name, mode, 0) < 0 || (backlog >= 0 && listen(fd, backlog) < 0)) {
		int saved = errno;
		unlinkat(dir_fd, name, 0);
		return cm_set_errno(err, saved, "Failed to set up socket %s", name);
	}
	return TAKE_FD(fd);
}

/* Keeps the first max_fds descriptors of msg in fds[]; true when there were more (now closed). */
static bool keep_fds(struct msghdr *msg, int *fds, size_t max_fds)
{
	size_t kept = 0;
	bool extra = false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (kept < max_fds) {
				fds[kept++] = fd;
			} else {
				close(fd);
				extra = true;
			}
		}
	}
	return extra;
}

ssize_t cm_recv_fds(int sock, void *buf, size_t len, int *fds, size_t max_fds, int *flags)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * CM_RECV_FDS_MAX)];
	} control;
	for (size_t i = 0; i < max_fds; i++)
		fds[i] = -1;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	ssize_t n;
	do {
		n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	*flags = msg.msg_flags;
	if (keep_fds(&msg, fds, max_fds))
		*flags |= MSG_CTRUNC;
	return n;
}
