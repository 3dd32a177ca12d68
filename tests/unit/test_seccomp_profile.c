/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <linux/capability.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wrapper/seccomp_cache.h"
#include "wrapper/seccomp_profile.h"

/* Real syscalls newer than the libseccomp (2.5.4) this is built against. */
static const char *const newer_than_libseccomp[] = {
	"file_getattr",	     "file_setattr",	 "getxattrat",	      "listmount",     "listxattrat",
	"lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "mseal",	       "removexattrat",
	"setxattrat",	     "statmount",	 "uretprobe",	      "riscv_hwprobe", NULL,
};

static struct seccomp_profile *resolve_default(caps_set caps, uint32_t arch)
{
	g_autoptr(seccomp_profile) p = seccomp_profile_default();
	struct seccomp_target t = { .caps = caps, .arch = arch, .kernel = "6.1.0" };

	return seccomp_profile_resolve(p, &t);
}

/* The action a resolved profile takes for name without argument filters, or NULL. */
static const struct seccomp_rule *plain_rule_for(const struct seccomp_profile *p, const char *name)
{
	const struct seccomp_rule *found = NULL;

	for (guint i = 0; i < p->rules->len; i++) {
		const struct seccomp_rule *r = p->rules->pdata[i];

		if (r->args->len == 0 && g_strv_contains((const char *const *)r->names, name)) {
			/* Exactly one unconditional rule per name after resolution. */
			g_assert_null(found);
			found = r;
		}
	}
	return found;
}

static guint rules_naming(const struct seccomp_profile *p, const char *name)
{
	guint n = 0;

	for (guint i = 0; i < p->rules->len; i++)
		n += g_strv_contains((const char *const *)((struct seccomp_rule *)p->rules->pdata[i])->names, name);
	return n;
}

static void assert_allowed(const struct seccomp_profile *p, const char *name)
{
	const struct seccomp_rule *r = plain_rule_for(p, name);

	if (!r)
		g_error("%s: no rule", name);
	g_assert_cmpstr(r->action, ==, "SCMP_ACT_ALLOW");
}

static void assert_eperm(const struct seccomp_profile *p, const char *name)
{
	const struct seccomp_rule *r = plain_rule_for(p, name);

	if (!r)
		g_error("%s: no rule", name);
	g_assert_cmpstr(r->action, ==, "SCMP_ACT_ERRNO");
	g_assert_true(r->has_errno);
	g_assert_cmpuint(r->errno_ret, ==, EPERM);
}

/* Catch typos: every name must be a syscall on some architecture libseccomp knows. */
static void test_default_names_exist(void)
{
	const uint32_t arches[] = { SCMP_ARCH_X86_64,  SCMP_ARCH_X86,	  SCMP_ARCH_X32,   SCMP_ARCH_AARCH64,
				    SCMP_ARCH_ARM,     SCMP_ARCH_PPC64LE, SCMP_ARCH_S390X, SCMP_ARCH_S390,
				    SCMP_ARCH_RISCV64, SCMP_ARCH_MIPS64 };
	g_autoptr(seccomp_profile) p = seccomp_profile_default();
	guint total = 0;

	for (guint i = 0; i < p->rules->len; i++) {
		const struct seccomp_rule *r = p->rules->pdata[i];

		for (char **n = r->names; *n; n++) {
			bool known = false;

			for (gsize a = 0; a < G_N_ELEMENTS(arches) && !known; a++)
				known = seccomp_syscall_resolve_name_arch(arches[a], *n) != __NR_SCMP_ERROR;
			if (!known && !g_strv_contains(newer_than_libseccomp, *n))
				g_error("default profile: \"%s\" is no syscall libseccomp knows", *n);
			total++;
		}
	}
	g_assert_cmpuint(total, >, 350);
	g_assert_cmpstr(p->default_action, ==, "SCMP_ACT_ERRNO");
	g_assert_true(p->has_default_errno);
	g_assert_cmpuint(p->default_errno, ==, ENOSYS);
}

