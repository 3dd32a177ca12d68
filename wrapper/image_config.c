/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/image_config.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"
#include "wrapper/image_json.h"

void image_config_free(struct image_config *c)
{
	if (!c)
		return;
	g_free(c->architecture);
	g_free(c->os);
	g_free(c->created);
	g_strfreev(c->entrypoint);
	g_strfreev(c->cmd);
	g_strfreev(c->env);
	g_free(c->workdir);
	g_free(c->user);
	g_free(c->stop_signal);
	g_strfreev(c->exposed_ports);
	g_strfreev(c->label_keys);
	g_strfreev(c->label_values);
	g_strfreev(c->diff_ids);
	g_free(c);
}

static char *dup_nonempty(const char *s)
{
	return s && *s ? g_strdup(s) : NULL;
}

static int cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **object_keys(yajl_val obj)
{
	GPtrArray *out = g_ptr_array_new();

	for (size_t i = 0; YAJL_IS_OBJECT(obj) && i < obj->u.object.len; i++)
		g_ptr_array_add(out, g_strdup(obj->u.object.keys[i]));
	g_ptr_array_sort(out, cmp_str);
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

static void parse_labels(struct image_config *c, yajl_val labels)
{
	guint n;

	c->label_keys = object_keys(labels);
	n = g_strv_length(c->label_keys);
	c->label_values = g_new0(char *, n + 1);
	for (guint i = 0; i < n; i++) {
		const char *v = ij_str(labels, c->label_keys[i]);
		c->label_values[i] = g_strdup(v ? v : "");
	}
}

struct image_config *image_config_parse(const char *json, const char *what, GError **err)
{
	g_autoptr(image_config) c = g_new0(struct image_config, 1);
	yajl_val root = ij_parse(json, what, err);
	yajl_val cfg, rootfs;

	if (!root)
		return NULL;
	cfg = ij_get(root, "config");
	rootfs = ij_get(root, "rootfs");
	c->architecture = dup_nonempty(ij_str(root, "architecture"));
	c->os = dup_nonempty(ij_str(root, "os"));
	c->created = dup_nonempty(ij_str(root, "created"));
	c->entrypoint = ij_strv(cfg, "Entrypoint");
	c->cmd = ij_strv(cfg, "Cmd");
	c->env = ij_strv(cfg, "Env");
	c->workdir = dup_nonempty(ij_str(cfg, "WorkingDir"));
	c->user = dup_nonempty(ij_str(cfg, "User"));
	c->stop_signal = dup_nonempty(ij_str(cfg, "StopSignal"));
	c->exposed_ports = object_keys(ij_get(cfg, "ExposedPorts"));
	parse_labels(c, ij_get(cfg, "Labels"));
	c->diff_ids = ij_strv(rootfs, "diff_ids");
	yajl_tree_free(root);
	if (!c->diff_ids) {
		cm_set_error(err, EINVAL, "%s: the config has no rootfs.diff_ids", what);
		return NULL;
	}
	return g_steal_pointer(&c);
}

const char *image_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__i386__)
	return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#else
	return "unknown";
#endif
}

int image_config_check_platform(const struct image_config *c, const char *what, GError **err)
{
	if (c->os && strcmp(c->os, "linux") != 0)
		return cm_set_error(err, EINVAL, "%s is for %s, not linux", what, c->os);
	if (c->architecture && strcmp(c->architecture, image_host_arch()) != 0)
		return cm_set_error(err, EINVAL, "%s is for %s, this machine is %s", what, c->architecture,
				    image_host_arch());
	return 0;
}

static char **parse_entrypoint(const char *opt, GError **err)
{
	g_autofree char *text = NULL;
	yajl_val v;
	char **out;

	if (!*opt)
		return g_new0(char *, 1);
	if (opt[0] != '[')
		return g_strsplit(opt, "\x01", 1);
	/* ij_strv wants an object: wrap the array. */
	text = g_strdup_printf("{\"e\":%s}", opt);
	v = yajl_tree_parse(text, NULL, 0);
	out = ij_strv(v, "e");
	if (v)
		yajl_tree_free(v);
	if (!out)
		cm_set_error(err, EINVAL, "--entrypoint %s: give a program or a JSON array of strings", opt);
	return out;
}

char **image_config_command(const struct image_config *c, const char *entrypoint_opt, char *const *args, GError **err)
{
	g_auto(GStrv) entry = NULL;
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
	char *const *cmd = args && args[0] ? args : NULL;

	if (entrypoint_opt) {
		entry = parse_entrypoint(entrypoint_opt, err);
		if (!entry)
			return NULL;
	} else if (c) {
		entry = g_strdupv(c->entrypoint);
		if (!cmd)
			cmd = c->cmd;
	}
	for (char **p = entry; p && *p; p++)
		g_ptr_array_add(out, g_strdup(*p));
	for (char *const *p = cmd; p && *p; p++)
		g_ptr_array_add(out, g_strdup(*p));
	if (out->len == 0) {
		cm_set_error(err, EINVAL, "no command: the image has no Entrypoint or Cmd, give COMMAND after it");
		return NULL;
	}
	g_ptr_array_set_free_func(out, NULL);
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(g_steal_pointer(&out), FALSE);
}

static gboolean env_has_key(GPtrArray *env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t n = eq ? (size_t)(eq - kv) : strlen(kv);

	for (guint i = 0; i < env->len; i++) {
		const char *e = env->pdata[i];
		if (strncmp(e, kv, n) == 0 && (e[n] == '=' || e[n] == '\0'))
			return TRUE;
	}
	return FALSE;
}

void image_config_merge_env(const struct image_config *c, GPtrArray *env)
{
	guint at = 0;

	for (char **p = c ? c->env : NULL; p && *p; p++)
		if (strchr(*p, '=') && !env_has_key(env, *p))
			g_ptr_array_insert(env, at++, g_strdup(*p));
}
