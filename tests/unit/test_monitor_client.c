/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/error.h"
#include "wrapper/monitor_client.h"

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

static void test_detach_keys(void)
{
	g_autoptr(GByteArray) b = g_byte_array_new();
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(mon_parse_detach_keys("ctrl-p,ctrl-q", b, &err), ==, 0);
	g_assert_cmpuint(b->len, ==, 2);
	g_assert_cmpint(b->data[0], ==, 0x10);
	g_assert_cmpint(b->data[1], ==, 0x11);
	g_byte_array_set_size(b, 0);
	g_assert_cmpint(mon_parse_detach_keys("ctrl-[,x,ctrl-@", b, &err), ==, 0);
	g_assert_cmpuint(b->len, ==, 3);
	g_assert_cmpint(b->data[0], ==, 0x1b);
	g_assert_cmpint(b->data[1], ==, 'x');
	g_assert_cmpint(b->data[2], ==, 0);
	g_byte_array_set_size(b, 0);
	g_assert_cmpint(mon_parse_detach_keys("", b, &err), ==, 0);
	g_assert_cmpuint(b->len, ==, 0);
	g_assert_cmpint(mon_parse_detach_keys("ctrl-1", b, &err), ==, -1);
	g_assert_error(err, CM_ERRNO_ERROR, EINVAL);
	g_clear_error(&err);
	g_assert_cmpint(mon_parse_detach_keys("alt-x", b, &err), ==, -1);
	g_assert_error(err, CM_ERRNO_ERROR, EINVAL);
}

/* The attach loop against a socketpair standing in for the monitor: output demux and stdin + detach keys. */
static void test_attach_loop(void)
{
	g_autoptr(GError) err = NULL;
	static const guint8 keys[] = { 0x10, 0x11 };
	struct mon_attach_opts o = { .detach_keys = keys, .n_detach_keys = 2 };
	int sp[2], in[2], out[2], saved_in, saved_out;
	char buf[256];
	ssize_t n;

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), ==, 0);
	g_assert_cmpint(pipe2(in, O_CLOEXEC), ==, 0);
	g_assert_cmpint(pipe2(out, O_CLOEXEC), ==, 0);
	saved_in = dup(STDIN_FILENO);
	saved_out = dup(STDOUT_FILENO);
	dup2(in[0], STDIN_FILENO);
	dup2(out[1], STDOUT_FILENO);

	/* Output packet, then stdin with a lone ctrl-p (forwarded) and the full sequence (detach). */
	g_assert_cmpint(write(sp[1], "\x02hello\n", 7), ==, 7);
	g_assert_cmpint(write(in[1], "ab\x10" "c\x10\x11" "zz", 8), ==, 8);
	o.sock = sp[0];
	o.forward_stdin = true;
	g_assert_cmpint(mon_attach_run(&o, &err), ==, MON_ATTACH_DETACHED);
	g_assert_no_error(err);
	n = recv(sp[1], buf, sizeof(buf), MSG_DONTWAIT);
	g_assert_cmpint(n, ==, 4);
	g_assert_cmpmem(buf, 4, "ab\x10" "c", 4);

	/* The monitor closing the socket ends the loop. */
	close(sp[1]);
	o.forward_stdin = false;
	g_assert_cmpint(mon_attach_run(&o, &err), ==, MON_ATTACH_ENDED);

	dup2(saved_in, STDIN_FILENO);
	dup2(saved_out, STDOUT_FILENO);
	close(saved_in);
	close(saved_out);
	n = read(out[0], buf, sizeof(buf));
	g_assert_cmpint(n, ==, 6);
	g_assert_cmpmem(buf, 6, "hello\n", 6);
	close(sp[0]);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/monitor_client/parse_msg", test_parse_msg);
	g_test_add_func("/monitor_client/failure_code", test_failure_code);
	g_test_add_func("/monitor_client/read_msg_seqpacket", test_read_msg_seqpacket);
	g_test_add_func("/monitor_client/read_msg_pipe_split", test_read_msg_pipe_split);
	g_test_add_func("/monitor_client/detach_keys", test_detach_keys);
	g_test_add_func("/monitor_client/attach_loop", test_attach_loop);
	return g_test_run();
}