static void test_resolve_default_caps(void)
{
	g_autoptr(seccomp_profile) p = resolve_default(caps_default(), SCMP_ARCH_X86_64);
	const char *const want_arches[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", NULL };

	g_assert_cmpstrv(p->architectures, want_arches);
	assert_allowed(p, "read");
	assert_allowed(p, "clone3");
	assert_allowed(p, "mount");
	assert_allowed(p, "arch_prctl");
	/* CAP_SYS_CHROOT is a default capability. */
	assert_allowed(p, "chroot");
	assert_eperm(p, "sethostname");
	assert_eperm(p, "reboot");
	assert_eperm(p, "init_module");
	assert_eperm(p, "kexec_load");
	assert_eperm(p, "bpf");
	assert_eperm(p, "perf_event_open");
	assert_eperm(p, "settimeofday");
	assert_eperm(p, "open_by_handle_at");
	/* No rule at all: the default ENOSYS. */
	g_assert_cmpuint(rules_naming(p, "io_uring_setup"), ==, 0);
	g_assert_cmpuint(rules_naming(p, "cacheflush"), ==, 0);
	/* socket: allowed except audit netlink, which gets EINVAL. */
	g_assert_cmpuint(rules_naming(p, "socket"), ==, 3);
	for (guint i = 0; i < p->rules->len; i++) {
		const struct seccomp_rule *r = p->rules->pdata[i];

		g_assert_true(r->includes.caps[0] == NULL && r->excludes.caps[0] == NULL);
		if (g_strv_contains((const char *const *)r->names, "socket") &&
		    strcmp(r->action, "SCMP_ACT_ERRNO") == 0)
			g_assert_cmpuint(r->errno_ret, ==, EINVAL);
	}
	g_assert_cmpuint(rules_naming(p, "personality"), ==, 5);
}

static void test_resolve_added_caps(void)
{
	caps_set caps = caps_default() | CAPS_BIT(CAP_SYS_ADMIN) | CAPS_BIT(CAP_SYS_PTRACE) | CAPS_BIT(CAP_SYS_TIME) |
			CAPS_BIT(CAP_AUDIT_WRITE) | CAPS_BIT(CAP_SYS_MODULE);
	g_autoptr(seccomp_profile) p = resolve_default(caps, SCMP_ARCH_X86_64);
	g_autoptr(seccomp_profile) bpf = resolve_default(CAPS_BIT(CAP_BPF), SCMP_ARCH_X86_64);
	g_autoptr(seccomp_profile) none = resolve_default(0, SCMP_ARCH_X86_64);

	assert_allowed(p, "sethostname");
	assert_allowed(p, "quotactl");
	assert_allowed(p, "bpf");
	assert_allowed(p, "perf_event_open");
	assert_allowed(p, "process_vm_readv");
	assert_allowed(p, "clock_settime");
	assert_allowed(p, "init_module");
	assert_eperm(p, "reboot");
	g_assert_cmpuint(rules_naming(p, "bpf"), ==, 1);
	g_assert_cmpuint(rules_naming(p, "socket"), ==, 1);
	assert_allowed(p, "socket");

	assert_allowed(bpf, "bpf");
	assert_eperm(bpf, "perf_event_open");
	assert_eperm(none, "chroot");
}

static void test_resolve_arch(void)
{
	g_autoptr(seccomp_profile) arm = resolve_default(caps_default(), SCMP_ARCH_AARCH64);
	g_autoptr(seccomp_profile) s390 = resolve_default(caps_default() | CAPS_BIT(CAP_SYS_RAWIO), SCMP_ARCH_S390X);
	const char *const want[] = { "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", NULL };

	g_assert_cmpstrv(arm->architectures, want);
	assert_allowed(arm, "cacheflush");
	g_assert_cmpuint(rules_naming(arm, "arch_prctl"), ==, 0);
	g_assert_cmpuint(rules_naming(arm, "modify_ldt"), ==, 0);
	assert_allowed(s390, "s390_pci_mmio_read");
	assert_allowed(s390, "s390_sthyi");
}

static void test_compile_default(void)
{
	const caps_set sets[] = { 0, caps_default(), caps_all(), caps_default() | CAPS_BIT(CAP_SYS_ADMIN) };
	/* One filter holds one byte order, so big-endian s390x cannot be built on this (little-endian) host. */
	const uint32_t arches[] = { seccomp_arch_native(), SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64, SCMP_ARCH_RISCV64 };

	for (gsize a = 0; a < G_N_ELEMENTS(arches); a++)
		for (gsize i = 0; i < G_N_ELEMENTS(sets); i++) {
			g_autoptr(seccomp_profile) p = resolve_default(sets[i], arches[a]);
			g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
			g_autoptr(GError) err = NULL;

			if (seccomp_profile_compile(p, warnings, &err) < 0)
				g_error("compile: %s", err->message);
			/* Unknown names in our own profile are skipped quietly. */
			g_assert_cmpuint(warnings->len, ==, 0);
		}
}

/* Test JSON is written with ' for " to stay readable. */
static char *dq(const char *s)
{
	return g_strdelimit(g_strdup(s), "'", '"');
}

static struct seccomp_profile *parse_ok(const char *sq_json)
{
	g_autofree char *json = dq(sq_json);
	g_autoptr(GError) err = NULL;
	struct seccomp_profile *p = seccomp_profile_parse(json, "test.json", &err);

	if (!p)
		g_error("parse: %s", err->message);
	return p;
}

static void parse_fails(const char *sq_json, const char *sq_want)
{
	g_autofree char *json = dq(sq_json);
	g_autofree char *want = dq(sq_want);
	g_autoptr(GError) err = NULL;
	struct seccomp_profile *p = seccomp_profile_parse(json, "test.json", &err);

	g_assert_null(p);
	if (!strstr(err->message, want))
		g_error("error \"%s\" does not contain \"%s\"", err->message, want);
	g_assert_true(g_str_has_prefix(err->message, "seccomp profile test.json: "));
	g_assert_null(strchr(err->message, '\n'));
}

static void test_parse_plain(void)
{
	g_autoptr(seccomp_profile) p = parse_ok(
		"{'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 1,"
		" 'architectures': ['SCMP_ARCH_X86_64'], 'flags': ['SECCOMP_FILTER_FLAG_LOG'],"
		" 'syscalls': ["
		"  {'names': ['read', 'write'], 'action': 'SCMP_ACT_ALLOW'},"
		"  {'name': 'close', 'action': 'SCMP_ACT_ALLOW'},"
		"  {'names': ['personality'], 'action': 'SCMP_ACT_ALLOW', 'args': ["
		"    {'index': 0, 'value': 18446744073709551615, 'valueTwo': 0, 'op': 'SCMP_CMP_MASKED_EQ'}]},"
		"  {'names': ['mkdir'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 13, 'comment': null}"
		"]}");
	g_autoptr(seccomp_profile) r = NULL;
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
	struct seccomp_target t = { .caps = caps_default(), .arch = SCMP_ARCH_X86_64, .kernel = "6.1" };
	const struct seccomp_rule *rule;
	const struct seccomp_arg *arg;

	g_assert_cmpstr(p->default_action, ==, "SCMP_ACT_ERRNO");
	g_assert_cmpuint(p->default_errno, ==, 1);
	g_assert_cmpuint(p->rules->len, ==, 4);
	rule = p->rules->pdata[1];
	g_assert_cmpstrv(rule->names, ((const char *const[]){ "close", NULL }));
	rule = p->rules->pdata[2];
	arg = &g_array_index(rule->args, struct seccomp_arg, 0);
	g_assert_cmpuint(arg->value, ==, G_MAXUINT64);
	g_assert_cmpint(arg->op, ==, SCMP_CMP_MASKED_EQ);
	rule = p->rules->pdata[3];
	g_assert_true(rule->has_errno);
	g_assert_cmpuint(rule->errno_ret, ==, 13);

	r = seccomp_profile_resolve(p, &t);
	g_assert_cmpstrv(r->architectures, ((const char *const[]){ "SCMP_ARCH_X86_64", NULL }));
	g_assert_cmpstrv(r->flags, ((const char *const[]){ "SECCOMP_FILTER_FLAG_LOG", NULL }));
	g_assert_cmpuint(r->rules->len, ==, 4);
	g_assert_cmpint(seccomp_profile_compile(r, warnings, NULL), ==, 0);
	g_assert_cmpuint(warnings->len, ==, 0);
}

static void test_parse_conditional(void)
{
	g_autoptr(seccomp_profile) p = parse_ok(
		"{'defaultAction': 'SCMP_ACT_ERRNO',"
		" 'archMap': [{'architecture': 'SCMP_ARCH_X86_64', 'subArchitectures': ['SCMP_ARCH_X86']},"
		"              {'architecture': 'SCMP_ARCH_AARCH64', 'subArchitectures': ['SCMP_ARCH_ARM']}],"
		" 'syscalls': ["
		"  {'names': ['read'], 'action': 'SCMP_ACT_ALLOW', 'includes': {}, 'excludes': {}},"
		"  {'names': ['sethostname'], 'action': 'SCMP_ACT_ALLOW', 'includes': {'caps': ['CAP_SYS_ADMIN']}},"
		"  {'names': ['sethostname'], 'action': 'SCMP_ACT_ERRNO', 'excludes': {'caps': ['CAP_SYS_ADMIN']}},"
		"  {'names': ['arch_prctl'], 'action': 'SCMP_ACT_ALLOW', 'includes': {'arches': ['amd64']}},"
		"  {'names': ['openat2'], 'action': 'SCMP_ACT_ALLOW', 'includes': {'minKernel': '5.6'}},"
		"  {'names': ['futex_waitv'], 'action': 'SCMP_ACT_ALLOW', 'includes': {'minKernel': '99.1'}},"
		"  {'names': ['bogus_call'], 'action': 'SCMP_ACT_ALLOW', 'excludes': {'arches': ['x86_64']}},"
		"  {'names': ['made_up_syscall'], 'action': 'SCMP_ACT_ALLOW'}"
		"]}");
	struct seccomp_target plain = { .caps = caps_default(), .arch = SCMP_ARCH_X86_64, .kernel = "6.1.0-13-amd64" };
	struct seccomp_target admin = { .caps = CAPS_BIT(CAP_SYS_ADMIN), .arch = SCMP_ARCH_AARCH64, .kernel = "5.4" };
	g_autoptr(seccomp_profile) r1 = seccomp_profile_resolve(p, &plain);
	g_autoptr(seccomp_profile) r2 = seccomp_profile_resolve(p, &admin);
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);

	g_assert_cmpstrv(r1->architectures, ((const char *const[]){ "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", NULL }));
	g_assert_cmpuint(r1->rules->len, ==, 5);
	g_assert_cmpuint(rules_naming(r1, "sethostname"), ==, 1);
	g_assert_cmpstr(plain_rule_for(r1, "sethostname")->action, ==, "SCMP_ACT_ERRNO");
	g_assert_cmpuint(rules_naming(r1, "arch_prctl"), ==, 1);
	g_assert_cmpuint(rules_naming(r1, "openat2"), ==, 1);
	g_assert_cmpuint(rules_naming(r1, "futex_waitv"), ==, 0);
	g_assert_cmpuint(rules_naming(r1, "bogus_call"), ==, 0);

	g_assert_cmpstrv(r2->architectures, ((const char *const[]){ "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", NULL }));
	g_assert_cmpstr(plain_rule_for(r2, "sethostname")->action, ==, "SCMP_ACT_ALLOW");
	g_assert_cmpuint(rules_naming(r2, "arch_prctl"), ==, 0);
	g_assert_cmpuint(rules_naming(r2, "openat2"), ==, 0);
	g_assert_cmpuint(rules_naming(r2, "bogus_call"), ==, 1);

	/* A user profile's unknown syscalls are warned about, not fatal. */
	g_assert_cmpint(seccomp_profile_compile(r1, warnings, NULL), ==, 0);
	g_assert_cmpuint(warnings->len, ==, 1);
	g_assert_nonnull(strstr(warnings->pdata[0], "syscalls[7]: unknown syscall \"made_up_syscall\""));
}

