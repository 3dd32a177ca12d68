/* SPDX-License-Identifier: Apache-2.0 */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "conmon/ctr_log.h"

#define CID "0123456789abcdef0123456789abcdef"
#define TS_LEN 35

static char *tmpdir_new(void)
{
	char *dir = g_dir_make_tmp("ctr_log-XXXXXX", NULL);
	g_assert_nonnull(dir);
	return dir;
}

static void tmpdir_remove(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	g_assert_nonnull(d);
	const char *name;
	while ((name = g_dir_read_name(d)) != NULL) {
		g_autofree char *p = g_build_filename(dir, name, NULL);
		g_assert_cmpint(g_unlink(p), ==, 0);
	}
	g_dir_close(d);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static struct cli_opts base_opts(char **log_paths)
{
	struct cli_opts o = {
		.cid = CID,
		.log_paths = log_paths,
		.log_size_max = -1,
		.log_global_size_max = -1,
		.log_max_files = 1,
		.no_sync_log = true,
	};
	return o;
}

/* ctr_log_new on these -l values must fail with exactly this message. */
static void expect_error(const char *const *specs, const char *message)
{
	g_auto(GStrv) paths = g_strdupv((char **)specs);
	struct cli_opts o = base_opts(paths);
	g_autoptr(GError) err = NULL;
	g_assert_null(ctr_log_new(&o, &err));
	g_assert_nonnull(err);
	g_assert_cmpstr(err->message, ==, message);
}

static void test_errors(void)
{
	struct cli_opts o = base_opts(NULL);
	g_autoptr(GError) err = NULL;
	g_assert_null(ctr_log_new(&o, &err));
	g_assert_cmpstr(err->message, ==, "Log driver not provided. Use --log-path");

	expect_error((const char *[]){ "", NULL }, "log-path must not be empty");
	expect_error((const char *[]){ ":", NULL }, "log-path must not be empty");
	expect_error((const char *[]){ "::", NULL }, "log-path must not be empty");
	expect_error((const char *[]){ "k8s-file", NULL }, "k8s-file requires a filename");
	expect_error((const char *[]){ "k8s-file:", NULL }, "k8s-file requires a filename");
	expect_error((const char *[]){ "k8s-file::", NULL }, "k8s-file requires a filename");
	expect_error((const char *[]){ "foo:bar", NULL }, "No such log driver foo");
	expect_error((const char *[]){ "json-file:/tmp/x", NULL }, "No such log driver json-file");
	expect_error((const char *[]){ "foo:", NULL }, "No such log driver foo");
	expect_error((const char *[]){ ":a:b", NULL }, "No such log driver a");
	/* the first bad value stops the parse */
	expect_error((const char *[]){ "none", "bogus:x", "", NULL }, "No such log driver bogus");
	expect_error((const char *[]){ "k8s-file:/nonexistent-dir/ctr.log", NULL },
		     "Failed to open log file /nonexistent-dir/ctr.log: No such file or directory");
}

static void test_tag_and_labels(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	g_autofree char *spec = g_strconcat("k8s-file:", path, NULL);
	char *k8s_only[] = { spec, NULL };
	char *with_journald[] = { spec, "journald", NULL };
	char *labels[] = { "A=b", NULL };
	g_autoptr(GError) err = NULL;

	struct cli_opts o = base_opts(k8s_only);
	o.log_tag = "tag";
	g_assert_null(ctr_log_new(&o, &err));
	g_assert_cmpstr(err->message, ==, "k8s-file doesn't support --log-tag");
	g_clear_error(&err);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));

	o.log_tag = NULL;
	o.log_labels = labels;
	g_assert_null(ctr_log_new(&o, &err));
	g_assert_cmpstr(err->message, ==, "k8s-file doesn't support --log-label");
	g_clear_error(&err);

	/* with journald as well, both are fine */
	o.log_paths = with_journald;
	o.log_tag = "tag";
	struct ctr_log *log = ctr_log_new(&o, &err);
	g_assert_no_error(err);
	g_assert_nonnull(log);
	ctr_log_free(log);

	/* journald checks its own settings */
	char *bad_labels[] = { "lower=x", NULL };
	o.log_labels = bad_labels;
	g_assert_null(ctr_log_new(&o, &err));
	g_assert_cmpstr(err->message, ==,
			"Container label names must contain only uppercase letters, numbers and underscore "
			"(in 'lower=x')");
	g_clear_error(&err);
	o.log_labels = NULL;
	o.cid = "0123456789ab";
	g_assert_null(ctr_log_new(&o, &err));
	g_assert_cmpstr(err->message, ==, "Container ID must be longer than 12 characters");
	g_clear_error(&err);

	/* a tag with only none/journald is no error */
	char *none[] = { "none", NULL };
	o = base_opts(none);
	o.log_tag = "tag";
	log = ctr_log_new(&o, &err);
	g_assert_no_error(err);
	ctr_log_free(log);
	tmpdir_remove(dir);
}

static void test_passthrough_and_none(void)
{
	const char *const cases[][3] = {
		{ "passthrough", NULL, NULL },	 { "passthrough:x", NULL, NULL }, { "none", NULL, NULL },
		{ "off", NULL, NULL },		 { "null", NULL, NULL },	  { "none:", NULL, NULL },
		{ "none", "passthrough", NULL },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_auto(GStrv) paths = g_strdupv((char **)cases[i]);
		struct cli_opts o = base_opts(paths);
		g_autoptr(GError) err = NULL;
		struct ctr_log *log = ctr_log_new(&o, &err);
		g_assert_no_error(err);
		g_assert_nonnull(log);
		bool passthrough = strstr(cases[i][0], "passthrough") ||
				   (cases[i][1] && strstr(cases[i][1], "passthrough"));
		g_assert_cmpint(ctr_log_passthrough(log), ==, passthrough);
		ctr_log_write(log, STDPIPE_STDOUT, "dropped\n", 8);
		ctr_log_reopen(log);
		ctr_log_free(log);
	}
	ctr_log_free(NULL);
}

