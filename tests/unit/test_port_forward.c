/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A forked child in its own network namespace plays the container: it echoes
 * TCP and UDP on 127.0.0.1 there, which the test reaches only through the
 * forwarder on random host loopback ports.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/io.h"
#include "wrapper/port_forward.h"
#include "wrapper/port_relay.h"
#include "wrapper/ports.h"

#define CTR_TCP 7000
#define CTR_UDP 7001
#define CTR_NONE 7002
#define BIG (1024 * 1024)

static char *self_exe;

static int bind_lo(int type, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1;
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		_exit(10);
	return fd;
}

static G_GNUC_NORETURN void fake_container(int ready_w)
{
	char buf[65536];
	int conn = -1;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unshare(CLONE_NEWNET) < 0)
		_exit(11);
	/* A fresh namespace has lo down; runc brings it up for real containers. */
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memcpy(ifr.ifr_name, "lo", 3);
	ifr.ifr_flags = IFF_UP;
	if (s < 0 || ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		_exit(12);
	close(s);
	int lfd = bind_lo(SOCK_STREAM, CTR_TCP);
	int ufd = bind_lo(SOCK_DGRAM, CTR_UDP);
	if (listen(lfd, 16) < 0 || write(ready_w, "r", 1) != 1)
		_exit(13);
	close(ready_w);

	for (;;) {
		struct pollfd p[3] = { { lfd, POLLIN, 0 }, { ufd, POLLIN, 0 }, { conn, POLLIN, 0 } };
		if (poll(p, conn >= 0 ? 3 : 2, -1) < 0)
			continue;
		if ((p[0].revents & POLLIN) && conn < 0)
			conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (p[1].revents & POLLIN) {
			struct sockaddr_storage from;
			socklen_t len = sizeof(from);
			ssize_t n = recvfrom(ufd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
			if (n > 0)
				sendto(ufd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
		}
		if (conn >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(conn, buf, sizeof(buf));
			if (n <= 0 || cm_write_all(conn, buf, (size_t)n, -1) < 0) {
				close(conn);
				conn = -1;
			}
		}
	}
}

static pid_t start_container(void)
{
	int ready[2];
	char c;

	g_assert_cmpint(pipe2(ready, O_CLOEXEC), ==, 0);
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0)
		fake_container(ready[1]);
	close(ready[1]);
	g_assert_cmpint(read(ready[0], &c, 1), ==, 1);
	close(ready[0]);
	return pid;
}

static int connect_host(guint16 port, int type)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
	return fd;
}

static void tcp_small_v6(guint16 port)
{
	struct sockaddr_in6 sin6 = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(port),
		.sin6_addr = IN6ADDR_LOOPBACK_INIT,
	};
	char buf[8];
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)), ==, 0);
	g_assert_cmpint(cm_write_all(fd, "six", 3, -1), ==, 0);
	g_assert_cmpint(cm_read_full(fd, buf, 3), ==, 3);
	g_assert_cmpint(memcmp(buf, "six", 3), ==, 0);
	close(fd);
}

static void assert_readable(int fd, int timeout_ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	g_assert_cmpint(poll(&p, 1, timeout_ms), ==, 1);
}

static void tcp_small(guint16 port)
{
	char buf[16];
	int fd = connect_host(port, SOCK_STREAM);

	g_assert_cmpint(cm_write_all(fd, "hello", 5, -1), ==, 0);
	assert_readable(fd, 5000);
	g_assert_cmpint(cm_read_full(fd, buf, 5), ==, 5);
	g_assert_cmpint(memcmp(buf, "hello", 5), ==, 0);
	close(fd);
}

