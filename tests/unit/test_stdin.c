/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "conmon/stdin.h"

#define CHUNK 32768

static void on_writable(void *data)
{
	(*(int *)data)++;
}

/* Read what the pipe holds now, without blocking; returns bytes read, -1 at EOF. */
static ssize_t drain_pipe(int fd, GByteArray *into)
{
	char buf[65536];
	ssize_t total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			g_byte_array_append(into, (guint8 *)buf, (guint)n);
			total += n;
			continue;
		}
		if (n == 0)
			return total > 0 ? total : -1;
		g_assert_cmpint(errno, ==, EAGAIN);
		return total;
	}
}

static void make_pipe(int p[2])
{
	g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
	g_assert_cmpint(fcntl(p[0], F_SETFL, O_NONBLOCK), ==, 0);
}

static void test_flush_after_set_fd(void)
{
	struct stdin_sink *s = stdin_sink_new();
	g_assert_true(stdin_sink_write(s, "hello ", 6));
	g_assert_true(stdin_sink_write(s, "world", 5));
	g_assert_cmpuint(stdin_sink_pending(s), ==, 11);
	int p[2];
	make_pipe(p);
	stdin_sink_set_fd(s, p[1]);
	g_assert_true(fcntl(p[1], F_GETFL) & O_NONBLOCK);
	g_assert_cmpuint(stdin_sink_pending(s), ==, 0);
	char buf[32] = { 0 };
	g_assert_cmpint(read(p[0], buf, sizeof(buf)), ==, 11);
	g_assert_cmpstr(buf, ==, "hello world");
	/* With the fd set and room in the pipe, input goes straight through. */
	g_assert_true(stdin_sink_write(s, "!", 1));
	g_assert_cmpint(read(p[0], buf, sizeof(buf)), ==, 1);
	stdin_sink_free(s);
	close(p[0]);
}

static void test_bounds_and_resume(void)
{
	struct stdin_sink *s = stdin_sink_new();
	int resumed = 0;
	stdin_sink_on_writable(s, on_writable, &resumed);
	g_autofree char *chunk = g_malloc(CHUNK);
	GByteArray *sent = g_byte_array_new();
	guint8 next = 0;
	bool accepted = true;
	while (accepted) {
		for (size_t i = 0; i < CHUNK; i++)
			chunk[i] = (char)next++;
		accepted = stdin_sink_write(s, chunk, CHUNK);
		g_byte_array_append(sent, (guint8 *)chunk, CHUNK);
	}
	g_assert_cmpuint(stdin_sink_pending(s), >=, STDIN_SINK_LIMIT);
	g_assert_cmpuint(stdin_sink_pending(s), <, STDIN_SINK_LIMIT + CHUNK);
	g_assert_true(stdin_sink_full(s));

	int p[2];
	make_pipe(p);
	stdin_sink_set_fd(s, p[1]);
	/* The pipe is full now and nobody reads it: the loop has nothing to do. */
	g_assert_false(g_main_context_iteration(NULL, FALSE));
	g_assert_cmpint(resumed, ==, 0);

	GByteArray *got = g_byte_array_new();
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	while (got->len < sent->len && g_get_monotonic_time() < deadline) {
		drain_pipe(p[0], got);
		g_main_context_iteration(NULL, FALSE);
	}
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_assert_cmpuint(got->len, ==, sent->len);
	g_assert_true(memcmp(got->data, sent->data, sent->len) == 0);
	g_assert_cmpint(resumed, ==, 1);
	g_assert_cmpuint(stdin_sink_pending(s), ==, 0);
	g_assert_false(stdin_sink_full(s));

	stdin_sink_free(s);
	g_byte_array_unref(got);
	g_byte_array_unref(sent);
	close(p[0]);
}

static void test_close_after_drain(void)
{
	struct stdin_sink *s = stdin_sink_new();
	int p[2];
	make_pipe(p);
	/* Close requested before the fd exists: the queued input still goes first. */
	stdin_sink_write(s, "abc", 3);
	stdin_sink_close(s);
	g_assert_true(stdin_sink_write(s, "dropped", 7));
	stdin_sink_set_fd(s, p[1]);
	GByteArray *got = g_byte_array_new();
	g_assert_cmpint(drain_pipe(p[0], got), ==, 3);
	g_assert_cmpint(drain_pipe(p[0], got), ==, -1);
	g_assert_cmpuint(got->len, ==, 3);
	g_assert_true(memcmp(got->data, "abc", 3) == 0);
	stdin_sink_free(s);
	g_byte_array_unref(got);
	close(p[0]);
}

static void test_close_with_pending(void)
{
	struct stdin_sink *s = stdin_sink_new();
	int p[2];
	make_pipe(p);
	stdin_sink_set_fd(s, p[1]);
	g_autofree char *big = g_malloc0(256 * 1024);
	stdin_sink_write(s, big, 256 * 1024);
	g_assert_cmpuint(stdin_sink_pending(s), >, 0);
	stdin_sink_close(s);
	GByteArray *got = g_byte_array_new();
	gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
	ssize_t n = 0;
	while (n >= 0 && g_get_monotonic_time() < deadline) {
		n = drain_pipe(p[0], got);
		g_main_context_iteration(NULL, FALSE);
	}
	g_assert_cmpint(n, ==, -1);
	g_assert_cmpuint(got->len, ==, 256 * 1024);
	stdin_sink_free(s);
	g_byte_array_unref(got);
	close(p[0]);
}

static void test_epipe(void)
{
	struct stdin_sink *s = stdin_sink_new();
	int resumed = 0;
	stdin_sink_on_writable(s, on_writable, &resumed);
	int p[2];
	make_pipe(p);
	g_autofree char *chunk = g_malloc0(CHUNK);
	while (stdin_sink_write(s, chunk, CHUNK))
		;
	close(p[0]);
	stdin_sink_set_fd(s, p[1]);
	/* The container closed its stdin: input is dropped and producers released. */
	g_assert_cmpuint(stdin_sink_pending(s), ==, 0);
	g_assert_true(stdin_sink_write(s, chunk, CHUNK));
	g_assert_cmpuint(stdin_sink_pending(s), ==, 0);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_assert_cmpint(resumed, ==, 1);
	stdin_sink_free(s);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	g_test_add_func("/stdin/flush_after_set_fd", test_flush_after_set_fd);
	g_test_add_func("/stdin/bounds_and_resume", test_bounds_and_resume);
	g_test_add_func("/stdin/close_after_drain", test_close_after_drain);
	g_test_add_func("/stdin/close_with_pending", test_close_with_pending);
	g_test_add_func("/stdin/epipe", test_epipe);
	return g_test_run();
}
