/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wrapper/rootfs_user.h"
#include "wrapper/spec_opts.h"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *dir, const char *name, const char *contents)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autofree char *parent = g_path_get_dirname(path);

	g_assert_cmpint(g_mkdir_with_parents(parent, 0755), ==, 0);
	g_assert_true(g_file_set_contents(path, contents, -1, NULL));
}

/* A rootfs with just enough /etc for user lookups. */
static char *fake_rootfs(void)
{
	char *dir = g_dir_make_tmp("test_spec_opts-XXXXXX", NULL);

	g_assert_nonnull(dir);
	write_file(dir, "etc/passwd",
		   "root:x:0:0:root:/root:/bin/sh\n"
		   "# a comment\n"
		   "user:x:1000:1000:user:/home/user:/bin/sh\n"
		   "svc:x:1001:50::/:/bin/false\n"
		   "broken line\n");
	write_file(dir, "etc/group",
		   "root:x:0:\n"
		   "staff:x:50:\n"
		   "user:x:1000:\n"
		   "audio:x:63:user,svc\n"
		   "video:x:44: svc , user\n"
		   "wheel:x:10:root\n");
	return dir;
}

/* Run the option table over argv like a command would. */
static bool parse(struct spec_opts *o, const char *const *args, GError **err)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_autoptr(GPtrArray) a = g_ptr_array_new();
	char **argv;
	int argc;
	bool ok;

	g_ptr_array_add(a, "spec");
	for (const char *const *p = args; *p; p++)
		g_ptr_array_add(a, (gpointer)*p);
	g_ptr_array_add(a, NULL);
	/* GOption drops what it parsed from argv, so it gets a copy of the pointers. */
	argv = g_memdup2(a->pdata, a->len * sizeof(char *));
	argc = (int)a->len - 1;
	g_option_context_set_strict_posix(ctx, TRUE);
	g_option_context_set_help_enabled(ctx, FALSE);
	spec_opts_add_entries(ctx, o);
	ok = g_option_context_parse(ctx, &argc, &argv, err) && spec_opts_finish(o, argc - 1, argv + 1, err) == 0;
	g_free(argv);
	return ok;
}

/* Parse args (ending in ROOTFS placeholder "@" and a command) and expect success. */
#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void opts_ok(struct spec_opts *o, const char *rootfs, const char *const *args)
{
	g_autoptr(GPtrArray) a = g_ptr_array_new();
	g_autoptr(GError) err = NULL;

	for (const char *const *p = args; *p; p++)
		g_ptr_array_add(a, (gpointer)(strcmp(*p, "@") == 0 ? rootfs : *p));
	g_ptr_array_add(a, NULL);
	spec_opts_init(o);
	if (!parse(o, (const char *const *)a->pdata, &err))
		g_error("unexpected failure: %s", err->message);
}

/* Expect a failure whose one-line message contains want. */
static void opts_fail(const char *rootfs, const char *const *args, const char *want)
{
	g_autoptr(GPtrArray) a = g_ptr_array_new();
	g_autoptr(GError) err = NULL;
	struct spec_opts o;

	for (const char *const *p = args; *p; p++)
		g_ptr_array_add(a, (gpointer)(strcmp(*p, "@") == 0 ? rootfs : *p));
	g_ptr_array_add(a, NULL);
	spec_opts_init(&o);
	g_assert_false(parse(&o, (const char *const *)a->pdata, &err));
	g_assert_nonnull(err);
	if (!strstr(err->message, want))
		g_error("error \"%s\" does not contain \"%s\"", err->message, want);
	g_assert_null(strchr(err->message, '\n'));
	spec_opts_clear(&o);
}

static void test_size(void)
{
	static const struct {
		const char *in;
		gint64 out;
	} good[] = {
		{ "512", 512 },		  { "0", 0 },		{ "1b", 1 },
		{ "64k", 64 * 1024 },	  { "64K", 64 * 1024 }, { "512m", 512LL << 20 },
		{ "512mb", 512LL << 20 }, { "2g", 2LL << 30 },	{ "2GB", 2LL << 30 },
		{ "1t", 1LL << 40 },
	};
	static const char *const bad[] = {
		"", "m", "-1", "10x", "1.5g", "12 m", "1kk", "99999999999999999999", "9000000000g", " 1"
	};

	for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
		gint64 v = -1;

		g_assert_cmpint(spec_parse_size(good[i].in, &v, NULL), ==, 0);
		g_assert_cmpint(v, ==, good[i].out);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) err = NULL;
		gint64 v;

		g_assert_cmpint(spec_parse_size(bad[i], &v, &err), ==, -1);
		g_assert_nonnull(strstr(err->message, "512m"));
	}
}