static void test_parse_errors(void)
{
	parse_fails("{", "not valid JSON");
	parse_fails("[]", "top level must be an object");
	parse_fails("{'syscalls': []}", "'defaultAction' is missing");
	parse_fails("{'defaultAction': 'SCMP_ACT_NOPE'}", "unknown action 'SCMP_ACT_NOPE'");
	parse_fails("{'defaultAction': 1}", "'defaultAction' must be a string");
	parse_fails("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': {}}", "'syscalls' must be an array");
	parse_fails("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read']}]}",
		    "syscalls[0]: 'action' is missing");
	parse_fails("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': [], 'action': 'SCMP_ACT_LOG'}]}",
		    "syscalls[0]: no syscall names");
	parse_fails("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'], 'action': "
		    "'SCMP_ACT_LOG'}, {'names': ['write'], 'action': 'SCMP_ACT_BOGUS'}]}",
		    "syscalls[1]: unknown action 'SCMP_ACT_BOGUS'");
	parse_fails("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'], 'action': "
		    "'SCMP_ACT_NOTIFY'}]}",
		    "needs a seccomp listener");
	parse_fails("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'], 'action': "
		    "'SCMP_ACT_KILL', 'args': [{'index': 6, 'value': 1, 'op': 'SCMP_CMP_EQ'}]}]}",
		    "syscalls[0].args[0]: 'index' must be an argument number from 0 to 5");
	parse_fails("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'], 'action': "
		    "'SCMP_ACT_KILL', 'args': [{'index': 0, 'value': 1, 'op': 'EQ'}]}]}",
		    "syscalls[0].args[0]: 'op' must be one of");
	parse_fails("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'], 'action': "
		    "'SCMP_ACT_KILL', 'args': [{'index': 0, 'value': -1, 'op': 'SCMP_CMP_EQ'}]}]}",
		    "'value' must be a non-negative integer");
	parse_fails("{'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 5000}", "not an errno value");
	parse_fails("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'], 'action': "
		    "'SCMP_ACT_KILL', 'includes': {'caps': 'CAP_SYS_ADMIN'}}]}",
		    "syscalls[0].includes: 'caps' must be an array of strings");
	parse_fails("{'defaultAction': 'SCMP_ACT_ALLOW', 'archMap': [{'subArchitectures': []}]}",
		    "archMap[0]: 'architecture' is missing");
}

