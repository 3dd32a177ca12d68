/* SPDX-License-Identifier: Apache-2.0 */
/* `ctr-wrap ps`: list containers. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "wrapper/commands.h"
#include "wrapper/json_out.h"

static char *ago(const char *created)
{
	g_autoptr(GDateTime) t = created ? g_date_time_new_from_iso8601(created, NULL) : NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	gint64 s;

	if (!t)
		return g_strdup("?");
	s = g_date_time_difference(now, t) / G_TIME_SPAN_SECOND;
	if (s < 60)
		return g_strdup_printf("%" G_GINT64_FORMAT " seconds ago", s);
	if (s < 3600)
		return g_strdup_printf("%" G_GINT64_FORMAT " minutes ago", s / 60);
	if (s < 86400)
		return g_strdup_printf("%" G_GINT64_FORMAT " hours ago", s / 3600);
	return g_strdup_printf("%" G_GINT64_FORMAT " days ago", s / 86400);
}

static char *status_text(const struct ctr_state *st, enum ctr_status s, int code)
{
	switch (s) {
	case CTR_CREATED: return g_strdup("Created");
	case CTR_RUNNING: return g_strdup("Up");
	case CTR_PAUSED: return g_strdup("Paused");
	case CTR_EXITED:
		/* The exit code, as docker shows it while its restart policy waits out the back-off. */
		if (st->restart_pending)
			return g_strdup_printf("Restarting (%d)", code);
		return g_strdup_printf("Exited (%d)", code);
	case CTR_UNKNOWN: break;
	}
	return g_strdup("Unknown (monitor lost)");
}

static char *short_command(char **cmd)
{
	g_autofree char *full = cmd ? g_strjoinv(" ", cmd) : g_strdup("");

	if (g_utf8_strlen(full, -1) <= 20)
		return g_steal_pointer(&full);
	return g_strdup_printf("%.17s...", full);
}

/* A container whose state.json cannot be read: listed so that it can be removed (rm -f). */
static void print_broken(const char *id, const GError *why, bool as_json, bool quiet, GString *json)
{
	if (as_json) {
		yajl_gen g = yajl_gen_alloc(NULL);
		g_autofree char *obj = NULL;

		yajl_gen_map_open(g);
		json_kv_str(g, "Id", id);
		json_kv_str(g, "State", "broken");
		json_kv_str(g, "Error", why->message);
		yajl_gen_map_close(g);
		obj = json_finish(g);
		g_string_append_printf(json, "%s%s", json->len > 1 ? ",\n" : "\n", obj);
	} else if (quiet) {
		printf("%.12s\n", id);
	} else {
		printf("%.12s  %-20s  %-20s  %-16s  %-22s  %s\n", id, "?", "?", "?", "Broken (rm -f removes it)",
		       why->message);
	}
}

int cmd_ps(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext) oc = wrap_option_context("", "List containers (running ones unless -a).");
	g_autofree char *format = NULL;
	gboolean all = FALSE, quiet = FALSE;
	const GOptionEntry entries[] = {
		{ "all", 'a', 0, G_OPTION_ARG_NONE, &all, "Show all containers, not only running ones", NULL },
		{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print only the ids", NULL },
		{ "format", 0, 0, G_OPTION_ARG_STRING, &format, "table (default) or json", "FORMAT" },
		{ NULL }
	};
	g_autoptr(GPtrArray) ids = NULL;
	g_autoptr(GString) json = g_string_new("[");
	g_autoptr(GError) err = NULL;
	bool as_json;

	g_option_context_add_main_entries(oc, entries, NULL);
	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (argc > 1) {
		fprintf(stderr, "ctr-wrap: ps takes no arguments: see ctr-wrap ps --help\n");
		return WRAP_EXIT_ERROR;
	}
	if (format && strcmp(format, "json") && strcmp(format, "table")) {
		fprintf(stderr, "ctr-wrap: unknown --format %s (use table or json)\n", format);
		return WRAP_EXIT_ERROR;
	}
	as_json = format && strcmp(format, "json") == 0;
	ids = state_list(ctx->root, &err);
	if (!ids)
		return wrap_fail(err);
	if (!as_json && !quiet)
		printf("%-12s  %-20s  %-20s  %-16s  %-22s  %s\n", "CONTAINER ID", "NAME", "COMMAND", "CREATED",
		       "STATUS", "PORTS");
	for (guint i = 0; i < ids->len; i++) {
		g_autoptr(GError) why = NULL;
		g_autoptr(ctr_state) st = state_load(ctx->root, ids->pdata[i], &why);
		g_autofree char *created = NULL, *status = NULL, *cmd = NULL, *ports = NULL;
		enum ctr_status s;
		int code = -1;

		if (!st) {
			if (all && cm_error_errno(why) != ENOENT)
				print_broken(ids->pdata[i], why, as_json, quiet, json);
			continue;
		}
		s = state_status(ctx->root, st, &code);
		if (!all && s != CTR_RUNNING && s != CTR_PAUSED && !(s == CTR_EXITED && st->restart_pending))
			continue;
		if (as_json) {
			g_autofree char *obj = wrap_inspect_json(ctx, st, false);
			g_string_append_printf(json, "%s%s", json->len > 1 ? ",\n" : "\n", obj);
			continue;
		}
		if (quiet) {
			printf("%.12s\n", st->id);
			continue;
		}
		created = ago(st->created);
		status = status_text(st, s, code);
		cmd = short_command(st->command);
		ports = st->ports ? g_strjoinv(", ", st->ports) : g_strdup("");
		printf("%.12s  %-20s  %-20s  %-16s  %-22s  %s\n", st->id, st->name, cmd, created, status, ports);
	}
	if (as_json)
		printf("%s\n]\n", json->str);
	return 0;
}
