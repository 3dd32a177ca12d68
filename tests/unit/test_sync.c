/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conmon/sync.h"

static void test_format_plain(void)
{
	g_autofree char *a = sync_format("data", 4242, NULL);
	g_assert_cmpstr(a, ==, "{\"data\": 4242}\n");
	g_autofree char *b = sync_format("pid", -1, "boom");
	g_assert_cmpstr(b, ==, "{\"pid\": -1, \"message\": \"boom\"}\n");
	/* an empty text is no message, as conmon 2.2 */
	g_autofree char *c = sync_format("data", -1, "");
	g_assert_cmpstr(c, ==, "{\"data\": -1}\n");
}

static void test_escape(void)
{
	const char in[] = "a\"b\\c\nd\te\rf\bg\fh\x01i\x7fj\x1fk/\xc3\xa9";
	g_autofree char *out = sync_json_escape(in, sizeof(in) - 1);
	/* conmon 2.2 escapes '/' too */
	g_assert_cmpstr(out, ==, "a\\\"b\\\\c\\nd\\te\\rf\\bg\\fh\\u0001i\\u007fj\\u001fk\\/\xc3\xa9");
	const char nul[] = { 'x', '\0', 'y' };
	g_autofree char *out2 = sync_json_escape(nul, sizeof(nul));
	g_assert_cmpstr(out2, ==, "x\\u0000y");
}

static void test_keys(void)
{
	g_assert_cmpstr(sync_key(1, false), ==, "data");
	g_assert_cmpstr(sync_key(1, true), ==, "data");
	g_assert_cmpstr(sync_key(0, false), ==, "pid");
	g_assert_cmpstr(sync_key(0, true), ==, "exit_code");
}

static void test_env_fd(void)
{
	int fds[2];
	g_assert_cmpint(pipe(fds), ==, 0);
	g_autofree char *value = g_strdup_printf("%d", fds[0]);
	g_setenv("TEST_SYNC_FD", value, TRUE);
	int fd;
	g_autoptr(GError) err = NULL;
	g_assert_cmpint(sync_env_fd("TEST_SYNC_FD", &fd, &err), ==, 0);
	g_assert_cmpint(fd, ==, fds[0]);
	g_assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);

	g_setenv("TEST_SYNC_FD", "3x", TRUE);
	g_assert_cmpint(sync_env_fd("TEST_SYNC_FD", &fd, &err), ==, -1);
	g_assert_nonnull(strstr(err->message, "TEST_SYNC_FD"));
	g_clear_error(&err);

	g_unsetenv("TEST_SYNC_FD");
	g_assert_cmpint(sync_env_fd("TEST_SYNC_FD", &fd, &err), ==, 0);
	g_assert_cmpint(fd, ==, -1);
	close(fds[0]);
	close(fds[1]);
}

static void test_send_and_epipe(void)
{
	int sp[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), ==, 0);
	int fd = sp[0];
	sync_send(&fd, "data", 17, "line1\nline2");
	char buf[256];
	ssize_t n = read(sp[1], buf, sizeof(buf) - 1);
	g_assert_cmpint(n, >, 0);
	buf[n] = '\0';
	g_assert_cmpstr(buf, ==, "{\"data\": 17, \"message\": \"line1\\nline2\"}\n");

	/* A vanished engine must not kill the monitor; the fd is dropped. */
	close(sp[1]);
	sync_send(&fd, "data", 1, NULL);
	g_assert_cmpint(fd, ==, -1);
	sync_send(&fd, "data", 2, NULL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sync/format", test_format_plain);
	g_test_add_func("/sync/escape", test_escape);
	g_test_add_func("/sync/keys", test_keys);
	g_test_add_func("/sync/env_fd", test_env_fd);
	g_test_add_func("/sync/send_epipe", test_send_and_epipe);
	return g_test_run();
}