/* 1 MiB out and back at once: the relay must not deadlock, lose or reorder, and must pass our FIN on. */
static void tcp_big(guint16 port)
{
	g_autofree char *out = g_malloc(BIG);
	g_autofree char *in = g_malloc(BIG);
	size_t sent = 0, got = 0;
	int fd = connect_host(port, SOCK_STREAM);

	for (size_t i = 0; i < BIG; i++)
		out[i] = (char)(i * 7 + i / 4096);
	g_assert_cmpint(cm_set_nonblock(fd, true), ==, 0);
	for (;;) {
		struct pollfd p = { fd, POLLIN | (sent < BIG ? POLLOUT : 0), 0 };
		g_assert_cmpint(poll(&p, 1, 10000), ==, 1);
		if ((p.revents & POLLOUT) && sent < BIG) {
			ssize_t n = send(fd, out + sent, MIN(BIG - sent, 65536), MSG_NOSIGNAL);
			g_assert_true(n > 0 || errno == EAGAIN);
			sent += n > 0 ? (size_t)n : 0;
			if (sent == BIG)
				g_assert_cmpint(shutdown(fd, SHUT_WR), ==, 0);
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			ssize_t n = recv(fd, in + got, BIG - got + 1, 0);
			if (n == 0)
				break;
			g_assert_true(n > 0 || errno == EAGAIN);
			got += n > 0 ? (size_t)n : 0;
			g_assert_cmpuint(got, <=, BIG);
		}
	}
	g_assert_cmpuint(got, ==, BIG);
	g_assert_cmpint(memcmp(in, out, BIG), ==, 0);
	close(fd);
}

static void udp_echo(guint16 port)
{
	char buf[16];
	int fd = connect_host(port, SOCK_DGRAM);

	g_assert_cmpint(send(fd, "ping", 4, 0), ==, 4);
	assert_readable(fd, 5000);
	g_assert_cmpint(recv(fd, buf, sizeof(buf), 0), ==, 4);
	g_assert_cmpint(memcmp(buf, "ping", 4), ==, 0);
	close(fd);
}

/* Nothing listens on the container port: the client gets a reset rather than a hang. */
static void tcp_refused(guint16 port)
{
	char c;
	int fd = connect_host(port, SOCK_STREAM);

	assert_readable(fd, 5000);
	g_assert_cmpint(recv(fd, &c, 1, 0), <=, 0);
	close(fd);
}

static bool wait_exit(pid_t pid, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		g_assert_cmpint(r, >=, 0);
		if (r == pid)
			return true;
		g_usleep(10000);
	}
	return false;
}

static void test_forward(void)
{
	if (geteuid() != 0) {
		g_test_skip("needs root for network namespaces");
		return;
	}
	g_autoptr(GArray) maps = ports_mappings_new();
	g_autoptr(GArray) fds = g_array_new(FALSE, FALSE, sizeof(int));
	g_autoptr(GError) err = NULL;
	g_autofree char *tcp_spec = g_strdup_printf("127.0.0.1::%d", CTR_TCP);
	g_autofree char *udp_spec = g_strdup_printf("127.0.0.1::%d/udp", CTR_UDP);
	g_autofree char *none_spec = g_strdup_printf("127.0.0.1::%d", CTR_NONE);

	g_assert_cmpint(ports_parse(tcp_spec, maps, &err), ==, 0);
	g_assert_cmpint(ports_parse(udp_spec, maps, &err), ==, 0);
	g_assert_cmpint(ports_parse(none_spec, maps, &err), ==, 0);
	bool v6 = access("/proc/net/if_inet6", F_OK) == 0;
	if (v6) {
		g_autofree char *v6_spec = g_strdup_printf("[::1]::%d", CTR_TCP);
		g_assert_cmpint(ports_parse(v6_spec, maps, &err), ==, 0);
	}
	g_assert_cmpint(ports_reserve(maps, fds, &err), ==, 0);
	g_assert_no_error(err);
	guint16 tcp_port = g_array_index(maps, struct port_mapping, 0).host_port;
	guint16 udp_port = g_array_index(maps, struct port_mapping, 1).host_port;
	guint16 none_port = g_array_index(maps, struct port_mapping, 2).host_port;

	pid_t ctr = start_container();
	pid_t fwd = port_forward_start(self_exe, maps, fds, ctr, &err);
	g_assert_no_error(err);
	g_assert_cmpint(fwd, >, 0);
	g_assert_cmpint(getsid(fwd), ==, fwd);

	tcp_small(tcp_port);
	tcp_big(tcp_port);
	tcp_small(tcp_port);
	udp_echo(udp_port);
	udp_echo(udp_port);
	tcp_refused(none_port);
	if (v6)
		tcp_small_v6(g_array_index(maps, struct port_mapping, 3).host_port);

	g_assert_cmpint(kill(ctr, SIGKILL), ==, 0);
	g_assert_cmpint(waitpid(ctr, NULL, 0), ==, ctr);
	gint64 t0 = g_get_monotonic_time();
	bool exited = wait_exit(fwd, 2000);
	if (!exited) {
		kill(fwd, SIGKILL);
		waitpid(fwd, NULL, 0);
	}
	g_assert_true(exited);
	g_test_message("forwarder exited %" G_GINT64_FORMAT " us after the container", g_get_monotonic_time() - t0);

	/* The test holds the monitor's copies; once those close too, the ports are free. */
	ports_close_fds(fds);
	g_autoptr(GArray) again = g_array_new(FALSE, FALSE, sizeof(int));
	g_assert_cmpint(ports_reserve(maps, again, &err), ==, 0);
	g_assert_no_error(err);
	ports_close_fds(again);
}

