/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ctr-wrap update`: new memory, CPU and pids limits for a running container, through the runtime's
 * update, then written into config.json so that the next start keeps them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "wrapper/commands.h"
#include "wrapper/json_out.h"
#include "wrapper/oci_runtime.h"
#include "wrapper/spec.h"
#include "wrapper/spec_opts.h"

/* One member of an object with key replaced: {"limit": value} merged into the old object. */
static void emit_merged(yajl_gen g, yajl_val old, const char *const *keys, const gint64 *values, size_t n)
{
	yajl_gen_map_open(g);
	for (size_t i = 0; old && YAJL_IS_OBJECT(old) && i < old->u.object.len; i++) {
		bool replaced = false;
		for (size_t k = 0; k < n; k++)
			replaced |= strcmp(old->u.object.keys[i], keys[k]) == 0;
		if (replaced)
			continue;
		json_str(g, old->u.object.keys[i]);
		json_value(g, old->u.object.values[i]);
	}
	for (size_t k = 0; k < n; k++)
		json_kv_int(g, keys[k], values[k]);
	yajl_gen_map_close(g);
}

static void emit_resources(yajl_gen g, yajl_val res, const struct spec_opts *o)
{
	static const char *const limit[] = { "limit" };
	static const char *const cpu[] = { "quota", "period" };
	bool set_mem = o->raw.memory, set_pids = o->pids_limit_set, set_cpu = o->raw.cpus;
	gint64 mem = o->memory, pids = o->pids_limit, cpuv[2] = { o->cpu_quota, (gint64)o->cpu_period };
	yajl_val old_mem = NULL, old_pids = NULL, old_cpu = NULL;

	yajl_gen_map_open(g);
	for (size_t i = 0; res && YAJL_IS_OBJECT(res) && i < res->u.object.len; i++) {
		const char *k = res->u.object.keys[i];
		yajl_val v = res->u.object.values[i];
		if (set_mem && strcmp(k, "memory") == 0)
			old_mem = v;
		else if (set_pids && strcmp(k, "pids") == 0)
			old_pids = v;
		else if (set_cpu && strcmp(k, "cpu") == 0)
			old_cpu = v;
		else {
			json_str(g, k);
			json_value(g, v);
		}
	}
	if (set_mem) {
		json_str(g, "memory");
		emit_merged(g, old_mem, limit, &mem, 1);
	}
	/* Unlimited is the absence of a limit in the spec. */
	if (set_pids && pids > 0) {
		json_str(g, "pids");
		emit_merged(g, old_pids, limit, &pids, 1);
	}
	if (set_cpu) {
		json_str(g, "cpu");
		emit_merged(g, old_cpu, cpu, cpuv, 2);
	}
	yajl_gen_map_close(g);
}

static int rewrite_config(const struct ctr_state *st, const struct spec_opts *o, GError **err)
{
	g_autofree char *path = g_build_filename(st->bundle, "config.json", NULL);
	g_autofree char *text = NULL, *json = NULL;
	g_autoptr(GError) local = NULL;
	char errbuf[256] = "";
	yajl_val root;
	yajl_gen g;

	if (!g_file_get_contents(path, &text, NULL, &local))
		return cm_set_error(err, EIO, "%s", local->message);
	root = yajl_tree_parse(text, errbuf, sizeof(errbuf));
	if (!root || !YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		return cm_set_error(err, EINVAL, "%s is not a JSON object: %s", path, errbuf);
	}
	g = yajl_gen_alloc(NULL);
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_map_open(g);
	for (size_t i = 0; i < root->u.object.len; i++) {
		const char *k = root->u.object.keys[i];
		yajl_val v = root->u.object.values[i];
		bool has_res = false;

		json_str(g, k);
		if (strcmp(k, "linux") != 0 || !YAJL_IS_OBJECT(v)) {
			json_value(g, v);
			continue;
		}
		yajl_gen_map_open(g);
		for (size_t j = 0; j < v->u.object.len; j++) {
			json_str(g, v->u.object.keys[j]);
			if (strcmp(v->u.object.keys[j], "resources") == 0) {
				emit_resources(g, v->u.object.values[j], o);
				has_res = true;
			} else {
				json_value(g, v->u.object.values[j]);
			}
		}
		if (!has_res) {
			json_str(g, "resources");
			emit_resources(g, NULL, o);
		}
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
	yajl_tree_free(root);
	json = json_finish(g);
	return spec_write_bundle(st->bundle, json, err);
}

static int update_one(struct wrap_ctx *ctx, const char *ref, const struct spec_opts *o, GError **err)
{
	g_autofree char *rt_root = state_runtime_root(ctx->root);
	g_autofree char *mem = NULL, *quota = NULL, *period = NULL, *pids = NULL;
	g_autoptr(GPtrArray) args = g_ptr_array_new();
	_cleanup_close_ int lock = -1;
	g_autoptr(ctr_state) st = state_load_live(ctx->root, ref, "update it", &lock, NULL, err);

	if (!st)
		return -1;
	g_ptr_array_add(args, (char *)"update");
	if (o->raw.memory) {
		mem = g_strdup_printf("%" G_GINT64_FORMAT, o->memory);
		g_ptr_array_add(args, (char *)"--memory");
		g_ptr_array_add(args, mem);
	}
	if (o->raw.cpus) {
		quota = g_strdup_printf("%" G_GINT64_FORMAT, o->cpu_quota);
		period = g_strdup_printf("%" G_GUINT64_FORMAT, o->cpu_period);
		g_ptr_array_add(args, (char *)"--cpu-quota");
		g_ptr_array_add(args, quota);
		g_ptr_array_add(args, (char *)"--cpu-period");
		g_ptr_array_add(args, period);
	}
	if (o->pids_limit_set) {
		pids = g_strdup_printf("%" G_GINT64_FORMAT, o->pids_limit > 0 ? o->pids_limit : -1);
		g_ptr_array_add(args, (char *)"--pids-limit");
		g_ptr_array_add(args, pids);
	}
	g_ptr_array_add(args, st->id);
	g_ptr_array_add(args, NULL);
	if (oci_runtime_call(st->runtime, rt_root, (const char *const *)args->pdata, NULL, err) < 0)
		return -1;
	return rewrite_config(st, o, err);
}

int cmd_update(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext) oc = wrap_option_context(
		"CONTAINER...", "Change running containers' limits; the next start keeps them.");
	struct spec_opts o;
	const GOptionEntry entries[] = {
		{ "memory", 'm', 0, G_OPTION_ARG_STRING, &o.raw.memory, "Memory limit, e.g. 512m", "SIZE" },
		{ "cpus", 0, 0, G_OPTION_ARG_STRING, &o.raw.cpus, "Number of CPUs, e.g. 1.5", "N" },
		{ "pids-limit", 0, 0, G_OPTION_ARG_STRING, &o.raw.pids_limit, "Maximum processes (-1: unlimited)",
		  "N" },
		{ NULL }
	};
	g_autoptr(GError) err = NULL;
	int rc = 0;

	spec_opts_init(&o);
	g_option_context_add_main_entries(oc, entries, NULL);
	if (wrap_parse(oc, &argc, &argv) < 0) {
		spec_opts_clear(&o);
		return WRAP_EXIT_ERROR;
	}
	if (argc < 2 || (!o.raw.memory && !o.raw.cpus && !o.raw.pids_limit)) {
		fprintf(stderr, "ctr-wrap: update needs a container and at least one of --memory, --cpus, "
				"--pids-limit: see ctr-wrap update --help\n");
		spec_opts_clear(&o);
		return WRAP_EXIT_ERROR;
	}
	if (spec_opts_parse_resources(&o, &err) < 0) {
		spec_opts_clear(&o);
		return wrap_fail(err);
	}
	for (int i = 1; i < argc; i++) {
		g_autoptr(GError) e = NULL;

		if (update_one(ctx, argv[i], &o, &e) < 0) {
			rc = wrap_fail(e);
			continue;
		}
		printf("%s\n", argv[i]);
	}
	spec_opts_clear(&o);
	return rc;
}
