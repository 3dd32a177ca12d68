/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/spec.h"

#include <errno.h>
#include <glob.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <yajl/yajl_gen.h>

#include "common/error.h"
#include "common/io.h"
#include "common/safe_open.h"
#include "wrapper/seccomp_cache.h"
#include "wrapper/seccomp_profile.h"

/* ---- host facts ---- */

static bool file_has_word(const char *path, const char *word)
{
	g_autofree char *contents = NULL;
	g_auto(GStrv) words = NULL;

	if (!g_file_get_contents(path, &contents, NULL, NULL))
		return false;
	words = g_strsplit_set(contents, " \t\n", -1);
	return g_strv_contains((const char *const *)words, word);
}

void spec_host_detect(struct spec_host *host)
{
	struct statfs sfs;
	struct rlimit rl;
	struct utsname u;
	glob_t g;
	GPtrArray *masked = g_ptr_array_new();

	memset(host, 0, sizeof(*host));
	host->cgroup2 = statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
	host->has_mqueue = file_has_word("/proc/filesystems", "mqueue");
	host->has_pids = host->cgroup2 ? file_has_word("/sys/fs/cgroup/cgroup.controllers", "pids")
				       : g_file_test("/sys/fs/cgroup/pids", G_FILE_TEST_IS_DIR);
	host->nofile_hard = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_max : SPEC_DEFAULT_NOFILE_SOFT;
	host->arch = seccomp_arch_native();
	host->kernel = g_strdup(uname(&u) == 0 ? u.release : "0.0");
	/* The runtime takes masked paths literally, so the glob is expanded here. */
	if (glob("/sys/devices/system/cpu/cpu*/thermal_throttle", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			g_ptr_array_add(masked, g_strdup(g.gl_pathv[i]));
		globfree(&g);
	}
	g_ptr_array_add(masked, NULL);
	host->extra_masked = (char **)g_ptr_array_free(masked, FALSE);
}

void spec_host_clear(struct spec_host *host)
{
	g_free(host->kernel);
	g_strfreev(host->extra_masked);
	g_free(host->seccomp_cache);
	memset(host, 0, sizeof(*host));
}

/* ---- JSON writing: calls become no-ops after the first failure, checked once at the end ---- */

struct jw {
	yajl_gen g;
	yajl_gen_status status;
	const char *bad_string;
};

static void jw_check(struct jw *w, yajl_gen_status st, const char *s)
{
	if (w->status == yajl_gen_status_ok && st != yajl_gen_status_ok) {
		w->status = st;
		w->bad_string = s;
	}
}

static void jw_str(struct jw *w, const char *s)
{
	if (w->status == yajl_gen_status_ok)
		jw_check(w, yajl_gen_string(w->g, (const unsigned char *)s, strlen(s)), s);
}

static void jw_open(struct jw *w, const char *key)
{
	if (key)
		jw_str(w, key);
	if (w->status == yajl_gen_status_ok)
		jw_check(w, yajl_gen_map_open(w->g), NULL);
}

static void jw_close(struct jw *w)
{
	if (w->status == yajl_gen_status_ok)
		jw_check(w, yajl_gen_map_close(w->g), NULL);
}

static void jw_aopen(struct jw *w, const char *key)
{
	if (key)
		jw_str(w, key);
	if (w->status == yajl_gen_status_ok)
		jw_check(w, yajl_gen_array_open(w->g), NULL);
}

static void jw_aclose(struct jw *w)
{
	if (w->status == yajl_gen_status_ok)
		jw_check(w, yajl_gen_array_close(w->g), NULL);
}

static void jw_kstr(struct jw *w, const char *key, const char *v)
{
	jw_str(w, key);
	jw_str(w, v);
}

static void jw_kbool(struct jw *w, const char *key, bool v)
{
	jw_str(w, key);
	if (w->status == yajl_gen_status_ok)
		jw_check(w, yajl_gen_bool(w->g, v), NULL);
}

static void jw_int(struct jw *w, long long v)
{
	if (w->status == yajl_gen_status_ok)
		jw_check(w, yajl_gen_integer(w->g, v), NULL);
}

static void jw_kint(struct jw *w, const char *key, long long v)
{
	jw_str(w, key);
	jw_int(w, v);
}

/* yajl_gen_integer stops at LLONG_MAX; RLIM_INFINITY and seccomp masks need all 64 bits. */
static void jw_ku64(struct jw *w, const char *key, guint64 v)
{
	char buf[24];
	int n = g_snprintf(buf, sizeof(buf), "%" G_GUINT64_FORMAT, v);

	jw_str(w, key);
	if (w->status == yajl_gen_status_ok)
		jw_check(w, yajl_gen_number(w->g, buf, (size_t)n), NULL);
}

static void jw_kstrv(struct jw *w, const char *key, char *const *v)
{
	jw_aopen(w, key);
	for (char *const *p = v; p && *p; p++)
		jw_str(w, *p);
	jw_aclose(w);
}

/* ---- the spec ---- */

static const char *const masked_paths[] = {
	"/proc/acpi",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/sys/devices/virtual/powercap",
	"/sys/firmware",
	"/sys/fs/selinux",
	"/proc/interrupts",
	NULL,
};

static const char *const readonly_paths[] = {
	"/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

static bool env_has(const struct spec_opts *o, const char *key)
{
	gsize n = strlen(key);

	for (guint i = 0; i < o->env->len; i++) {
		const char *e = o->env->pdata[i];

		if (strncmp(e, key, n) == 0 && e[n] == '=')
			return true;
	}
	return false;
}

static void gen_process(struct jw *w, const struct spec_opts *o, const struct spec_host *host, GPtrArray *warnings)
{
	/* Non-root users keep only what was asked for: exec() would drop the rest anyway. */
	caps_set eff = o->uid == 0 ? o->caps : (o->caps & o->caps_added);
	caps_set amb = o->uid == 0 ? 0 : eff;
	g_auto(GStrv) bounding = caps_to_strv(o->caps);
	g_auto(GStrv) effective = caps_to_strv(eff);
	g_auto(GStrv) ambient = caps_to_strv(amb);
	guint64 nofile_hard = MIN(SPEC_DEFAULT_NOFILE_HARD, host->nofile_hard);
	struct spec_rlimit nofile = { RLIMIT_NOFILE, MIN(SPEC_DEFAULT_NOFILE_SOFT, nofile_hard), nofile_hard };
	g_autoptr(GArray) rlimits = g_array_new(FALSE, FALSE, sizeof(struct spec_rlimit));

	jw_open(w, "process");
	jw_kbool(w, "terminal", o->tty);
	jw_open(w, "user");
	jw_kint(w, "uid", o->uid);
	jw_kint(w, "gid", o->gid);
	if (o->additional_gids->len) {
		jw_aopen(w, "additionalGids");
		for (guint i = 0; i < o->additional_gids->len; i++)
			jw_int(w, g_array_index(o->additional_gids, gid_t, i));
		jw_aclose(w);
	}
	jw_close(w);
	jw_kstrv(w, "args", o->args);

	jw_aopen(w, "env");
	if (!env_has(o, "PATH"))
		jw_str(w, "PATH=" SPEC_DEFAULT_PATH);
	if (o->tty && !env_has(o, "TERM"))
		jw_str(w, "TERM=xterm");
	for (guint i = 0; i < o->env->len; i++)
		jw_str(w, o->env->pdata[i]);
	jw_aclose(w);
	jw_kstr(w, "cwd", o->workdir);

	jw_open(w, "capabilities");
	jw_kstrv(w, "bounding", bounding);
	jw_kstrv(w, "effective", effective);
	jw_kstrv(w, "permitted", effective);
	/* Only non-root users with --cap-add have these; absent means empty to runtimes. */
	if (amb) {
		jw_kstrv(w, "inheritable", ambient);
		jw_kstrv(w, "ambient", ambient);
	}
	jw_close(w);

	g_array_append_val(rlimits, nofile);
	for (guint i = 0; i < o->rlimits->len; i++) {
		const struct spec_rlimit *rl = &g_array_index(o->rlimits, struct spec_rlimit, i);

		if (rl->resource == RLIMIT_NOFILE) {
			g_array_index(rlimits, struct spec_rlimit, 0) = *rl;
			if (warnings && rl->hard > host->nofile_hard)
				g_ptr_array_add(warnings,
						g_strdup_printf("--ulimit nofile: hard limit %" G_GUINT64_FORMAT
								" is above this host's %" G_GUINT64_FORMAT
								"; the runtime may refuse it",
								rl->hard, host->nofile_hard));
		} else {
			g_array_append_val(rlimits, *rl);
		}
	}
	jw_aopen(w, "rlimits");
	for (guint i = 0; i < rlimits->len; i++) {
		const struct spec_rlimit *rl = &g_array_index(rlimits, struct spec_rlimit, i);

		jw_open(w, NULL);
		jw_kstr(w, "type", spec_rlimit_name(rl->resource));
		jw_ku64(w, "hard", rl->hard);
		jw_ku64(w, "soft", rl->soft);
		jw_close(w);
	}
	jw_aclose(w);
	jw_kbool(w, "noNewPrivileges", o->no_new_privileges);
	if (o->oom_score_adj_set)
		jw_kint(w, "oomScoreAdj", o->oom_score_adj);
	jw_close(w);
}

static void gen_mount(struct jw *w, const struct spec_mount *m)
{
	jw_open(w, NULL);
	jw_kstr(w, "destination", m->destination);
	jw_kstr(w, "type", m->type);
	jw_kstr(w, "source", m->source);
	jw_kstrv(w, "options", m->options);
	jw_close(w);
}

static bool user_mounted(const struct spec_opts *o, const char *dst)
{
	for (guint i = 0; i < o->mounts->len; i++)
		if (strcmp(((struct spec_mount *)o->mounts->pdata[i])->destination, dst) == 0)
			return true;
	return false;
}

static guint path_depth(const char *p)
{
	guint n = 0;

	for (; *p; p++)
		n += *p == '/';
	return n;
}

/* Parents before children, so a mount on /a does not hide an earlier one on /a/b. */
static gint mount_depth_cmp(gconstpointer a, gconstpointer b)
{
	const struct spec_mount *ma = *(struct spec_mount *const *)a, *mb = *(struct spec_mount *const *)b;
	guint da = path_depth(ma->destination), db = path_depth(mb->destination);

	return da < db ? -1 : da > db;
}

static void gen_mounts(struct jw *w, const struct spec_opts *o, const struct spec_host *host)
{
	char *sys_mode = o->privileged ? "rw" : "ro";
	struct {
		struct spec_mount m;
		char *options[8];
		bool skip;
	} defaults[] = {
		{ { "/proc", "proc", "proc" }, { "nosuid", "noexec", "nodev" } },
		{ { "/dev", "tmpfs", "tmpfs" }, { "nosuid", "strictatime", "mode=755", "size=65536k" } },
		{ { "/dev/pts", "devpts", "devpts" },
		  { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
		{ { "/dev/shm", "tmpfs", "shm" }, { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } },
		{ { "/dev/mqueue", "mqueue", "mqueue" }, { "nosuid", "noexec", "nodev" }, !host->has_mqueue },
		{ { "/sys", "sysfs", "sysfs" }, { "nosuid", "noexec", "nodev", sys_mode } },
		{ { "/sys/fs/cgroup", "cgroup", "cgroup" }, { "nosuid", "noexec", "nodev", "relatime", sys_mode } },
	};
	g_autoptr(GPtrArray) all = g_ptr_array_new();

	/* A user mount on a default destination replaces the default. */
	for (gsize i = 0; i < G_N_ELEMENTS(defaults); i++) {
		defaults[i].m.options = defaults[i].options;
		if (!defaults[i].skip && !user_mounted(o, defaults[i].m.destination))
			g_ptr_array_add(all, &defaults[i].m);
	}
	for (guint i = 0; i < o->mounts->len; i++)
		g_ptr_array_add(all, o->mounts->pdata[i]);
	/* Stable (GLib's is a merge sort): same-depth mounts keep defaults-then-user order. */
	g_ptr_array_sort(all, mount_depth_cmp);
	jw_aopen(w, "mounts");
	for (guint i = 0; i < all->len; i++)
		gen_mount(w, all->pdata[i]);
	jw_aclose(w);
}

/* Host device nodes for --privileged; the runtime creates null, zero, tty and friends itself. */
static void collect_devices(const char *dir, GPtrArray *out)
{
	static const char *const skip[] = { "/dev/pts",	 "/dev/shm",	"/dev/mqueue",	"/dev/console",
					    "/dev/ptmx", "/dev/tty",	"/dev/null",	"/dev/zero",
					    "/dev/full", "/dev/random", "/dev/urandom", NULL };
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		struct stat st;

		if (g_strv_contains(skip, path) || lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			collect_devices(path, out);
		else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
			g_ptr_array_add(out, g_steal_pointer(&path));
	}
}

static gint strp_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void gen_devices(struct jw *w)
{
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);

	collect_devices("/dev", paths);
	g_ptr_array_sort(paths, strp_cmp);
	jw_aopen(w, "devices");
	for (guint i = 0; i < paths->len; i++) {
		const char *p = paths->pdata[i];
		struct stat st;

		if (stat(p, &st) < 0)
			continue;
		jw_open(w, NULL);
		jw_kstr(w, "path", p);
		jw_kstr(w, "type", S_ISCHR(st.st_mode) ? "c" : "b");
		jw_kint(w, "major", major(st.st_rdev));
		jw_kint(w, "minor", minor(st.st_rdev));
		jw_kint(w, "fileMode", st.st_mode & 07777);
		jw_kint(w, "uid", st.st_uid);
		jw_kint(w, "gid", st.st_gid);
		jw_close(w);
	}
	jw_aclose(w);
}

static void gen_resources(struct jw *w, const struct spec_opts *o, const struct spec_host *host, GPtrArray *warnings)
{
	gint64 pids = o->pids_limit_set ? o->pids_limit : (host->has_pids ? SPEC_DEFAULT_PIDS_LIMIT : 0);

	jw_open(w, "resources");
	jw_aopen(w, "devices");
	jw_open(w, NULL);
	jw_kbool(w, "allow", o->privileged);
	jw_kstr(w, "access", "rwm");
	jw_close(w);
	jw_aclose(w);
	if (o->memory > 0) {
		jw_open(w, "memory");
		jw_kint(w, "limit", o->memory);
		jw_close(w);
	}
	if (pids > 0) {
		if (warnings && !host->has_pids)
			g_ptr_array_add(warnings, g_strdup("--pids-limit: this host has no pids cgroup controller; "
							   "the runtime may refuse or ignore the limit"));
		jw_open(w, "pids");
		jw_kint(w, "limit", pids);
		jw_close(w);
	}
	if (o->cpu_quota > 0) {
		jw_open(w, "cpu");
		jw_kint(w, "quota", o->cpu_quota);
		jw_ku64(w, "period", o->cpu_period);
		jw_close(w);
	}
	jw_close(w);
}

static void gen_seccomp(struct jw *w, const struct seccomp_profile *p)
{
	jw_open(w, "seccomp");
	jw_kstr(w, "defaultAction", p->default_action);
	if (p->has_default_errno)
		jw_kint(w, "defaultErrnoRet", p->default_errno);
	if (p->architectures && p->architectures[0])
		jw_kstrv(w, "architectures", p->architectures);
	if (p->flags && p->flags[0])
		jw_kstrv(w, "flags", p->flags);
	jw_aopen(w, "syscalls");
	for (guint i = 0; i < p->rules->len; i++) {
		const struct seccomp_rule *r = p->rules->pdata[i];

		jw_open(w, NULL);
		jw_kstrv(w, "names", r->names);
		jw_kstr(w, "action", r->action);
		if (r->has_errno)
			jw_kint(w, "errnoRet", r->errno_ret);
		if (r->args->len) {
			jw_aopen(w, "args");
			for (guint j = 0; j < r->args->len; j++) {
				const struct seccomp_arg *a = &g_array_index(r->args, struct seccomp_arg, j);

				jw_open(w, NULL);
				jw_kint(w, "index", a->index);
				jw_ku64(w, "value", a->value);
				jw_ku64(w, "valueTwo", a->value_two);
				jw_kstr(w, "op", seccomp_op_name(a->op));
				jw_close(w);
			}
			jw_aclose(w);
		}
		jw_close(w);
	}
	jw_aclose(w);
	jw_close(w);
}

static struct seccomp_profile *resolve_seccomp(const struct spec_opts *o, const struct spec_host *host,
					       GPtrArray *warnings, GError **err)
{
	g_autoptr(seccomp_profile) profile = NULL;
	g_autoptr(seccomp_profile) resolved = NULL;
	struct seccomp_target target = { .caps = o->caps, .arch = host->arch, .kernel = host->kernel };

	profile = o->seccomp == SPEC_SECCOMP_FILE ? seccomp_profile_load(o->seccomp_path, err)
						  : seccomp_profile_default();
	if (!profile)
		return NULL;
	resolved = seccomp_profile_resolve(profile, &target);
	if (host->seccomp_cache) {
		g_autofree char *key = seccomp_cache_key(resolved, host->arch);
		guint first = warnings ? warnings->len : 0;

		if (seccomp_cache_lookup(host->seccomp_cache, key, warnings))
			return g_steal_pointer(&resolved);
		if (seccomp_profile_compile(resolved, warnings, err) < 0)
			return NULL;
		seccomp_cache_store(host->seccomp_cache, key, warnings, first);
		return g_steal_pointer(&resolved);
	}
	if (seccomp_profile_compile(resolved, warnings, err) < 0)
		return NULL;
	return g_steal_pointer(&resolved);
}

/* cgroupfs "PARENT/ID", or systemd's "SLICE:PREFIX:NAME". */
static char *cgroups_path(const struct spec_opts *o, const char *id)
{
	const char *parent = o->cgroup_parent ? o->cgroup_parent : SPEC_DEFAULT_CGROUP_PARENT;

	if (o->cgroup_systemd)
		return g_strdup_printf("%s:ctr-wrap:%s", parent, id);
	return g_strdup_printf("%s/%s", strcmp(parent, "/") == 0 ? "" : parent, id);
}

static void gen_namespaces(struct jw *w, const struct spec_opts *o, const struct spec_host *host)
{
	/* No cgroup namespace on v1/hybrid hosts: runc and podman leave it to the host there. */
	const char *ns[] = { "pid",   o->net_host ? NULL : "network", "ipc", "uts",
			     "mount", host->cgroup2 ? "cgroup" : NULL };

	jw_aopen(w, "namespaces");
	for (gsize i = 0; i < G_N_ELEMENTS(ns); i++) {
		if (!ns[i])
			continue;
		jw_open(w, NULL);
		jw_kstr(w, "type", ns[i]);
		jw_close(w);
	}
	jw_aclose(w);
}

static void gen_linux(struct jw *w, const struct spec_opts *o, const char *id, const struct spec_host *host,
		      const struct seccomp_profile *seccomp, GPtrArray *warnings)
{
	g_autofree char *cgpath = cgroups_path(o, id);

	jw_open(w, "linux");
	gen_namespaces(w, o, host);
	if (o->privileged) {
		gen_devices(w);
	} else {
		jw_aopen(w, "maskedPaths");
		for (const char *const *p = masked_paths; *p; p++)
			jw_str(w, *p);
		for (char **p = host->extra_masked; p && *p; p++)
			jw_str(w, *p);
		jw_aclose(w);
		jw_kstrv(w, "readonlyPaths", (char **)readonly_paths);
	}
	gen_resources(w, o, host, warnings);
	jw_kstr(w, "cgroupsPath", cgpath);
	if (seccomp)
		gen_seccomp(w, seccomp);
	jw_close(w);
}

static void gen_freep(yajl_gen *g)
{
	if (*g)
		yajl_gen_free(*g);
}

char *spec_build(const struct spec_opts *opts, const char *id, const struct spec_host *host, bool pretty,
		 GPtrArray *warnings, GError **err)
{
	__attribute__((cleanup(gen_freep))) yajl_gen g = yajl_gen_alloc(NULL);
	g_autoptr(seccomp_profile) seccomp = NULL;
	g_autofree char *short_id = g_strndup(id, SPEC_SHORT_ID_LEN);
	struct jw w = { .g = g, .status = yajl_gen_status_ok };
	const unsigned char *buf;
	size_t len;

	if (!g) {
		cm_set_error(err, ENOMEM, "yajl_gen_alloc failed");
		return NULL;
	}
	if (opts->seccomp != SPEC_SECCOMP_UNCONFINED) {
		seccomp = resolve_seccomp(opts, host, warnings, err);
		if (!seccomp)
			return NULL;
	}
	yajl_gen_config(g, yajl_gen_beautify, pretty ? 1 : 0);
	yajl_gen_config(g, yajl_gen_indent_string, "\t");
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);

	jw_open(&w, NULL);
	jw_kstr(&w, "ociVersion", "1.0.2");
	gen_process(&w, opts, host, warnings);
	jw_open(&w, "root");
	jw_kstr(&w, "path", opts->rootfs);
	jw_kbool(&w, "readonly", opts->read_only);
	jw_close(&w);
	jw_kstr(&w, "hostname", opts->hostname ? opts->hostname : short_id);
	gen_mounts(&w, opts, host);
	gen_linux(&w, opts, id, host, seccomp, warnings);
	jw_close(&w);

	if (w.status == yajl_gen_invalid_string) {
		cm_set_error(err, EINVAL, "\"%s\" is not valid UTF-8: the OCI config is JSON, so text must be UTF-8",
			     w.bad_string);
		return NULL;
	}
	if (w.status != yajl_gen_status_ok) {
		cm_set_error(err, EINVAL, "generating config.json failed (yajl status %d)", (int)w.status);
		return NULL;
	}
	yajl_gen_get_buf(g, &buf, &len);
	return g_strndup((const char *)buf, len);
}

int spec_write_bundle(const char *bundle_dir, const char *json, GError **err)
{
	g_autofree char *path = g_build_filename(bundle_dir, "config.json", NULL);

	return cm_write_file_atomic(path, json, strlen(json), 0600, false, err);
}

char *spec_new_id(GError **err)
{
	guint8 raw[32];
	gsize got = 0;
	GString *id = g_string_sized_new(sizeof(raw) * 2);

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_string_free(id, TRUE);
			cm_set_errno(err, errno, "getrandom");
			return NULL;
		}
		got += (gsize)n;
	}
	for (gsize i = 0; i < sizeof(raw); i++)
		g_string_append_printf(id, "%02x", raw[i]);
	return g_string_free(id, FALSE);
}
