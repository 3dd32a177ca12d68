/* SPDX-License-Identifier: Apache-2.0 */
/* Building a resolved profile with libseccomp, without loading it, so that a broken profile fails early. */
#include <errno.h>
#include <string.h>

#include "common/error.h"
#include "wrapper/seccomp_profile.h"

static uint32_t action_value(const char *action, bool has_errno, guint errno_ret)
{
	guint e = has_errno ? errno_ret : EPERM;

	if (strcmp(action, "SCMP_ACT_ALLOW") == 0)
		return SCMP_ACT_ALLOW;
	if (strcmp(action, "SCMP_ACT_ERRNO") == 0)
		return SCMP_ACT_ERRNO(e);
	if (strcmp(action, "SCMP_ACT_TRACE") == 0)
		return SCMP_ACT_TRACE(e);
	if (strcmp(action, "SCMP_ACT_KILL_PROCESS") == 0)
		return SCMP_ACT_KILL_PROCESS;
	if (strcmp(action, "SCMP_ACT_TRAP") == 0)
		return SCMP_ACT_TRAP;
	if (strcmp(action, "SCMP_ACT_LOG") == 0)
		return SCMP_ACT_LOG;
	/* SCMP_ACT_KILL and SCMP_ACT_KILL_THREAD; parsing let nothing else through. */
	return SCMP_ACT_KILL_THREAD;
}

static bool args_repeat_index(const GArray *args)
{
	unsigned int seen = 0;

	for (guint i = 0; i < args->len; i++) {
		unsigned int bit = 1u << g_array_index(args, struct seccomp_arg, i).index;

		if (seen & bit)
			return true;
		seen |= bit;
	}
	return false;
}

static struct scmp_arg_cmp to_cmp(const struct seccomp_arg *a)
{
	struct scmp_arg_cmp c = { .arg = a->index, .op = a->op, .datum_a = a->value, .datum_b = a->value_two };

	return c;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const GArray *args)
{
	struct scmp_arg_cmp cmps[6];
	int r = 0;

	if (args->len == 0)
		return seccomp_rule_add_array(ctx, action, nr, 0, NULL);
	/* libseccomp cannot AND two tests of one argument; like runc and crun, OR them instead. */
	if (args_repeat_index(args)) {
		for (guint i = 0; i < args->len && r == 0; i++) {
			struct scmp_arg_cmp c = to_cmp(&g_array_index(args, struct seccomp_arg, i));

			r = seccomp_rule_add_array(ctx, action, nr, 1, &c);
		}
		return r;
	}
	for (guint i = 0; i < args->len; i++)
		cmps[i] = to_cmp(&g_array_index(args, struct seccomp_arg, i));
	return seccomp_rule_add_array(ctx, action, nr, args->len, cmps);
}

static void ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

static int add_arches(scmp_filter_ctx ctx, const struct seccomp_profile *p, GError **err)
{
	for (char **a = p->architectures; a && *a; a++) {
		const char *bare = g_str_has_prefix(*a, "SCMP_ARCH_") ? *a + strlen("SCMP_ARCH_") : *a;
		g_autofree char *lower = g_ascii_strdown(bare, -1);
		uint32_t token = seccomp_arch_resolve_name(lower);
		int r;

		if (token == 0) {
			cm_set_error(err, EINVAL,
				     "seccomp profile %s: unknown architecture \"%s\": use names like "
				     "SCMP_ARCH_X86_64",
				     p->source, *a);
			return -1;
		}
		r = seccomp_arch_add(ctx, token);
		if (r < 0 && r != -EEXIST) {
			cm_set_errno(err, -r, "seccomp profile %s: architecture %s", p->source, *a);
			return -1;
		}
	}
	return 0;
}

int seccomp_profile_compile(const struct seccomp_profile *p, GPtrArray *warnings, GError **err)
{
	uint32_t def = action_value(p->default_action, p->has_default_errno, p->default_errno);
	__attribute__((cleanup(ctx_releasep))) scmp_filter_ctx ctx = seccomp_init(def);

	if (!ctx) {
		cm_set_error(err, EINVAL, "seccomp profile %s: libseccomp rejected defaultAction %s", p->source,
			     p->default_action);
		return -1;
	}
	if (add_arches(ctx, p, err) < 0)
		return -1;
	for (guint i = 0; i < p->rules->len; i++) {
		const struct seccomp_rule *rule = p->rules->pdata[i];
		uint32_t act = action_value(rule->action, rule->has_errno, rule->errno_ret);

		/* libseccomp refuses rules that repeat the default; they change nothing anyway. */
		if (act == def)
			continue;
		for (char **n = rule->names; *n; n++) {
			int nr = seccomp_syscall_resolve_name(*n);
			int r;

			if (nr == __NR_SCMP_ERROR) {
				if (!p->builtin && warnings)
					g_ptr_array_add(warnings,
							g_strdup_printf("seccomp profile %s: syscalls[%u]: unknown "
									"syscall \"%s\" skipped",
									p->source, rule->source_index, *n));
				continue;
			}
			r = add_rule(ctx, act, nr, rule->args);
			if (r < 0) {
				cm_set_error(err, -r,
					     "seccomp profile %s: syscalls[%u] (%s, %s): libseccomp refused the "
					     "rule: %s",
					     p->source, rule->source_index, *n, rule->action, g_strerror(-r));
				return -1;
			}
		}
	}
	return 0;
}
