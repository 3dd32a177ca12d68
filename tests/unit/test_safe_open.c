/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/safe_open.h"

static char *in_dir(const char *dir, const char *name)
{
	return g_build_filename(dir, name, NULL);
}

static void remove_dir(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d)) != NULL) {
		g_autofree char *p = in_dir(dir, name);
		g_assert_cmpint(g_unlink(p), ==, 0);
	}
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static unsigned count_entries(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	unsigned n = 0;
	while (g_dir_read_name(d))
		n++;
	return n;
}

static void test_symlink_refused(void)
{
	g_autofree char *dir = g_dir_make_tmp("safe-open-XXXXXX", NULL);
	g_autofree char *target = in_dir(dir, "target");
	g_autofree char *link = in_dir(dir, "link");
	g_autofree char *dangling = in_dir(dir, "dangling");
	g_autofree char *nowhere = in_dir(dir, "nowhere");
	g_assert_true(g_file_set_contents(target, "keep", -1, NULL));
	g_assert_cmpint(symlink(target, link), ==, 0);
	g_assert_cmpint(symlink(nowhere, dangling), ==, 0);

	g_autoptr(GError) err = NULL;
	g_assert_cmpint(cm_open_safe(link, O_WRONLY | O_APPEND | O_CREAT, 0600, 0, &err), ==, -1);
	g_assert_cmpint(cm_error_errno(err), ==, ELOOP);
	g_assert_nonnull(strstr(err->message, "symbolic link"));
	g_clear_error(&err);
	/* A dangling link creates nothing at its target. */
	g_assert_cmpint(cm_open_safe(dangling, O_WRONLY | O_CREAT, 0666, CM_OPEN_REGULAR, &err), ==, -1);
	g_assert_cmpint(cm_error_errno(err), ==, ELOOP);
	g_assert_false(g_file_test(nowhere, G_FILE_TEST_EXISTS));
	g_autofree char *contents = NULL;
	g_assert_true(g_file_get_contents(target, &contents, NULL, NULL));
	g_assert_cmpstr(contents, ==, "keep");
	remove_dir(dir);
}

static void test_fifo_never_blocks(void)
{
	g_autofree char *dir = g_dir_make_tmp("safe-open-XXXXXX", NULL);
	g_autofree char *fifo = in_dir(dir, "oom");
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	g_autoptr(GError) err = NULL;
	/* No reader: a blocking open(O_WRONLY) would hang here. */
	g_assert_cmpint(cm_open_safe(fifo, O_WRONLY | O_CREAT, 0666, CM_OPEN_REGULAR, &err), ==, -1);
	g_assert_cmpint(cm_error_errno(err), ==, EINVAL);
	g_assert_nonnull(strstr(err->message, "not a regular file"));
	g_clear_error(&err);
	g_assert_cmpint(cm_open_safe(fifo, O_RDONLY, 0, CM_OPEN_REGULAR, &err), ==, -1);
	g_assert_cmpint(cm_error_errno(err), ==, EINVAL);
	g_clear_error(&err);
	/* Without CM_OPEN_REGULAR a FIFO is fine (a log target), and still opens at once. */
	int fd = cm_open_safe(fifo, O_RDWR | O_NONBLOCK, 0, 0, &err);
	g_assert_no_error(err);
	g_assert_cmpint(fcntl(fd, F_GETFL) & O_NONBLOCK, !=, 0);
	close(fd);
	remove_dir(dir);
}

static void test_regular_file(void)
{
	g_autofree char *dir = g_dir_make_tmp("safe-open-XXXXXX", NULL);
	g_autofree char *path = in_dir(dir, "file");
	g_autoptr(GError) err = NULL;
	int fd = cm_open_safe(path, O_WRONLY | O_CREAT, 0640, CM_OPEN_REGULAR, &err);
	g_assert_no_error(err);
	/* Non-blocking only for the open, unless asked for. */
	g_assert_cmpint(fcntl(fd, F_GETFL) & O_NONBLOCK, ==, 0);
	g_assert_cmpint(fcntl(fd, F_GETFD) & FD_CLOEXEC, !=, 0);
	close(fd);
	g_assert_cmpint(cm_open_safe(dir, O_RDONLY, 0, CM_OPEN_REGULAR, &err), ==, -1);
	g_assert_cmpint(cm_error_errno(err), ==, EINVAL);
	remove_dir(dir);
}

