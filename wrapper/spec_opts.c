/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/spec_opts.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/io.h"
#include "wrapper/rootfs_user.h"

/* Below this a container cannot start its first process reliably. */
#define MIN_MEMORY (6 * 1024 * 1024)
#define CPU_PERIOD 100000
/* The kernel refuses CFS quotas under 1 ms. */
#define MIN_CPU_QUOTA 1000

static void mount_free(gpointer p)
{
	struct spec_mount *m = p;

	g_free(m->destination);
	g_free(m->type);
	g_free(m->source);
	g_strfreev(m->options);
	g_free(m);
}

void spec_opts_init(struct spec_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->env = g_ptr_array_new_with_free_func(g_free);
	o->additional_gids = g_array_new(FALSE, FALSE, sizeof(gid_t));
	o->mounts = g_ptr_array_new_with_free_func(mount_free);
	o->rlimits = g_array_new(FALSE, FALSE, sizeof(struct spec_rlimit));
	o->workdir = g_strdup("/");
	o->cpu_period = CPU_PERIOD;
}

void spec_opts_clear(struct spec_opts *o)
{
	g_strfreev(o->raw.env);
	g_strfreev(o->raw.env_files);
	g_strfreev(o->raw.volumes);
	g_strfreev(o->raw.tmpfs);
	g_strfreev(o->raw.ulimits);
	g_strfreev(o->raw.cap_add);
	g_strfreev(o->raw.cap_drop);
	g_strfreev(o->raw.security_opts);
	g_free(o->raw.user);
	g_free(o->raw.workdir);
	g_free(o->raw.hostname);
	g_free(o->raw.memory);
	g_free(o->raw.pids_limit);
	g_free(o->raw.cpus);
	g_free(o->raw.network);
	g_free(o->raw.cgroup_parent);
	g_free(o->raw.oom_score_adj);
	g_free(o->rootfs);
	g_strfreev(o->args);
	g_ptr_array_unref(o->env);
	g_array_unref(o->additional_gids);
	g_free(o->workdir);
	g_free(o->hostname);
	g_ptr_array_unref(o->mounts);
	g_array_unref(o->rlimits);
	g_free(o->seccomp_path);
	g_free(o->cgroup_parent);
	memset(o, 0, sizeof(*o));
}

