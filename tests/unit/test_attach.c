/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conmon/attach.h"

#define WAIT_US (5 * G_USEC_PER_SEC)

struct fixture {
	char *tmp;
	char *bundle;
};

static void setup(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	g_autoptr(GError) err = NULL;
	f->tmp = g_dir_make_tmp("test_attach.XXXXXX", &err);
	g_assert_no_error(err);
	f->bundle = g_build_filename(f->tmp, "bundle", NULL);
	g_assert_cmpint(mkdir(f->bundle, 0700), ==, 0);
}

static void remove_tree(const char *path)
{
	struct stat st;
	g_assert_cmpint(lstat(path, &st), ==, 0);
	if (S_ISDIR(st.st_mode)) {
		g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
		g_assert_nonnull(dir);
		const char *name;
		while ((name = g_dir_read_name(dir))) {
			g_autofree char *child = g_build_filename(path, name, NULL);
			remove_tree(child);
		}
		g_assert_cmpint(rmdir(path), ==, 0);
	} else {
		g_assert_cmpint(unlink(path), ==, 0);
	}
}

static void teardown(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	remove_tree(f->tmp);
	g_free(f->bundle);
	g_free(f->tmp);
}

/* Dial <dir>/attach the way the engine does: through an O_PATH fd of the directory. */
static int dial(const char *dir)
{
	int dfd = open(dir, O_PATH | O_CLOEXEC);
	g_assert_cmpint(dfd, >=, 0);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	g_assert_cmpint(fd, >=, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/attach", dfd);
	g_assert_cmpint(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	close(dfd);
	return fd;
}

static void wait_clients(struct attach_server *s, unsigned n)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_US;
	while (attach_client_count(s) != n && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(attach_client_count(s), ==, n);
}

static int connect_client(struct attach_server *s, const char *dir)
{
	unsigned before = attach_client_count(s);
	int fd = dial(dir);
	wait_clients(s, before + 1);
	return fd;
}

/* One packet, running the loop meanwhile; returns its length (0 at EOF). */
static ssize_t recv_packet(int fd, char *buf, size_t size)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_US;
	while (g_get_monotonic_time() < deadline) {
		ssize_t n = recv(fd, buf, size, MSG_DONTWAIT);
		if (n >= 0)
			return n;
		g_assert_cmpint(errno, ==, EAGAIN);
		g_main_context_iteration(NULL, FALSE);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, 10);
	}
	g_assert_not_reached();
}

static void assert_packet(int fd, const char *want, size_t len)
{
	char buf[ATTACH_PACKET_MAX + 100];
	ssize_t n = recv_packet(fd, buf, sizeof(buf));
	g_assert_cmpint(n, ==, (ssize_t)len);
	g_assert_true(memcmp(buf, want, len) == 0);
}

static struct attach_server *new_full(struct fixture *f, struct stdin_sink *in, bool leave_open)
{
	g_autoptr(GError) err = NULL;
	struct attach_server *s = attach_server_new(f->bundle, NULL, NULL, true, in, leave_open, &err);
	g_assert_no_error(err);
	g_assert_nonnull(s);
	return s;
}

