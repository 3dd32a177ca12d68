/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conmon/ctl_fifo.h"

struct fixture {
	char *dir;
	GString *events;
	struct ctl_fifo *ctl;
};

static void on_resize(unsigned short rows, unsigned short cols, void *data)
{
	struct fixture *f = data;
	g_string_append_printf(f->events, "R%ux%u;", rows, cols);
}

static void on_reopen(void *data)
{
	struct fixture *f = data;
	g_string_append(f->events, "O;");
}

static void setup(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	g_autoptr(GError) err = NULL;
	f->dir = g_dir_make_tmp("test_ctl_fifo.XXXXXX", &err);
	g_assert_no_error(err);
	f->events = g_string_new(NULL);
	const struct ctl_handlers h = { .resize = on_resize, .reopen_logs = on_reopen, .data = f };
	f->ctl = ctl_fifo_new(f->dir, &h, &err);
	g_assert_no_error(err);
	g_assert_nonnull(f->ctl);
}

static void teardown(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	ctl_fifo_free(f->ctl);
	g_assert_cmpint(rmdir(f->dir), ==, 0);
	g_free(f->dir);
	g_string_free(f->events, TRUE);
}

/* Feed each piece in turn; return the events and start afresh. */
static const char *feed(struct fixture *f, const char *const *pieces)
{
	g_string_truncate(f->events, 0);
	for (; *pieces; pieces++)
		ctl_fifo_feed(f->ctl, *pieces, strlen(*pieces));
	return f->events->str;
}

#define FEED(f, ...) feed((f), (const char *const[]){ __VA_ARGS__, NULL })

static void test_grammar(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	g_assert_cmpstr(FEED(f, "1 40 100\n"), ==, "R40x100;");
	g_assert_cmpstr(FEED(f, "2 0 0\n"), ==, "O;");
	g_assert_cmpstr(FEED(f, "1 10 20\n2 0 0\n1 11 21\n"), ==, "R10x20;O;R11x21;");
	g_assert_cmpstr(FEED(f, "1 3", "0 7", "0\n"), ==, "R30x70;");
	g_assert_cmpstr(FEED(f, "1 1 1\n1 2", " 2\n"), ==, "R1x1;R2x2;");
	g_assert_cmpstr(FEED(f, "1 0 0\n1 1000 1000\n"), ==, "R0x0;R1000x1000;");
	g_assert_cmpstr(FEED(f, "1  5\t6\n"), ==, "R5x6;");
	/* conmon's sscanf("%d %d %d"): what follows the third number is ignored, signs are allowed */
	g_assert_cmpstr(FEED(f, "1 2 2 3\n"), ==, "R2x2;");
	g_assert_cmpstr(FEED(f, "1 7 8junk\n"), ==, "R7x8;");
	g_assert_cmpstr(FEED(f, " 1 +9 10\n"), ==, "R9x10;");
	g_assert_cmpstr(FEED(f, "2 0 0 9\n"), ==, "O;");
}

static void test_rejects(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	g_assert_cmpstr(FEED(f, "hello\n"), ==, "");
	g_assert_cmpstr(FEED(f, "\n"), ==, "");
	g_assert_cmpstr(FEED(f, "1 2\n"), ==, "");
	g_assert_cmpstr(FEED(f, "2\n"), ==, "");
	g_assert_cmpstr(FEED(f, "1 -1 5\n"), ==, "");
	g_assert_cmpstr(FEED(f, "1 5 -1\n"), ==, "");
	g_assert_cmpstr(FEED(f, "1 1001 5\n"), ==, "");
	g_assert_cmpstr(FEED(f, "1 5 1001\n"), ==, "");
	g_assert_cmpstr(FEED(f, "3 1 1\n"), ==, "");
	g_assert_cmpstr(FEED(f, "0 1 1\n"), ==, "");
	g_assert_cmpstr(FEED(f, "1 2x 3\n"), ==, "");
	g_assert_cmpstr(FEED(f, "1 99999999999999999999 3\n"), ==, "");
	/* A bad line does not take its neighbours down with it. */
	g_assert_cmpstr(FEED(f, "1 2 3\nzzz\n2 0 0\n"), ==, "R2x3;O;");
}