static void test_user(void)
{
	g_autofree char *root = fake_rootfs();
	g_autoptr(GArray) gids = g_array_new(FALSE, FALSE, sizeof(gid_t));
	uid_t uid;
	gid_t gid;

	/* Name: uid and primary gid from passwd, memberships from group. */
	g_assert_cmpint(rootfs_user_parse("user", root, &uid, &gid, gids, NULL), ==, 0);
	g_assert_cmpuint(uid, ==, 1000);
	g_assert_cmpuint(gid, ==, 1000);
	g_assert_cmpuint(gids->len, ==, 2);
	g_assert_cmpuint(g_array_index(gids, gid_t, 0), ==, 63);
	g_assert_cmpuint(g_array_index(gids, gid_t, 1), ==, 44);

	/* A numeric uid the image knows: same as its name. */
	g_array_set_size(gids, 0);
	g_assert_cmpint(rootfs_user_parse("1001", root, &uid, &gid, gids, NULL), ==, 0);
	g_assert_cmpuint(uid, ==, 1001);
	g_assert_cmpuint(gid, ==, 50);
	g_assert_cmpuint(gids->len, ==, 2);

	/* Unknown numeric uid: group 0, no extra groups. */
	g_array_set_size(gids, 0);
	g_assert_cmpint(rootfs_user_parse("4242", root, &uid, &gid, gids, NULL), ==, 0);
	g_assert_cmpuint(uid, ==, 4242);
	g_assert_cmpuint(gid, ==, 0);
	g_assert_cmpuint(gids->len, ==, 0);

	/* Explicit group, numeric or by name: exactly that identity. */
	g_assert_cmpint(rootfs_user_parse("1000:1000", root, &uid, &gid, gids, NULL), ==, 0);
	g_assert_cmpuint(uid, ==, 1000);
	g_assert_cmpuint(gid, ==, 1000);
	g_assert_cmpuint(gids->len, ==, 0);
	g_assert_cmpint(rootfs_user_parse("user:staff", root, &uid, &gid, gids, NULL), ==, 0);
	g_assert_cmpuint(uid, ==, 1000);
	g_assert_cmpuint(gid, ==, 50);
	g_assert_cmpint(rootfs_user_parse("7:8", root, &uid, &gid, gids, NULL), ==, 0);
	g_assert_cmpuint(uid, ==, 7);
	g_assert_cmpuint(gid, ==, 8);
	g_assert_cmpuint(gids->len, ==, 0);
	rm_rf(root);
}