void spec_opts_add_entries(GOptionContext *ctx, struct spec_opts *o)
{
	/*
	 * g_option_context_add_main_entries copies the table, so a local one is
	 * fine. FILENAME types everywhere: GLib then keeps the bytes as given
	 * instead of converting from the locale, which fails for UTF-8 text
	 * under LANG=C; spec_build insists on UTF-8 later with a clear message.
	 */
	const GOptionEntry entries[] = {
		{ "env", 'e', 0, G_OPTION_ARG_FILENAME_ARRAY, &o->raw.env,
		  "Set an environment variable; KEY alone copies it from the host (repeatable)", "KEY[=VAL]" },
		{ "env-file", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o->raw.env_files,
		  "Read KEY=VAL lines from FILE (repeatable)", "FILE" },
		{ "user", 'u', 0, G_OPTION_ARG_FILENAME, &o->raw.user,
		  "Run as this user; names are looked up in ROOTFS/etc/passwd and /etc/group", "UID[:GID]" },
		{ "workdir", 'w', 0, G_OPTION_ARG_FILENAME, &o->raw.workdir, "Working directory (default /)", "DIR" },
		{ "hostname", 0, 0, G_OPTION_ARG_FILENAME, &o->raw.hostname,
		  "Container host name (default: the short container id)", "NAME" },
		{ "volume", 'v', 0, G_OPTION_ARG_FILENAME_ARRAY, &o->raw.volumes,
		  "Bind mount a host path; OPTS: ro, rw, bind, rbind, [r]private, [r]shared, [r]slave, nosuid, "
		  "nodev, noexec (repeatable)",
		  "SRC:DST[:OPTS]" },
		{ "tmpfs", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o->raw.tmpfs,
		  "Mount a tmpfs (default options nosuid,nodev,noexec) (repeatable)", "DST[:OPTS]" },
		{ "read-only", 0, 0, G_OPTION_ARG_NONE, &o->raw.read_only, "Mount the root filesystem read-only",
		  NULL },
		{ "memory", 'm', 0, G_OPTION_ARG_FILENAME, &o->raw.memory, "Memory limit, suffix k, m or g", "SIZE" },
		{ "pids-limit", 0, 0, G_OPTION_ARG_FILENAME, &o->raw.pids_limit,
		  "Maximum number of processes; -1 for unlimited (default 2048 where the pids controller exists)",
		  "N" },
		{ "cpus", 0, 0, G_OPTION_ARG_FILENAME, &o->raw.cpus, "Number of CPUs, e.g. 1.5", "N" },
		{ "ulimit", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o->raw.ulimits,
		  "Resource limit, e.g. nofile=1024:4096; -1 or unlimited (repeatable)", "NAME=SOFT[:HARD]" },
		{ "oom-score-adj", 0, 0, G_OPTION_ARG_FILENAME, &o->raw.oom_score_adj,
		  "OOM killer score adjustment, -1000..1000", "N" },
		{ "cap-add", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o->raw.cap_add,
		  "Add a capability, or ALL (repeatable)", "CAP" },
		{ "cap-drop", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o->raw.cap_drop,
		  "Drop a capability, or ALL (repeatable)", "CAP" },
		{ "privileged", 0, 0, G_OPTION_ARG_NONE, &o->raw.privileged,
		  "All capabilities and host devices, no seccomp, no masked paths", NULL },
		{ "security-opt", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o->raw.security_opts,
		  "seccomp=PATH, seccomp=unconfined or no-new-privileges (repeatable)", "OPT" },
		{ "tty", 't', 0, G_OPTION_ARG_NONE, &o->raw.tty, "Allocate a terminal (sets TERM=xterm)", NULL },
		{ "network", 0, 0, G_OPTION_ARG_FILENAME, &o->raw.network,
		  "none: own network namespace with loopback only (default); host: the host's", "MODE" },
		{ "cgroup-parent", 0, 0, G_OPTION_ARG_FILENAME, &o->raw.cgroup_parent,
		  "Parent cgroup (default /ctr-wrap); a NAME.slice means systemd", "PATH" },
		{ NULL }
	};

	g_option_context_add_main_entries(ctx, entries, NULL);
}

static bool size_suffix(const char *s, int *shift)
{
	static const char units[] = "bkmgt";
	const char *u;

	*shift = 0;
	if (!*s)
		return true;
	u = strchr(units, g_ascii_tolower(*s));
	if (!u)
		return false;
	*shift = 10 * (int)(u - units);
	s++;
	/* "512mb" as well as "512m"; a lone "b" is already bytes. */
	if (*shift && g_ascii_tolower(*s) == 'b')
		s++;
	return *s == '\0';
}

int spec_parse_size(const char *s, gint64 *out, GError **err)
{
	char *end = NULL;
	guint64 v = 0;
	int shift = 0;

	if (g_ascii_isdigit(s[0])) {
		errno = 0;
		v = g_ascii_strtoull(s, &end, 10);
	}
	if (!end || errno != 0 || !size_suffix(end, &shift) || v > ((guint64)G_MAXINT64 >> shift)) {
		cm_set_error(err, EINVAL,
			     "invalid size \"%s\": use a number with an optional k, m or g suffix, e.g. 512m", s);
		return -1;
	}
	*out = (gint64)(v << shift);
	return 0;
}