static void test_overlong(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	g_autofree char *junk = g_strnfill(300, '7');
	g_assert_cmpstr(FEED(f, junk, junk, "\n1 5 6\n"), ==, "R5x6;");
	/* Overlong but terminated within one feed. */
	g_autofree char *line = g_strdup_printf("1 2 %s\n1 8 9\n", junk);
	g_assert_cmpstr(FEED(f, line), ==, "R8x9;");
	/* Exactly at the limit still parses; padding with spaces keeps it valid. */
	g_autofree char *pad = g_strnfill(256 - 5, ' ');
	g_autofree char *fits = g_strdup_printf("1 4 4%s\n", pad);
	g_assert_cmpstr(FEED(f, fits), ==, "R4x4;");
	g_autofree char *over = g_strdup_printf("1 4 4 %s\n", pad);
	g_assert_cmpstr(FEED(f, over, "1 3 3\n"), ==, "R3x3;");
}

static void iterate_until(struct fixture *f, const char *want)
{
	gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	while (strcmp(f->events->str, want) != 0 && g_get_monotonic_time() < deadline)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpstr(f->events->str, ==, want);
}

static void write_fifo(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, text, strlen(text)), ==, (ssize_t)strlen(text));
	close(fd);
}

static void test_real_fifos(struct fixture *f, gconstpointer unused)
{
	(void)unused;
	g_autofree char *ctl = g_build_filename(f->dir, "ctl", NULL);
	g_autofree char *winsz = g_build_filename(f->dir, "winsz", NULL);
	struct stat st;
	mode_t mask = umask(0);

	/* mkfifo 0660 through the umask, as conmon: 0640 under the monitor's own umask 022. */
	umask(mask);
	g_assert_cmpint(stat(ctl, &st), ==, 0);
	g_assert_true(S_ISFIFO(st.st_mode));
	g_assert_cmpint(st.st_mode & 07777, ==, 0660 & ~mask);
	g_assert_cmpint(stat(winsz, &st), ==, 0);
	g_assert_true(S_ISFIFO(st.st_mode));
	g_assert_cmpint(st.st_mode & 07777, ==, 0660 & ~mask);

	write_fifo(ctl, "1 40 100\n2 0 0\n");
	iterate_until(f, "R40x100;O;");
	write_fifo(winsz, "30 90\n");
	iterate_until(f, "R40x100;O;R30x90;");
	/* "%d %d" as conmon reads it: a trailing field is ignored, a negative size refused */
	write_fifo(winsz, "31 91 1\n-1 5\n");
	iterate_until(f, "R40x100;O;R30x90;R31x91;");
	/* The writers are gone: no hang-up storm, nothing left to dispatch. */
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_assert_false(g_main_context_iteration(NULL, FALSE));
	g_assert_cmpstr(f->events->str, ==, "R40x100;O;R30x90;R31x91;");

	ctl_fifo_free(f->ctl);
	f->ctl = NULL;
	g_assert_cmpint(access(ctl, F_OK), ==, -1);
	g_assert_cmpint(access(winsz, F_OK), ==, -1);
}

static void test_replaces_stale(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *dir = g_dir_make_tmp("test_ctl_fifo.XXXXXX", &err);
	g_assert_no_error(err);
	g_autofree char *ctl = g_build_filename(dir, "ctl", NULL);
	g_assert_true(g_file_set_contents(ctl, "stale", -1, &err));
	const struct ctl_handlers h = { 0 };
	struct ctl_fifo *c = ctl_fifo_new(dir, &h, &err);
	g_assert_no_error(err);
	struct stat st;
	g_assert_cmpint(stat(ctl, &st), ==, 0);
	g_assert_true(S_ISFIFO(st.st_mode));
	/* No handlers: messages are parsed and ignored. */
	ctl_fifo_feed(c, "1 2 3\n2 0 0\n", 12);
	ctl_fifo_free(c);

	g_autofree char *missing = g_build_filename(dir, "nope", NULL);
	g_assert_null(ctl_fifo_new(missing, &h, &err));
	g_assert_nonnull(err);
	g_assert_cmpint(rmdir(dir), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	umask(022);
	g_test_add("/ctl_fifo/grammar", struct fixture, NULL, setup, test_grammar, teardown);
	g_test_add("/ctl_fifo/rejects", struct fixture, NULL, setup, test_rejects, teardown);
	g_test_add("/ctl_fifo/overlong", struct fixture, NULL, setup, test_overlong, teardown);
	g_test_add("/ctl_fifo/real_fifos", struct fixture, NULL, setup, test_real_fifos, teardown);
	g_test_add_func("/ctl_fifo/replaces_stale", test_replaces_stale);
	return g_test_run();
}
