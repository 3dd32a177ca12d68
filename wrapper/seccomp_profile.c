/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/seccomp_profile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "common/error.h"

static const struct arch_info {
	uint32_t token;
	const char *name; /* as in OCI "architectures" */
	const char *go;	  /* as in includes.arches (Go's GOARCH) */
	const char *uname;
} arch_infos[] = {
	{ SCMP_ARCH_X86_64, "SCMP_ARCH_X86_64", "amd64", "x86_64" },
	{ SCMP_ARCH_X86, "SCMP_ARCH_X86", "386", "i686" },
	{ SCMP_ARCH_X32, "SCMP_ARCH_X32", "x32", "x32" },
	{ SCMP_ARCH_AARCH64, "SCMP_ARCH_AARCH64", "arm64", "aarch64" },
	{ SCMP_ARCH_ARM, "SCMP_ARCH_ARM", "arm", "armv7l" },
	{ SCMP_ARCH_PPC64LE, "SCMP_ARCH_PPC64LE", "ppc64le", "ppc64le" },
	{ SCMP_ARCH_PPC64, "SCMP_ARCH_PPC64", "ppc64", "ppc64" },
	{ SCMP_ARCH_PPC, "SCMP_ARCH_PPC", "ppc", "ppc" },
	{ SCMP_ARCH_S390X, "SCMP_ARCH_S390X", "s390x", "s390x" },
	{ SCMP_ARCH_S390, "SCMP_ARCH_S390", "s390", "s390" },
	{ SCMP_ARCH_RISCV64, "SCMP_ARCH_RISCV64", "riscv64", "riscv64" },
	{ SCMP_ARCH_MIPS, "SCMP_ARCH_MIPS", "mips", "mips" },
	{ SCMP_ARCH_MIPSEL, "SCMP_ARCH_MIPSEL", "mipsle", "mipsel" },
	{ SCMP_ARCH_MIPS64, "SCMP_ARCH_MIPS64", "mips64", "mips64" },
	{ SCMP_ARCH_MIPSEL64, "SCMP_ARCH_MIPSEL64", "mips64le", "mipsel64" },
	{ SCMP_ARCH_MIPS64N32, "SCMP_ARCH_MIPS64N32", "mips64n32", "mips64n32" },
	{ SCMP_ARCH_MIPSEL64N32, "SCMP_ARCH_MIPSEL64N32", "mips64len32", "mipsel64n32" },
};

static const struct arch_info *arch_by_token(uint32_t token)
{
	for (gsize i = 0; i < G_N_ELEMENTS(arch_infos); i++)
		if (arch_infos[i].token == token)
			return &arch_infos[i];
	return NULL;
}

const char *seccomp_arch_name(uint32_t arch)
{
	const struct arch_info *a = arch_by_token(arch);

	return a ? a->name : NULL;
}

