/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AF_UNIX sockets named relative to a directory fd. The address goes
 * through /proc/self/fd/N/name, so the directory's path length never runs
 * into sun_path's 108 bytes (conmon#213).
 */
#pragma once

#include <glib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/* The address of dir_fd/name; len is what bind() or connect() takes. */
int cm_unix_addr_at(struct sockaddr_un *addr, socklen_t *len, int dir_fd, const char *name, GError **err);

/*
 * A new socket of type (SOCK_CLOEXEC and SOCK_NONBLOCK added) bound at
 * dir_fd/name, replacing a stale socket there, with file mode mode (exact,
 * whatever the umask). Listens with backlog unless backlog < 0 (datagrams).
 */
int cm_unix_listen_at(int dir_fd, const char *name, int type, mode_t mode, int backlog, GError **err);

/* The most descriptors one message may carry (the kernel's SCM_MAX_FD). */
#define CM_RECV_FDS_MAX 253

/*
 * One non-blocking recvmsg() (EINTR retried) of up to len bytes into buf,
 * with the descriptors that came along, close-on-exec: the first max_fds
 * go to fds[] (the rest of fds[] is set to -1), any further ones are
 * closed. *flags gets msg_flags: MSG_TRUNC when the data did not fit,
 * MSG_CTRUNC when descriptors were dropped or closed that way.
 * Returns the byte count (0 at end of stream), or -1 with errno.
 */
ssize_t cm_recv_fds(int sock, void *buf, size_t len, int *fds, size_t max_fds, int *flags);