/* The container owns its rootfs: a FIFO or a huge sparse file as /etc/passwd gives an error at once. */
static void test_user_hostile_db(void)
{
	g_autofree char *root = fake_rootfs();
	g_autofree char *passwd = g_build_filename(root, "etc", "passwd", NULL);
	g_autofree char *group = g_build_filename(root, "etc", "group", NULL);
	g_autoptr(GArray) gids = g_array_new(FALSE, FALSE, sizeof(gid_t));
	g_autoptr(GError) err = NULL;
	uid_t uid;
	gid_t gid;
	int fd;

	g_assert_cmpint(unlink(passwd), ==, 0);
	g_assert_cmpint(mkfifo(passwd, 0644), ==, 0);
	g_assert_cmpint(rootfs_user_parse("user", root, &uid, &gid, gids, &err), ==, -1);
	g_assert_nonnull(strstr(err->message, "not a regular file"));
	g_clear_error(&err);

	g_assert_cmpint(unlink(passwd), ==, 0);
	fd = open(passwd, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(ftruncate(fd, (off_t)3 << 30), ==, 0);
	close(fd);
	g_assert_cmpint(rootfs_user_parse("user", root, &uid, &gid, gids, &err), ==, -1);
	g_assert_cmpint(err->code, ==, EFBIG);
	g_clear_error(&err);

	/* The group file too, reached once passwd is sound. */
	write_file(root, "etc/passwd", "user:x:1000:1000::/:/bin/sh\n");
	g_assert_cmpint(unlink(group), ==, 0);
	g_assert_cmpint(mkfifo(group, 0644), ==, 0);
	g_assert_cmpint(rootfs_user_parse("user", root, &uid, &gid, gids, &err), ==, -1);
	g_assert_nonnull(strstr(err->message, "not a regular file"));
	rm_rf(root);
}

static void test_user_errors(void)
{
	g_autofree char *root = fake_rootfs();
	static const struct {
		const char *in, *want;
	} bad[] = {
		{ "nobody", "no such user" },	   { "user:nogroup", "no such group" }, { "", "expected UID[:GID]" },
		{ "1000:", "expected UID[:GID]" }, { "4294967295", "no such user" },	{ "-1", "no such user" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GArray) gids = g_array_new(FALSE, FALSE, sizeof(gid_t));
		g_autoptr(GError) err = NULL;
		uid_t uid;
		gid_t gid;

		g_assert_cmpint(rootfs_user_parse(bad[i].in, root, &uid, &gid, gids, &err), ==, -1);
		g_assert_nonnull(strstr(err->message, bad[i].want));
	}
	rm_rf(root);
}

static void test_user_no_etc(void)
{
	g_autofree char *root = g_dir_make_tmp("test_spec_opts-XXXXXX", NULL);
	g_autoptr(GArray) gids = g_array_new(FALSE, FALSE, sizeof(gid_t));
	g_autoptr(GError) err = NULL;
	uid_t uid;
	gid_t gid;

	g_assert_cmpint(rootfs_user_parse("1000:1000", root, &uid, &gid, gids, NULL), ==, 0);
	g_assert_cmpint(rootfs_user_parse("5", root, &uid, &gid, gids, NULL), ==, 0);
	g_assert_cmpuint(gid, ==, 0);
	g_assert_cmpint(rootfs_user_parse("user", root, &uid, &gid, gids, &err), ==, -1);
	rm_rf(root);
}

/* An absolute symlink in the image resolves inside the image, not on the host. */
static void test_user_symlink_stays_in_rootfs(void)
{
	g_autofree char *root = g_dir_make_tmp("test_spec_opts-XXXXXX", NULL);
	g_autofree char *link = g_build_filename(root, "etc/passwd", NULL);
	g_autoptr(GArray) gids = g_array_new(FALSE, FALSE, sizeof(gid_t));
	uid_t uid;
	gid_t gid;

	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));

	/* Without openat2 (old kernels, valgrind) symlinks in the image are refused instead. */
	if (fd < 0 && errno == ENOSYS) {
		g_test_skip("no openat2");
		rm_rf(root);
		return;
	}
	close(fd);
	write_file(root, "real/passwd", "alice:x:4243:4244::/:/bin/sh\n");
	write_file(root, "etc/.keep", "");
	g_assert_cmpint(symlink("/real/passwd", link), ==, 0);
	g_assert_cmpint(rootfs_user_parse("alice", root, &uid, &gid, gids, NULL), ==, 0);
	g_assert_cmpuint(uid, ==, 4243);
	g_assert_cmpuint(gid, ==, 4244);
	rm_rf(root);
}

static void test_ulimit(void)
{
	struct spec_rlimit rl;
	static const char *const bad[] = {
		"nofile", "bogus=1", "nofile=", "nofile=a", "nofile=1:2:3", "=1", "nofile=-2"
	};

	g_assert_cmpint(spec_parse_ulimit("nofile=1024:4096", &rl, NULL), ==, 0);
	g_assert_cmpint(rl.resource, ==, RLIMIT_NOFILE);
	g_assert_cmpuint(rl.soft, ==, 1024);
	g_assert_cmpuint(rl.hard, ==, 4096);
	g_assert_cmpint(spec_parse_ulimit("NPROC=100", &rl, NULL), ==, 0);
	g_assert_cmpint(rl.resource, ==, RLIMIT_NPROC);
	g_assert_cmpuint(rl.soft, ==, 100);
	g_assert_cmpuint(rl.hard, ==, 100);
	g_assert_cmpint(spec_parse_ulimit("rlimit_core=0:unlimited", &rl, NULL), ==, 0);
	g_assert_cmpint(rl.resource, ==, RLIMIT_CORE);
	g_assert_cmpuint(rl.hard, ==, RLIM_INFINITY);
	g_assert_cmpint(spec_parse_ulimit("memlock=-1", &rl, NULL), ==, 0);
	g_assert_cmpuint(rl.soft, ==, RLIM_INFINITY);
	g_assert_cmpstr(spec_rlimit_name(RLIMIT_NOFILE), ==, "RLIMIT_NOFILE");
	g_assert_cmpstr(spec_rlimit_name(RLIMIT_SIGPENDING), ==, "RLIMIT_SIGPENDING");

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) err = NULL;

		g_assert_cmpint(spec_parse_ulimit(bad[i], &rl, &err), ==, -1);
		g_assert_nonnull(strstr(err->message, "--ulimit"));
	}
	{
		g_autoptr(GError) err = NULL;

		g_assert_cmpint(spec_parse_ulimit("nofile=10:5", &rl, &err), ==, -1);
		g_assert_nonnull(strstr(err->message, "swap them"));
	}
}

