/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Everything on the command line that shapes a container's config.json.
 *
 * Use: spec_opts_init(), spec_opts_add_entries() on the caller's
 * GOptionContext (set g_option_context_set_strict_posix(ctx, TRUE) so that
 * options of COMMAND are not taken for ours), g_option_context_parse(), then
 * spec_opts_finish() with the remaining arguments (ROOTFS COMMAND [ARG...]).
 * After finish only the parsed fields below `raw` are meant to be read.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "wrapper/caps.h"

enum spec_seccomp_mode {
	SPEC_SECCOMP_DEFAULT,
	SPEC_SECCOMP_UNCONFINED,
	SPEC_SECCOMP_FILE,
};

struct spec_mount {
	char *destination;
	char *type; /* "bind" or "tmpfs" */
	char *source;
	char **options;
};

struct spec_rlimit {
	int resource;	    /* RLIMIT_* */
	guint64 soft, hard; /* RLIM_INFINITY for unlimited */
};

struct spec_opts {
	/* Storage the GOptionEntry table writes into; spec_opts_finish() reads it. */
	struct {
		char **env, **env_files, **volumes, **tmpfs, **ulimits, **cap_add, **cap_drop, **security_opts;
		char *user, *workdir, *hostname, *memory, *pids_limit, *cpus, *network, *cgroup_parent;
		char *oom_score_adj;
		gboolean read_only, privileged, tty;
	} raw;

	char *rootfs;	/* canonical absolute path */
	char **args;	/* COMMAND [ARG...] */
	GPtrArray *env; /* "KEY=VAL" from --env-file then --env; a later KEY replaces an earlier one */

	bool user_set; /* --user given; otherwise uid = gid = 0 */
	uid_t uid;
	gid_t gid;
	GArray *additional_gids; /* gid_t: groups naming the user in ROOTFS/etc/group */

	char *workdir;	   /* "/" unless -w */
	char *hostname;	   /* NULL: the short container id */
	GPtrArray *mounts; /* struct spec_mount *, from -v and --tmpfs in order */
	bool read_only;

	gint64 memory; /* bytes, 0 = no limit */
	bool pids_limit_set;
	gint64 pids_limit; /* when set: <= 0 means unlimited */
	gint64 cpu_quota;  /* microseconds per cpu_period, 0 = no limit */
	guint64 cpu_period;
	GArray *rlimits; /* struct spec_rlimit from --ulimit, last one per resource wins */
	bool oom_score_adj_set;
	int oom_score_adj;

	caps_set caps;	     /* final bounding set */
	caps_set caps_added; /* what --cap-add named (non-root users get these as effective) */
	bool privileged;
	enum spec_seccomp_mode seccomp;
	char *seccomp_path;
	bool no_new_privileges;
	bool tty;
	bool net_host;	     /* --network host: no network namespace */
	char *cgroup_parent; /* NULL: "/ctr-wrap" */
	bool cgroup_systemd; /* parent is a systemd slice: the runtime needs --systemd-cgroup */
};

void spec_opts_init(struct spec_opts *o);
void spec_opts_clear(struct spec_opts *o);

/* Add the options to ctx's main group, storing into o->raw. */
void spec_opts_add_entries(GOptionContext *ctx, struct spec_opts *o);

/*
 * Check and convert o->raw; args are ROOTFS COMMAND [ARG...] (without the
 * program name). Errors name the option and how to fix it.
 */
int spec_opts_finish(struct spec_opts *o, int argc, char **argv, GError **err);

/* Only --memory, --cpus and --pids-limit from o->raw into memory, cpu_quota, pids_limit (update). */
int spec_opts_parse_resources(struct spec_opts *o, GError **err);

/* Helpers, public for the tests. */
/* "512", "64k", "512m", "2g" (optionally with a trailing b) in bytes. */
int spec_parse_size(const char *s, gint64 *out, GError **err);
/* "nofile=1024[:2048]" */
int spec_parse_ulimit(const char *s, struct spec_rlimit *out, GError **err);
/* "RLIMIT_NOFILE" for RLIMIT_NOFILE, NULL if unknown. */
const char *spec_rlimit_name(int resource);
