/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seccomp profiles: our built-in default, user profiles read from JSON, and
 * resolution of conditional rules into a plain OCI linux.seccomp section.
 *
 * A profile may carry per-rule conditions (includes/excludes on caps,
 * arches and minKernel) and an archMap; seccomp_profile_resolve() turns it
 * into an unconditional profile for one capability set, architecture and
 * kernel. seccomp_profile_compile() then builds it with libseccomp, without
 * loading it, so a broken profile fails here with the rule named.
 *
 * Files: seccomp_default.c (the built-in profile's data), seccomp_profile.c
 * (parsing and resolution), seccomp_compile.c (libseccomp).
 */
#pragma once

#include <glib.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>

#include "wrapper/caps.h"

struct seccomp_arg {
	unsigned int index;
	guint64 value;
	guint64 value_two;
	enum scmp_compare op;
};

struct seccomp_cond {
	char **caps;
	char **arches;
	char *min_kernel; /* "5.8"; NULL for none */
};

struct seccomp_rule {
	char **names;
	char *action; /* "SCMP_ACT_ALLOW", ... */
	bool has_errno;
	guint errno_ret;
	GArray *args; /* struct seccomp_arg */
	struct seccomp_cond includes, excludes;
	char *comment;
	guint source_index; /* position in the profile as written, for messages */
};

struct seccomp_arch_map {
	char *arch; /* "SCMP_ARCH_X86_64" */
	char **sub_arches;
};

struct seccomp_profile {
	char *source; /* "default profile" or the file it came from, for messages */
	bool builtin; /* unknown syscall names are then skipped without a warning */
	char *default_action;
	bool has_default_errno;
	guint default_errno;
	char **architectures;
	GPtrArray *arch_map; /* struct seccomp_arch_map * */
	char **flags;
	GPtrArray *rules; /* struct seccomp_rule * */
};

/* The host facts resolution depends on. */
struct seccomp_target {
	caps_set caps;	    /* the container's bounding set */
	uint32_t arch;	    /* SCMP_ARCH_* token, e.g. seccomp_arch_native() */
	const char *kernel; /* uname release, e.g. "6.1.0-13-amd64"; NULL: minKernel never matches */
};

/* An empty profile: no rules, no default action yet. */
struct seccomp_profile *seccomp_profile_new(const char *source);
/* The built-in profile (seccomp_default.c). */
struct seccomp_profile *seccomp_profile_default(void);
struct seccomp_profile *seccomp_profile_parse(const char *json, const char *source, GError **err);
struct seccomp_profile *seccomp_profile_load(const char *path, GError **err);
void seccomp_profile_free(struct seccomp_profile *p);
typedef struct seccomp_profile seccomp_profile;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(seccomp_profile, seccomp_profile_free)

/* Unconditional copy of p for target; an archMap entry for the target arch gives the architectures. */
struct seccomp_profile *seccomp_profile_resolve(const struct seccomp_profile *p, const struct seccomp_target *target);

/*
 * Build a resolved profile with libseccomp and throw it away. Syscall names
 * libseccomp does not know are skipped, with a message appended to warnings
 * (may be NULL) unless the profile is built in.
 */
int seccomp_profile_compile(const struct seccomp_profile *p, GPtrArray *warnings, GError **err);

/* "SCMP_CMP_EQ" for SCMP_CMP_EQ. */
const char *seccomp_op_name(enum scmp_compare op);
/* "SCMP_ARCH_X86_64" for SCMP_ARCH_X86_64, NULL if we do not know the token. */
const char *seccomp_arch_name(uint32_t arch);