static void test_framing(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	struct attach_server *s = new_full(f, NULL, false);
	g_autofree char *path = g_build_filename(f->bundle, "attach", NULL);
	struct stat st;
	g_assert_cmpint(stat(path, &st), ==, 0);
	g_assert_true(S_ISSOCK(st.st_mode));
	g_assert_cmpint(st.st_mode & 0777, ==, 0700);

	int c = connect_client(s, f->bundle);
	attach_broadcast(s, STDPIPE_STDOUT, "hello", 5);
	assert_packet(c, "\x02hello", 6);
	attach_broadcast(s, STDPIPE_STDERR, "bye\n", 4);
	assert_packet(c,
		      "\x03"
		      "bye\n",
		      5);

	char big[20000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i % 251);
	attach_broadcast(s, STDPIPE_STDOUT, big, sizeof(big));
	const size_t sizes[] = { 8192, 8192, 3616 };
	size_t off = 0;
	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
		char want[ATTACH_PACKET_MAX + 1];
		want[0] = STDPIPE_STDOUT;
		memcpy(want + 1, big + off, sizes[i]);
		assert_packet(c, want, sizes[i] + 1);
		off += sizes[i];
	}
	/* Client input without -i is read and discarded. */
	g_assert_cmpint(send(c, "ignored", 7, 0), ==, 7);
	attach_broadcast(s, STDPIPE_STDOUT, "x", 1);
	assert_packet(c, "\x02x", 2);

	while (g_main_context_iteration(NULL, FALSE))
		;
	attach_server_free(s);
	char buf[16];
	g_assert_cmpint(recv(c, buf, sizeof(buf), 0), ==, 0);
	close(c);
	g_assert_cmpint(access(path, F_OK), ==, -1);
}

static void make_nonblock_pipe(int p[2])
{
	g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
	g_assert_cmpint(fcntl(p[0], F_SETFL, O_NONBLOCK), ==, 0);
}

/* Read from the pipe, running the loop, until want bytes came or EOF (returned as -1). */
static ssize_t read_pipe(int fd, GString *into, size_t want)
{
	gint64 deadline = g_get_monotonic_time() + WAIT_US;
	while (into->len < want && g_get_monotonic_time() < deadline) {
		char buf[65536];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return -1;
		if (n > 0)
			g_string_append_len(into, buf, n);
		else
			g_main_context_iteration(NULL, FALSE);
	}
	return (ssize_t)into->len;
}

/* True when the pipe reports EOF after the loop has settled. */
static bool pipe_at_eof(int fd)
{
	for (int i = 0; i < 50; i++) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		char b;
		ssize_t n = read(fd, &b, 1);
		if (n == 0)
			return true;
		g_assert_cmpint(n, ==, -1);
		g_usleep(2000);
	}
	return false;
}

static void input_case(struct fixture *f, bool leave_open, bool shutdown_first)
{
	struct stdin_sink *in = stdin_sink_new();
	int p[2];
	make_nonblock_pipe(p);
	stdin_sink_set_fd(in, p[1]);
	struct attach_server *s = new_full(f, in, leave_open);
	int c = connect_client(s, f->bundle);

	g_assert_cmpint(send(c, "abc", 3, 0), ==, 3);
	g_assert_cmpint(send(c, "def\n", 4, 0), ==, 4);
	g_autoptr(GString) got = g_string_new(NULL);
	g_assert_cmpint(read_pipe(p[0], got, 7), ==, 7);
	g_assert_cmpstr(got->str, ==, "abcdef\n");

	if (shutdown_first) {
		g_assert_cmpint(shutdown(c, SHUT_WR), ==, 0);
		g_assert_cmpint(pipe_at_eof(p[0]), ==, !leave_open);
		/* Output still flows to a client that has finished its input. */
		attach_broadcast(s, STDPIPE_STDOUT, "after", 5);
		assert_packet(c,
			      "\x02"
			      "after",
			      6);
		g_assert_cmpuint(attach_client_count(s), ==, 1);
	}
	g_assert_cmpint(send(c, "tail", 4, MSG_NOSIGNAL), ==, shutdown_first ? -1 : 4);
	close(c);
	wait_clients(s, 0);
	if (!shutdown_first) {
		g_string_truncate(got, 0);
		g_assert_cmpint(read_pipe(p[0], got, 4), ==, 4);
		g_assert_cmpstr(got->str, ==, "tail");
		g_assert_cmpint(pipe_at_eof(p[0]), ==, !leave_open);
	}
	attach_server_free(s);
	stdin_sink_free(in);
	close(p[0]);
}

static void test_input_eof(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	input_case(f, false, true);
}

