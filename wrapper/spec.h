/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI runtime config.json for a container: built from struct spec_opts, the
 * container id and a few facts about the host, written with yajl_gen.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "wrapper/spec_opts.h"

/* What the spec depends on besides the options; tests fill it by hand. */
struct spec_host {
	bool cgroup2;	     /* /sys/fs/cgroup is the unified hierarchy: give a cgroup namespace */
	bool has_mqueue;     /* /proc/filesystems lists mqueue */
	bool has_pids;	     /* a pids controller exists: default pids limit */
	guint64 nofile_hard; /* our RLIMIT_NOFILE hard limit: the runtime cannot raise past it */
	uint32_t arch;	     /* SCMP_ARCH_* of this machine */
	char *kernel;	     /* uname release */
	char **extra_masked; /* host paths to mask that exist only on some machines */
	char *seccomp_cache; /* directory of seccomp checks that passed (seccomp_cache.h); NULL: compile each time */
};

void spec_host_detect(struct spec_host *host);
void spec_host_clear(struct spec_host *host);

/* Defaults, also used by docs and tests. */
#define SPEC_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define SPEC_DEFAULT_PIDS_LIMIT 2048
#define SPEC_DEFAULT_NOFILE_SOFT 1024
#define SPEC_DEFAULT_NOFILE_HARD 1048576
#define SPEC_DEFAULT_CGROUP_PARENT "/ctr-wrap"
#define SPEC_SHORT_ID_LEN 12

/*
 * The config.json text for container id (whose first 12 characters are the
 * default host name). Seccomp profiles are resolved and compiled here, so a
 * bad profile fails now rather than in the runtime. Warnings (may be NULL)
 * collect messages worth showing the user that do not stop the build.
 */
char *spec_build(const struct spec_opts *opts, const char *id, const struct spec_host *host, bool pretty,
		 GPtrArray *warnings, GError **err);

/*
 * Write json to bundle_dir/config.json (mode 0600: it may hold secrets in env), atomically, without
 * fsync: like state.json it lives under the state root (a tmpfs by default) and is rewritten each run.
 */
int spec_write_bundle(const char *bundle_dir, const char *json, GError **err);

/* A new random container id: 64 lower-case hex digits. */
char *spec_new_id(GError **err);
