/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/error.h"
#include "wrapper/monitor_attach.h"

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
	g_assert_cmpint(write(in[1],
			      "ab\x10"
			      "c\x10\x11"
			      "zz",
			      8),
			==, 8);
	o.sock = sp[0];
	o.forward_stdin = true;
	g_assert_cmpint(mon_attach_run(&o, &err), ==, MON_ATTACH_DETACHED);
	g_assert_no_error(err);
	n = recv(sp[1], buf, sizeof(buf), MSG_DONTWAIT);
	g_assert_cmpint(n, ==, 4);
	g_assert_cmpmem(buf, 4,
			"ab\x10"
			"c",
			4);

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
	g_test_add_func("/monitor_attach/detach_keys", test_detach_keys);
	g_test_add_func("/monitor_attach/attach_loop", test_attach_loop);
	return g_test_run();
}
