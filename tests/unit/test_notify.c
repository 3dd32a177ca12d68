/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conmon/notify.h"

static void check_filter(const char *in, const char *want)
{
	g_autofree char *out = notify_filter(in, strlen(in));
	g_assert_cmpstr(out, ==, want);
}

static void test_filter(void)
{
	check_filter("MAINPID=5\nREADY=1\nSTATUS=up\nX=1", "READY=1\nSTATUS=up");
	check_filter("READY=1", "READY=1");
	check_filter("READY=1\n", "READY=1");
	check_filter("MAINPID=5", NULL);
	check_filter("", NULL);
	check_filter("\n\n", NULL);
	/* Exact lines are exact; prefixes keep their value. */
	check_filter("READY=10\nREADY=1 \nWATCHDOG=0\nWATCHDOG_USEC=5", NULL);
	const char *lifecycle = "RELOADING=1\nSTOPPING=1\nWATCHDOG=1\nWATCHDOG=trigger";
	check_filter(lifecycle, lifecycle);
	check_filter("STATUS=\nERRNO=2\nBUSERROR=org.x.Y\nMONOTONIC_USEC=123\nFDSTORE=1\nEXTEND_TIMEOUT_USEC=1",
		     "STATUS=\nERRNO=2\nBUSERROR=org.x.Y\nMONOTONIC_USEC=123");
	check_filter("status=up\nSTATUS", NULL);

	const char nul[] = "STATUS=a\0b\nREADY=1";
	g_autofree char *out = notify_filter(nul, sizeof(nul) - 1);
	g_assert_cmpstr(out, ==, "READY=1");
	/* len bounds the message, not a NUL. */
	g_autofree char *part = notify_filter("READY=1\nSTATUS=x", 7);
	g_assert_cmpstr(part, ==, "READY=1");
	/* '\r' ends a line as systemd reads it: no MAINPID smuggled inside a STATUS. */
	check_filter("STATUS=x\rMAINPID=1", "STATUS=x");
	check_filter("READY=1\r\n", "READY=1");
	check_filter("MAINPID=1\rREADY=1\rFDSTORE=1", "READY=1");
}

static void drain_loop(void)
{
	while (g_main_context_iteration(NULL, FALSE))
		;
}

static int bind_dgram(const char *path, bool abstract)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	g_assert_cmpint(fd, >=, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	g_assert_cmpuint(len, <, sizeof(addr.sun_path));
	memcpy(addr.sun_path, path, len);
	if (abstract)
		addr.sun_path[0] = '\0';
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	g_assert_cmpint(bind(fd, (struct sockaddr *)&addr, alen), ==, 0);
	return fd;
}

