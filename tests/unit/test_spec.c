/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <ftw.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <seccomp.h>
#include <yajl/yajl_tree.h>

#include "wrapper/spec.h"

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define TEST_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

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

static char *fake_rootfs(void)
{
	char *dir = g_dir_make_tmp("test_spec-XXXXXX", NULL);
	g_autofree char *etc = g_build_filename(dir, "etc", NULL);
	g_autofree char *passwd = g_build_filename(etc, "passwd", NULL);
	g_autofree char *group = g_build_filename(etc, "group", NULL);

	g_assert_cmpint(g_mkdir_with_parents(etc, 0755), ==, 0);
	g_assert_true(g_file_set_contents(passwd, "root:x:0:0::/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n",
					  -1, NULL));
	g_assert_true(g_file_set_contents(group, "root:x:0:\nuser:x:1000:\naudio:x:63:user\n", -1, NULL));
	return dir;
}

/* A fixed host so the expectations do not depend on the machine. */
static void fake_host(struct spec_host *h)
{
	memset(h, 0, sizeof(*h));
	h->cgroup2 = false;
	h->has_mqueue = true;
	h->has_pids = true;
	h->nofile_hard = 20000;
	h->arch = SCMP_ARCH_X86_64;
	h->kernel = g_strdup("6.1.0");
	h->extra_masked = g_new0(char *, 1);
}

static bool parse_opts(struct spec_opts *o, const char *rootfs, const char *const *args, GError **err)
{
	g_autoptr(GOptionContext) ctx = g_option_context_new(NULL);
	g_autoptr(GPtrArray) a = g_ptr_array_new();
	char **argv;
	int argc;
	bool ok;

	g_ptr_array_add(a, "spec");
	for (const char *const *p = args; *p; p++)
		g_ptr_array_add(a, (gpointer)(strcmp(*p, "@") == 0 ? rootfs : *p));
	g_ptr_array_add(a, NULL);
	/* GOption rearranges argv; keep the array's own pointers intact for freeing. */
	argv = g_memdup2(a->pdata, a->len * sizeof(char *));
	argc = (int)a->len - 1;
	g_option_context_set_strict_posix(ctx, TRUE);
	g_option_context_set_help_enabled(ctx, FALSE);
	spec_opts_init(o);
	spec_opts_add_entries(ctx, o);
	ok = g_option_context_parse(ctx, &argc, &argv, err) && spec_opts_finish(o, argc - 1, argv + 1, err) == 0;
	g_free(argv);
	return ok;
}

struct built {
	char *rootfs;
	char *json;
	yajl_val root;
	GPtrArray *warnings;
};

typedef struct built built;

