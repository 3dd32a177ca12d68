/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The user-controlled inputs of `ctr-wrap run`: NUL-separated pieces are
 * the image's /etc/passwd, its /etc/group, an --env-file, then command-line
 * options. They go through spec_opts (GOption parsing, spec_opts_finish)
 * and, when accepted, spec_build, whose output must be a JSON object.
 */
#include <seccomp.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "tests/fuzz/fuzz.h"
#include "wrapper/spec.h"
#include "wrapper/spec_opts.h"

#define FILE_PIECES 3

static char *tmpdir;
static char *rootfs;
static char *envfile;

static void cleanup(void)
{
	if (tmpdir)
		fuzz_remove_tree(tmpdir);
}

static void init(void)
{
	g_autoptr(GError) err = NULL;

	tmpdir = g_dir_make_tmp("fuzz-spec-XXXXXX", &err);
	FUZZ_CHECK(tmpdir, "%s", err->message);
	rootfs = g_build_filename(tmpdir, "rootfs", NULL);
	g_autofree char *etc = g_build_filename(rootfs, "etc", NULL);
	FUZZ_CHECK(g_mkdir_with_parents(etc, 0755) == 0, "mkdir %s", etc);
	envfile = g_build_filename(tmpdir, "env", NULL);
	atexit(cleanup);
}

static void put(const char *path, const char *text)
{
	g_autoptr(GError) err = NULL;
	FUZZ_CHECK(g_file_set_contents(path, text, -1, &err), "%s", err->message);
}

/*
 * --env-file and seccomp=FILE read whole host files; a device or FIFO there
 * blocks or never ends, which is not a finding. The env file is ours only,
 * and profiles have their own target.
 */
static bool reads_host_file(GPtrArray *args, guint from)
{
	for (guint i = from; i < args->len; i++) {
		const char *a = args->pdata[i];

		if (strstr(a, "env-file") || (strstr(a, "seccomp") && !g_str_has_suffix(a, "unconfined")))
			return true;
	}
	return false;
}

static void check_build(const struct spec_opts *o)
{
	const struct spec_host host = {
		.cgroup2 = true,
		.has_mqueue = true,
		.has_pids = true,
		.nofile_hard = 1048576,
		.arch = seccomp_arch_native(),
		.kernel = (char *)"6.1.0-13-amd64",
	};
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) err = NULL;
	g_autofree char *json = spec_build(o, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &host,
					   false, warnings, &err);

	FUZZ_CHECK((json != NULL) == (err == NULL), "spec_build result and error disagree");
	if (!json)
		return;
	char errbuf[256] = "";
	yajl_val v = yajl_tree_parse(json, errbuf, sizeof(errbuf));
	FUZZ_CHECK(v && YAJL_IS_OBJECT(v), "config.json is not a JSON object (%s): %s", errbuf, json);
	yajl_tree_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!tmpdir)
		init();
	g_autoptr(GPtrArray) pieces = fuzz_split_nul(data, size);
	while (pieces->len < FILE_PIECES)
		g_ptr_array_add(pieces, g_strdup(""));

	g_autoptr(GPtrArray) args = g_ptr_array_new();
	g_ptr_array_add(args, (char *)"ctr-wrap");
	g_ptr_array_add(args, (char *)"--env-file");
	g_ptr_array_add(args, envfile);
	for (guint i = FILE_PIECES; i < pieces->len; i++)
		g_ptr_array_add(args, pieces->pdata[i]);
	if (fuzz_argv_asks_help(args, 3) || reads_host_file(args, 3))
		return 0;

	g_autofree char *passwd = g_build_filename(rootfs, "etc", "passwd", NULL);
	g_autofree char *group = g_build_filename(rootfs, "etc", "group", NULL);
	put(passwd, pieces->pdata[0]);
	put(group, pieces->pdata[1]);
	put(envfile, pieces->pdata[2]);

	struct spec_opts o;
	spec_opts_init(&o);
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_option_context_set_strict_posix(ctx, TRUE);
	spec_opts_add_entries(ctx, &o);

	int argc = (int)args->len;
	g_autofree char **argv = g_new0(char *, args->len + 1);
	memcpy(argv, args->pdata, args->len * sizeof(char *));
	g_autoptr(GError) err = NULL;
	if (g_option_context_parse(ctx, &argc, &argv, &err)) {
		/* What GOption left (the program name first) stands for COMMAND [ARG...]. */
		g_autoptr(GPtrArray) rest = g_ptr_array_new();
		g_ptr_array_add(rest, rootfs);
		g_ptr_array_add(rest, argc > 1 ? argv[1] : (char *)"/bin/sh");
		for (int i = 2; i < argc; i++)
			g_ptr_array_add(rest, argv[i]);
		bool ok = spec_opts_finish(&o, (int)rest->len, (char **)rest->pdata, &err) == 0;
		FUZZ_CHECK(ok == (err == NULL), "spec_opts_finish result and error disagree");
		if (ok)
			check_build(&o);
	}
	spec_opts_clear(&o);
	return 0;
}