/* The container side: a datagram to notify.sock, optionally carrying fd. */
static void send_to_proxy(const char *bundle, const char *msg, int fd)
{
	g_autofree char *dir = g_build_filename(bundle, "notify", NULL);
	int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	g_assert_cmpint(dirfd, >=, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/notify.sock", dirfd);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(s, >=, 0);

	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = { 0 };
	struct msghdr m = { .msg_name = &addr, .msg_namelen = sizeof(addr), .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		m.msg_control = control.buf;
		m.msg_controllen = sizeof(control.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	g_assert_cmpint(sendmsg(s, &m, 0), ==, (ssize_t)strlen(msg));
	close(s);
	close(dirfd);
}

/* The next datagram the host socket gets while the loop runs, or NULL after a while. */
static char *host_receive(int host)
{
	gint64 deadline = g_get_monotonic_time() + 2 * G_TIME_SPAN_SECOND;
	char buf[8192];
	while (g_get_monotonic_time() < deadline) {
		drain_loop();
		ssize_t n = recv(host, buf, sizeof(buf), MSG_DONTWAIT);
		if (n >= 0)
			return g_strndup(buf, (gsize)n);
		g_assert_cmpint(errno, ==, EAGAIN);
		g_usleep(2000);
	}
	return NULL;
}

static void assert_nothing_more(int host)
{
	drain_loop();
	char c;
	g_assert_cmpint(recv(host, &c, 1, MSG_DONTWAIT), ==, -1);
	g_assert_cmpint(errno, ==, EAGAIN);
}

static void remove_bundle(const char *bundle, const char *host_path)
{
	g_autofree char *dir = g_build_filename(bundle, "notify", NULL);
	g_autofree char *sock = g_build_filename(dir, "notify.sock", NULL);
	g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
	g_assert_cmpint(g_rmdir(dir), ==, 0);
	if (host_path)
		g_assert_cmpint(g_unlink(host_path), ==, 0);
}

static void test_proxy(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *bundle = g_dir_make_tmp("conmon-notify-XXXXXX", &err);
	g_assert_no_error(err);
	g_autofree char *host_path = g_build_filename(bundle, "host.sock", NULL);
	int host = bind_dgram(host_path, false);

	struct notify_proxy *p = notify_proxy_new(bundle, host_path, &err);
	g_assert_no_error(err);
	struct stat st;
	g_autofree char *dir = g_build_filename(bundle, "notify", NULL);
	g_assert_cmpint(stat(dir, &st), ==, 0);
	g_assert_true(S_ISDIR(st.st_mode));
	g_autofree char *sock = g_build_filename(dir, "notify.sock", NULL);
	g_assert_cmpint(stat(sock, &st), ==, 0);
	g_assert_true(S_ISSOCK(st.st_mode));
	g_assert_cmpint(st.st_mode & 07777, ==, 0777);

	/* Nothing of this passes, so nothing is sent. */
	send_to_proxy(bundle, "MAINPID=1\nFOO=2", -1);
	/* Passed fds are closed, not kept or forwarded. */
	int pipefd[2];
	g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
	send_to_proxy(bundle, "MAINPID=5\nREADY=1\nSTATUS=up\nX=1", pipefd[1]);
	close(pipefd[1]);
	g_autofree char *got = host_receive(host);
	g_assert_cmpstr(got, ==, "READY=1\nSTATUS=up");
	char c;
	g_assert_cmpint(read(pipefd[0], &c, 1), ==, 0);
	close(pipefd[0]);
	assert_nothing_more(host);

	send_to_proxy(bundle, "WATCHDOG=1", -1);
	g_autofree char *got2 = host_receive(host);
	g_assert_cmpstr(got2, ==, "WATCHDOG=1");

	notify_proxy_free(p);
	close(host);
	remove_bundle(bundle, host_path);
	g_assert_cmpint(g_rmdir(bundle), ==, 0);
}

/* A flood is relayed at 200 datagrams a second at most, in order, and none is lost. */
static void test_rate_limit(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *bundle = g_dir_make_tmp("conmon-notify-XXXXXX", &err);
	g_assert_no_error(err);
	g_autofree char *host_path = g_build_filename(bundle, "host.sock", NULL);
	int host = bind_dgram(host_path, false);
	struct notify_proxy *p = notify_proxy_new(bundle, host_path, &err);
	g_assert_no_error(err);

	g_autofree char *dir = g_build_filename(bundle, "notify", NULL);
	int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	g_assert_cmpint(dirfd, >=, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/notify.sock", dirfd);
	int sender = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	g_assert_cmpint(sender, >=, 0);

	/* The sender never waits: what the socket does not take now is offered again. */
	enum {
		SENT = 100
	};
	gint64 start = g_get_monotonic_time();
	int sent = 0, got = 0;
	while (got < SENT) {
		g_assert_cmpint(g_get_monotonic_time() - start, <, 10 * G_TIME_SPAN_SECOND);
		if (sent < SENT) {
			g_autofree char *msg = g_strdup_printf("STATUS=%d", sent);
			ssize_t n = sendto(sender, msg, strlen(msg), MSG_DONTWAIT, (struct sockaddr *)&addr,
					   sizeof(addr));
			if (n >= 0)
				sent++;
			else
				g_assert_cmpint(errno, ==, EAGAIN);
		}
		g_main_context_iteration(NULL, FALSE);
		char buf[64];
		ssize_t n = recv(host, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n < 0) {
			g_assert_cmpint(errno, ==, EAGAIN);
			g_usleep(500);
			continue;
		}
		buf[n] = '\0';
		g_autofree char *want = g_strdup_printf("STATUS=%d", got);
		g_assert_cmpstr(buf, ==, want);
		got++;
		/* 20 per 100 ms window, whatever the sender does. */
		gint64 elapsed_ms = (g_get_monotonic_time() - start) / 1000;
		g_assert_cmpint(got, <=, 20 * (elapsed_ms / 100 + 1));
	}
	g_assert_cmpint((g_get_monotonic_time() - start) / 1000, >=, 400);

	close(sender);
	close(dirfd);
	notify_proxy_free(p);
	close(host);
	remove_bundle(bundle, host_path);
	g_assert_cmpint(g_rmdir(bundle), ==, 0);
}

/* A host socket that is full for a while (it holds 10 datagrams here) delays messages, loses none. */
static void test_host_full(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *bundle = g_dir_make_tmp("conmon-notify-XXXXXX", &err);
	g_assert_no_error(err);
	g_autofree char *host_path = g_build_filename(bundle, "host.sock", NULL);
	int host = bind_dgram(host_path, false);
	struct notify_proxy *p = notify_proxy_new(bundle, host_path, &err);
	g_assert_no_error(err);

	enum {
		SENT = 15
	};
	for (int i = 0; i < SENT; i++) {
		g_autofree char *msg = g_strdup_printf("STATUS=%d", i);
		send_to_proxy(bundle, msg, -1);
		drain_loop();
	}
	/* Nobody read the host socket yet: the rest waits in the monitor. */
	for (int i = 0; i < SENT; i++) {
		g_autofree char *got = host_receive(host);
		g_autofree char *want = g_strdup_printf("STATUS=%d", i);
		g_assert_cmpstr(got, ==, want);
	}
	assert_nothing_more(host);

	notify_proxy_free(p);
	close(host);
	remove_bundle(bundle, host_path);
	g_assert_cmpint(g_rmdir(bundle), ==, 0);
}

/* Paths past sun_path's 108 bytes on both sides, and a stale socket file left behind. */
static void test_long_paths(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *top = g_dir_make_tmp("conmon-notify-XXXXXX", &err);
	g_assert_no_error(err);
	g_autofree char *bundle = g_build_filename(top, "bundle-with-a-rather-long-name-0123456789abcdef",
						   "and-another-long-component-0123456789abcdef", NULL);
	g_autofree char *notify_dir = g_build_filename(bundle, "notify", NULL);
	g_assert_cmpint(g_mkdir_with_parents(notify_dir, 0755), ==, 0);
	g_autofree char *stale = g_build_filename(notify_dir, "notify.sock", NULL);
	g_assert_true(g_file_set_contents(stale, "", 0, NULL));
	g_assert_cmpuint(strlen(stale), >, 108);

	g_autofree char *host_path = g_build_filename(bundle, "a-host-socket-with-a-long-name.sock", NULL);
	g_assert_cmpuint(strlen(host_path), >, 108);
	int hostdir = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
	g_autofree char *via = g_strdup_printf("/proc/self/fd/%d/a-host-socket-with-a-long-name.sock", hostdir);
	int host = bind_dgram(via, false);
	close(hostdir);

	struct notify_proxy *p = notify_proxy_new(bundle, host_path, &err);
	g_assert_no_error(err);
	send_to_proxy(bundle, "READY=1", -1);
	g_autofree char *got = host_receive(host);
	g_assert_cmpstr(got, ==, "READY=1");
	notify_proxy_free(p);
	close(host);
	remove_bundle(bundle, host_path);

	g_autofree char *mid = g_path_get_dirname(bundle);
	g_assert_cmpint(g_rmdir(bundle), ==, 0);
	g_assert_cmpint(g_rmdir(mid), ==, 0);
	g_assert_cmpint(g_rmdir(top), ==, 0);
}

static void test_abstract_host(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *bundle = g_dir_make_tmp("conmon-notify-XXXXXX", &err);
	g_assert_no_error(err);
	g_autofree char *name = g_strdup_printf("@conmon-test-notify-%d", getpid());
	int host = bind_dgram(name, true);
	struct notify_proxy *p = notify_proxy_new(bundle, name, &err);
	g_assert_no_error(err);
	send_to_proxy(bundle, "STOPPING=1\nMAINPID=3", -1);
	g_autofree char *got = host_receive(host);
	g_assert_cmpstr(got, ==, "STOPPING=1");
	notify_proxy_free(p);
	close(host);
	remove_bundle(bundle, NULL);
	g_assert_cmpint(g_rmdir(bundle), ==, 0);
}

/* A host socket that is not there: a warning, and the proxy keeps working. */
static void test_host_missing(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *bundle = g_dir_make_tmp("conmon-notify-XXXXXX", &err);
	g_assert_no_error(err);
	g_autofree char *host_path = g_build_filename(bundle, "host.sock", NULL);
	struct notify_proxy *p = notify_proxy_new(bundle, host_path, &err);
	g_assert_no_error(err);
	send_to_proxy(bundle, "READY=1", -1);
	drain_loop();
	int host = bind_dgram(host_path, false);
	send_to_proxy(bundle, "READY=1", -1);
	g_autofree char *got = host_receive(host);
	g_assert_cmpstr(got, ==, "READY=1");
	notify_proxy_free(p);
	close(host);
	remove_bundle(bundle, host_path);
	g_assert_cmpint(g_rmdir(bundle), ==, 0);
}

static void test_bad_bundle(void)
{
	g_autoptr(GError) err = NULL;
	g_assert_null(notify_proxy_new("/nonexistent/conmon-notify-test", "/run/x.sock", &err));
	g_assert_nonnull(err);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/notify/filter", test_filter);
	g_test_add_func("/notify/proxy", test_proxy);
	g_test_add_func("/notify/rate_limit", test_rate_limit);
	g_test_add_func("/notify/host_full", test_host_full);
	g_test_add_func("/notify/long_paths", test_long_paths);
	g_test_add_func("/notify/abstract_host", test_abstract_host);
	g_test_add_func("/notify/host_missing", test_host_missing);
	g_test_add_func("/notify/bad_bundle", test_bad_bundle);
	return g_test_run();
}
