/* SPDX-License-Identifier: Apache-2.0 */
/* The restart policy's parsing, decision and back-off (wrapper/restart_policy.c). */
#include <glib.h>
#include <string.h>

#include "common/error.h"
#include "wrapper/restart_policy.h"

static void test_parse(void)
{
	static const struct {
		const char *spec, *name;
		int max;
	} good[] = {
		{ "no", "no", 0 },
		{ "on-failure", "on-failure", 0 },
		{ "on-failure:5", "on-failure", 5 },
		{ "on-failure:0", "on-failure", 0 },
		{ "always", "always", 0 },
		{ "unless-stopped", "unless-stopped", 0 },
	};
	static const char *const bad[] = {
		"", "yes", "always:3", "on-failure:", "on-failure:-1", "on-failure:x", "on-failure:3:4", "Always"
	};

	for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autoptr(ctr_state) st = g_new0(struct ctr_state, 1);
		g_autoptr(GError) err = NULL;

		g_assert_cmpint(restart_policy_set(st, good[i].spec, &err), ==, 0);
		g_assert_no_error(err);
		g_assert_cmpstr(restart_policy_name(st), ==, good[i].name);
		g_assert_cmpint(st->restart_max, ==, good[i].max);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(ctr_state) st = g_new0(struct ctr_state, 1);
		g_autoptr(GError) err = NULL;

		g_assert_cmpint(restart_policy_set(st, bad[i], &err), ==, -1);
		g_assert_nonnull(err);
		g_assert_nonnull(strstr(err->message, "--restart"));
		g_assert_null(st->restart_policy);
	}
}

static void test_wants(void)
{
	g_autoptr(ctr_state) st = g_new0(struct ctr_state, 1);

	g_assert_false(restart_policy_wants(st, 1));
	restart_policy_set(st, "on-failure:2", NULL);
	g_assert_false(restart_policy_wants(st, 0));
	g_assert_true(restart_policy_wants(st, 1));
	st->restart_count = 2;
	g_assert_false(restart_policy_wants(st, 1));
	restart_policy_set(st, "always", NULL);
	g_assert_true(restart_policy_wants(st, 0));
	restart_policy_set(st, "unless-stopped", NULL);
	g_assert_true(restart_policy_wants(st, 137));
	st->stopped_by_user = true;
	g_assert_false(restart_policy_wants(st, 137));
	restart_policy_set(st, "always", NULL);
	g_assert_false(restart_policy_wants(st, 1));
}

static void test_backoff(void)
{
	g_autoptr(ctr_state) st = g_new0(struct ctr_state, 1);
	guint want = RESTART_BACKOFF_FIRST_MS;

	for (int i = 0; i < 20; i++) {
		g_assert_cmpuint(restart_policy_next_delay(st, 0.5), ==, want);
		want = MIN(want * 2, RESTART_BACKOFF_MAX_MS);
	}
	g_assert_cmpuint(want, ==, RESTART_BACKOFF_MAX_MS);
	/* Ten seconds up: the next wait is the first one again. */
	g_assert_cmpuint(restart_policy_next_delay(st, RESTART_RESET_UPTIME_S), ==, RESTART_BACKOFF_FIRST_MS);
	g_assert_cmpuint(restart_policy_next_delay(st, 9.9), ==, 2 * RESTART_BACKOFF_FIRST_MS);
	restart_policy_reset(st);
	g_assert_cmpuint(restart_policy_next_delay(st, 0), ==, RESTART_BACKOFF_FIRST_MS);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/restart_policy/parse", test_parse);
	g_test_add_func("/restart_policy/wants", test_wants);
	g_test_add_func("/restart_policy/backoff", test_backoff);
	return g_test_run();
}
