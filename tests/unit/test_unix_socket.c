/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/unix_socket.h"

/* Send msg with n copies of /dev/null as SCM_RIGHTS. */
static void send_with_fds(int sock, const char *msg, size_t n)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} control = { 0 };
	g_assert_cmpuint(n, <=, 4);
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[4];
	if (n > 0) {
		m.msg_control = control.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		for (size_t i = 0; i < n; i++) {
			fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
			g_assert_cmpint(fds[i], >=, 0);
		}
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	g_assert_cmpint(sendmsg(sock, &m, 0), ==, (ssize_t)strlen(msg));
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

/* The lowest free descriptor number: equal before and after means nothing leaked. */
static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	close(fd);
	return fd;
}

static void socket_pair(int type, int sv[2])
{
	g_assert_cmpint(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), ==, 0);
}

static void test_one_fd(void)
{
	int sv[2];
	socket_pair(SOCK_STREAM, sv);
	send_with_fds(sv[1], "hello", 1);
	char buf[16];
	int fd, flags;
	g_assert_cmpint(cm_recv_fds(sv[0], buf, sizeof(buf), &fd, 1, &flags), ==, 5);
	g_assert_cmpmem(buf, 5, "hello", 5);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(flags & (MSG_CTRUNC | MSG_TRUNC), ==, 0);
	g_assert_cmpint(fcntl(fd, F_GETFD), ==, FD_CLOEXEC);
	close(fd);
	close(sv[0]);
	close(sv[1]);
}

static void test_extra_fds_closed(void)
{
	int sv[2];
	socket_pair(SOCK_STREAM, sv);
	int before = lowest_free_fd();
	send_with_fds(sv[1], "x", 3);
	char buf[4];
	int fd, flags;
	g_assert_cmpint(cm_recv_fds(sv[0], buf, sizeof(buf), &fd, 1, &flags), ==, 1);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(flags & MSG_CTRUNC, !=, 0);
	close(fd);
	g_assert_cmpint(lowest_free_fd(), ==, before);
	close(sv[0]);
	close(sv[1]);
}

static void test_no_fds_wanted(void)
{
	int sv[2];
	socket_pair(SOCK_DGRAM, sv);
	int before = lowest_free_fd();
	send_with_fds(sv[1], "READY=1", 2);
	char buf[64];
	int flags;
	g_assert_cmpint(cm_recv_fds(sv[0], buf, sizeof(buf), NULL, 0, &flags), ==, 7);
	g_assert_cmpint(flags & MSG_CTRUNC, !=, 0);
	g_assert_cmpint(lowest_free_fd(), ==, before);
	close(sv[0]);
	close(sv[1]);
}

static void test_without_fds(void)
{
	int sv[2];
	socket_pair(SOCK_DGRAM, sv);
	send_with_fds(sv[1], "a longer datagram", 0);
	char buf[4];
	int fds[2], flags;
	g_assert_cmpint(cm_recv_fds(sv[0], buf, sizeof(buf), fds, 2, &flags), ==, 4);
	g_assert_cmpint(fds[0], ==, -1);
	g_assert_cmpint(fds[1], ==, -1);
	g_assert_cmpint(flags & MSG_TRUNC, !=, 0);
	g_assert_cmpint(flags & MSG_CTRUNC, ==, 0);
	close(sv[0]);
	close(sv[1]);
}

static void test_empty_and_eof(void)
{
	int sv[2];
	socket_pair(SOCK_STREAM, sv);
	char buf[4];
	int fd, flags;
	g_assert_cmpint(cm_recv_fds(sv[0], buf, sizeof(buf), &fd, 1, &flags), ==, -1);
	g_assert_cmpint(errno, ==, EAGAIN);
	g_assert_cmpint(fd, ==, -1);
	close(sv[1]);
	g_assert_cmpint(cm_recv_fds(sv[0], buf, sizeof(buf), &fd, 1, &flags), ==, 0);
	g_assert_cmpint(fd, ==, -1);
	close(sv[0]);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/unix_socket/recv_fds/one", test_one_fd);
	g_test_add_func("/unix_socket/recv_fds/extra_closed", test_extra_fds_closed);
	g_test_add_func("/unix_socket/recv_fds/none_wanted", test_no_fds_wanted);
	g_test_add_func("/unix_socket/recv_fds/without_fds", test_without_fds);
	g_test_add_func("/unix_socket/recv_fds/empty_and_eof", test_empty_and_eof);
	return g_test_run();
}
