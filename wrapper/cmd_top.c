/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ctr-wrap top CONTAINER [ps-options]`: the host's ps, limited to the container's processes (the
 * runtime's `ps` lists their host pids), as docker top does.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "common/error.h"
#include "wrapper/commands.h"
#include "wrapper/oci_runtime.h"

static GHashTable *container_pids(struct wrap_ctx *ctx, const struct ctr_state *st, GError **err)
{
	g_autofree char *rt_root = state_runtime_root(ctx->root);
	g_autofree char *out = NULL;
	const char *args[] = { "ps", "--format", "json", st->id, NULL };
	char errbuf[128] = "";
	yajl_val v;
	GHashTable *pids;

	if (oci_runtime_call(st->runtime, rt_root, args, &out, err) < 0)
		return NULL;
	v = yajl_tree_parse(out, errbuf, sizeof(errbuf));
	if (!v || !YAJL_IS_ARRAY(v)) {
		yajl_tree_free(v);
		cm_set_error(err, EPROTO, "%s ps printed no pid list: %s", st->runtime, out);
		return NULL;
	}
	pids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (size_t i = 0; i < v->u.array.len; i++)
		if (YAJL_IS_INTEGER(v->u.array.values[i]))
			g_hash_table_add(pids, g_strdup_printf("%lld", YAJL_GET_INTEGER(v->u.array.values[i])));
	yajl_tree_free(v);
	return pids;
}

/* The PID column of ps's header line, or -1. */
static int pid_column(const char *header)
{
	g_auto(GStrv) cols = g_strsplit_set(header, " \t", -1);
	int n = 0;

	for (char **c = cols; *c; c++) {
		if (!**c)
			continue;
		if (strcmp(*c, "PID") == 0)
			return n;
		n++;
	}
	return -1;
}

static const char *nth_field(char **fields, int col)
{
	int n = 0;

	for (char **f = fields; *f; f++) {
		if (!**f)
			continue;
		if (n++ == col)
			return *f;
	}
	return NULL;
}

int cmd_top(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext) oc = wrap_option_context(
		"CONTAINER [PS-OPTION...]", "Show a container's processes as ps(1) shows them (default ps -ef).");
	g_autoptr(GError) err = NULL;
	g_autoptr(ctr_state) st = NULL;
	g_autoptr(GHashTable) pids = NULL;
	g_autoptr(GPtrArray) ps = g_ptr_array_new();
	g_autofree char *out = NULL, *errout = NULL;
	g_auto(GStrv) lines = NULL;
	enum ctr_status s;
	int status = 0, col;

	g_option_context_set_description(oc, "Example: ctr-wrap top web -o pid,user,rss,args\n");
	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (argc < 2) {
		fprintf(stderr, "ctr-wrap: top needs a container: see ctr-wrap top --help\n");
		return WRAP_EXIT_ERROR;
	}
	if (!(st = wrap_lookup(ctx, argv[1], &err)))
		return wrap_fail(err);
	s = state_status(ctx->root, st, NULL);
	if (s != CTR_RUNNING && s != CTR_PAUSED) {
		cm_set_error(&err, EINVAL, "container %s is %s, not running (start it with ctr-wrap start %s)", argv[1],
			     ctr_status_name(s), argv[1]);
		return wrap_fail(err);
	}
	if (!(pids = container_pids(ctx, st, &err)))
		return wrap_fail(err);
	g_ptr_array_add(ps, (char *)"ps");
	if (argc == 2)
		g_ptr_array_add(ps, (char *)"-ef");
	for (int i = 2; i < argc; i++)
		g_ptr_array_add(ps, argv[i]);
	g_ptr_array_add(ps, NULL);
	if (!g_spawn_sync(NULL, (char **)ps->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &errout, &status,
			  &err))
		return wrap_fail(err);
	if (!g_spawn_check_wait_status(status, NULL)) {
		cm_set_error(&err, EINVAL, "ps failed: %s", g_strstrip(errout));
		return wrap_fail(err);
	}
	lines = g_strsplit(out, "\n", -1);
	col = lines[0] ? pid_column(lines[0]) : -1;
	if (col < 0) {
		cm_set_error(&err, EINVAL, "ps printed no PID column (add one, e.g. -o pid,args)");
		return wrap_fail(err);
	}
	printf("%s\n", lines[0]);
	for (char **l = lines + 1; *l; l++) {
		g_auto(GStrv) fields = g_strsplit_set(*l, " \t", -1);
		const char *pid = nth_field(fields, col);
		if (pid && g_hash_table_contains(pids, pid))
			printf("%s\n", *l);
	}
	return 0;
}