static void test_hard_link_refused(void)
{
	g_autofree char *dir = g_dir_make_tmp("safe-open-XXXXXX", NULL);
	g_autofree char *target = in_dir(dir, "target");
	g_autofree char *planted = in_dir(dir, "ctr.log");
	g_autofree char *fresh = in_dir(dir, "fresh.log");
	g_autofree char *fifo = in_dir(dir, "fifo");
	g_autofree char *fifo_link = in_dir(dir, "fifo-link");
	g_autoptr(GError) err = NULL;
	g_autofree char *contents = NULL;
	int fd;

	g_assert_true(g_file_set_contents(target, "keep", -1, NULL));
	g_assert_cmpint(link(target, planted), ==, 0);
	g_assert_cmpint(cm_open_safe(planted, O_WRONLY | O_APPEND | O_CREAT, 0640, CM_OPEN_SINGLE_LINK, &err), ==, -1);
	g_assert_error(err, CM_ERRNO_ERROR, EMLINK);
	g_assert_nonnull(strstr(err->message, "2 hard links"));
	g_clear_error(&err);
	g_assert_true(g_file_get_contents(target, &contents, NULL, NULL));
	g_assert_cmpstr(contents, ==, "keep");
	/* Without the flag, as before. */
	fd = cm_open_safe(planted, O_RDONLY, 0, 0, &err);
	g_assert_no_error(err);
	close(fd);
	/* A file of its own, new or not, opens; so does a FIFO, links or not. */
	for (int i = 0; i < 2; i++) {
		fd = cm_open_safe(fresh, O_WRONLY | O_APPEND | O_CREAT, 0640, CM_OPEN_SINGLE_LINK, &err);
		g_assert_no_error(err);
		close(fd);
	}
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	g_assert_cmpint(link(fifo, fifo_link), ==, 0);
	fd = cm_open_safe(fifo_link, O_RDWR | O_NONBLOCK, 0, CM_OPEN_SINGLE_LINK, &err);
	g_assert_no_error(err);
	close(fd);
	remove_dir(dir);
}

static void test_create_unique(void)
{
	g_autofree char *dir = g_dir_make_tmp("safe-open-XXXXXX", NULL);
	g_autofree char *prefix = in_dir(dir, "ctr.log");
	g_autoptr(GError) err = NULL;
	g_autofree char *a = NULL, *b = NULL;
	int fa = cm_create_unique(prefix, 0, 0600, &a, &err);
	int fb = cm_create_unique(prefix, 0, 0600, &b, &err);
	g_assert_no_error(err);
	g_assert_cmpstr(a, !=, b);
	g_assert_true(g_str_has_prefix(a, prefix));
	struct stat st;
	g_assert_cmpint(fstat(fa, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	close(fa);
	close(fb);
	remove_dir(dir);
}

static void test_write_atomic(void)
{
	g_autofree char *dir = g_dir_make_tmp("safe-open-XXXXXX", NULL);
	g_autofree char *target = in_dir(dir, "victim");
	g_autofree char *path = in_dir(dir, "exit");
	g_assert_true(g_file_set_contents(target, "keep", -1, NULL));
	g_assert_cmpint(symlink(target, path), ==, 0);
	g_autoptr(GError) err = NULL;
	/* The planted link is replaced by the file, its target untouched. */
	g_assert_cmpint(cm_write_file_atomic(path, "137", 3, 0644, true, &err), ==, 0);
	g_assert_no_error(err);
	g_autofree char *c1 = NULL, *c2 = NULL;
	g_assert_true(g_file_get_contents(path, &c1, NULL, NULL));
	g_assert_cmpstr(c1, ==, "137");
	g_assert_true(g_file_get_contents(target, &c2, NULL, NULL));
	g_assert_cmpstr(c2, ==, "keep");
	g_assert_false(g_file_test(path, G_FILE_TEST_IS_SYMLINK));
	g_assert_cmpuint(count_entries(dir), ==, 2);

	g_autofree char *missing = g_build_filename(dir, "no", "such", NULL);
	g_assert_cmpint(cm_write_file_atomic(missing, "1", 1, 0644, false, &err), ==, -1);
	g_assert_cmpint(cm_error_errno(err), ==, ENOENT);
	remove_dir(dir);
}

static void test_read_safe(void)
{
	g_autofree char *dir = g_dir_make_tmp("safe-open-XXXXXX", NULL);
	g_autofree char *path = in_dir(dir, "pidfile");
	g_autofree char *fifo = in_dir(dir, "fifo");
	g_autofree char *link = in_dir(dir, "link");
	g_assert_true(g_file_set_contents(path, "1234", -1, NULL));
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	g_assert_cmpint(symlink(path, link), ==, 0);
	g_autoptr(GError) err = NULL;
	size_t len = 0;
	g_autofree char *text = cm_read_file_safe(path, 64, &len, &err);
	g_assert_no_error(err);
	g_assert_cmpstr(text, ==, "1234");
	g_assert_cmpuint(len, ==, 4);
	g_assert_null(cm_read_file_safe(path, 3, NULL, &err));
	g_assert_cmpint(cm_error_errno(err), ==, EFBIG);
	g_clear_error(&err);
	g_assert_null(cm_read_file_safe(fifo, 64, NULL, &err));
	g_assert_cmpint(cm_error_errno(err), ==, EINVAL);
	g_clear_error(&err);
	g_assert_null(cm_read_file_safe(link, 64, NULL, &err));
	g_assert_cmpint(cm_error_errno(err), ==, ELOOP);
	remove_dir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/safe_open/symlink_refused", test_symlink_refused);
	g_test_add_func("/safe_open/fifo_never_blocks", test_fifo_never_blocks);
	g_test_add_func("/safe_open/regular_file", test_regular_file);
	g_test_add_func("/safe_open/hard_link_refused", test_hard_link_refused);
	g_test_add_func("/safe_open/create_unique", test_create_unique);
	g_test_add_func("/safe_open/write_atomic", test_write_atomic);
	g_test_add_func("/safe_open/read_safe", test_read_safe);
	return g_test_run();
}
