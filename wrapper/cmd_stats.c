/* SPDX-License-Identifier: Apache-2.0 */
/* `ctr-wrap stats`: CPU, memory, pids, block and network I/O of running containers, like podman stats. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "wrapper/cgroup_stats.h"
#include "wrapper/commands.h"
#include "wrapper/json_out.h"

struct sample {
	struct ctr_state *st;
	struct ctr_usage u;
	gint64 at; /* monotonic microseconds of the reading */
	double cpu_percent;
};

static void sample_free(gpointer p)
{
	struct sample *s = p;

	ctr_state_free(s->st);
	g_free(s);
}

/* Decimal units with three significant digits, as podman prints them. */
static char *human(guint64 n)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v = (double)n;
	size_t i = 0;

	while (v >= 1000 && i + 1 < G_N_ELEMENTS(units)) {
		v /= 1000;
		i++;
	}
	return g_strdup_printf("%.3g%s", v, units[i]);
}

/* Seconds since the monitor last started the container, for a first sample's CPU %. */
static double seconds_up(const struct ctr_state *st)
{
	g_autoptr(GDateTime) started = st->started ? g_date_time_new_from_iso8601(st->started, NULL) : NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_local();

	return started ? (double)g_date_time_difference(now, started) / G_TIME_SPAN_SECOND : 0;
}

/* The containers to sample: those named (each must run), or every running one. */
static GPtrArray *select_containers(struct wrap_ctx *ctx, int argc, char **argv, GError **err)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(sample_free);
	g_autoptr(GPtrArray) ids = NULL;

	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			struct ctr_state *st = wrap_lookup(ctx, argv[i], err);
			enum ctr_status s;
			if (!st)
				return NULL;
			s = state_status(ctx->root, st, NULL);
			if (s != CTR_RUNNING && s != CTR_PAUSED) {
				cm_set_error(err, EINVAL,
					     "container %s is %s, not running (start it with ctr-wrap start %s)",
					     argv[i], ctr_status_name(s), argv[i]);
				ctr_state_free(st);
				return NULL;
			}
			struct sample *smp = g_new0(struct sample, 1);
			smp->st = st;
			g_ptr_array_add(out, smp);
		}
		return g_steal_pointer(&out);
	}
	if (!(ids = state_list(ctx->root, err)))
		return NULL;
	for (guint i = 0; i < ids->len; i++) {
		struct ctr_state *st = state_load(ctx->root, ids->pdata[i], NULL);
		enum ctr_status s = st ? state_status(ctx->root, st, NULL) : CTR_UNKNOWN;
		if (s != CTR_RUNNING && s != CTR_PAUSED) {
			ctr_state_free(st);
			continue;
		}
		struct sample *smp = g_new0(struct sample, 1);
		smp->st = st;
		g_ptr_array_add(out, smp);
	}
	return g_steal_pointer(&out);
}

/* Read every container once; CPU % over the time since the previous reading, or since the start. */
static void take(GPtrArray *samples)
{
	for (guint i = 0; i < samples->len; i++) {
		struct sample *s = samples->pdata[i];
		guint64 prev_cpu = s->u.cpu_ns;
		gint64 prev_at = s->at, now;
		double wall;

		if (cgroup_usage_read(s->st->pid, &s->u, NULL) < 0)
			memset(&s->u, 0, sizeof(s->u));
		now = g_get_monotonic_time();
		if (prev_at) {
			wall = (double)(now - prev_at) * 1000;
			s->cpu_percent = wall > 0 && s->u.cpu_ns >= prev_cpu
						 ? (double)(s->u.cpu_ns - prev_cpu) / wall * 100
						 : 0;
		} else {
			wall = seconds_up(s->st) * 1e9;
			s->cpu_percent = wall > 0 ? (double)s->u.cpu_ns / wall * 100 : 0;
		}
		s->at = now;
	}
}

static double mem_percent(const struct ctr_usage *u)
{
	return u->mem_limit ? (double)u->mem_usage / (double)u->mem_limit * 100 : 0;
}