static void test_input_leave_open(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	input_case(f, true, true);
}

static void test_input_hangup(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	input_case(f, false, false);
}

static void test_input_hangup_leave_open(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	input_case(f, true, false);
}

/* A full stdin queue pauses the client; everything still arrives, in order. */
static void test_input_backpressure(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	struct stdin_sink *in = stdin_sink_new();
	struct attach_server *s = new_full(f, in, false);
	int c = connect_client(s, f->bundle);
	g_assert_cmpint(fcntl(c, F_SETFL, O_NONBLOCK), ==, 0);

	const size_t total = 3 * STDIN_SINK_LIMIT;
	const size_t chunk = 32768;
	g_autofree char *data = g_malloc(total);
	for (size_t i = 0; i < total; i++)
		data[i] = (char)(i * 7 + i / 4096);
	size_t sent = 0;
	/* No fd yet: the queue fills, the client is paused, its socket backs up. */
	gint64 deadline = g_get_monotonic_time() + WAIT_US;
	while (g_get_monotonic_time() < deadline) {
		ssize_t n = send(c, data + sent, chunk, 0);
		if (n < 0) {
			g_assert_cmpint(errno, ==, EAGAIN);
			break;
		}
		sent += (size_t)n;
		g_main_context_iteration(NULL, FALSE);
	}
	g_assert_cmpuint(sent, <, total);
	g_assert_cmpuint(stdin_sink_pending(in), >=, STDIN_SINK_LIMIT);
	g_assert_cmpuint(stdin_sink_pending(in), <=, STDIN_SINK_LIMIT + chunk);

	int p[2];
	make_nonblock_pipe(p);
	stdin_sink_set_fd(in, p[1]);
	g_autoptr(GString) got = g_string_new(NULL);
	deadline = g_get_monotonic_time() + 4 * WAIT_US;
	while (got->len < total && g_get_monotonic_time() < deadline) {
		if (sent < total) {
			ssize_t n = send(c, data + sent, MIN(chunk, total - sent), 0);
			if (n > 0)
				sent += (size_t)n;
		}
		char buf[65536];
		ssize_t n = read(p[0], buf, sizeof(buf));
		if (n > 0)
			g_string_append_len(got, buf, n);
		g_main_context_iteration(NULL, FALSE);
	}
	g_assert_cmpuint(got->len, ==, total);
	g_assert_true(memcmp(got->str, data, total) == 0);

	close(c);
	wait_clients(s, 0);
	g_assert_true(pipe_at_eof(p[0]));
	attach_server_free(s);
	stdin_sink_free(in);
	close(p[0]);
}

static void test_two_clients(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	struct attach_server *s = new_full(f, NULL, false);
	int a = connect_client(s, f->bundle);
	int b = connect_client(s, f->bundle);
	attach_broadcast(s, STDPIPE_STDOUT, "both", 4);
	assert_packet(a,
		      "\x02"
		      "both",
		      5);
	assert_packet(b,
		      "\x02"
		      "both",
		      5);
	close(a);
	wait_clients(s, 1);
	attach_broadcast(s, STDPIPE_STDERR, "one", 3);
	assert_packet(b, "\x03one", 4);
	attach_server_free(s);
	close(b);
}

/* Read every packet available now; check each one continues the sequence. */
static size_t drain_checked(int fd, guint32 *next_seq)
{
	size_t bytes = 0;
	char buf[ATTACH_PACKET_MAX + 1];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			return bytes;
		g_assert_cmpint(n, ==, ATTACH_PACKET_MAX + 1);
		g_assert_cmpint(buf[0], ==, STDPIPE_STDOUT);
		guint32 seq;
		memcpy(&seq, buf + 1, sizeof(seq));
		g_assert_cmpuint(seq, ==, *next_seq);
		(*next_seq)++;
		bytes += (size_t)n - 1;
	}
}