static void built_free(struct built *b)
{
	yajl_tree_free(b->root);
	g_free(b->json);
	rm_rf(b->rootfs);
	g_free(b->rootfs);
	g_ptr_array_unref(b->warnings);
	g_free(b);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(built, built_free)

/* Build a spec for args on the fake host and parse it back. */
static struct built *build_with(const struct spec_host *host, const char *const *args)
{
	struct built *b = g_new0(struct built, 1);
	g_autoptr(GError) err = NULL;
	struct spec_opts o;
	char errbuf[256];

	b->rootfs = fake_rootfs();
	b->warnings = g_ptr_array_new_with_free_func(g_free);
	if (!parse_opts(&o, b->rootfs, args, &err))
		g_error("options: %s", err->message);
	b->json = spec_build(&o, TEST_ID, host, g_test_rand_bit(), b->warnings, &err);
	if (!b->json)
		g_error("spec_build: %s", err->message);
	spec_opts_clear(&o);
	b->root = yajl_tree_parse(b->json, errbuf, sizeof(errbuf));
	if (!b->root)
		g_error("own output is not JSON: %s", errbuf);
	return b;
}

static struct built *build(const char *const *args)
{
	struct spec_host h;
	struct built *b;

	fake_host(&h);
	b = build_with(&h, args);
	spec_host_clear(&h);
	return b;
}

static char *build_error(const char *const *args)
{
	g_autofree char *rootfs = fake_rootfs();
	g_autoptr(GError) err = NULL;
	struct spec_opts o;
	struct spec_host h;
	char *json;

	fake_host(&h);
	if (!parse_opts(&o, rootfs, args, &err))
		g_error("options: %s", err->message);
	json = spec_build(&o, TEST_ID, &h, true, NULL, &err);
	g_assert_null(json);
	spec_opts_clear(&o);
	spec_host_clear(&h);
	rm_rf(rootfs);
	g_assert_null(strchr(err->message, '\n'));
	return g_strdup(err->message);
}

/* Look up a path of object keys ("process", "user", "uid"); NULL when absent. */
static yajl_val get(yajl_val v, const char *const *path)
{
	return yajl_tree_get(v, (const char **)path, yajl_t_any);
}
#define GET(b, ...) get((b)->root, ARGS(__VA_ARGS__))

static const char *get_str(yajl_val v, const char *const *path)
{
	yajl_val s = get(v, path);

	g_assert_nonnull(s);
	g_assert_true(YAJL_IS_STRING(s));
	return YAJL_GET_STRING(s);
}
#define STR(b, ...) get_str((b)->root, ARGS(__VA_ARGS__))

static long long get_int(yajl_val v, const char *const *path)
{
	yajl_val n = get(v, path);

	g_assert_nonnull(n);
	g_assert_true(YAJL_IS_INTEGER(n));
	return YAJL_GET_INTEGER(n);
}
#define INT(b, ...) get_int((b)->root, ARGS(__VA_ARGS__))

static bool get_bool(yajl_val v, const char *const *path)
{
	yajl_val x = get(v, path);

	g_assert_nonnull(x);
	g_assert_true(YAJL_IS_TRUE(x) || YAJL_IS_FALSE(x));
	return YAJL_IS_TRUE(x);
}
#define BOOL(b, ...) get_bool((b)->root, ARGS(__VA_ARGS__))

/* A string array as a strv (NULL if absent). */
static char **get_strv(yajl_val v, const char *const *path)
{
	yajl_val a = get(v, path);
	GPtrArray *out;

	if (!a)
		return NULL;
	g_assert_true(YAJL_IS_ARRAY(a));
	out = g_ptr_array_new();
	for (size_t i = 0; i < a->u.array.len; i++) {
		g_assert_true(YAJL_IS_STRING(a->u.array.values[i]));
		g_ptr_array_add(out, g_strdup(YAJL_GET_STRING(a->u.array.values[i])));
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}
#define STRV(b, ...) get_strv((b)->root, ARGS(__VA_ARGS__))

static yajl_val get_array(yajl_val v, const char *const *path)
{
	yajl_val a = get(v, path);

	g_assert_nonnull(a);
	g_assert_true(YAJL_IS_ARRAY(a));
	return a;
}
#define ARRAY(b, ...) get_array((b)->root, ARGS(__VA_ARGS__))

/* The mount with this destination, or NULL. */
static yajl_val find_mount(const struct built *b, const char *dst)
{
	yajl_val mounts = ARRAY(b, "mounts");

	for (size_t i = 0; i < mounts->u.array.len; i++) {
		yajl_val m = mounts->u.array.values[i];

		if (strcmp(get_str(m, ARGS("destination")), dst) == 0)
			return m;
	}
	return NULL;
}

static char **namespaces(const struct built *b)
{
	yajl_val ns = ARRAY(b, "linux", "namespaces");
	GPtrArray *out = g_ptr_array_new();

	for (size_t i = 0; i < ns->u.array.len; i++)
		g_ptr_array_add(out, g_strdup(get_str(ns->u.array.values[i], ARGS("type"))));
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

static yajl_val find_rlimit(const struct built *b, const char *type)
{
	yajl_val rl = ARRAY(b, "process", "rlimits");

	for (size_t i = 0; i < rl->u.array.len; i++)
		if (strcmp(get_str(rl->u.array.values[i], ARGS("type")), type) == 0)
			return rl->u.array.values[i];
	return NULL;
}

/* Whether a resolved seccomp rule without args allows name. */
static const char *seccomp_action_for(const struct built *b, const char *name)
{
	yajl_val rules = ARRAY(b, "linux", "seccomp", "syscalls");

	for (size_t i = 0; i < rules->u.array.len; i++) {
		yajl_val r = rules->u.array.values[i];
		g_auto(GStrv) names = get_strv(r, ARGS("names"));

		if (g_strv_contains((const char *const *)names, name) && !get(r, ARGS("args")))
			return get_str(r, ARGS("action"));
	}
	return NULL;
}

static const char *const default_caps[] = { "CAP_CHOWN",      "CAP_DAC_OVERRIDE", "CAP_FOWNER",
					    "CAP_FSETID",     "CAP_KILL",	  "CAP_SETGID",
					    "CAP_SETUID",     "CAP_SETPCAP",	  "CAP_NET_BIND_SERVICE",
					    "CAP_SYS_CHROOT", "CAP_SETFCAP",	  NULL };

static void test_defaults(void)
{
	g_autoptr(built) b = build(ARGS("@", "sh", "-c", "echo hi"));
	g_auto(GStrv) args = STRV(b, "process", "args");
	g_auto(GStrv) env = STRV(b, "process", "env");
	g_auto(GStrv) bounding = STRV(b, "process", "capabilities", "bounding");
	g_auto(GStrv) effective = STRV(b, "process", "capabilities", "effective");
	g_auto(GStrv) permitted = STRV(b, "process", "capabilities", "permitted");
	g_auto(GStrv) ns = namespaces(b);
	g_auto(GStrv) masked = STRV(b, "linux", "maskedPaths");
	g_auto(GStrv) ro = STRV(b, "linux", "readonlyPaths");
	/* Sorted by depth so that no mount hides a deeper one. */
	const char *const mounts[] = {
		"/proc", "/dev", "/sys", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys/fs/cgroup"
	};
	yajl_val m = ARRAY(b, "mounts");
	yajl_val devices = ARRAY(b, "linux", "resources", "devices");
	yajl_val nofile = find_rlimit(b, "RLIMIT_NOFILE");

	g_assert_cmpstr(STR(b, "ociVersion"), ==, "1.0.2");
	g_assert_false(BOOL(b, "process", "terminal"));
	g_assert_cmpint(INT(b, "process", "user", "uid"), ==, 0);
	g_assert_cmpint(INT(b, "process", "user", "gid"), ==, 0);
	g_assert_null(GET(b, "process", "user", "additionalGids"));
	g_assert_cmpstrv(args, ARGS("sh", "-c", "echo hi"));
	g_assert_cmpstrv(env, ARGS("PATH=" SPEC_DEFAULT_PATH));
	g_assert_cmpstr(STR(b, "process", "cwd"), ==, "/");
	g_assert_cmpstrv(bounding, default_caps);
	g_assert_cmpstrv(effective, default_caps);
	g_assert_cmpstrv(permitted, default_caps);
	g_assert_null(GET(b, "process", "capabilities", "ambient"));
	g_assert_null(GET(b, "process", "capabilities", "inheritable"));
	g_assert_cmpuint(ARRAY(b, "process", "rlimits")->u.array.len, ==, 1);
	g_assert_cmpint(get_int(nofile, ARGS("soft")), ==, 1024);
	g_assert_cmpint(get_int(nofile, ARGS("hard")), ==, 20000);
	g_assert_false(BOOL(b, "process", "noNewPrivileges"));
	g_assert_null(GET(b, "process", "oomScoreAdj"));

	g_assert_cmpstr(STR(b, "root", "path"), ==, b->rootfs);
	g_assert_false(BOOL(b, "root", "readonly"));
	g_assert_cmpstr(STR(b, "hostname"), ==, "0123456789ab");

	g_assert_cmpuint(m->u.array.len, ==, G_N_ELEMENTS(mounts));
	for (gsize i = 0; i < G_N_ELEMENTS(mounts); i++)
		g_assert_cmpstr(get_str(m->u.array.values[i], ARGS("destination")), ==, mounts[i]);
	{
		g_auto(GStrv) sys = get_strv(find_mount(b, "/sys"), ARGS("options"));
		g_auto(GStrv) pts = get_strv(find_mount(b, "/dev/pts"), ARGS("options"));

		g_assert_true(g_strv_contains((const char *const *)sys, "ro"));
		g_assert_true(g_strv_contains((const char *const *)pts, "gid=5"));
		g_assert_cmpstr(get_str(find_mount(b, "/dev/shm"), ARGS("type")), ==, "tmpfs");
	}

	g_assert_cmpstrv(ns, ARGS("pid", "network", "ipc", "uts", "mount"));
	g_assert_cmpuint(g_strv_length(masked), ==, 12);
	g_assert_true(g_strv_contains((const char *const *)masked, "/proc/kcore"));
	g_assert_true(g_strv_contains((const char *const *)masked, "/sys/firmware"));
	g_assert_cmpstrv(
		ro, ARGS("/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"));
	g_assert_cmpuint(devices->u.array.len, ==, 1);
	g_assert_false(get_bool(devices->u.array.values[0], ARGS("allow")));
	g_assert_cmpstr(get_str(devices->u.array.values[0], ARGS("access")), ==, "rwm");
	g_assert_null(GET(b, "linux", "devices"));
	g_assert_cmpint(INT(b, "linux", "resources", "pids", "limit"), ==, SPEC_DEFAULT_PIDS_LIMIT);
	g_assert_null(GET(b, "linux", "resources", "memory"));
	g_assert_null(GET(b, "linux", "resources", "cpu"));
	g_assert_cmpstr(STR(b, "linux", "cgroupsPath"), ==, "/ctr-wrap/" TEST_ID);

	g_assert_cmpstr(STR(b, "linux", "seccomp", "defaultAction"), ==, "SCMP_ACT_ERRNO");
	g_assert_cmpint(INT(b, "linux", "seccomp", "defaultErrnoRet"), ==, ENOSYS);
	{
		g_auto(GStrv) arches = STRV(b, "linux", "seccomp", "architectures");

		g_assert_cmpstrv(arches, ARGS("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"));
	}
	g_assert_cmpstr(seccomp_action_for(b, "read"), ==, "SCMP_ACT_ALLOW");
	g_assert_cmpstr(seccomp_action_for(b, "sethostname"), ==, "SCMP_ACT_ERRNO");
	g_assert_null(get(b->root, ARGS("linux", "seccomp", "syscalls", "includes")));
	g_assert_cmpuint(b->warnings->len, ==, 0);
}

/* The host facts: cgroup v2 adds a cgroup namespace, no mqueue or pids drops those parts. */
static void test_host_facts(void)
{
	struct spec_host h;
	g_autoptr(built) b = NULL;
	g_auto(GStrv) ns = NULL;
	g_auto(GStrv) masked = NULL;
	yajl_val nofile;

	fake_host(&h);
	h.cgroup2 = true;
	h.has_mqueue = false;
	h.has_pids = false;
	h.nofile_hard = 512;
	g_strfreev(h.extra_masked);
	h.extra_masked = g_strdupv((char **)ARGS("/sys/devices/system/cpu/cpu0/thermal_throttle"));
	b = build_with(&h, ARGS("@", "true"));
	spec_host_clear(&h);

	ns = namespaces(b);
	g_assert_cmpstrv(ns, ARGS("pid", "network", "ipc", "uts", "mount", "cgroup"));
	g_assert_null(find_mount(b, "/dev/mqueue"));
	g_assert_null(GET(b, "linux", "resources", "pids"));
	nofile = find_rlimit(b, "RLIMIT_NOFILE");
	g_assert_cmpint(get_int(nofile, ARGS("soft")), ==, 512);
	g_assert_cmpint(get_int(nofile, ARGS("hard")), ==, 512);
	masked = STRV(b, "linux", "maskedPaths");
	g_assert_cmpuint(g_strv_length(masked), ==, 13);
	g_assert_cmpstr(masked[12], ==, "/sys/devices/system/cpu/cpu0/thermal_throttle");
}

static void test_env_tty(void)
{
	g_autoptr(built) b = NULL;
	g_autoptr(built) b2 = NULL;
	g_auto(GStrv) env = NULL;
	g_auto(GStrv) env2 = NULL;

	g_setenv("TEST_SPEC_HOST_VAR", "from host", TRUE);
	b = build(ARGS("-t", "-e", "A=1", "-e", "TEST_SPEC_HOST_VAR", "-e", "A=2", "@", "sh"));
	env = STRV(b, "process", "env");
	g_assert_true(BOOL(b, "process", "terminal"));
	g_assert_cmpstrv(env, ARGS("PATH=" SPEC_DEFAULT_PATH, "TERM=xterm", "A=2", "TEST_SPEC_HOST_VAR=from host"));

	/* The user's PATH and TERM win. */
	b2 = build(ARGS("--tty", "-e", "PATH=/bin", "-e", "TERM=vt100", "@", "sh"));
	env2 = STRV(b2, "process", "env");
	g_assert_cmpstrv(env2, ARGS("PATH=/bin", "TERM=vt100"));
	g_unsetenv("TEST_SPEC_HOST_VAR");
}

static void test_user(void)
{
	g_autoptr(built) b = build(ARGS("-u", "user", "@", "id"));
	g_autoptr(built)
		b2 = build(ARGS("-u", "1000:1000", "--cap-add", "net_raw", "--cap-add", "NET_ADMIN", "@", "id"));
	g_auto(GStrv) bounding = STRV(b, "process", "capabilities", "bounding");
	g_auto(GStrv) effective = STRV(b, "process", "capabilities", "effective");
	g_auto(GStrv) effective2 = STRV(b2, "process", "capabilities", "effective");
	g_auto(GStrv) ambient2 = STRV(b2, "process", "capabilities", "ambient");
	g_auto(GStrv) inheritable2 = STRV(b2, "process", "capabilities", "inheritable");
	g_auto(GStrv) bounding2 = STRV(b2, "process", "capabilities", "bounding");
	yajl_val extra = ARRAY(b, "process", "user", "additionalGids");

	g_assert_cmpint(INT(b, "process", "user", "uid"), ==, 1000);
	g_assert_cmpint(INT(b, "process", "user", "gid"), ==, 1000);
	g_assert_cmpuint(extra->u.array.len, ==, 1);
	g_assert_cmpint(YAJL_GET_INTEGER(extra->u.array.values[0]), ==, 63);
	/* Non-root: the bounding set stays, nothing effective unless asked for. */
	g_assert_cmpstrv(bounding, default_caps);
	g_assert_cmpuint(g_strv_length(effective), ==, 0);
	g_assert_null(GET(b, "process", "capabilities", "ambient"));

	g_assert_cmpstrv(effective2, ARGS("CAP_NET_ADMIN", "CAP_NET_RAW"));
	g_assert_cmpstrv(ambient2, ARGS("CAP_NET_ADMIN", "CAP_NET_RAW"));
	g_assert_cmpstrv(inheritable2, ARGS("CAP_NET_ADMIN", "CAP_NET_RAW"));
	g_assert_true(g_strv_contains((const char *const *)bounding2, "CAP_NET_RAW"));
	g_assert_true(g_strv_contains((const char *const *)bounding2, "CAP_CHOWN"));
}

static void test_caps(void)
{
	g_autoptr(built)
		b = build(ARGS("--cap-add", "sys_admin", "--cap-drop", "CAP_CHOWN", "--cap-drop", "kill", "@", "sh"));
	g_autoptr(built) none = build(ARGS("--cap-drop", "ALL", "--cap-add", "chown", "@", "sh"));
	g_autoptr(built) all = build(ARGS("--cap-add", "ALL", "@", "sh"));
	g_auto(GStrv) bounding = STRV(b, "process", "capabilities", "bounding");
	g_auto(GStrv) effective = STRV(b, "process", "capabilities", "effective");
	g_auto(GStrv) none_caps = STRV(none, "process", "capabilities", "bounding");
	g_auto(GStrv) all_caps = STRV(all, "process", "capabilities", "bounding");
	g_auto(GStrv) want_all = caps_to_strv(caps_all());

	g_assert_true(g_strv_contains((const char *const *)bounding, "CAP_SYS_ADMIN"));
	g_assert_false(g_strv_contains((const char *const *)bounding, "CAP_CHOWN"));
	g_assert_false(g_strv_contains((const char *const *)bounding, "CAP_KILL"));
	g_assert_cmpuint(g_strv_length(bounding), ==, 10);
	g_assert_cmpstrv(effective, bounding);
	/* The seccomp profile follows the capabilities. */
	g_assert_cmpstr(seccomp_action_for(b, "sethostname"), ==, "SCMP_ACT_ALLOW");
	g_assert_cmpstr(seccomp_action_for(b, "quotactl"), ==, "SCMP_ACT_ALLOW");
	g_assert_cmpstr(seccomp_action_for(none, "sethostname"), ==, "SCMP_ACT_ERRNO");
	g_assert_cmpstr(seccomp_action_for(none, "chroot"), ==, "SCMP_ACT_ERRNO");

	g_assert_cmpstrv(none_caps, ARGS("CAP_CHOWN"));
	g_assert_cmpstrv(all_caps, want_all);
}

static void test_mounts(void)
{
	g_autoptr(built) b = NULL;
	g_autofree char *v = NULL;
	yajl_val m;
	g_auto(GStrv) opts = NULL;
	g_auto(GStrv) shm_opts = NULL;
	const char *order[9];
	const char *const want[] = { "/proc",	    "/dev",	"/sys",	    "/data",	     "/dev/pts",
				     "/dev/mqueue", "/data/in", "/dev/shm", "/sys/fs/cgroup" };
	yajl_val all;

	v = g_strdup_printf("%s:/data/in:ro", g_get_tmp_dir());
	b = build(ARGS("-v", v, "--tmpfs", "/data", "--tmpfs", "/dev/shm:size=1g", "--read-only", "@", "sh"));
	g_assert_true(BOOL(b, "root", "readonly"));

	m = find_mount(b, "/data/in");
	g_assert_nonnull(m);
	g_assert_cmpstr(get_str(m, ARGS("type")), ==, "bind");
	g_assert_cmpstr(get_str(m, ARGS("source")), ==, g_get_tmp_dir());
	opts = get_strv(m, ARGS("options"));
	g_assert_cmpstrv(opts, ARGS("rbind", "rprivate", "ro"));

	/* A user mount on a default destination replaces the default. */
	m = find_mount(b, "/dev/shm");
	g_assert_cmpstr(get_str(m, ARGS("source")), ==, "tmpfs");
	shm_opts = get_strv(m, ARGS("options"));
	g_assert_cmpstrv(shm_opts, ARGS("nosuid", "nodev", "noexec", "size=1g"));

	/* Parents before children; at equal depth defaults come first, then the user's in order. */
	all = ARRAY(b, "mounts");
	g_assert_cmpuint(all->u.array.len, ==, G_N_ELEMENTS(want));
	for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
		order[i] = get_str(all->u.array.values[i], ARGS("destination"));
		g_assert_cmpstr(order[i], ==, want[i]);
	}
}

static void test_resources(void)
{
	g_autoptr(built) b = build(ARGS("-m", "512m", "--pids-limit", "100", "--cpus", "1.5", "--ulimit",
					"nofile=100:200", "--ulimit", "nproc=50", "--ulimit", "core=0:unlimited",
					"--oom-score-adj", "300", "@", "sh"));
	g_autoptr(built) unlimited = build(ARGS("--pids-limit", "-1", "@", "sh"));
	yajl_val nofile = find_rlimit(b, "RLIMIT_NOFILE");
	yajl_val nproc = find_rlimit(b, "RLIMIT_NPROC");
	yajl_val core = find_rlimit(b, "RLIMIT_CORE");
	yajl_val hard;

	g_assert_cmpint(INT(b, "linux", "resources", "memory", "limit"), ==, 512LL << 20);
	g_assert_cmpint(INT(b, "linux", "resources", "pids", "limit"), ==, 100);
	g_assert_cmpint(INT(b, "linux", "resources", "cpu", "quota"), ==, 150000);
	g_assert_cmpint(INT(b, "linux", "resources", "cpu", "period"), ==, 100000);
	g_assert_cmpint(get_int(nofile, ARGS("soft")), ==, 100);
	g_assert_cmpint(get_int(nofile, ARGS("hard")), ==, 200);
	g_assert_cmpint(get_int(nproc, ARGS("soft")), ==, 50);
	g_assert_cmpint(get_int(nproc, ARGS("hard")), ==, 50);
	/* RLIM_INFINITY is 2^64-1: written as a plain number, beyond yajl's integer range. */
	hard = get(core, ARGS("hard"));
	g_assert_true(YAJL_IS_NUMBER(hard));
	g_assert_cmpstr(YAJL_GET_NUMBER(hard), ==, "18446744073709551615");
	g_assert_cmpint(INT(b, "process", "oomScoreAdj"), ==, 300);
	g_assert_cmpuint(b->warnings->len, ==, 0);

	g_assert_null(GET(unlimited, "linux", "resources", "pids"));
}

static void test_nofile_warning(void)
{
	g_autoptr(built) b = build(ARGS("--ulimit", "nofile=1024:1048576", "@", "sh"));

	g_assert_cmpuint(b->warnings->len, ==, 1);
	g_assert_nonnull(strstr(b->warnings->pdata[0], "above this host's 20000"));
}

static void test_security(void)
{
	g_autoptr(built) nnp = build(ARGS("--security-opt", "no-new-privileges", "@", "sh"));
	g_autoptr(built) unconfined = build(ARGS("--security-opt", "seccomp=unconfined", "@", "sh"));
	g_autoptr(built) priv = build(ARGS("--privileged", "@", "sh"));
	g_auto(GStrv) priv_caps = STRV(priv, "process", "capabilities", "bounding");
	g_auto(GStrv) want_all = caps_to_strv(caps_all());
	g_auto(GStrv) sys = get_strv(find_mount(priv, "/sys"), ARGS("options"));
	g_auto(GStrv) cg = get_strv(find_mount(priv, "/sys/fs/cgroup"), ARGS("options"));
	yajl_val devices = ARRAY(priv, "linux", "resources", "devices");

	g_assert_true(BOOL(nnp, "process", "noNewPrivileges"));
	g_assert_nonnull(GET(nnp, "linux", "seccomp"));
	g_assert_null(GET(unconfined, "linux", "seccomp"));
	g_assert_nonnull(GET(unconfined, "linux", "maskedPaths"));

	g_assert_cmpstrv(priv_caps, want_all);
	g_assert_null(GET(priv, "linux", "seccomp"));
	g_assert_null(GET(priv, "linux", "maskedPaths"));
	g_assert_null(GET(priv, "linux", "readonlyPaths"));
	g_assert_true(g_strv_contains((const char *const *)sys, "rw"));
	g_assert_true(g_strv_contains((const char *const *)cg, "rw"));
	g_assert_true(get_bool(devices->u.array.values[0], ARGS("allow")));
	/* Host devices are listed; those the runtime always creates are not. */
	ARRAY(priv, "linux", "devices");
	{
		yajl_val d = ARRAY(priv, "linux", "devices");

		for (size_t i = 0; i < d->u.array.len; i++) {
			const char *path = get_str(d->u.array.values[i], ARGS("path"));

			g_assert_true(g_str_has_prefix(path, "/dev/"));
			g_assert_cmpstr(path, !=, "/dev/null");
			g_assert_cmpstr(path, !=, "/dev/ptmx");
		}
	}
}

static void test_seccomp_file(void)
{
	g_autofree char *dir = g_dir_make_tmp("test_spec-XXXXXX", NULL);
	g_autofree char *good = g_build_filename(dir, "good.json", NULL);
	g_autofree char *bad = g_build_filename(dir, "bad.json", NULL);
	g_autofree char *good_opt = g_strconcat("seccomp=", good, NULL);
	g_autofree char *bad_opt = g_strconcat("seccomp=", bad, NULL);
	g_autofree char *msg = NULL;
	g_autoptr(built) b = NULL;
	g_auto(GStrv) arches = NULL;

	/* JSON written with ' for " to stay readable. */
	g_autofree char *good_json = g_strdelimit(
		g_strdup("{'defaultAction': 'SCMP_ACT_ERRNO',"
			 " 'archMap': [{'architecture': 'SCMP_ARCH_X86_64', 'subArchitectures': ['SCMP_ARCH_X86']}],"
			 " 'syscalls': [{'names': ['read'], 'action': 'SCMP_ACT_ALLOW'},"
			 "  {'names': ['mount'], 'action': 'SCMP_ACT_ALLOW', 'includes': {'caps': ['CAP_SYS_ADMIN']}},"
			 "  {'names': ['nosuchcall'], 'action': 'SCMP_ACT_ALLOW'}]}"),
		"'", '"');
	g_autofree char *bad_json = g_strdelimit(g_strdup("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': "
							  "['read'], 'action': 'SCMP_ACT_ALLOW'},"
							  " {'names': ['write'], 'action': 7}]}"),
						 "'", '"');

	g_assert_true(g_file_set_contents(good, good_json, -1, NULL));
	g_assert_true(g_file_set_contents(bad, bad_json, -1, NULL));

	b = build(ARGS("--security-opt", good_opt, "@", "sh"));
	g_assert_null(GET(b, "linux", "seccomp", "defaultErrnoRet"));
	arches = STRV(b, "linux", "seccomp", "architectures");
	g_assert_cmpstrv(arches, ARGS("SCMP_ARCH_X86_64", "SCMP_ARCH_X86"));
	g_assert_cmpuint(ARRAY(b, "linux", "seccomp", "syscalls")->u.array.len, ==, 2);
	g_assert_null(seccomp_action_for(b, "mount"));
	g_assert_cmpuint(b->warnings->len, ==, 1);
	g_assert_nonnull(strstr(b->warnings->pdata[0], "unknown syscall \"nosuchcall\""));

	msg = build_error(ARGS("--security-opt", bad_opt, "@", "sh"));
	g_assert_nonnull(strstr(msg, "syscalls[1]: \"action\" must be a string"));
	g_assert_nonnull(strstr(msg, bad));
	rm_rf(dir);
}

static void test_network_cgroup_hostname(void)
{
	g_autoptr(built)
		host = build(ARGS("--network", "host", "--hostname", "box", "--cgroup-parent", "/mine", "@", "sh"));
	g_autoptr(built) slice = build(ARGS("--cgroup-parent", "machine.slice", "@", "sh"));
	g_autoptr(built) top = build(ARGS("--cgroup-parent", "/", "@", "sh"));
	g_auto(GStrv) ns = namespaces(host);

	g_assert_cmpstrv(ns, ARGS("pid", "ipc", "uts", "mount"));
	g_assert_cmpstr(STR(host, "hostname"), ==, "box");
	g_assert_cmpstr(STR(host, "linux", "cgroupsPath"), ==, "/mine/" TEST_ID);
	g_assert_cmpstr(STR(slice, "linux", "cgroupsPath"), ==, "machine.slice:ctr-wrap:" TEST_ID);
	g_assert_cmpstr(STR(top, "linux", "cgroupsPath"), ==, "/" TEST_ID);
}

static void test_workdir(void)
{
	g_autoptr(built) b = build(ARGS("-w", "/srv/app", "@", "sh"));

	g_assert_cmpstr(STR(b, "process", "cwd"), ==, "/srv/app");
}

static void test_not_utf8(void)
{
	g_autofree char *msg = build_error(ARGS("-e", "X=\xff\xfe", "@", "sh"));

	g_assert_nonnull(strstr(msg, "not valid UTF-8"));
}

static void test_write_bundle_and_id(void)
{
	g_autofree char *dir = g_dir_make_tmp("test_spec-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "config.json", NULL);
	g_autofree char *contents = NULL;
	g_autofree char *id1 = spec_new_id(NULL);
	g_autofree char *id2 = spec_new_id(NULL);
	g_autoptr(GError) err = NULL;
	struct stat st;

	g_assert_cmpint(spec_write_bundle(dir, "{}", NULL), ==, 0);
	g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
	g_assert_cmpstr(contents, ==, "{}");
	g_assert_cmpint(stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 0777, ==, 0600);
	g_assert_cmpint(spec_write_bundle("/nonexistent/bundle", "{}", &err), ==, -1);
	rm_rf(dir);

	g_assert_cmpuint(strlen(id1), ==, 64);
	g_assert_cmpstr(id1, !=, id2);
	for (const char *c = id1; *c; c++)
		g_assert_true(g_ascii_isxdigit(*c) && !g_ascii_isupper(*c));
}

static void test_host_detect(void)
{
	struct spec_host h;

	spec_host_detect(&h);
	g_assert_cmpuint(h.arch, ==, seccomp_arch_native());
	g_assert_nonnull(h.kernel);
	g_assert_nonnull(h.extra_masked);
	g_assert_cmpuint(h.nofile_hard, >, 0);
	spec_host_clear(&h);
}

/* ---- the real thing: run generated specs with runc ---- */

struct runc_env {
	char *dir; /* rootfs/, bundle/ and state/ live here */
	char *runc;
};

static bool runc_setup(struct runc_env *e)
{
	static const char *const applets[] = { "sh", "echo", "id", "touch", "cat" };
	g_autofree char *bin = NULL;
	g_autofree char *busybox = NULL;
	g_autofree char *data = NULL;
	gsize len;

	if (geteuid() != 0) {
		g_test_skip("runc tests need root");
		return false;
	}
	e->runc = g_find_program_in_path("runc");
	if (!e->runc) {
		g_test_skip("runc is not installed");
		return false;
	}
	if (!g_file_get_contents("/bin/busybox", &data, &len, NULL)) {
		g_test_skip("no /bin/busybox (install busybox-static)");
		g_clear_pointer(&e->runc, g_free);
		return false;
	}
	e->dir = g_dir_make_tmp("test_spec_runc-XXXXXX", NULL);
	bin = g_build_filename(e->dir, "rootfs", "bin", NULL);
	g_assert_cmpint(g_mkdir_with_parents(bin, 0755), ==, 0);
	busybox = g_build_filename(bin, "busybox", NULL);
	g_assert_true(g_file_set_contents(busybox, data, (gssize)len, NULL));
	g_assert_cmpint(chmod(busybox, 0755), ==, 0);
	for (gsize i = 0; i < G_N_ELEMENTS(applets); i++) {
		g_autofree char *link = g_build_filename(bin, applets[i], NULL);

		g_assert_cmpint(symlink("busybox", link), ==, 0);
	}
	return true;
}

static void runc_teardown(struct runc_env *e)
{
	if (e->dir)
		rm_rf(e->dir);
	g_free(e->dir);
	g_free(e->runc);
}

/* Generate a spec from args (ROOTFS is "@"), run it in the foreground, return its exit status. */
static int runc_run(struct runc_env *e, const char *const *args, char **out)
{
	g_autofree char *rootfs = g_build_filename(e->dir, "rootfs", NULL);
	g_autofree char *bundle = g_build_filename(e->dir, "bundle", NULL);
	g_autofree char *state = g_build_filename(e->dir, "state", NULL);
	g_autofree char *id = g_strdup_printf("ctrwrap-unit-%d-%u", (int)getpid(), g_random_int());
	g_autofree char *json = NULL;
	g_autofree char *err_out = NULL;
	g_autoptr(GError) err = NULL;
	struct spec_opts o;
	struct spec_host h;
	int status = -1;

	g_assert_cmpint(g_mkdir_with_parents(bundle, 0700), ==, 0);
	if (!parse_opts(&o, rootfs, args, &err))
		g_error("options: %s", err->message);
	spec_host_detect(&h);
	/* Our own top-level cgroup, which runc removes again on delete. */
	g_free(o.cgroup_parent);
	o.cgroup_parent = g_strdup("/");
	json = spec_build(&o, id, &h, true, NULL, &err);
	spec_host_clear(&h);
	spec_opts_clear(&o);
	if (!json)
		g_error("spec_build: %s", err->message);
	g_assert_cmpint(spec_write_bundle(bundle, json, NULL), ==, 0);

	{
		const char *run[] = { e->runc, "--root", state, "run", "--bundle", bundle, id, NULL };
		const char *del[] = { e->runc, "--root", state, "delete", "--force", id, NULL };

		if (!g_spawn_sync(NULL, (char **)run, NULL, G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, out, &err_out,
				  &status, &err))
			g_error("spawn runc: %s", err->message);
		/* Normally a no-op: run deletes a container that exited. */
		g_spawn_sync(NULL, (char **)del, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
			     NULL, NULL, NULL, NULL, NULL);
	}
	if (g_test_verbose() && err_out && *err_out)
		g_test_message("runc stderr: %s", err_out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_runc_echo(void)
{
	struct runc_env e = { 0 };
	g_autofree char *out = NULL;

	if (!runc_setup(&e))
		return;
	g_assert_cmpint(runc_run(&e, ARGS("@", "echo", "hi"), &out), ==, 0);
	g_assert_cmpstr(out, ==, "hi\n");
	runc_teardown(&e);
}

static void test_runc_user(void)
{
	struct runc_env e = { 0 };
	g_autofree char *out = NULL;
	g_autofree char *out2 = NULL;

	if (!runc_setup(&e))
		return;
	g_assert_cmpint(runc_run(&e, ARGS("-u", "1000:1000", "@", "id", "-u"), &out), ==, 0);
	g_assert_cmpstr(out, ==, "1000\n");
	g_assert_cmpint(runc_run(&e, ARGS("-u", "1000:1000", "@", "id", "-g"), &out2), ==, 0);
	g_assert_cmpstr(out2, ==, "1000\n");
	runc_teardown(&e);
}

static void test_runc_read_only(void)
{
	struct runc_env e = { 0 };
	g_autofree char *out = NULL;
	g_autofree char *out2 = NULL;
	g_autofree char *x = NULL;

	if (!runc_setup(&e))
		return;
	g_assert_cmpint(runc_run(&e, ARGS("--read-only", "@", "touch", "/x"), &out), !=, 0);
	x = g_build_filename(e.dir, "rootfs", "x", NULL);
	g_assert_false(g_file_test(x, G_FILE_TEST_EXISTS));
	/* The same without --read-only works, so the failure above is the read-only root. */
	g_assert_cmpint(runc_run(&e, ARGS("@", "touch", "/x"), &out2), ==, 0);
	g_assert_true(g_file_test(x, G_FILE_TEST_EXISTS));
	runc_teardown(&e);
}

/* The seccomp profile is in force: a capability-gated call fails, and passes with the capability. */
static void test_runc_seccomp(void)
{
	struct runc_env e = { 0 };
	g_autofree char *out = NULL;
	g_autofree char *out2 = NULL;

	if (!runc_setup(&e))
		return;
	g_assert_cmpint(
		runc_run(&e, ARGS("-e", "X=1", "@", "sh", "-c", "grep Seccomp: /proc/self/status; echo $X"), &out), ==,
		0);
	g_assert_cmpstr(out, ==, "Seccomp:\t2\n1\n");
	g_assert_cmpint(runc_run(&e,
				 ARGS("--security-opt", "seccomp=unconfined", "@", "sh", "-c",
				      "grep Seccomp: /proc/self/status"),
				 &out2),
			==, 0);
	g_assert_cmpstr(out2, ==, "Seccomp:\t0\n");
	runc_teardown(&e);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/spec/defaults", test_defaults);
	g_test_add_func("/spec/host-facts", test_host_facts);
	g_test_add_func("/spec/env-tty", test_env_tty);
	g_test_add_func("/spec/user", test_user);
	g_test_add_func("/spec/caps", test_caps);
	g_test_add_func("/spec/mounts", test_mounts);
	g_test_add_func("/spec/resources", test_resources);
	g_test_add_func("/spec/nofile-warning", test_nofile_warning);
	g_test_add_func("/spec/security", test_security);
	g_test_add_func("/spec/seccomp-file", test_seccomp_file);
	g_test_add_func("/spec/network-cgroup-hostname", test_network_cgroup_hostname);
	g_test_add_func("/spec/workdir", test_workdir);
	g_test_add_func("/spec/not-utf8", test_not_utf8);
	g_test_add_func("/spec/write-bundle-and-id", test_write_bundle_and_id);
	g_test_add_func("/spec/host-detect", test_host_detect);
	g_test_add_func("/spec/runc/echo", test_runc_echo);
	g_test_add_func("/spec/runc/user", test_runc_user);
	g_test_add_func("/spec/runc/read-only", test_runc_read_only);
	g_test_add_func("/spec/runc/seccomp", test_runc_seccomp);
	return g_test_run();
}
