/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/unix_socket.h"
#include "conmon/diag.h"

#define SOCKET_NAME "console"
#define LISTEN_BACKLOG 128
/* runc sends the terminal's name along with the fd. */
#define NAME_MAX_LEN 4096

struct console_socket {
	char *dir;  /* private directory holding the socket; NULL once removed */
	char *path; /* what the runtime is told to connect to */
	int dir_fd; /* O_PATH */
	int listen_fd;
};

static void remove_paths(struct console_socket *c)
{
	if (c->dir == NULL)
		return;
	if (c->dir_fd >= 0 && unlinkat(c->dir_fd, SOCKET_NAME, 0) < 0 && errno != ENOENT)
		diag_debug("Failed to remove console socket: %s", g_strerror(errno));
	if (rmdir(c->dir) < 0)
		diag_debug("Failed to remove %s: %s", c->dir, g_strerror(errno));
	g_clear_pointer(&c->dir, g_free);
}

static int bind_and_listen(struct console_socket *c, GError **err)
{
	c->dir_fd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->dir_fd < 0)
		return cm_set_errno(err, errno, "Failed to open %s", c->dir);
	c->listen_fd = cm_unix_listen_at(c->dir_fd, SOCKET_NAME, SOCK_STREAM, 0700, LISTEN_BACKLOG, err);
	if (c->listen_fd < 0)
		g_prefix_error(err, "console socket in %s: ", c->dir);
	return c->listen_fd < 0 ? -1 : 0;
}

struct console_socket *console_socket_new(GError **err)
{
	struct console_socket *c = g_new0(struct console_socket, 1);
	c->dir_fd = -1;
	c->listen_fd = -1;
	/* A fresh private directory: nobody can race us for the socket's name. */
	g_autofree char *tmpl = g_build_filename(g_get_tmp_dir(), "conmon-term.XXXXXX", NULL);
	if (g_mkdtemp_full(tmpl, 0700) == NULL) {
		cm_set_errno(err, errno, "Failed to create directory for the console socket in %s", g_get_tmp_dir());
		console_socket_free(c);
		return NULL;
	}
	c->dir = g_steal_pointer(&tmpl);
	if (bind_and_listen(c, err) < 0) {
		console_socket_free(c);
		return NULL;
	}
	c->path = g_build_filename(c->dir, SOCKET_NAME, NULL);
	/* The runtime connects by path: reach a long $TMPDIR through our fd of the directory. */
	if (strlen(c->path) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		g_free(c->path);
		c->path = g_strdup_printf("/proc/%d/fd/%d/" SOCKET_NAME, getpid(), c->dir_fd);
	}
	return c;
}

const char *console_socket_path(const struct console_socket *c)
{
	return c->path;
}

/* Poll fd for input until deadline (monotonic us, -1: none); 0 when readable. */
static int wait_readable(int fd, gint64 deadline, GError **err)
{
	for (;;) {
		int timeout = -1;
		if (deadline >= 0) {
			gint64 left = deadline - g_get_monotonic_time();
			timeout = left > 0 ? (int)((left + 999) / 1000) : 0;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, timeout);
		if (r > 0)
			return 0;
		if (r == 0)
			return cm_set_error(err, ETIMEDOUT, "the runtime did not send a terminal in time");
		if (errno != EINTR)
			return cm_set_errno(err, errno, "poll on console socket");
	}
}

static int receive_fd(int conn, gint64 deadline, GError **err)
{
	char name[NAME_MAX_LEN];
	for (;;) {
		int fd, flags;
		ssize_t n = cm_recv_fds(conn, name, sizeof(name), &fd, 1, &flags);
		if (n < 0 && errno == EAGAIN) {
			if (wait_readable(conn, deadline, err) < 0)
				return -1;
			continue;
		}
		if (n < 0)
			return cm_set_errno(err, errno, "Failed to receive the terminal");
		if (fd >= 0 && (flags & MSG_CTRUNC) == 0)
			return fd;
		if (fd >= 0)
			close(fd);
		if (flags & MSG_CTRUNC)
			return cm_set_error(err, EBADMSG, "the console socket message carried more than one fd");
		return cm_set_error(err, EBADMSG, "the console socket %s without a terminal",
				    n == 0 ? "was closed" : "sent data");
	}
}

static void set_onlcr(int fd)
{
	struct termios t;
	if (tcgetattr(fd, &t) < 0) {
		diag_warn("Failed to get terminal attributes: %s", g_strerror(errno));
		return;
	}
	t.c_oflag |= ONLCR;
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		diag_warn("Failed to set ONLCR on the terminal: %s", g_strerror(errno));
}

int console_socket_fd(const struct console_socket *c)
{
	return c->listen_fd;
}

int console_socket_receive(struct console_socket *c, int timeout_ms, GError **err)
{
	gint64 deadline = timeout_ms < 0 ? -1 : g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	_cleanup_close_ int conn = -1;
	while (conn < 0) {
		if (wait_readable(c->listen_fd, deadline, err) < 0)
			return -1;
		conn = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (conn < 0 && errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			return cm_set_errno(err, errno, "Failed to accept on the console socket");
	}
	/* One connection is all we take: nobody else may reach us through the path now. */
	close(c->listen_fd);
	c->listen_fd = -1;
	remove_paths(c);
	int fd = receive_fd(conn, deadline, err);
	if (fd >= 0)
		set_onlcr(fd);
	return fd;
}

void console_socket_free(struct console_socket *c)
{
	if (c == NULL)
		return;
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	remove_paths(c);
	if (c->dir_fd >= 0)
		close(c->dir_fd);
	g_free(c->path);
	g_free(c);
}

int terminal_resize(int master, unsigned short rows, unsigned short cols, GError **err)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };
	if (ioctl(master, TIOCSWINSZ, &ws) < 0)
		return cm_set_errno(err, errno, "Failed to set the terminal size");
	return 0;
}
