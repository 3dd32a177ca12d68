/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/error.h"
#include "conmon/terminal.h"

/* The runtime's side, as runc does it: connect, send the master with its name as payload. */
static int send_master(const char *path, int master, const char *name)
{
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (sock < 0 || strlen(path) >= sizeof(addr.sun_path))
		return -1;
	strcpy(addr.sun_path, path);
	if (connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return -1;
	if (master >= 0) {
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} control;
		memset(&control, 0, sizeof(control));
		struct iovec iov = { .iov_base = (void *)name, .iov_len = strlen(name) };
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = control.buf,
			.msg_controllen = sizeof(control.buf),
		};
		struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &master, sizeof(int));
		if (sendmsg(sock, &msg, 0) < 0)
			return -1;
	}
	close(sock);
	return 0;
}

static pid_t spawn_sender(const char *path, int master, const char *name)
{
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0)
		_exit(send_master(path, master, name) == 0 ? 0 : 1);
	return pid;
}

static void assert_sender_ok(pid_t pid)
{
	int status;
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

static int open_master(char **name)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	g_assert_cmpint(master, >=, 0);
	g_assert_cmpint(grantpt(master), ==, 0);
	g_assert_cmpint(unlockpt(master), ==, 0);
	*name = g_strdup(ptsname(master));
	/* Start without ONLCR so that we see the receiver set it. */
	struct termios t;
	g_assert_cmpint(tcgetattr(master, &t), ==, 0);
	t.c_oflag &= ~ONLCR;
	g_assert_cmpint(tcsetattr(master, TCSANOW, &t), ==, 0);
	return master;
}

/* The directory holding the socket, found through whatever path the runtime is given. */
static char *socket_dir(const char *path)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autoptr(GError) err = NULL;
	char *real = g_file_read_link(dir, &err);
	return real ? real : g_steal_pointer(&dir);
}

static void receive_flow(void)
{
	g_autoptr(GError) err = NULL;
	struct console_socket *c = console_socket_new(&err);
	g_assert_no_error(err);
	const char *path = console_socket_path(c);
	g_autofree char *dir = socket_dir(path);
	g_assert_true(g_str_has_prefix(dir, g_get_tmp_dir()));
	g_assert_true(g_str_has_prefix(strrchr(dir, '/'), "/conmon-term."));
	struct stat st;
	g_assert_cmpint(stat(dir, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0700);
	g_assert_cmpint(stat(path, &st), ==, 0);
	g_assert_true(S_ISSOCK(st.st_mode));

	g_autofree char *name = NULL;
	int master = open_master(&name);
	pid_t pid = spawn_sender(path, master, name);
	int fd = console_socket_receive(c, 5000, &err);
	g_assert_no_error(err);
	g_assert_cmpint(fd, >=, 0);
	assert_sender_ok(pid);
	g_assert_cmpint(access(dir, F_OK), ==, -1);
	g_assert_cmpint(errno, ==, ENOENT);

	struct stat a, b;
	g_assert_cmpint(fstat(fd, &a), ==, 0);
	g_assert_cmpint(fstat(master, &b), ==, 0);
	g_assert_cmpuint(a.st_rdev, ==, b.st_rdev);
	g_assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	struct termios t;
	g_assert_cmpint(tcgetattr(master, &t), ==, 0);
	g_assert_true(t.c_oflag & ONLCR);

	g_assert_cmpint(terminal_resize(fd, 40, 100, &err), ==, 0);
	g_assert_no_error(err);
	struct winsize ws;
	g_assert_cmpint(ioctl(master, TIOCGWINSZ, &ws), ==, 0);
	g_assert_cmpuint(ws.ws_row, ==, 40);
	g_assert_cmpuint(ws.ws_col, ==, 100);

	console_socket_free(c);
	close(fd);
	close(master);
}

static void test_receive(void)
{
	receive_flow();
}

/* A $TMPDIR too long for sun_path: the runtime dials our fd of the directory instead. */
static void test_long_tmpdir(void)
{
	if (g_test_subprocess()) {
		g_autoptr(GError) err = NULL;
		struct console_socket *c = console_socket_new(&err);
		g_assert_no_error(err);
		g_assert_true(g_str_has_prefix(console_socket_path(c), "/proc/"));
		console_socket_free(c);
		receive_flow();
		return;
	}
	g_autoptr(GError) err = NULL;
	g_autofree char *base = g_dir_make_tmp("test_terminal.XXXXXX", &err);
	g_assert_no_error(err);
	g_autofree char *longname = g_strnfill(120, 'd');
	g_autofree char *tmpdir = g_build_filename(base, longname, NULL);
	g_assert_cmpint(mkdir(tmpdir, 0700), ==, 0);
	const char *saved = g_getenv("TMPDIR");
	g_autofree char *saved_copy = g_strdup(saved);
	g_setenv("TMPDIR", tmpdir, TRUE);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
	if (saved_copy)
		g_setenv("TMPDIR", saved_copy, TRUE);
	else
		g_unsetenv("TMPDIR");
	g_test_trap_assert_passed();
	/* Nothing left behind in $TMPDIR. */
	g_assert_cmpint(rmdir(tmpdir), ==, 0);
	g_assert_cmpint(rmdir(base), ==, 0);
}

static void test_timeout(void)
{
	g_autoptr(GError) err = NULL;
	struct console_socket *c = console_socket_new(&err);
	g_assert_no_error(err);
	g_autofree char *dir = socket_dir(console_socket_path(c));
	gint64 start = g_get_monotonic_time();
	g_assert_cmpint(console_socket_receive(c, 100, &err), ==, -1);
	g_assert_cmpint(g_get_monotonic_time() - start, <, 2 * G_USEC_PER_SEC);
	g_assert_error(err, CM_ERRNO_ERROR, ETIMEDOUT);
	console_socket_free(c);
	g_assert_cmpint(access(dir, F_OK), ==, -1);
}

static void test_no_fd(void)
{
	g_autoptr(GError) err = NULL;
	struct console_socket *c = console_socket_new(&err);
	g_assert_no_error(err);
	pid_t pid = spawn_sender(console_socket_path(c), -1, NULL);
	g_assert_cmpint(console_socket_receive(c, 5000, &err), ==, -1);
	g_assert_error(err, CM_ERRNO_ERROR, EBADMSG);
	assert_sender_ok(pid);
	console_socket_free(c);
}

static void test_resize_error(void)
{
	g_autoptr(GError) err = NULL;
	int p[2];
	g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
	g_assert_cmpint(terminal_resize(p[0], 1, 1, &err), ==, -1);
	g_assert_error(err, CM_ERRNO_ERROR, ENOTTY);
	close(p[0]);
	close(p[1]);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/terminal/receive", test_receive);
	g_test_add_func("/terminal/long_tmpdir", test_long_tmpdir);
	g_test_add_func("/terminal/timeout", test_timeout);
	g_test_add_func("/terminal/no_fd", test_no_fd);
	g_test_add_func("/terminal/resize_error", test_resize_error);
	return g_test_run();
}