static const char *const op_names[] = {
	[SCMP_CMP_NE] = "SCMP_CMP_NE",
	[SCMP_CMP_LT] = "SCMP_CMP_LT",
	[SCMP_CMP_LE] = "SCMP_CMP_LE",
	[SCMP_CMP_EQ] = "SCMP_CMP_EQ",
	[SCMP_CMP_GE] = "SCMP_CMP_GE",
	[SCMP_CMP_GT] = "SCMP_CMP_GT",
	[SCMP_CMP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

const char *seccomp_op_name(enum scmp_compare op)
{
	return (gsize)op < G_N_ELEMENTS(op_names) ? op_names[op] : NULL;
}

static void cond_clear(struct seccomp_cond *c)
{
	g_strfreev(c->caps);
	g_strfreev(c->arches);
	g_free(c->min_kernel);
}

static void rule_free(gpointer p)
{
	struct seccomp_rule *r = p;

	g_strfreev(r->names);
	g_free(r->action);
	if (r->args)
		g_array_unref(r->args);
	cond_clear(&r->includes);
	cond_clear(&r->excludes);
	g_free(r->comment);
	g_free(r);
}

static void arch_map_free(gpointer p)
{
	struct seccomp_arch_map *m = p;

	g_free(m->arch);
	g_strfreev(m->sub_arches);
	g_free(m);
}

struct seccomp_profile *seccomp_profile_new(const char *source)
{
	struct seccomp_profile *p = g_new0(struct seccomp_profile, 1);

	p->source = g_strdup(source);
	p->arch_map = g_ptr_array_new_with_free_func(arch_map_free);
	p->rules = g_ptr_array_new_with_free_func(rule_free);
	return p;
}

void seccomp_profile_free(struct seccomp_profile *p)
{
	if (!p)
		return;
	g_free(p->source);
	g_free(p->default_action);
	g_strfreev(p->architectures);
	g_ptr_array_unref(p->arch_map);
	g_strfreev(p->flags);
	g_ptr_array_unref(p->rules);
	g_free(p);
}

/* ---- reading profiles ---- */

struct parse_ctx {
	const char *source;
	GError **err;
};

static int parse_fail(struct parse_ctx *pc, const char *where, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static int parse_fail(struct parse_ctx *pc, const char *where, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *msg = NULL;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	cm_set_error(pc->err, EINVAL, "seccomp profile %s: %s%s%s", pc->source, where ? where : "", where ? ": " : "",
		     msg);
	return -1;
}

static yajl_val obj_get(yajl_val obj, const char *key)
{
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

/* Absent and null both mean "not given". */
static yajl_val member(yajl_val obj, const char *key)
{
	yajl_val v = obj_get(obj, key);

	return v && !YAJL_IS_NULL(v) ? v : NULL;
}

static int get_string(struct parse_ctx *pc, const char *where, yajl_val obj, const char *key, char **out)
{
	yajl_val v = member(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!YAJL_IS_STRING(v))
		return parse_fail(pc, where, "\"%s\" must be a string", key);
	*out = g_strdup(YAJL_GET_STRING(v));
	return 0;
}

static int get_strv(struct parse_ctx *pc, const char *where, yajl_val obj, const char *key, char ***out)
{
	yajl_val v = member(obj, key);

	*out = NULL;
	if (v && !YAJL_IS_ARRAY(v))
		return parse_fail(pc, where, "\"%s\" must be an array of strings", key);
	g_autoptr(GPtrArray) a = g_ptr_array_new_with_free_func(g_free);
	for (size_t i = 0; v && i < v->u.array.len; i++) {
		yajl_val s = v->u.array.values[i];

		if (!YAJL_IS_STRING(s))
			return parse_fail(pc, where, "\"%s\" must be an array of strings", key);
		g_ptr_array_add(a, g_strdup(YAJL_GET_STRING(s)));
	}
	g_ptr_array_add(a, NULL);
	*out = (char **)g_ptr_array_steal(a, NULL);
	return 0;
}

/* Unsigned 64-bit from the number's own text: yajl's integer stops at LLONG_MAX. */
static int get_u64(struct parse_ctx *pc, const char *where, yajl_val obj, const char *key, guint64 *out, bool *found)
{
	yajl_val v = member(obj, key);
	char *end;

	if (found)
		*found = v != NULL;
	if (!v)
		return 0;
	if (!YAJL_IS_NUMBER(v) || !g_ascii_isdigit(v->u.number.r[0]))
		return parse_fail(pc, where, "\"%s\" must be a non-negative integer", key);
	errno = 0;
	*out = g_ascii_strtoull(v->u.number.r, &end, 10);
	if (errno || *end)
		return parse_fail(pc, where, "\"%s\" must be a non-negative integer below 2^64", key);
	return 0;
}

static int parse_errno(struct parse_ctx *pc, const char *where, yajl_val obj, const char *key, bool *has, guint *out)
{
	guint64 v = 0;

	if (get_u64(pc, where, obj, key, &v, has) < 0)
		return -1;
	if (*has && v > 4095)
		return parse_fail(pc, where, "\"%s\" %" G_GUINT64_FORMAT " is not an errno value", key, v);
	*out = (guint)v;
	return 0;
}

static const char *const known_actions[] = {
	"SCMP_ACT_KILL",  "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
	"SCMP_ACT_TRAP",  "SCMP_ACT_ERRNO",	   "SCMP_ACT_TRACE",
	"SCMP_ACT_ALLOW", "SCMP_ACT_LOG",	   NULL,
};

static int check_action(struct parse_ctx *pc, const char *where, const char *action)
{
	if (strcmp(action, "SCMP_ACT_NOTIFY") == 0)
		return parse_fail(pc, where, "SCMP_ACT_NOTIFY needs a seccomp listener, which ctr-wrap does not run");
	if (!g_strv_contains(known_actions, action))
		return parse_fail(pc, where,
				  "unknown action \"%s\": use SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_KILL_PROCESS, "
				  "SCMP_ACT_KILL_THREAD, SCMP_ACT_TRAP, SCMP_ACT_TRACE or SCMP_ACT_LOG",
				  action);
	return 0;
}

static int parse_cond(struct parse_ctx *pc, const char *where, yajl_val rule, const char *key, struct seccomp_cond *c)
{
	yajl_val v = member(rule, key);
	g_autofree char *w = g_strdup_printf("%s.%s", where, key);

	if (v && !YAJL_IS_OBJECT(v))
		return parse_fail(pc, w, "must be an object with caps, arches or minKernel");
	if (!v) {
		c->caps = g_new0(char *, 1);
		c->arches = g_new0(char *, 1);
		return 0;
	}
	if (get_strv(pc, w, v, "caps", &c->caps) < 0 || get_strv(pc, w, v, "arches", &c->arches) < 0 ||
	    get_string(pc, w, v, "minKernel", &c->min_kernel) < 0)
		return -1;
	return 0;
}

static bool parse_op(const char *s, enum scmp_compare *op)
{
	for (gsize i = 0; i < G_N_ELEMENTS(op_names); i++)
		if (op_names[i] && strcmp(op_names[i], s) == 0) {
			*op = (enum scmp_compare)i;
			return true;
		}
	return false;
}

static int parse_args(struct parse_ctx *pc, const char *where, yajl_val rule, GArray *args)
{
	yajl_val v = member(rule, "args");

	if (v && !YAJL_IS_ARRAY(v))
		return parse_fail(pc, where, "\"args\" must be an array");
	for (size_t i = 0; v && i < v->u.array.len; i++) {
		yajl_val a = v->u.array.values[i];
		g_autofree char *w = g_strdup_printf("%s.args[%zu]", where, i);
		g_autofree char *op = NULL;
		struct seccomp_arg arg = { 0 };
		guint64 index = 0;
		bool found;

		if (!YAJL_IS_OBJECT(a))
			return parse_fail(pc, w, "must be an object with index, value, valueTwo and op");
		if (get_u64(pc, w, a, "index", &index, &found) < 0)
			return -1;
		if (!found || index > 5)
			return parse_fail(pc, w, "\"index\" must be an argument number from 0 to 5");
		if (get_u64(pc, w, a, "value", &arg.value, NULL) < 0 ||
		    get_u64(pc, w, a, "valueTwo", &arg.value_two, NULL) < 0)
			return -1;
		if (get_string(pc, w, a, "op", &op) < 0)
			return -1;
		if (!op || !parse_op(op, &arg.op))
			return parse_fail(pc, w,
					  "\"op\" must be one of SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, "
					  "SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ");
		arg.index = (unsigned int)index;
		g_array_append_val(args, arg);
	}
	return 0;
}

static int parse_rule(struct parse_ctx *pc, yajl_val v, size_t i, struct seccomp_rule **out)
{
	g_autofree char *where = g_strdup_printf("syscalls[%zu]", i);
	struct seccomp_rule *r = g_new0(struct seccomp_rule, 1);
	char *single = NULL;

	r->args = g_array_new(FALSE, FALSE, sizeof(struct seccomp_arg));
	r->source_index = (guint)i;
	*out = r;
	if (!YAJL_IS_OBJECT(v))
		return parse_fail(pc, where, "must be an object with names and action");
	/* "name" is docker's older spelling of a one-element "names". */
	if (get_strv(pc, where, v, "names", &r->names) < 0 || get_string(pc, where, v, "name", &single) < 0)
		return -1;
	if (single) {
		char **n = g_new0(char *, g_strv_length(r->names) + 2);

		n[0] = single;
		memcpy(n + 1, r->names, g_strv_length(r->names) * sizeof(char *));
		g_free(r->names);
		r->names = n;
	}
	if (!r->names[0])
		return parse_fail(pc, where, "no syscall names: give \"names\": [\"...\"]");
	if (get_string(pc, where, v, "action", &r->action) < 0)
		return -1;
	if (!r->action)
		return parse_fail(pc, where, "\"action\" is missing");
	if (check_action(pc, where, r->action) < 0 ||
	    parse_errno(pc, where, v, "errnoRet", &r->has_errno, &r->errno_ret) < 0 ||
	    parse_args(pc, where, v, r->args) < 0 || parse_cond(pc, where, v, "includes", &r->includes) < 0 ||
	    parse_cond(pc, where, v, "excludes", &r->excludes) < 0 ||
	    get_string(pc, where, v, "comment", &r->comment) < 0)
		return -1;
	return 0;
}

static int parse_arch_map(struct parse_ctx *pc, yajl_val v, GPtrArray *out)
{
	if (v && !YAJL_IS_ARRAY(v))
		return parse_fail(pc, "archMap", "must be an array");
	for (size_t i = 0; v && i < v->u.array.len; i++) {
		yajl_val e = v->u.array.values[i];
		g_autofree char *w = g_strdup_printf("archMap[%zu]", i);
		struct seccomp_arch_map *m;

		if (!YAJL_IS_OBJECT(e))
			return parse_fail(pc, w, "must be an object with architecture and subArchitectures");
		m = g_new0(struct seccomp_arch_map, 1);
		g_ptr_array_add(out, m);
		if (get_string(pc, w, e, "architecture", &m->arch) < 0 ||
		    get_strv(pc, w, e, "subArchitectures", &m->sub_arches) < 0)
			return -1;
		if (!m->arch)
			return parse_fail(pc, w, "\"architecture\" is missing");
	}
	return 0;
}

/* Everything above "syscalls". */
static int parse_header(struct parse_ctx *pc, yajl_val root, struct seccomp_profile *p)
{
	if (!YAJL_IS_OBJECT(root))
		return parse_fail(pc, NULL, "the top level must be an object");
	if (get_string(pc, NULL, root, "defaultAction", &p->default_action) < 0)
		return -1;
	if (!p->default_action)
		return parse_fail(pc, NULL, "\"defaultAction\" is missing");
	if (check_action(pc, "defaultAction", p->default_action) < 0 ||
	    parse_errno(pc, NULL, root, "defaultErrnoRet", &p->has_default_errno, &p->default_errno) < 0 ||
	    get_strv(pc, NULL, root, "architectures", &p->architectures) < 0 ||
	    parse_arch_map(pc, member(root, "archMap"), p->arch_map) < 0 ||
	    get_strv(pc, NULL, root, "flags", &p->flags) < 0)
		return -1;
	return 0;
}

static int parse_syscalls(struct parse_ctx *pc, yajl_val root, struct seccomp_profile *p)
{
	yajl_val syscalls = member(root, "syscalls");

	if (syscalls && !YAJL_IS_ARRAY(syscalls))
		return parse_fail(pc, NULL, "\"syscalls\" must be an array");
	for (size_t i = 0; syscalls && i < syscalls->u.array.len; i++) {
		struct seccomp_rule *r;
		int ret = parse_rule(pc, syscalls->u.array.values[i], i, &r);

		/* Added even when half parsed: the profile owns it. */
		g_ptr_array_add(p->rules, r);
		if (ret < 0)
			return -1;
	}
	return 0;
}

struct seccomp_profile *seccomp_profile_parse(const char *json, const char *source, GError **err)
{
	g_autoptr(seccomp_profile) p = seccomp_profile_new(source);
	struct parse_ctx pc = { .source = source, .err = err };
	char errbuf[256] = "";
	yajl_val root = yajl_tree_parse(json, errbuf, sizeof(errbuf));
	int ret;

	if (!root) {
		g_strchomp(g_strdelimit(errbuf, "\n", ' '));
		parse_fail(&pc, NULL, "not valid JSON: %s", errbuf);
		return NULL;
	}
	ret = parse_header(&pc, root, p);
	if (ret == 0)
		ret = parse_syscalls(&pc, root, p);
	yajl_tree_free(root);
	return ret == 0 ? g_steal_pointer(&p) : NULL;
}

struct seccomp_profile *seccomp_profile_load(const char *path, GError **err)
{
	g_autofree char *json = NULL;
	g_autoptr(GError) local = NULL;

	if (!g_file_get_contents(path, &json, NULL, &local)) {
		cm_set_error(err, local->code == G_FILE_ERROR_NOENT ? ENOENT : EIO,
			     "seccomp profile: %s: give an existing JSON file or seccomp=unconfined", local->message);
		return NULL;
	}
	return seccomp_profile_parse(json, path, err);
}

/* ---- resolution ---- */

static bool has_cap(caps_set set, const char *name)
{
	int cap;

	/* A capability this kernel has no name for cannot be in the set. */
	return caps_parse_name(name, &cap, NULL) == 0 && (set & CAPS_BIT(cap));
}

static bool arch_matches(const struct arch_info *a, const char *name)
{
	return a && (g_ascii_strcasecmp(name, a->go) == 0 || g_ascii_strcasecmp(name, a->uname) == 0 ||
		     g_ascii_strcasecmp(name, a->name) == 0);
}

static bool kernel_at_least(const char *kernel, const char *min)
{
	unsigned int kmaj = 0, kmin = 0, mmaj = 0, mmin = 0;

	if (!kernel || sscanf(kernel, "%u.%u", &kmaj, &kmin) < 1 || sscanf(min, "%u.%u", &mmaj, &mmin) < 1)
		return false;
	return kmaj > mmaj || (kmaj == mmaj && kmin >= mmin);
}

static bool rule_applies(const struct seccomp_rule *r, const struct seccomp_target *t)
{
	const struct arch_info *a = arch_by_token(t->arch);
	bool any;

	for (char **c = r->includes.caps; c && *c; c++)
		if (!has_cap(t->caps, *c))
			return false;
	for (char **c = r->excludes.caps; c && *c; c++)
		if (has_cap(t->caps, *c))
			return false;
	any = !r->includes.arches || !r->includes.arches[0];
	for (char **c = r->includes.arches; c && *c; c++)
		any = any || arch_matches(a, *c);
	if (!any)
		return false;
	for (char **c = r->excludes.arches; c && *c; c++)
		if (arch_matches(a, *c))
			return false;
	if (r->includes.min_kernel && !kernel_at_least(t->kernel, r->includes.min_kernel))
		return false;
	if (r->excludes.min_kernel && kernel_at_least(t->kernel, r->excludes.min_kernel))
		return false;
	return true;
}

static struct seccomp_rule *rule_copy_plain(const struct seccomp_rule *r)
{
	struct seccomp_rule *c = g_new0(struct seccomp_rule, 1);

	c->names = g_strdupv(r->names);
	c->action = g_strdup(r->action);
	c->has_errno = r->has_errno;
	c->errno_ret = r->errno_ret;
	c->args = g_array_copy(r->args);
	c->includes.caps = g_new0(char *, 1);
	c->includes.arches = g_new0(char *, 1);
	c->excludes.caps = g_new0(char *, 1);
	c->excludes.arches = g_new0(char *, 1);
	c->comment = g_strdup(r->comment);
	c->source_index = r->source_index;
	return c;
}

static char **resolve_arches(const struct seccomp_profile *p, uint32_t arch)
{
	const struct arch_info *a = arch_by_token(arch);
	GPtrArray *out = g_ptr_array_new();

	if (p->architectures && p->architectures[0]) {
		g_ptr_array_free(out, TRUE);
		return g_strdupv(p->architectures);
	}
	for (guint i = 0; a && i < p->arch_map->len; i++) {
		const struct seccomp_arch_map *m = p->arch_map->pdata[i];

		if (g_ascii_strcasecmp(m->arch, a->name) != 0)
			continue;
		g_ptr_array_add(out, g_strdup(m->arch));
		for (char **s = m->sub_arches; s && *s; s++)
			g_ptr_array_add(out, g_strdup(*s));
		break;
	}
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

struct seccomp_profile *seccomp_profile_resolve(const struct seccomp_profile *p, const struct seccomp_target *target)
{
	struct seccomp_profile *r = seccomp_profile_new(p->source);

	r->builtin = p->builtin;
	r->default_action = g_strdup(p->default_action);
	r->has_default_errno = p->has_default_errno;
	r->default_errno = p->default_errno;
	r->architectures = resolve_arches(p, target->arch);
	r->flags = p->flags ? g_strdupv(p->flags) : g_new0(char *, 1);
	for (guint i = 0; i < p->rules->len; i++) {
		const struct seccomp_rule *rule = p->rules->pdata[i];

		if (rule_applies(rule, target))
			g_ptr_array_add(r->rules, rule_copy_plain(rule));
	}
	return r;
}
