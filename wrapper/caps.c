/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/caps.h"

#include <errno.h>
#include <string.h>
#include <sys/capability.h>

#include "common/error.h"

/* CAP_LAST_CAP grows with kernels; a set is 64 bits wide, which has room. */
#define CAPS_MAX 64

/* Upper-case names from libcap, filled once; NULL where libcap only has a number. */
static char *cap_names[CAPS_MAX];

static void init_names(void)
{
	static gsize done;

	if (!g_once_init_enter(&done))
		return;
	for (int i = 0; i < CAPS_MAX; i++) {
		char *n = cap_to_name(i);

		if (n && !g_ascii_isdigit(n[0]))
			cap_names[i] = g_ascii_strup(n, -1);
		cap_free(n);
	}
	g_once_init_leave(&done, 1);
}

static int max_bits(void)
{
	int n = (int)cap_max_bits();

	return n > CAPS_MAX ? CAPS_MAX : n;
}

const char *caps_name(int cap)
{
	if (cap < 0 || cap >= CAPS_MAX)
		return NULL;
	init_names();
	return cap_names[cap];
}

caps_set caps_default(void)
{
	return CAPS_BIT(CAP_CHOWN) | CAPS_BIT(CAP_DAC_OVERRIDE) | CAPS_BIT(CAP_FOWNER) | CAPS_BIT(CAP_FSETID) |
	       CAPS_BIT(CAP_KILL) | CAPS_BIT(CAP_NET_BIND_SERVICE) | CAPS_BIT(CAP_SETFCAP) | CAPS_BIT(CAP_SETGID) |
	       CAPS_BIT(CAP_SETPCAP) | CAPS_BIT(CAP_SETUID) | CAPS_BIT(CAP_SYS_CHROOT);
}

caps_set caps_all(void)
{
	caps_set set = 0;
	int n = max_bits();

	/* The runtime cannot grant what we lack ourselves (on this VM CAP_SYS_RESOURCE is gone). */
	for (int i = 0; i < n; i++)
		if (caps_name(i) && cap_get_bound(i) == 1)
			set |= CAPS_BIT(i);
	return set;
}

static bool is_all(const char *name)
{
	return g_ascii_strcasecmp(name, "ALL") == 0;
}

int caps_parse_name(const char *name, int *cap, GError **err)
{
	g_autofree char *up = g_ascii_strup(name, -1);
	g_autofree char *full = g_str_has_prefix(up, "CAP_") ? g_strdup(up) : g_strconcat("CAP_", up, NULL);
	cap_value_t v;

	/* libcap also takes numbers; a number in a spec would hide typos. */
	if (name[0] == '\0' || g_ascii_isdigit(name[0]) || cap_from_name(full, &v) < 0 || v < 0 || v >= max_bits() ||
	    !caps_name(v)) {
		cm_set_error(err, EINVAL,
			     "unknown capability \"%s\": use a name like CAP_NET_ADMIN or ALL "
			     "(see capabilities(7))",
			     name);
		return -1;
	}
	*cap = v;
	return 0;
}

static int parse_list(const char *opt, char *const *names, caps_set *set, bool *all, GError **err)
{
	*set = 0;
	*all = false;
	for (char *const *p = names; p && *p; p++) {
		int cap;

		if (is_all(*p)) {
			*all = true;
			continue;
		}
		if (caps_parse_name(*p, &cap, err) < 0) {
			g_prefix_error(err, "%s: ", opt);
			return -1;
		}
		*set |= CAPS_BIT(cap);
	}
	return 0;
}

/* The lowest capability in a non-empty set, to name in a message. */
static const char *first_name(caps_set set)
{
	return caps_name(__builtin_ctzll(set));
}

int caps_apply(caps_set *set, char *const *add, char *const *drop, caps_set *added, GError **err)
{
	caps_set add_set, drop_set;
	bool add_all, drop_all;

	if (parse_list("--cap-add", add, &add_set, &add_all, err) < 0 ||
	    parse_list("--cap-drop", drop, &drop_set, &drop_all, err) < 0)
		return -1;
	if (add_all && drop_all) {
		cm_set_error(err, EINVAL, "--cap-add ALL and --cap-drop ALL contradict each other: keep one of them");
		return -1;
	}
	if (add_set & drop_set) {
		cm_set_error(err, EINVAL, "%s is both added and dropped: remove it from --cap-add or --cap-drop",
			     first_name(add_set & drop_set));
		return -1;
	}
	if (add_set & ~caps_all()) {
		cm_set_error(err, EPERM,
			     "--cap-add %s: not in ctr-wrap's own bounding set, so no container can get "
			     "it; drop the option",
			     first_name(add_set & ~caps_all()));
		return -1;
	}
	if (add_all)
		add_set = caps_all();
	if (drop_all)
		*set = 0;
	*set = (*set | add_set) & ~drop_set;
	if (added)
		*added = add_set & ~drop_set;
	return 0;
}

char **caps_to_strv(caps_set set)
{
	GPtrArray *a = g_ptr_array_new();

	for (int i = 0; i < CAPS_MAX; i++)
		if ((set & CAPS_BIT(i)) && caps_name(i))
			g_ptr_array_add(a, g_strdup(caps_name(i)));
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}
