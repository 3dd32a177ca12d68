/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The seccomp check's results, kept under ctr-wrap's root. Compiling a resolved profile with
 * libseccomp (seccomp_profile_compile, ~4 ms for the default one) gives the same answer for the same
 * profile, architecture and libseccomp, so a profile that compiled once is not compiled again.
 *
 * DIR/KEY (mode 0600, in a 0700 DIR) records one compile that passed and the warnings it gave. At most
 * SECCOMP_CACHE_MAX entries are kept, the oldest go first; an entry that cannot be read or is not
 * in our format is a miss, and the next store replaces it.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "wrapper/seccomp_profile.h"

#define SECCOMP_CACHE_MAX 32

/* What the compile depends on, hashed: the resolved profile, arch, libseccomp's version and API level. */
char *seccomp_cache_key(const struct seccomp_profile *resolved, uint32_t arch);

/* True when dir holds a good entry for key; its warnings are appended to warnings (may be NULL). */
bool seccomp_cache_lookup(const char *dir, const char *key, GPtrArray *warnings);

/* Record a compile of key that passed, with warnings[first..]: best effort, a failure only costs a compile. */
void seccomp_cache_store(const char *dir, const char *key, const GPtrArray *warnings, guint first);