static void test_defaults(void)
{
	g_autofree char *root = fake_rootfs();
	struct spec_opts o;

	opts_ok(&o, root, ARGS("@", "/bin/sh", "-c", "echo hi"));
	g_assert_true(g_str_has_prefix(o.rootfs, "/"));
	g_assert_cmpstrv(o.args, ARGS("/bin/sh", "-c", "echo hi"));
	g_assert_cmpuint(o.env->len, ==, 0);
	g_assert_false(o.user_set);
	g_assert_cmpuint(o.uid, ==, 0);
	g_assert_cmpstr(o.workdir, ==, "/");
	g_assert_null(o.hostname);
	g_assert_cmpuint(o.mounts->len, ==, 0);
	g_assert_cmpint(o.memory, ==, 0);
	g_assert_false(o.pids_limit_set);
	g_assert_cmpint(o.cpu_quota, ==, 0);
	g_assert_true(o.caps == (caps_default() & caps_all()));
	g_assert_cmpint(o.seccomp, ==, SPEC_SECCOMP_DEFAULT);
	g_assert_false(o.no_new_privileges);
	g_assert_false(o.tty);
	g_assert_false(o.net_host);
	g_assert_null(o.cgroup_parent);
	spec_opts_clear(&o);
	rm_rf(root);
}

/* Options after COMMAND belong to COMMAND. */
static void test_command_options_untouched(void)
{
	g_autofree char *root = fake_rootfs();
	struct spec_opts o;

	opts_ok(&o, root, ARGS("-t", "@", "ls", "-t", "--memory", "1", "-e", "X"));
	g_assert_true(o.tty);
	g_assert_cmpint(o.memory, ==, 0);
	g_assert_cmpstrv(o.args, ARGS("ls", "-t", "--memory", "1", "-e", "X"));
	spec_opts_clear(&o);
	rm_rf(root);
}

static void test_env(void)
{
	g_autofree char *root = fake_rootfs();
	g_autofree char *file = g_build_filename(root, "envfile", NULL);
	g_autofree char *file_opt = g_strconcat("--env-file=", file, NULL);
	struct spec_opts o;

	g_assert_true(g_file_set_contents(file,
					  "# comment\n"
					  "\n"
					  "   \n"
					  "A=from-file\r\n"
					  "B=b = spaced \n"
					  "TEST_SPEC_OPTS_HOST\n"
					  "TEST_SPEC_OPTS_UNSET\n",
					  -1, NULL));
	g_setenv("TEST_SPEC_OPTS_HOST", "host-value", TRUE);
	g_unsetenv("TEST_SPEC_OPTS_UNSET");
	opts_ok(&o, root, ARGS(file_opt, "-e", "C=1", "-e", "A=from-cli", "-e", "EMPTY=", "--env", "C=2", "@", "sh"));
	g_assert_cmpuint(o.env->len, ==, 5);
	g_assert_cmpstr(o.env->pdata[0], ==, "A=from-cli");
	g_assert_cmpstr(o.env->pdata[1], ==, "B=b = spaced ");
	g_assert_cmpstr(o.env->pdata[2], ==, "TEST_SPEC_OPTS_HOST=host-value");
	g_assert_cmpstr(o.env->pdata[3], ==, "C=2");
	g_assert_cmpstr(o.env->pdata[4], ==, "EMPTY=");
	spec_opts_clear(&o);

	opts_fail(root, ARGS("-e", "=x", "@", "sh"), "variable name");
	opts_fail(root, ARGS("-e", "A B=x", "@", "sh"), "without spaces");
	opts_fail(root, ARGS("--env-file", "/nonexistent/env", "@", "sh"), "--env-file");
	g_assert_true(g_file_set_contents(file, "OK=1\nBAD KEY=2\n", -1, NULL));
	opts_fail(root, ARGS(file_opt, "@", "sh"), "line 2");
	g_unsetenv("TEST_SPEC_OPTS_HOST");
	rm_rf(root);
}