static void test_no_container(void)
{
	g_autoptr(GArray) maps = ports_mappings_new();
	g_autoptr(GArray) fds = g_array_new(FALSE, FALSE, sizeof(int));
	g_autoptr(GError) err = NULL;

	pid_t gone = fork();
	g_assert_cmpint(gone, >=, 0);
	if (gone == 0)
		_exit(0);
	g_assert_cmpint(waitpid(gone, NULL, 0), ==, gone);
	g_assert_cmpint(ports_parse("127.0.0.1::80/udp", maps, &err), ==, 0);
	g_assert_cmpint(ports_reserve(maps, fds, &err), ==, 0);
	g_assert_cmpint(port_forward_start(self_exe, maps, fds, gone, &err), ==, -1);
	g_assert_nonnull(err);
	g_assert_nonnull(strstr(err->message, "pidfd_open container pid"));
	g_clear_error(&err);

	/* A forwarder that cannot be executed says so. */
	pid_t alive = fork();
	g_assert_cmpint(alive, >=, 0);
	if (alive == 0) {
		pause();
		_exit(0);
	}
	g_assert_cmpint(port_forward_start("/nonexistent/ctr-wrap", maps, fds, alive, &err), ==, -1);
	g_assert_nonnull(strstr(err->message, "cannot execute /nonexistent/ctr-wrap port-forward"));
	g_clear_error(&err);
	kill(alive, SIGKILL);
	g_assert_cmpint(waitpid(alive, NULL, 0), ==, alive);

	ports_close_fds(fds);
	g_assert_cmpint(port_forward_start(self_exe, maps, fds, getpid(), &err), ==, -1);
	g_assert_nonnull(strstr(err->message, "1 mappings but 0 reserved sockets"));
}