static void on_resume(void *data)
{
	*(bool *)data = false;
}

static void test_slow_client(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	struct attach_server *s = new_full(f, NULL, false);
	int stuck = connect_client(s, f->bundle);
	int good = connect_client(s, f->bundle);
	bool paused = false;
	attach_server_on_resume(s, on_resume, &paused);

	const guint32 packets = (2 * ATTACH_CLIENT_QUEUE_MAX) / ATTACH_PACKET_MAX;
	char chunk[ATTACH_PACKET_MAX];
	memset(chunk, 'z', sizeof(chunk));
	guint32 good_seq = 0;
	size_t good_bytes = 0;
	guint32 dropped_at = 0;
	for (guint32 seq = 0; seq < packets; seq++) {
		memcpy(chunk, &seq, sizeof(seq));
		gint64 start = g_get_monotonic_time();
		paused = attach_broadcast(s, STDPIPE_STDOUT, chunk, sizeof(chunk));
		g_assert_cmpint(g_get_monotonic_time() - start, <, G_USEC_PER_SEC);
		/* Back-pressure: as the monitor does, stop producing until told to resume. */
		while (paused) {
			g_assert_cmpint(g_get_monotonic_time() - start, <, 3 * G_USEC_PER_SEC);
			g_main_context_iteration(NULL, TRUE);
			good_bytes += drain_checked(good, &good_seq);
		}
		if (dropped_at == 0 && attach_client_count(s) == 1)
			dropped_at = seq;
		good_bytes += drain_checked(good, &good_seq);
		g_main_context_iteration(NULL, FALSE);
	}
	g_assert_cmpuint(dropped_at, >, 0);
	/* It was let go once its queue passed the bound, not before. */
	g_assert_cmpuint((size_t)dropped_at * ATTACH_PACKET_MAX, >=, ATTACH_CLIENT_QUEUE_MAX);

	gint64 deadline = g_get_monotonic_time() + WAIT_US;
	while (good_seq < packets && g_get_monotonic_time() < deadline) {
		g_main_context_iteration(NULL, FALSE);
		good_bytes += drain_checked(good, &good_seq);
	}
	g_assert_cmpuint(good_seq, ==, packets);
	g_assert_cmpuint(good_bytes, ==, (size_t)packets * ATTACH_PACKET_MAX);

	/* The stuck client sees an in-order prefix, then the end. */
	guint32 stuck_seq = 0;
	drain_checked(stuck, &stuck_seq);
	g_assert_cmpuint(stuck_seq, >, 0);
	g_assert_cmpuint(stuck_seq, <, dropped_at);
	char buf[16];
	g_assert_cmpint(recv(stuck, buf, sizeof(buf), MSG_DONTWAIT), ==, 0);

	attach_server_free(s);
	close(stuck);
	close(good);
}

static void test_long_bundle(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	g_autofree char *name = g_strnfill(120, 'b');
	g_autofree char *bundle = g_build_filename(f->bundle, name, NULL);
	g_assert_cmpint(mkdir(bundle, 0700), ==, 0);
	g_assert_cmpuint(strlen(bundle), >, 108);
	g_autoptr(GError) err = NULL;
	struct attach_server *s = attach_server_new(bundle, NULL, NULL, true, NULL, false, &err);
	g_assert_no_error(err);
	int c = connect_client(s, bundle);
	attach_broadcast(s, STDPIPE_STDOUT, "long", 4);
	assert_packet(c, "\x02long", 5);
	attach_server_free(s);
	close(c);
	g_autofree char *path = g_build_filename(bundle, "attach", NULL);
	g_assert_cmpint(access(path, F_OK), ==, -1);
}