static void test_identity(void)
{
	g_autofree char *root = fake_rootfs();
	struct spec_opts o;

	opts_ok(&o, root, ARGS("-u", "user", "-w", "/home//user/./x/..", "--hostname", "box-1.example", "@", "sh"));
	g_assert_true(o.user_set);
	g_assert_cmpuint(o.uid, ==, 1000);
	g_assert_cmpuint(o.gid, ==, 1000);
	g_assert_cmpuint(o.additional_gids->len, ==, 2);
	g_assert_cmpstr(o.workdir, ==, "/home/user");
	g_assert_cmpstr(o.hostname, ==, "box-1.example");
	spec_opts_clear(&o);

	opts_fail(root, ARGS("-w", "relative", "@", "sh"), "absolute");
	opts_fail(root, ARGS("--hostname", "bad host", "@", "sh"), "--hostname");
	opts_fail(
		root,
		ARGS("--hostname", "0123456789012345678901234567890123456789012345678901234567890123456789", "@", "sh"),
		"1-64");
	opts_fail(root, ARGS("-u", "ghost", "@", "sh"), "--user ghost");
	rm_rf(root);
}

static void test_rootfs_and_command(void)
{
	g_autofree char *root = fake_rootfs();
	g_autofree char *file = g_build_filename(root, "etc/passwd", NULL);

	opts_fail(root, ARGS("/nonexistent/rootfs", "sh"), "ROOTFS /nonexistent/rootfs");
	opts_fail(root, ARGS(file, "sh"), "Not a directory");
	opts_fail(root, ARGS("@"), "missing COMMAND");
	opts_fail(root, ARGS("-t", NULL), "missing ROOTFS");
	rm_rf(root);
}

static void test_volumes(void)
{
	g_autofree char *root = fake_rootfs();
	g_autofree char *src = g_build_filename(root, "etc", NULL);
	g_autofree char *v1 = g_strconcat(src, ":/data/", NULL);
	g_autofree char *v2 = g_strconcat(src, ":/ro:ro,nosuid,rshared,bind", NULL);
	g_autofree char *v3 = g_strconcat(src, ":/x:rw", NULL);
	struct spec_opts o;
	const struct spec_mount *m;

	opts_ok(&o, root, ARGS("-v", v1, "--volume", v2, "-v", v3, "@", "sh"));
	g_assert_cmpuint(o.mounts->len, ==, 3);
	m = o.mounts->pdata[0];
	g_assert_cmpstr(m->destination, ==, "/data");
	g_assert_cmpstr(m->type, ==, "bind");
	g_assert_cmpstr(m->source, ==, src);
	g_assert_cmpstrv(m->options, ARGS("rbind", "rprivate"));
	m = o.mounts->pdata[1];
	g_assert_cmpstrv(m->options, ARGS("bind", "rshared", "ro", "nosuid"));
	m = o.mounts->pdata[2];
	g_assert_cmpstrv(m->options, ARGS("rbind", "rprivate"));
	spec_opts_clear(&o);

	opts_fail(root, ARGS("-v", "relative:/x", "@", "sh"), "must be absolute");
	opts_fail(root, ARGS("-v", "/nonexistent/dir:/x", "@", "sh"), "No such file");
	opts_fail(root, ARGS("-v", "/tmp", "@", "sh"), "SRC:DST");
	opts_fail(root, ARGS("-v", "/tmp:x", "@", "sh"), "container path must be absolute");
	opts_fail(root, ARGS("-v", "/tmp:/", "@", "sh"), "cannot mount over /");
	opts_fail(root, ARGS("-v", "/tmp:/x:Z", "@", "sh"), "unknown option \"Z\"");
	opts_fail(root, ARGS("-v", "/tmp:/x", "--tmpfs", "/x/", "@", "sh"), "two mounts on /x");
	rm_rf(root);
}