static void test_limits_from_env(void)
{
	static const char *const names[] = { PORT_RELAY_ENV_TCP_MAX_CONNS, PORT_RELAY_ENV_TCP_DRAIN,
					     PORT_RELAY_ENV_UDP_MAX_SESSIONS, PORT_RELAY_ENV_UDP_IDLE };
	static const char *const bad[] = { "", "abc", "0", "-5", "12x", "1000001" };
	struct port_relay_limits lim;
	g_autoptr(GError) err = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		g_unsetenv(names[i]);
	g_assert_cmpint(port_relay_limits_from_env(&lim, &err), ==, 0);
	g_assert_cmpuint(lim.tcp_max_conns, ==, PORT_RELAY_TCP_MAX_CONNS);
	g_assert_cmpuint(lim.tcp_drain_seconds, ==, PORT_RELAY_TCP_DRAIN_SECONDS);
	g_assert_cmpuint(lim.udp_max_sessions, ==, PORT_RELAY_UDP_MAX_SESSIONS);
	g_assert_cmpuint(lim.udp_idle_seconds, ==, PORT_RELAY_UDP_IDLE_SECONDS);

	g_setenv(PORT_RELAY_ENV_TCP_MAX_CONNS, "20", TRUE);
	g_setenv(PORT_RELAY_ENV_TCP_DRAIN, "2", TRUE);
	g_setenv(PORT_RELAY_ENV_UDP_MAX_SESSIONS, "1000000", TRUE);
	g_setenv(PORT_RELAY_ENV_UDP_IDLE, "86400", TRUE);
	g_assert_cmpint(port_relay_limits_from_env(&lim, &err), ==, 0);
	g_assert_cmpuint(lim.tcp_max_conns, ==, 20);
	g_assert_cmpuint(lim.tcp_drain_seconds, ==, 2);
	g_assert_cmpuint(lim.udp_max_sessions, ==, 1000000);
	g_assert_cmpuint(lim.udp_idle_seconds, ==, 86400);

	g_setenv(PORT_RELAY_ENV_UDP_IDLE, "86401", TRUE);
	g_assert_cmpint(port_relay_limits_from_env(&lim, &err), ==, -1);
	g_assert_cmpstr(err->message, ==, "CTR_WRAP_PORT_UDP_IDLE_TIMEOUT=86401: want a whole number from 1 to 86400");
	g_clear_error(&err);
	g_unsetenv(PORT_RELAY_ENV_UDP_IDLE);
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_setenv(PORT_RELAY_ENV_TCP_MAX_CONNS, bad[i], TRUE);
		g_assert_cmpint(port_relay_limits_from_env(&lim, &err), ==, -1);
		g_assert_nonnull(strstr(err->message, PORT_RELAY_ENV_TCP_MAX_CONNS "="));
		g_clear_error(&err);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		g_unsetenv(names[i]);
}

/* A bad override stops the forwarder at setup, and ctr-wrap reports which variable. */
static void test_bad_limit_reported(void)
{
	g_autoptr(GArray) maps = ports_mappings_new();
	g_autoptr(GArray) fds = g_array_new(FALSE, FALSE, sizeof(int));
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(ports_parse("127.0.0.1::80", maps, &err), ==, 0);
	g_assert_cmpint(ports_reserve(maps, fds, &err), ==, 0);
	pid_t alive = fork();
	g_assert_cmpint(alive, >=, 0);
	if (alive == 0) {
		pause();
		_exit(0);
	}
	g_setenv(PORT_RELAY_ENV_TCP_DRAIN, "soon", TRUE);
	g_assert_cmpint(port_forward_start(self_exe, maps, fds, alive, &err), ==, -1);
	g_unsetenv(PORT_RELAY_ENV_TCP_DRAIN);
	g_assert_cmpstr(err->message, ==,
			"port forwarder: CTR_WRAP_PORT_TCP_DRAIN_TIMEOUT=soon: want a whole number from 1 to 86400");
	kill(alive, SIGKILL);
	g_assert_cmpint(waitpid(alive, NULL, 0), ==, alive);
	ports_close_fds(fds);
}

int main(int argc, char **argv)
{
	/* This binary plays ctr-wrap for port_forward_start(): it runs the forwarder when re-executed. */
	if (argc > 1 && strcmp(argv[1], "port-forward") == 0)
		return port_forward_main(argc - 1, argv + 1);
	self_exe = g_file_read_link("/proc/self/exe", NULL);
	g_assert_nonnull(self_exe);
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/port_forward/forward", test_forward);
	g_test_add_func("/port_forward/no_container", test_no_container);
	g_test_add_func("/port_forward/limits_from_env", test_limits_from_env);
	g_test_add_func("/port_forward/bad_limit_reported", test_bad_limit_reported);
	return g_test_run();
}