static void test_symlink_mode(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	g_autofree char *sockets = g_build_filename(f->tmp, "run", "sockets", NULL);
	g_autofree char *link = g_build_filename(sockets, "0123abcd", NULL);
	g_autofree char *other = g_build_filename(f->tmp, "elsewhere", NULL);
	/* A stale link from an earlier run is replaced. */
	g_assert_cmpint(g_mkdir_with_parents(sockets, 0755), ==, 0);
	g_assert_cmpint(symlink(other, link), ==, 0);

	g_autoptr(GError) err = NULL;
	struct attach_server *s = attach_server_new(f->bundle, sockets, "0123abcd", false, NULL, false, &err);
	g_assert_no_error(err);
	g_autofree char *target = g_file_read_link(link, &err);
	g_assert_no_error(err);
	g_assert_cmpstr(target, ==, f->bundle);
	g_autofree char *sock = g_build_filename(link, "attach", NULL);
	struct stat st;
	g_assert_cmpint(stat(sock, &st), ==, 0);
	g_assert_true(S_ISSOCK(st.st_mode));

	/* The short path is dialled directly, as CRI-O does. */
	int c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	g_assert_cmpuint(strlen(sock), <, sizeof(addr.sun_path));
	strcpy(addr.sun_path, sock);
	g_assert_cmpint(connect(c, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	wait_clients(s, 1);
	attach_broadcast(s, STDPIPE_STDOUT, "via link", 8);
	assert_packet(c, "\x02via link", 9);

	attach_server_free(s);
	close(c);
	g_assert_cmpint(lstat(link, &st), ==, -1);
	g_autofree char *real = g_build_filename(f->bundle, "attach", NULL);
	g_assert_cmpint(access(real, F_OK), ==, -1);
}

/* A link path of exactly 107 characters loses its last one, as the reference does. */
static void test_symlink_107(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	g_autofree char *sockets = g_build_filename(f->tmp, "s", NULL);
	size_t cuuid_len = 107 - strlen(sockets) - 1;
	g_autofree char *cuuid = g_strnfill(cuuid_len, 'c');
	g_autofree char *full = g_build_filename(sockets, cuuid, NULL);
	g_assert_cmpuint(strlen(full), ==, 107);
	g_autofree char *cut = g_strndup(full, 106);

	g_autoptr(GError) err = NULL;
	struct attach_server *s = attach_server_new(f->bundle, sockets, cuuid, false, NULL, false, &err);
	g_assert_no_error(err);
	struct stat st;
	g_assert_cmpint(lstat(cut, &st), ==, 0);
	g_assert_true(S_ISLNK(st.st_mode));
	g_assert_cmpint(lstat(full, &st), ==, -1);
	attach_server_free(s);
	g_assert_cmpint(lstat(cut, &st), ==, -1);
}

static void test_errors(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	g_autoptr(GError) err = NULL;
	g_autofree char *missing = g_build_filename(f->tmp, "missing", NULL);
	g_assert_null(attach_server_new(missing, NULL, NULL, true, NULL, false, &err));
	g_assert_nonnull(err);
	g_clear_error(&err);
	g_assert_null(attach_server_new(f->bundle, f->tmp, NULL, false, NULL, false, &err));
	g_assert_nonnull(err);
	attach_server_free(NULL);
}

#define ADD(name, fn) g_test_add(name, struct fixture, NULL, setup, fn, teardown)

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	ADD("/attach/framing", test_framing);
	ADD("/attach/input_eof", test_input_eof);
	ADD("/attach/input_leave_open", test_input_leave_open);
	ADD("/attach/input_hangup", test_input_hangup);
	ADD("/attach/input_hangup_leave_open", test_input_hangup_leave_open);
	ADD("/attach/input_backpressure", test_input_backpressure);
	ADD("/attach/two_clients", test_two_clients);
	ADD("/attach/slow_client", test_slow_client);
	ADD("/attach/long_bundle", test_long_bundle);
	ADD("/attach/symlink_mode", test_symlink_mode);
	ADD("/attach/symlink_107", test_symlink_107);
	ADD("/attach/errors", test_errors);
	return g_test_run();
}