static const struct {
	const char *name;
	int resource;
} rlimit_names[] = {
	{ "as", RLIMIT_AS },	       { "core", RLIMIT_CORE },		{ "cpu", RLIMIT_CPU },
	{ "data", RLIMIT_DATA },       { "fsize", RLIMIT_FSIZE },	{ "locks", RLIMIT_LOCKS },
	{ "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
	{ "nofile", RLIMIT_NOFILE },   { "nproc", RLIMIT_NPROC },	{ "rss", RLIMIT_RSS },
	{ "rtprio", RLIMIT_RTPRIO },   { "rttime", RLIMIT_RTTIME },	{ "sigpending", RLIMIT_SIGPENDING },
	{ "stack", RLIMIT_STACK },
};

const char *spec_rlimit_name(int resource)
{
	static char *names[G_N_ELEMENTS(rlimit_names)];
	static gsize done;

	if (g_once_init_enter(&done)) {
		for (gsize i = 0; i < G_N_ELEMENTS(rlimit_names); i++)
			names[i] = g_strconcat("RLIMIT_", rlimit_names[i].name, NULL);
		for (gsize i = 0; i < G_N_ELEMENTS(rlimit_names); i++)
			for (char *c = names[i]; *c; c++)
				*c = g_ascii_toupper(*c);
		g_once_init_leave(&done, 1);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(rlimit_names); i++)
		if (rlimit_names[i].resource == resource)
			return names[i];
	return NULL;
}

static bool parse_rlim_value(const char *s, guint64 *out)
{
	gint64 v;

	if (strcmp(s, "unlimited") == 0 || strcmp(s, "-1") == 0) {
		*out = RLIM_INFINITY;
		return true;
	}
	if (!g_ascii_isdigit(s[0]) || !cm_parse_int64(s, &v) || v < 0)
		return false;
	*out = (guint64)v;
	return true;
}

int spec_parse_ulimit(const char *s, struct spec_rlimit *out, GError **err)
{
	const char *eq = strchr(s, '=');
	g_autofree char *name = eq ? g_ascii_strdown(s, eq - s) : NULL;
	g_auto(GStrv) vals = eq ? g_strsplit(eq + 1, ":", -1) : NULL;
	int resource = -1;

	if (name && g_str_has_prefix(name, "rlimit_"))
		memmove(name, name + 7, strlen(name + 7) + 1);
	for (gsize i = 0; name && i < G_N_ELEMENTS(rlimit_names); i++)
		if (strcmp(name, rlimit_names[i].name) == 0)
			resource = rlimit_names[i].resource;
	if (resource < 0) {
		cm_set_error(err, EINVAL,
			     "--ulimit %s: expected NAME=SOFT[:HARD] with NAME one of as, core, cpu, data, fsize, "
			     "locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack",
			     s);
		return -1;
	}
	out->resource = resource;
	if (g_strv_length(vals) < 1 || g_strv_length(vals) > 2 || !parse_rlim_value(vals[0], &out->soft) ||
	    !parse_rlim_value(vals[1] ? vals[1] : vals[0], &out->hard)) {
		cm_set_error(err, EINVAL, "--ulimit %s: limits must be numbers, -1 or unlimited, e.g. nofile=1024:4096",
			     s);
		return -1;
	}
	if (out->soft > out->hard) {
		cm_set_error(err, EINVAL, "--ulimit %s: the soft limit is above the hard limit: swap them", s);
		return -1;
	}
	return 0;
}

static bool env_key_ok(const char *kv, gsize keylen)
{
	if (keylen == 0)
		return false;
	for (gsize i = 0; i < keylen; i++)
		if (g_ascii_isspace(kv[i]) || g_ascii_iscntrl(kv[i]))
			return false;
	return true;
}

static int add_env(struct spec_opts *o, GHashTable *index, const char *kv, const char *origin, GError **err)
{
	const char *eq = strchr(kv, '=');
	g_autofree char *key = eq ? g_strndup(kv, eq - kv) : g_strdup(kv);
	char *entry;
	gpointer pos;

	if (!env_key_ok(kv, strlen(key))) {
		cm_set_error(err, EINVAL, "%s \"%s\": the variable name must be non-empty without spaces", origin, kv);
		return -1;
	}
	if (eq) {
		entry = g_strdup(kv);
	} else {
		const char *host = g_getenv(key);

		/* Like docker: KEY alone that the host does not have is left out. */
		if (!host)
			return 0;
		entry = g_strconcat(key, "=", host, NULL);
	}
	if (g_hash_table_lookup_extended(index, key, NULL, &pos)) {
		g_free(o->env->pdata[GPOINTER_TO_UINT(pos)]);
		o->env->pdata[GPOINTER_TO_UINT(pos)] = entry;
		return 0;
	}
	g_hash_table_insert(index, g_steal_pointer(&key), GUINT_TO_POINTER(o->env->len));
	g_ptr_array_add(o->env, entry);
	return 0;
}

static int parse_env(struct spec_opts *o, GError **err)
{
	g_autoptr(GHashTable) index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (char **f = o->raw.env_files; f && *f; f++) {
		g_autofree char *contents = NULL;
		g_auto(GStrv) lines = NULL;
		g_autoptr(GError) local = NULL;

		if (!g_file_get_contents(*f, &contents, NULL, &local)) {
			cm_set_error(err, EINVAL, "--env-file: %s", local->message);
			return -1;
		}
		lines = g_strsplit(contents, "\n", -1);
		for (char **l = lines; *l; l++) {
			g_autofree char *origin = g_strdup_printf("--env-file %s line %d:", *f, (int)(l - lines) + 1);
			gsize len = strlen(*l);
			const char *p = *l;

			if (len && (*l)[len - 1] == '\r')
				(*l)[len - 1] = '\0';
			while (g_ascii_isspace(*p))
				p++;
			if (!*p || *p == '#')
				continue;
			if (add_env(o, index, *l, origin, err) < 0)
				return -1;
		}
	}
	for (char **e = o->raw.env; e && *e; e++)
		if (add_env(o, index, *e, "--env", err) < 0)
			return -1;
	return 0;
}

/* An absolute destination, lexically cleaned; "/" itself is not a mount point we allow. */
static char *mount_destination(const char *opt, const char *spec, const char *dst, GError **err)
{
	g_autofree char *clean = NULL;

	if (!dst || dst[0] != '/') {
		cm_set_error(err, EINVAL, "%s %s: the container path must be absolute", opt, spec);
		return NULL;
	}
	clean = g_canonicalize_filename(dst, "/");
	if (strcmp(clean, "/") == 0) {
		cm_set_error(err, EINVAL, "%s %s: cannot mount over /: use --read-only or another ROOTFS", opt, spec);
		return NULL;
	}
	return g_steal_pointer(&clean);
}

static bool is_propagation(const char *s)
{
	static const char *const modes[] = { "private", "rprivate", "shared", "rshared", "slave", "rslave", NULL };

	return g_strv_contains(modes, s);
}

static int parse_volume(const char *spec, struct spec_mount **out, GError **err)
{
	static const char *const flags[] = { "ro", "rw", "nosuid", "nodev", "noexec", "suid", "dev", "exec", NULL };
	g_auto(GStrv) parts = g_strsplit(spec, ":", -1);
	guint n = g_strv_length(parts);
	g_autoptr(GPtrArray) options = g_ptr_array_new_with_free_func(g_free);
	const char *bind = "rbind", *propagation = "rprivate";
	g_autofree char *dst = NULL;
	g_auto(GStrv) opts = NULL;
	struct stat st;
	struct spec_mount *m;

	if (n < 2 || n > 3 || !parts[0][0]) {
		cm_set_error(err, EINVAL,
			     "--volume %s: expected SRC:DST[:OPTS] (paths containing ':' are not supported)", spec);
		return -1;
	}
	if (parts[0][0] != '/') {
		cm_set_error(err, EINVAL, "--volume %s: the host path must be absolute, e.g. $PWD/%s", spec, parts[0]);
		return -1;
	}
	if (stat(parts[0], &st) < 0) {
		cm_set_errno(err, errno, "--volume %s: host path %s", spec, parts[0]);
		return -1;
	}
	dst = mount_destination("--volume", spec, parts[1], err);
	if (!dst)
		return -1;

	opts = n == 3 ? g_strsplit(parts[2], ",", -1) : g_new0(char *, 1);
	for (char **p = opts; *p; p++) {
		if (strcmp(*p, "bind") == 0 || strcmp(*p, "rbind") == 0) {
			bind = *p;
		} else if (is_propagation(*p)) {
			propagation = *p;
		} else if (g_strv_contains(flags, *p)) {
			if (strcmp(*p, "rw") != 0)
				g_ptr_array_add(options, g_strdup(*p));
		} else {
			cm_set_error(err, EINVAL,
				     "--volume %s: unknown option \"%s\": use ro, rw, bind, rbind, "
				     "[r]private, [r]shared, [r]slave, nosuid, nodev or noexec",
				     spec, *p);
			return -1;
		}
	}
	g_ptr_array_insert(options, 0, g_strdup(propagation));
	g_ptr_array_insert(options, 0, g_strdup(bind));
	g_ptr_array_add(options, NULL);

	m = g_new0(struct spec_mount, 1);
	m->destination = g_steal_pointer(&dst);
	m->type = g_strdup("bind");
	m->source = g_strdup(parts[0]);
	m->options = (char **)g_ptr_array_steal(options, NULL);
	*out = m;
	return 0;
}

static int parse_tmpfs(const char *spec, struct spec_mount **out, GError **err)
{
	const char *colon = strchr(spec, ':');
	g_autofree char *dst_raw = colon ? g_strndup(spec, colon - spec) : g_strdup(spec);
	g_auto(GStrv) user = colon ? g_strsplit(colon + 1, ",", -1) : g_new0(char *, 1);
	/* Each default goes away when the user names its opposite. */
	const char *defaults[][2] = { { "nosuid", "suid" }, { "nodev", "dev" }, { "noexec", "exec" } };
	g_autoptr(GPtrArray) options = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *dst = mount_destination("--tmpfs", spec, dst_raw, err);
	struct spec_mount *m;

	if (!dst)
		return -1;
	for (gsize i = 0; i < G_N_ELEMENTS(defaults); i++)
		if (!g_strv_contains((const char *const *)user, defaults[i][0]) &&
		    !g_strv_contains((const char *const *)user, defaults[i][1]))
			g_ptr_array_add(options, g_strdup(defaults[i][0]));
	for (char **p = user; *p; p++) {
		if (!**p) {
			cm_set_error(err, EINVAL, "--tmpfs %s: empty mount option: separate options with single commas",
				     spec);
			return -1;
		}
		g_ptr_array_add(options, g_strdup(*p));
	}
	g_ptr_array_add(options, NULL);

	m = g_new0(struct spec_mount, 1);
	m->destination = g_steal_pointer(&dst);
	m->type = g_strdup("tmpfs");
	m->source = g_strdup("tmpfs");
	m->options = (char **)g_ptr_array_steal(options, NULL);
	*out = m;
	return 0;
}

static int parse_mounts(struct spec_opts *o, GError **err)
{
	for (char **v = o->raw.volumes; v && *v; v++) {
		struct spec_mount *m;

		if (parse_volume(*v, &m, err) < 0)
			return -1;
		g_ptr_array_add(o->mounts, m);
	}
	for (char **t = o->raw.tmpfs; t && *t; t++) {
		struct spec_mount *m;

		if (parse_tmpfs(*t, &m, err) < 0)
			return -1;
		g_ptr_array_add(o->mounts, m);
	}
	for (guint i = 0; i < o->mounts->len; i++)
		for (guint j = i + 1; j < o->mounts->len; j++) {
			const struct spec_mount *a = o->mounts->pdata[i], *b = o->mounts->pdata[j];

			if (strcmp(a->destination, b->destination) == 0) {
				cm_set_error(err, EINVAL,
					     "two mounts on %s: keep one --volume/--tmpfs per container path",
					     a->destination);
				return -1;
			}
		}
	return 0;
}

/* "KEY=VAL" or "KEY:VAL" (docker's older spelling); *val is NULL for a bare KEY. */
static bool secopt_split(const char *s, const char *key, const char **val)
{
	gsize n = strlen(key);

	if (strncmp(s, key, n) != 0 || (s[n] && s[n] != '=' && s[n] != ':'))
		return false;
	*val = s[n] ? s + n + 1 : NULL;
	return true;
}

static int parse_security_opts(struct spec_opts *o, GError **err)
{
	for (char **s = o->raw.security_opts; s && *s; s++) {
		const char *val;

		if (secopt_split(*s, "seccomp", &val) && val && *val) {
			g_clear_pointer(&o->seccomp_path, g_free);
			if (strcmp(val, "unconfined") == 0) {
				o->seccomp = SPEC_SECCOMP_UNCONFINED;
			} else {
				o->seccomp = SPEC_SECCOMP_FILE;
				o->seccomp_path = g_strdup(val);
			}
		} else if (secopt_split(*s, "no-new-privileges", &val)) {
			if (!val || strcmp(val, "true") == 0) {
				o->no_new_privileges = true;
			} else if (strcmp(val, "false") == 0) {
				o->no_new_privileges = false;
			} else {
				cm_set_error(err, EINVAL,
					     "--security-opt %s: use no-new-privileges or "
					     "no-new-privileges=false",
					     *s);
				return -1;
			}
		} else {
			cm_set_error(err, EINVAL,
				     "--security-opt %s: not supported; use seccomp=PATH, seccomp=unconfined or "
				     "no-new-privileges",
				     *s);
			return -1;
		}
	}
	return 0;
}

int spec_opts_parse_resources(struct spec_opts *o, GError **err)
{
	if (o->raw.memory) {
		g_autoptr(GError) local = NULL;

		if (spec_parse_size(o->raw.memory, &o->memory, &local) < 0) {
			cm_set_error(err, EINVAL, "--memory: %s", local->message);
			return -1;
		}
		if (o->memory < MIN_MEMORY) {
			cm_set_error(err, EINVAL, "--memory %s is below the minimum of 6m: give at least 6m",
				     o->raw.memory);
			return -1;
		}
	}
	if (o->raw.pids_limit) {
		if (!cm_parse_int64(o->raw.pids_limit, &o->pids_limit) || o->pids_limit < -1) {
			cm_set_error(err, EINVAL, "--pids-limit %s: give a number of processes, or -1 for unlimited",
				     o->raw.pids_limit);
			return -1;
		}
		o->pids_limit_set = true;
	}
	if (o->raw.cpus) {
		char *end;
		double cpus = g_ascii_strtod(o->raw.cpus, &end);
		double quota = cpus * CPU_PERIOD;

		if (end == o->raw.cpus || *end || !isfinite(cpus) || quota < MIN_CPU_QUOTA ||
		    quota > (double)G_MAXINT32) {
			cm_set_error(err, EINVAL, "--cpus %s: give a number of CPUs from 0.01 up, e.g. 1.5",
				     o->raw.cpus);
			return -1;
		}
		o->cpu_quota = (gint64)(quota + 0.5);
	}
	for (char **u = o->raw.ulimits; u && *u; u++) {
		struct spec_rlimit rl;
		guint i;

		if (spec_parse_ulimit(*u, &rl, err) < 0)
			return -1;
		for (i = 0; i < o->rlimits->len; i++)
			if (g_array_index(o->rlimits, struct spec_rlimit, i).resource == rl.resource)
				break;
		if (i < o->rlimits->len)
			g_array_index(o->rlimits, struct spec_rlimit, i) = rl;
		else
			g_array_append_val(o->rlimits, rl);
	}
	if (o->raw.oom_score_adj) {
		if (!cm_parse_int(o->raw.oom_score_adj, &o->oom_score_adj) || o->oom_score_adj < -1000 ||
		    o->oom_score_adj > 1000) {
			cm_set_error(err, EINVAL, "--oom-score-adj %s: give a number from -1000 to 1000",
				     o->raw.oom_score_adj);
			return -1;
		}
		o->oom_score_adj_set = true;
	}
	return 0;
}

static int parse_cgroup_parent(struct spec_opts *o, GError **err)
{
	const char *p = o->raw.cgroup_parent;

	if (!p)
		return 0;
	if (g_str_has_suffix(p, ".slice")) {
		if (strchr(p, '/')) {
			cm_set_error(err, EINVAL,
				     "--cgroup-parent %s: a systemd slice is a plain name like machine.slice", p);
			return -1;
		}
		o->cgroup_systemd = true;
		o->cgroup_parent = g_strdup(p);
		return 0;
	}
	if (!*p || strstr(p, "..")) {
		cm_set_error(err, EINVAL, "--cgroup-parent %s: give a cgroup path like /ctr-wrap or a NAME.slice", p);
		return -1;
	}
	o->cgroup_parent = g_canonicalize_filename(p, "/");
	return 0;
}

static bool hostname_ok(const char *h)
{
	gsize n = strlen(h);

	if (n == 0 || n > 64)
		return false;
	for (const char *c = h; *c; c++)
		if (!g_ascii_isalnum(*c) && *c != '-' && *c != '.' && *c != '_')
			return false;
	return true;
}

static int parse_identity(struct spec_opts *o, GError **err)
{
	if (o->raw.user) {
		if (rootfs_user_parse(o->raw.user, o->rootfs, &o->uid, &o->gid, o->additional_gids, err) < 0)
			return -1;
		o->user_set = true;
	}
	if (o->raw.workdir) {
		if (o->raw.workdir[0] != '/') {
			cm_set_error(err, EINVAL, "--workdir %s: the directory must be an absolute path",
				     o->raw.workdir);
			return -1;
		}
		g_free(o->workdir);
		o->workdir = g_canonicalize_filename(o->raw.workdir, "/");
	}
	if (o->raw.hostname) {
		if (!hostname_ok(o->raw.hostname)) {
			cm_set_error(err, EINVAL, "--hostname %s: use 1-64 letters, digits, '-', '.' or '_'",
				     o->raw.hostname);
			return -1;
		}
		o->hostname = g_strdup(o->raw.hostname);
	}
	return 0;
}

int spec_opts_finish(struct spec_opts *o, int argc, char **argv, GError **err)
{
	struct stat st;
	char *real;
	int e = 0;

	if (argc < 1) {
		cm_set_error(err, EINVAL, "missing ROOTFS and COMMAND: give a root filesystem directory and a command");
		return -1;
	}
	if (argc < 2) {
		cm_set_error(err, EINVAL, "missing COMMAND: give the program to run after ROOTFS, e.g. /bin/sh");
		return -1;
	}
	real = realpath(argv[0], NULL);
	if (!real)
		e = errno;
	else if (stat(real, &st) < 0)
		e = errno;
	else if (!S_ISDIR(st.st_mode))
		e = ENOTDIR;
	if (e) {
		free(real);
		cm_set_error(err, e, "ROOTFS %s: %s: give the path of an unpacked root filesystem directory", argv[0],
			     g_strerror(e));
		return -1;
	}
	o->rootfs = g_strdup(real);
	free(real);
	o->args = g_new0(char *, argc);
	for (int i = 1; i < argc; i++)
		o->args[i - 1] = g_strdup(argv[i]);

	o->privileged = o->raw.privileged;
	o->read_only = o->raw.read_only;
	o->tty = o->raw.tty;
	if (o->raw.network) {
		if (strcmp(o->raw.network, "host") == 0) {
			o->net_host = true;
		} else if (strcmp(o->raw.network, "none") != 0) {
			cm_set_error(err, EINVAL, "--network %s: only none and host are supported", o->raw.network);
			return -1;
		}
	}

	/* A host that lacks a default capability still runs containers, just without it. */
	o->caps = o->privileged ? caps_all() : (caps_default() & caps_all());
	if (caps_apply(&o->caps, o->raw.cap_add, o->raw.cap_drop, &o->caps_added, err) < 0)
		return -1;
	if (parse_security_opts(o, err) < 0)
		return -1;
	/* podman's rule: --privileged turns seccomp off unless a profile was named explicitly. */
	if (o->privileged && o->seccomp == SPEC_SECCOMP_DEFAULT)
		o->seccomp = SPEC_SECCOMP_UNCONFINED;

	if (parse_identity(o, err) < 0 || parse_env(o, err) < 0 || parse_mounts(o, err) < 0 ||
	    spec_opts_parse_resources(o, err) < 0 || parse_cgroup_parent(o, err) < 0)
		return -1;
	return 0;
}
