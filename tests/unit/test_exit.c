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

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/exit/status", test_status);
	g_test_add_func("/exit/files", test_files);
	g_test_add_func("/exit/files_error", test_files_error);
	return g_test_run();
}
