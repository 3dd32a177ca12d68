/* SPDX-License-Identifier: Apache-2.0 */
#include <linux/capability.h>
#include <string.h>

#include "wrapper/caps.h"

static void test_parse_names(void)
{
	const char *good[] = { "chown", "CAP_CHOWN", "cap_Chown", "Chown" };
	int cap;

	for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autoptr(GError) err = NULL;

		g_assert_cmpint(caps_parse_name(good[i], &cap, &err), ==, 0);
		g_assert_no_error(err);
		g_assert_cmpint(cap, ==, CAP_CHOWN);
	}
	g_assert_cmpint(caps_parse_name("net_admin", &cap, NULL), ==, 0);
	g_assert_cmpint(cap, ==, CAP_NET_ADMIN);
}

static void test_parse_unknown(void)
{
	const char *bad[] = { "foo", "", "12", "CAP_", "ALL", "chownx" };

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) err = NULL;
		int cap;

		g_assert_cmpint(caps_parse_name(bad[i], &cap, &err), ==, -1);
		g_assert_nonnull(err);
		/* One line that names the fix. */
		g_assert_nonnull(strstr(err->message, "CAP_NET_ADMIN"));
		g_assert_null(strchr(err->message, '\n'));
	}
}

static void test_names(void)
{
	g_assert_cmpstr(caps_name(CAP_CHOWN), ==, "CAP_CHOWN");
	g_assert_cmpstr(caps_name(CAP_SYS_ADMIN), ==, "CAP_SYS_ADMIN");
	g_assert_null(caps_name(-1));
	g_assert_null(caps_name(64));
}

static void test_default(void)
{
	static const char *const want[] = { "CAP_CHOWN",      "CAP_DAC_OVERRIDE", "CAP_FOWNER",
					    "CAP_FSETID",     "CAP_KILL",	  "CAP_SETGID",
					    "CAP_SETUID",     "CAP_SETPCAP",	  "CAP_NET_BIND_SERVICE",
					    "CAP_SYS_CHROOT", "CAP_SETFCAP",	  NULL };
	g_auto(GStrv) names = caps_to_strv(caps_default());

	/* Capability-number order. */
	g_assert_cmpstrv(names, want);
}

static void test_all(void)
{
	caps_set all = caps_all();

	g_assert_true(all & CAPS_BIT(CAP_CHOWN));
	g_assert_true(all & CAPS_BIT(CAP_SYS_ADMIN));
	for (int i = 0; i < 64; i++)
		if (all & CAPS_BIT(i))
			g_assert_nonnull(caps_name(i));
}

static void test_apply(void)
{
	char *add[] = { "sys_admin", "CAP_NET_RAW", NULL };
	char *drop[] = { "chown", NULL };
	caps_set set = caps_default(), added = 0;

	g_assert_cmpint(caps_apply(&set, add, drop, &added, NULL), ==, 0);
	g_assert_true(set & CAPS_BIT(CAP_SYS_ADMIN));
	g_assert_true(set & CAPS_BIT(CAP_NET_RAW));
	g_assert_false(set & CAPS_BIT(CAP_CHOWN));
	g_assert_true(set & CAPS_BIT(CAP_KILL));
	g_assert_true(added == (CAPS_BIT(CAP_SYS_ADMIN) | CAPS_BIT(CAP_NET_RAW)));

	set = caps_default();
	g_assert_cmpint(caps_apply(&set, NULL, NULL, &added, NULL), ==, 0);
	g_assert_true(set == caps_default());
	g_assert_true(added == 0);
}

static void test_apply_all(void)
{
	char *all[] = { "all", NULL };
	char *kill[] = { "KILL", NULL };
	caps_set set = caps_default(), added;

	g_assert_cmpint(caps_apply(&set, kill, all, &added, NULL), ==, 0);
	g_assert_true(set == CAPS_BIT(CAP_KILL));

	set = caps_default();
	g_assert_cmpint(caps_apply(&set, all, kill, &added, NULL), ==, 0);
	g_assert_true(set == (caps_all() & ~CAPS_BIT(CAP_KILL)));
	g_assert_true(added == set);
}

static void test_apply_errors(void)
{
	char *all[] = { "ALL", NULL };
	char *kill[] = { "kill", NULL };
	char *kill2[] = { "CAP_KILL", NULL };
	char *bogus[] = { "chown", "bogus", NULL };
	caps_set set = caps_default();
	g_autoptr(GError) e1 = NULL;
	g_autoptr(GError) e2 = NULL;
	g_autoptr(GError) e3 = NULL;
	g_autoptr(GError) e4 = NULL;

	g_assert_cmpint(caps_apply(&set, all, all, NULL, &e1), ==, -1);
	g_assert_nonnull(strstr(e1->message, "ALL"));
	g_assert_cmpint(caps_apply(&set, kill, kill2, NULL, &e2), ==, -1);
	g_assert_nonnull(strstr(e2->message, "CAP_KILL is both added and dropped"));
	g_assert_cmpint(caps_apply(&set, NULL, bogus, NULL, &e3), ==, -1);
	g_assert_nonnull(strstr(e3->message, "--cap-drop: unknown capability \"bogus\""));
	g_assert_true(set == caps_default());

	/* A capability we do not hold ourselves cannot be handed on. */
	for (int i = 0; i < 41; i++) {
		if (caps_name(i) && !(caps_all() & CAPS_BIT(i))) {
			char *missing[] = { (char *)caps_name(i), NULL };

			g_assert_cmpint(caps_apply(&set, missing, NULL, NULL, &e4), ==, -1);
			g_assert_nonnull(strstr(e4->message, "bounding set"));
			break;
		}
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/caps/parse-names", test_parse_names);
	g_test_add_func("/caps/parse-unknown", test_parse_unknown);
	g_test_add_func("/caps/names", test_names);
	g_test_add_func("/caps/default", test_default);
	g_test_add_func("/caps/all", test_all);
	g_test_add_func("/caps/apply", test_apply);
	g_test_add_func("/caps/apply-all", test_apply_all);
	g_test_add_func("/caps/apply-errors", test_apply_errors);
	return g_test_run();
}