/* libseccomp's refusal names the rule and syscall. */
static void test_compile_bad_rule(void)
{
	g_autoptr(seccomp_profile)
		p = parse_ok("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': ["
			     "  {'names': ['read'], 'action': 'SCMP_ACT_ALLOW'},"
			     "  {'names': ['write'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 0, 'value': 1, "
			     "   'op': 'SCMP_CMP_EQ'}]},"
			     "  {'names': ['write'], 'action': 'SCMP_ACT_KILL', 'args': [{'index': 0, 'value': 1, "
			     "   'op': 'SCMP_CMP_EQ'}]}"
			     "]}");
	struct seccomp_target t = { .caps = caps_default(), .arch = seccomp_arch_native() };
	g_autoptr(seccomp_profile) r = seccomp_profile_resolve(p, &t);
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(seccomp_profile_compile(r, NULL, &err), ==, -1);
	g_assert_nonnull(strstr(err->message, "seccomp profile test.json: syscalls[2] (write, SCMP_ACT_KILL)"));
	g_assert_null(strchr(err->message, '\n'));
}

static void test_compile_bad_arch(void)
{
	g_autoptr(seccomp_profile) p = parse_ok("{'defaultAction': 'SCMP_ACT_ERRNO', 'architectures': "
						"['SCMP_ARCH_PDP11']}");
	struct seccomp_target t = { .caps = 0, .arch = seccomp_arch_native() };
	g_autoptr(seccomp_profile) r = seccomp_profile_resolve(p, &t);
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(seccomp_profile_compile(r, NULL, &err), ==, -1);
	g_assert_nonnull(strstr(err->message, "unknown architecture \"SCMP_ARCH_PDP11\""));
}