static void print_table(GPtrArray *samples)
{
	printf("%-12s  %-20s  %-8s  %-22s  %-7s  %-17s  %-17s  %s\n", "ID", "NAME", "CPU %", "MEM USAGE / LIMIT",
	       "MEM %", "NET IO", "BLOCK IO", "PIDS");
	for (guint i = 0; i < samples->len; i++) {
		const struct sample *s = samples->pdata[i];
		g_autofree char *mu = human(s->u.mem_usage), *ml = human(s->u.mem_limit);
		g_autofree char *rx = human(s->u.net_rx), *tx = human(s->u.net_tx);
		g_autofree char *br = human(s->u.blk_read), *bw = human(s->u.blk_write);
		g_autofree char *mem = g_strdup_printf("%s / %s", mu, ml);
		g_autofree char *net = g_strdup_printf("%s / %s", rx, tx);
		g_autofree char *blk = g_strdup_printf("%s / %s", br, bw);
		g_autofree char *cpu = g_strdup_printf("%.2f%%", s->cpu_percent);
		g_autofree char *memp = g_strdup_printf("%.2f%%", mem_percent(&s->u));

		printf("%.12s  %-20s  %-8s  %-22s  %-7s  %-17s  %-17s  %" G_GUINT64_FORMAT "\n", s->st->id, s->st->name,
		       cpu, mem, memp, net, blk, s->u.pids);
	}
}

static void print_json(GPtrArray *samples)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	g_autofree char *text = NULL;

	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_array_open(g);
	for (guint i = 0; i < samples->len; i++) {
		const struct sample *s = samples->pdata[i];
		g_autofree char *cpu = g_strdup_printf("%.2f", s->cpu_percent);
		g_autofree char *memp = g_strdup_printf("%.2f", mem_percent(&s->u));

		yajl_gen_map_open(g);
		json_kv_str(g, "Id", s->st->id);
		json_kv_str(g, "Name", s->st->name);
		json_str(g, "CPUPerc");
		yajl_gen_number(g, cpu, strlen(cpu));
		json_kv_int(g, "CPUNano", (long long)s->u.cpu_ns);
		json_kv_int(g, "MemUsage", (long long)s->u.mem_usage);
		json_kv_int(g, "MemLimit", (long long)s->u.mem_limit);
		json_str(g, "MemPerc");
		yajl_gen_number(g, memp, strlen(memp));
		json_kv_int(g, "PIDs", (long long)s->u.pids);
		json_kv_int(g, "BlockInput", (long long)s->u.blk_read);
		json_kv_int(g, "BlockOutput", (long long)s->u.blk_write);
		json_kv_int(g, "NetInput", (long long)s->u.net_rx);
		json_kv_int(g, "NetOutput", (long long)s->u.net_tx);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	text = json_finish(g);
	printf("%s\n", text);
}

int cmd_stats(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext) oc = wrap_option_context(
		"[CONTAINER...]", "Show running containers' resource use, refreshed every second until interrupted.");
	gboolean no_stream = FALSE;
	g_autofree char *format = NULL;
	const GOptionEntry entries[] = {
		{ "no-stream", 0, 0, G_OPTION_ARG_NONE, &no_stream, "Print one sample and exit", NULL },
		{ "format", 0, 0, G_OPTION_ARG_STRING, &format, "table (default) or json", "FORMAT" },
		{ NULL }
	};
	g_autoptr(GPtrArray) samples = NULL;
	g_autoptr(GError) err = NULL;
	bool as_json, clear;

	g_option_context_add_main_entries(oc, entries, NULL);
	g_option_context_set_description(oc, "CPU % is of one CPU: over the last second, or since the start for "
					     "the first sample.\n");
	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (format && strcmp(format, "json") && strcmp(format, "table")) {
		fprintf(stderr, "ctr-wrap: unknown --format %s (use table or json)\n", format);
		return WRAP_EXIT_ERROR;
	}
	as_json = format && strcmp(format, "json") == 0;
	clear = !as_json && !no_stream && isatty(STDOUT_FILENO);
	if (!(samples = select_containers(ctx, argc, argv, &err)))
		return wrap_fail(err);
	for (;;) {
		take(samples);
		if (clear)
			fputs("\033[H\033[2J", stdout);
		if (as_json)
			print_json(samples);
		else
			print_table(samples);
		if (fflush(stdout) != 0 || ferror(stdout))
			return 0;
		if (no_stream)
			return 0;
		g_usleep(G_USEC_PER_SEC);
	}
}