static void test_tmpfs(void)
{
	g_autofree char *root = fake_rootfs();
	struct spec_opts o;
	const struct spec_mount *m;

	opts_ok(&o, root, ARGS("--tmpfs", "/run", "--tmpfs", "/tmp:exec,size=64m,mode=1777", "@", "sh"));
	g_assert_cmpuint(o.mounts->len, ==, 2);
	m = o.mounts->pdata[0];
	g_assert_cmpstr(m->destination, ==, "/run");
	g_assert_cmpstr(m->type, ==, "tmpfs");
	g_assert_cmpstr(m->source, ==, "tmpfs");
	g_assert_cmpstrv(m->options, ARGS("nosuid", "nodev", "noexec"));
	m = o.mounts->pdata[1];
	g_assert_cmpstrv(m->options, ARGS("nosuid", "nodev", "exec", "size=64m", "mode=1777"));
	spec_opts_clear(&o);

	opts_fail(root, ARGS("--tmpfs", "run", "@", "sh"), "absolute");
	opts_fail(root, ARGS("--tmpfs", "/run:size=1m,,ro", "@", "sh"), "empty mount option");
	rm_rf(root);
}

static void test_resources(void)
{
	g_autofree char *root = fake_rootfs();
	struct spec_opts o;

	opts_ok(&o, root,
		ARGS("-m", "256m", "--pids-limit", "100", "--cpus", "1.5", "--ulimit", "nofile=10:20", "--ulimit",
		     "nproc=5", "--ulimit", "nofile=30:40", "--oom-score-adj", "-500", "@", "sh"));
	g_assert_cmpint(o.memory, ==, 256LL << 20);
	g_assert_true(o.pids_limit_set);
	g_assert_cmpint(o.pids_limit, ==, 100);
	g_assert_cmpint(o.cpu_quota, ==, 150000);
	g_assert_cmpuint(o.cpu_period, ==, 100000);
	g_assert_cmpuint(o.rlimits->len, ==, 2);
	g_assert_cmpint(g_array_index(o.rlimits, struct spec_rlimit, 0).resource, ==, RLIMIT_NOFILE);
	g_assert_cmpuint(g_array_index(o.rlimits, struct spec_rlimit, 0).soft, ==, 30);
	g_assert_cmpuint(g_array_index(o.rlimits, struct spec_rlimit, 0).hard, ==, 40);
	g_assert_cmpint(g_array_index(o.rlimits, struct spec_rlimit, 1).resource, ==, RLIMIT_NPROC);
	g_assert_true(o.oom_score_adj_set);
	g_assert_cmpint(o.oom_score_adj, ==, -500);
	spec_opts_clear(&o);

	opts_ok(&o, root, ARGS("--pids-limit", "-1", "--cpus", "0.01", "@", "sh"));
	g_assert_true(o.pids_limit_set);
	g_assert_cmpint(o.pids_limit, ==, -1);
	g_assert_cmpint(o.cpu_quota, ==, 1000);
	spec_opts_clear(&o);

	opts_fail(root, ARGS("-m", "5m", "@", "sh"), "minimum of 6m");
	opts_fail(root, ARGS("--memory", "lots", "@", "sh"), "--memory: invalid size \"lots\"");
	opts_fail(root, ARGS("--pids-limit", "x", "@", "sh"), "--pids-limit");
	opts_fail(root, ARGS("--pids-limit", "-2", "@", "sh"), "--pids-limit");
	opts_fail(root, ARGS("--cpus", "0.001", "@", "sh"), "0.01");
	opts_fail(root, ARGS("--cpus", "two", "@", "sh"), "--cpus two");
	opts_fail(root, ARGS("--cpus", "nan", "@", "sh"), "--cpus");
	opts_fail(root, ARGS("--oom-score-adj", "1001", "@", "sh"), "-1000 to 1000");
	opts_fail(root, ARGS("--ulimit", "nofile=2:1", "@", "sh"), "swap them");
	rm_rf(root);
}