static char *read_all(const char *path)
{
	char *data = NULL;
	g_assert_true(g_file_get_contents(path, &data, NULL, NULL));
	return data;
}

/* Every spelling of a k8s file, relative ones resolved against the cwd. */
static void test_k8s_spellings(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *cwd = g_get_current_dir();
	g_assert_cmpint(chdir(dir), ==, 0);
	const struct {
		const char *spec;
		const char *file;
	} cases[] = {
		{ "k8s-file:a.log", "a.log" },	{ "b.log", "b.log" },	   { ":c.log", "c.log" },
		{ "::d.log", "d.log" },		{ ":none", "none" },	   { ":journald", "journald" },
		{ "k8s-file::e.log", "e.log" }, { "k8s-file:f:g", "f:g" }, { "k8s-file", NULL },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		if (cases[i].file == NULL)
			continue;
		char *paths[] = { (char *)cases[i].spec, NULL };
		struct cli_opts o = base_opts(paths);
		g_autoptr(GError) err = NULL;
		struct ctr_log *log = ctr_log_new(&o, &err);
		g_assert_no_error(err);
		g_assert_false(ctr_log_passthrough(log));
		ctr_log_write(log, STDPIPE_STDERR, "hi\n", 3);
		ctr_log_free(log);
		g_autofree char *got = read_all(cases[i].file);
		g_assert_cmpuint(strlen(got), ==, TS_LEN + 13);
		g_assert_cmpstr(got + TS_LEN, ==, " stderr F hi\n");
	}
	g_assert_cmpint(chdir(cwd), ==, 0);
	tmpdir_remove(dir);
}

static void test_several_drivers(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *first = g_build_filename(dir, "first.log", NULL);
	g_autofree char *second = g_build_filename(dir, "second.log", NULL);
	g_autofree char *spec1 = g_strconcat("k8s-file:", first, NULL);
	char *paths[] = { "none", spec1, "off", second, "journald", NULL };
	struct cli_opts o = base_opts(paths);
	o.log_size_max = 1 << 20;
	g_autoptr(GError) err = NULL;
	struct ctr_log *log = ctr_log_new(&o, &err);
	g_assert_no_error(err);

	/* journald gets no data here: the unit tests do not talk to a real journal */
	ctr_log_free(log);
	/* like the reference, the last k8s file is the one used */
	g_assert_false(g_file_test(first, G_FILE_TEST_EXISTS));
	g_assert_true(g_file_test(second, G_FILE_TEST_IS_REGULAR));
	tmpdir_remove(dir);
}

static void test_write_reopen_free(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	g_autofree char *rotated = g_build_filename(dir, "ctr.log.1", NULL);
	char *paths[] = { path, NULL };
	struct cli_opts o = base_opts(paths);
	o.no_sync_log = false;
	struct ctr_log *log = ctr_log_new(&o, NULL);
	g_assert_nonnull(log);

	ctr_log_write(log, STDPIPE_STDOUT, "one\ntwo\nthr", 11);
	ctr_log_write(log, STDPIPE_STDOUT, "", 0);
	g_assert_cmpint(g_rename(path, rotated), ==, 0);
	ctr_log_reopen(log);
	ctr_log_write(log, STDPIPE_STDOUT, "ee\nfour", 7);
	ctr_log_free(log);

	/* one timestamp per call: all records of the first write share it */
	g_autofree char *old = read_all(rotated);
	g_auto(GStrv) lines = g_strsplit(old, "\n", -1);
	g_assert_cmpuint(g_strv_length(lines), ==, 4);
	g_assert_cmpstr(lines[0] + TS_LEN, ==, " stdout F one");
	g_assert_cmpstr(lines[1] + TS_LEN, ==, " stdout F two");
	g_assert_cmpstr(lines[2] + TS_LEN, ==, " stdout P thr");
	g_assert_cmpstr(lines[3], ==, "");
	g_assert_cmpmem(lines[0], TS_LEN, lines[1], TS_LEN);
	g_assert_cmpmem(lines[0], TS_LEN, lines[2], TS_LEN);

	g_autofree char *cur = read_all(path);
	g_auto(GStrv) now = g_strsplit(cur, "\n", -1);
	g_assert_cmpuint(g_strv_length(now), ==, 3);
	g_assert_cmpstr(now[0] + TS_LEN, ==, " stdout F ee");
	g_assert_cmpstr(now[1] + TS_LEN, ==, " stdout P four"); /* nothing added at exit */
	g_assert_cmpstr(now[2], ==, "");
	tmpdir_remove(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ctr_log/errors", test_errors);
	g_test_add_func("/ctr_log/tag_and_labels", test_tag_and_labels);
	g_test_add_func("/ctr_log/passthrough_and_none", test_passthrough_and_none);
	g_test_add_func("/ctr_log/k8s_spellings", test_k8s_spellings);
	g_test_add_func("/ctr_log/several_drivers", test_several_drivers);
	g_test_add_func("/ctr_log/write_reopen_free", test_write_reopen_free);
	return g_test_run();
}
