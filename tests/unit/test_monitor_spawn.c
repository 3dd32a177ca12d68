/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/error.h"
#include "wrapper/monitor_spawn.h"

static void test_parse_msg(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *msg = NULL;
	const char *fail = "{\"data\": -1, \"message\": \"time=\\\"x\\\" level=error msg=\\\"runc create failed: "
			   "exec: \\\\\\\"nosuch\\\\\\\": executable file not found in $PATH\\\"\\n\"}\n";
	int data = 0;

	g_assert_cmpint(mon_parse_msg("{\"data\": 13023}\n", 16, &data, &msg, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpint(data, ==, 13023);
	g_assert_null(msg);

	g_assert_cmpint(mon_parse_msg(fail, strlen(fail), &data, &msg, &err), ==, 0);
	g_assert_cmpint(data, ==, -1);
	g_assert_nonnull(strstr(msg, "executable file not found"));
	g_assert_nonnull(strstr(msg, "msg=\"runc create failed"));
	g_assert_cmpint(mon_failure_code(msg), ==, 127);
	g_clear_pointer(&msg, g_free);

	g_assert_cmpint(mon_parse_msg("{\"data\": 0}", 11, &data, NULL, &err), ==, 0);
	g_assert_cmpint(data, ==, 0);

	g_assert_cmpint(mon_parse_msg("{\"pid\": 5}\n", 11, &data, &msg, &err), ==, -1);
	g_assert_error(err, CM_ERRNO_ERROR, EPROTO);
	g_clear_error(&err);
	g_assert_cmpint(mon_parse_msg("garbage", 7, &data, &msg, &err), ==, -1);
	g_assert_error(err, CM_ERRNO_ERROR, EPROTO);
}

static void test_failure_code(void)
{
	g_assert_cmpint(mon_failure_code("stat /nosuch: no such file or directory"), ==, 127);
	g_assert_cmpint(mon_failure_code("exec: \"x\": executable file not found in $PATH"), ==, 127);
	g_assert_cmpint(mon_failure_code("exec: \"/etc\": permission denied"), ==, 126);
	g_assert_cmpint(mon_failure_code(NULL), ==, 126);
}

static void test_read_msg_seqpacket(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *msg = NULL;
	int sp[2], data = 0;

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), ==, 0);
	g_assert_cmpint(write(sp[1], "{\"data\": 42}\n", 13), ==, 13);
	g_assert_cmpint(write(sp[1], "{\"data\": 7}\n", 12), ==, 12);
	/* One message per packet, in order. */
	g_assert_cmpint(mon_read_msg(sp[0], 1000, &data, &msg, &err), ==, 0);
	g_assert_cmpint(data, ==, 42);
	g_assert_cmpint(mon_read_msg(sp[0], 1000, &data, &msg, &err), ==, 0);
	g_assert_cmpint(data, ==, 7);
	/* Nothing more: times out. */
	g_assert_cmpint(mon_read_msg(sp[0], 50, &data, &msg, &err), ==, -1);
	g_assert_error(err, CM_ERRNO_ERROR, ETIMEDOUT);
	g_clear_error(&err);
	close(sp[1]);
	g_assert_cmpint(mon_read_msg(sp[0], 1000, &data, &msg, &err), ==, -1);
	g_assert_error(err, CM_ERRNO_ERROR, EPIPE);
	close(sp[0]);
}

static void test_read_msg_pipe_split(void)
{
	g_autoptr(GError) err = NULL;
	int p[2], data = -5;

	g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
	/* A pipe may deliver a message in pieces: read up to the newline. */
	g_assert_cmpint(write(p[1], "{\"da", 4), ==, 4);
	g_assert_cmpint(write(p[1], "ta\": 0}\n", 8), ==, 8);
	g_assert_cmpint(mon_read_msg(p[0], 1000, &data, NULL, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpint(data, ==, 0);
	close(p[0]);
	close(p[1]);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/monitor_spawn/parse_msg", test_parse_msg);
	g_test_add_func("/monitor_spawn/failure_code", test_failure_code);
	g_test_add_func("/monitor_spawn/read_msg_seqpacket", test_read_msg_seqpacket);
	g_test_add_func("/monitor_spawn/read_msg_pipe_split", test_read_msg_pipe_split);
	return g_test_run();
}