static void test_security(void)
{
	g_autofree char *root = fake_rootfs();
	struct spec_opts o;

	opts_ok(&o, root, ARGS("--security-opt", "seccomp=/p.json", "--security-opt", "no-new-privileges", "@", "sh"));
	g_assert_cmpint(o.seccomp, ==, SPEC_SECCOMP_FILE);
	g_assert_cmpstr(o.seccomp_path, ==, "/p.json");
	g_assert_true(o.no_new_privileges);
	spec_opts_clear(&o);

	opts_ok(&o, root,
		ARGS("--security-opt", "seccomp:unconfined", "--security-opt", "no-new-privileges:true",
		     "--security-opt", "no-new-privileges=false", "@", "sh"));
	g_assert_cmpint(o.seccomp, ==, SPEC_SECCOMP_UNCONFINED);
	g_assert_false(o.no_new_privileges);
	spec_opts_clear(&o);

	/* --privileged: all our capabilities, seccomp off unless a profile is named. */
	opts_ok(&o, root, ARGS("--privileged", "--cap-drop", "sys_admin", "@", "sh"));
	g_assert_true(o.privileged);
	g_assert_true(o.caps == (caps_all() & ~CAPS_BIT(CAP_SYS_ADMIN)));
	g_assert_cmpint(o.seccomp, ==, SPEC_SECCOMP_UNCONFINED);
	spec_opts_clear(&o);
	opts_ok(&o, root, ARGS("--privileged", "--security-opt", "seccomp=/p.json", "@", "sh"));
	g_assert_cmpint(o.seccomp, ==, SPEC_SECCOMP_FILE);
	spec_opts_clear(&o);

	opts_ok(&o, root, ARGS("--cap-add", "NET_RAW", "--cap-drop", "CAP_chown", "@", "sh"));
	g_assert_true(o.caps & CAPS_BIT(CAP_NET_RAW));
	g_assert_false(o.caps & CAPS_BIT(CAP_CHOWN));
	g_assert_true(o.caps_added == CAPS_BIT(CAP_NET_RAW));
	spec_opts_clear(&o);

	opts_fail(root, ARGS("--security-opt", "label=disable", "@", "sh"), "not supported");
	opts_fail(root, ARGS("--security-opt", "no-new-privileges=maybe", "@", "sh"), "no-new-privileges");
	opts_fail(root, ARGS("--security-opt", "seccomp=", "@", "sh"), "not supported");
	opts_fail(root, ARGS("--cap-add", "CAP_WHATEVER", "@", "sh"), "--cap-add: unknown capability");
	rm_rf(root);
}

static void test_network_cgroup(void)
{
	g_autofree char *root = fake_rootfs();
	struct spec_opts o;

	opts_ok(&o, root, ARGS("--network", "host", "--cgroup-parent", "machine.slice", "@", "sh"));
	g_assert_true(o.net_host);
	g_assert_true(o.cgroup_systemd);
	g_assert_cmpstr(o.cgroup_parent, ==, "machine.slice");
	spec_opts_clear(&o);

	opts_ok(&o, root, ARGS("--network", "none", "--cgroup-parent", "my/group/", "@", "sh"));
	g_assert_false(o.net_host);
	g_assert_false(o.cgroup_systemd);
	g_assert_cmpstr(o.cgroup_parent, ==, "/my/group");
	spec_opts_clear(&o);

	opts_fail(root, ARGS("--network", "bridge", "@", "sh"), "only none and host");
	opts_fail(root, ARGS("--cgroup-parent", "a/b.slice", "@", "sh"), "plain name");
	opts_fail(root, ARGS("--cgroup-parent", "/a/../b", "@", "sh"), "--cgroup-parent");
	rm_rf(root);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/spec-opts/size", test_size);
	g_test_add_func("/spec-opts/user", test_user);
	g_test_add_func("/spec-opts/user-errors", test_user_errors);
	g_test_add_func("/spec-opts/user-hostile-db", test_user_hostile_db);
	g_test_add_func("/spec-opts/user-no-etc", test_user_no_etc);
	g_test_add_func("/spec-opts/user-symlink-stays-in-rootfs", test_user_symlink_stays_in_rootfs);
	g_test_add_func("/spec-opts/ulimit", test_ulimit);
	g_test_add_func("/spec-opts/defaults", test_defaults);
	g_test_add_func("/spec-opts/command-options-untouched", test_command_options_untouched);
	g_test_add_func("/spec-opts/env", test_env);
	g_test_add_func("/spec-opts/identity", test_identity);
	g_test_add_func("/spec-opts/rootfs-and-command", test_rootfs_and_command);
	g_test_add_func("/spec-opts/volumes", test_volumes);
	g_test_add_func("/spec-opts/tmpfs", test_tmpfs);
	g_test_add_func("/spec-opts/resources", test_resources);
	g_test_add_func("/spec-opts/security", test_security);
	g_test_add_func("/spec-opts/network-cgroup", test_network_cgroup);
	return g_test_run();
}
