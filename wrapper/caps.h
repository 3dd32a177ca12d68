/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Capability sets for the container spec. A set is a bitmask indexed by the
 * kernel's capability number; names are validated with libcap so that what we
 * accept is exactly what this kernel and libcap know.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

typedef guint64 caps_set;

#define CAPS_BIT(cap) ((caps_set)1 << (cap))

/* podman's 11 default capabilities. */
caps_set caps_default(void);

/* Every capability libcap can name that is in our own bounding set: what a runtime could grant. */
caps_set caps_all(void);

/*
 * Parse "chown", "CAP_CHOWN", "cap_Chown"... into a capability number.
 * "ALL" is not a capability: callers handle it.
 */
int caps_parse_name(const char *name, int *cap, GError **err);

/* "CAP_CHOWN" for cap; a static string, NULL for numbers libcap cannot name. */
const char *caps_name(int cap);

/*
 * Apply --cap-add / --cap-drop lists to *set. Names are case-insensitive,
 * with or without CAP_, and "ALL": drop ALL empties the set before adds,
 * add ALL fills it before drops. Naming one capability in both lists, or ALL
 * in both, is an error, and so is adding one caps_all() lacks. *added
 * receives the capabilities named in add (ALL expands), which non-root users
 * get in their effective set.
 */
int caps_apply(caps_set *set, char *const *add, char *const *drop, caps_set *added, GError **err);

/* NULL-terminated list of the names in set, in capability-number order. */
char **caps_to_strv(caps_set set);