/* Two tests of one argument cannot be ANDed by libseccomp; they become separate (ORed) rules. */
static void test_compile_repeated_arg(void)
{
	g_autoptr(seccomp_profile) p = parse_ok("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': ["
						"  {'names': ['personality'], 'action': 'SCMP_ACT_ALLOW', 'args': ["
						"    {'index': 0, 'value': 0, 'op': 'SCMP_CMP_EQ'},"
						"    {'index': 0, 'value': 8, 'op': 'SCMP_CMP_EQ'}]},"
						"  {'names': ['read'], 'action': 'SCMP_ACT_ERRNO'}"
						"]}");
	struct seccomp_target t = { .caps = 0, .arch = seccomp_arch_native() };
	g_autoptr(seccomp_profile) r = seccomp_profile_resolve(p, &t);
	g_autoptr(GError) err = NULL;

	if (seccomp_profile_compile(r, NULL, &err) < 0)
		g_error("%s", err->message);
}

static void test_load(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *dir = g_dir_make_tmp("test_seccomp-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "p.json", NULL);
	g_autoptr(seccomp_profile) p = NULL;

	g_assert_null(seccomp_profile_load("/nonexistent/p.json", &err));
	g_assert_nonnull(strstr(err->message, "seccomp=unconfined"));
	g_assert_true(g_file_set_contents(path, "{\"defaultAction\": \"SCMP_ACT_ALLOW\"}", -1, NULL));
	p = seccomp_profile_load(path, NULL);
	g_assert_nonnull(p);
	g_assert_cmpstr(p->source, ==, path);
	g_assert_cmpint(unlink(path), ==, 0);
	g_assert_cmpint(rmdir(dir), ==, 0);
}

static void test_names(void)
{
	g_assert_cmpstr(seccomp_op_name(SCMP_CMP_MASKED_EQ), ==, "SCMP_CMP_MASKED_EQ");
	g_assert_cmpstr(seccomp_arch_name(SCMP_ARCH_X86_64), ==, "SCMP_ARCH_X86_64");
	g_assert_null(seccomp_arch_name(0));
}

static guint entries(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	guint n = 0;

	while (d && g_dir_read_name(d))
		n++;
	return n;
}

static void test_cache(void)
{
	g_autofree char *tmp = g_dir_make_tmp("seccomp-cache-XXXXXX", NULL);
	g_autofree char *dir = g_build_filename(tmp, "seccomp", NULL);
	g_autoptr(seccomp_profile) p1 = resolve_default(caps_default(), seccomp_arch_native());
	g_autoptr(seccomp_profile) p1b = resolve_default(caps_default(), seccomp_arch_native());
	g_autoptr(seccomp_profile) p2 = resolve_default(caps_all(), seccomp_arch_native());
	g_autofree char *key1 = seccomp_cache_key(p1, seccomp_arch_native());
	g_autofree char *key1b = seccomp_cache_key(p1b, seccomp_arch_native());
	g_autofree char *key2 = seccomp_cache_key(p2, seccomp_arch_native());
	g_autofree char *other_arch = seccomp_cache_key(p1, SCMP_ARCH_AARCH64);
	g_autofree char *path = g_build_filename(dir, key1, NULL);
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) back = g_ptr_array_new_with_free_func(g_free);
	struct stat sb;

	g_assert_cmpstr(key1, ==, key1b);
	g_assert_cmpstr(key1, !=, key2);
	g_assert_cmpstr(key1, !=, other_arch);
	g_assert_false(seccomp_cache_lookup(dir, key1, back));

	/* What a user profile's compile warned about comes back with the hit, newlines and all. */
	g_ptr_array_add(warnings, g_strdup("before this compile"));
	g_ptr_array_add(warnings, g_strdup("unknown syscall \"x\ny\" skipped"));
	seccomp_cache_store(dir, key1, warnings, 1);
	g_assert_true(seccomp_cache_lookup(dir, key1, back));
	g_assert_cmpuint(back->len, ==, 1);
	g_assert_cmpstr(back->pdata[0], ==, "unknown syscall \"x\ny\" skipped");
	g_assert_false(seccomp_cache_lookup(dir, key2, NULL));
	g_assert_cmpint(stat(dir, &sb), ==, 0);
	g_assert_cmpint(sb.st_mode & 07777, ==, 0700);
	g_assert_cmpint(stat(path, &sb), ==, 0);
	g_assert_cmpint(sb.st_mode & 07777, ==, 0600);

	/* A corrupt entry is a miss, and the next store replaces it. */
	g_assert_true(g_file_set_contents(path, "ctr-wrap seccomp check 1: pass", -1, NULL));
	g_assert_false(seccomp_cache_lookup(dir, key1, NULL));
	seccomp_cache_store(dir, key1, NULL, 0);
	g_assert_true(seccomp_cache_lookup(dir, key1, NULL));

	/* A link planted as an entry is neither read nor written through. */
	g_assert_cmpint(unlink(path), ==, 0);
	g_assert_cmpint(symlink("/etc/hostname", path), ==, 0);
	g_assert_false(seccomp_cache_lookup(dir, key1, NULL));
	seccomp_cache_store(dir, key1, NULL, 0);
	g_assert_cmpint(lstat(path, &sb), ==, 0);
	g_assert_true(S_ISREG(sb.st_mode));

	/* Bounded: the oldest entries go. */
	for (int i = 0; i < SECCOMP_CACHE_MAX + 5; i++) {
		g_autofree char *k = g_strdup_printf("%064d", i);
		seccomp_cache_store(dir, k, NULL, 0);
	}
	g_assert_cmpuint(entries(dir), ==, SECCOMP_CACHE_MAX);
	{
		g_autofree char *newest = g_strdup_printf("%064d", SECCOMP_CACHE_MAX + 4);
		g_assert_true(seccomp_cache_lookup(dir, newest, NULL));
	}
	{
		g_autofree char *rm = g_strdup_printf("rm -rf '%s'", tmp);
		g_assert_cmpint(system(rm), ==, 0);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/seccomp/default-names-exist", test_default_names_exist);
	g_test_add_func("/seccomp/resolve-default-caps", test_resolve_default_caps);
	g_test_add_func("/seccomp/resolve-added-caps", test_resolve_added_caps);
	g_test_add_func("/seccomp/resolve-arch", test_resolve_arch);
	g_test_add_func("/seccomp/compile-default", test_compile_default);
	g_test_add_func("/seccomp/parse-plain", test_parse_plain);
	g_test_add_func("/seccomp/parse-conditional", test_parse_conditional);
	g_test_add_func("/seccomp/parse-errors", test_parse_errors);
	g_test_add_func("/seccomp/compile-bad-rule", test_compile_bad_rule);
	g_test_add_func("/seccomp/compile-bad-arch", test_compile_bad_arch);
	g_test_add_func("/seccomp/compile-repeated-arg", test_compile_repeated_arg);
	g_test_add_func("/seccomp/load", test_load);
	g_test_add_func("/seccomp/names", test_names);
	g_test_add_func("/seccomp/cache", test_cache);
	return g_test_run();
}
