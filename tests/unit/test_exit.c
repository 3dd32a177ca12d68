/* SPDX-License-Identifier: Apache-2.0 */
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/wait.h>

#include "conmon/exit.h"

static void test_status(void)
{
	g_assert_cmpint(exit_status_from_wait(7 << 8), ==, 7);
	g_assert_cmpint(exit_status_from_wait(SIGKILL), ==, 137);
	g_assert_cmpint(exit_status_from_wait(SIGTERM), ==, 143);
}

static void test_files(void)
{
	g_autofree char *dir = g_dir_make_tmp("exit-XXXXXX", NULL);
	g_autofree char *exits = g_build_filename(dir, "exits", NULL);
	g_assert_cmpint(g_mkdir(exits, 0700), ==, 0);
	struct cli_opts o = { .cid = "abc", .persist_dir = dir, .exit_dir = exits };
	g_autoptr(GError) err = NULL;
	g_assert_cmpint(exit_write_files(&o, 137, &err), ==, 0);

	g_autofree char *p1 = g_build_filename(dir, "exit", NULL);
	g_autofree char *p2 = g_build_filename(exits, "abc", NULL);
	g_autofree char *c1 = NULL, *c2 = NULL;
	g_assert_true(g_file_get_contents(p1, &c1, NULL, NULL));
	g_assert_true(g_file_get_contents(p2, &c2, NULL, NULL));
	g_assert_cmpstr(c1, ==, "137");
	g_assert_cmpstr(c2, ==, "137");

	/* No stray temp files are left beside them. */
	g_autoptr(GDir) d = g_dir_open(exits, 0, NULL);
	g_assert_cmpstr(g_dir_read_name(d), ==, "abc");
	g_assert_null(g_dir_read_name(d));

	g_unlink(p1);
	g_unlink(p2);
	g_rmdir(exits);
	g_rmdir(dir);
}

static void test_files_error(void)
{
	struct cli_opts o = { .cid = "abc", .exit_dir = "/nonexistent/dir" };
	g_autoptr(GError) err = NULL;
	g_assert_cmpint(exit_write_files(&o, 0, &err), ==, -1);
	g_assert_nonnull(err);
}

static gpointer make_dir_later(gpointer data)
{
	g_usleep(300 * 1000);
	g_assert_cmpint(g_mkdir(data, 0700), ==, 0);
	return NULL;
}

/* A failed write is tried again: here the directory shows up 300 ms late (as space may come back). */
static void test_files_retry(void)
{
	g_autofree char *dir = g_dir_make_tmp("exit-XXXXXX", NULL);
	g_autofree char *exits = g_build_filename(dir, "exits", NULL);
	struct cli_opts o = { .cid = "abc", .exit_dir = exits };
	GThread *t = g_thread_new("mkdir", make_dir_later, exits);
	g_assert_cmpint(exit_write_files_retry(&o, 3, 5000), ==, 0);
	g_thread_join(t);
	g_autofree char *p = g_build_filename(exits, "abc", NULL);
	g_autofree char *c = NULL;
	g_assert_true(g_file_get_contents(p, &c, NULL, NULL));
	g_assert_cmpstr(c, ==, "3");
	g_unlink(p);
	g_rmdir(exits);
	g_rmdir(dir);
}

/* It gives up after the time given, and the other file is still written. */
static void test_files_retry_gives_up(void)
{
	g_autofree char *dir = g_dir_make_tmp("exit-XXXXXX", NULL);
	struct cli_opts o = { .cid = "abc", .persist_dir = dir, .exit_dir = "/nonexistent/dir" };
	gint64 start = g_get_monotonic_time();
	g_assert_cmpint(exit_write_files_retry(&o, 1, 400), ==, -1);
	gint64 took_ms = (g_get_monotonic_time() - start) / 1000;
	g_assert_cmpint(took_ms, >=, 400);
	g_assert_cmpint(took_ms, <, 3000);
	g_autofree char *p = g_build_filename(dir, "exit", NULL);
	g_autofree char *c = NULL;
	g_assert_true(g_file_get_contents(p, &c, NULL, NULL));
	g_assert_cmpstr(c, ==, "1");
	g_unlink(p);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/exit/status", test_status);
	g_test_add_func("/exit/files", test_files);
	g_test_add_func("/exit/files_error", test_files_error);
	g_test_add_func("/exit/files_retry", test_files_retry);
	g_test_add_func("/exit/files_retry_gives_up", test_files_retry_gives_up);
	return g_test_run();
}
