/* SPDX-License-Identifier: Apache-2.0 */
/* stop, kill, wait, rm, inspect. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "wrapper/commands.h"
#include "wrapper/image_info.h"
#include "wrapper/image_mount.h"
#include "wrapper/json_out.h"
#include "wrapper/monitor_exit.h"
#include "wrapper/oci_runtime.h"
#include "wrapper/restart_policy.h"
#include "wrapper/signal_name.h"

#define DEFAULT_STOP_TIMEOUT 10

static int one_or_more(int argc, const char *cmd)
{
	if (argc >= 2)
		return 0;
	fprintf(stderr, "ctr-wrap: %s needs at least one container: see ctr-wrap %s --help\n", cmd, cmd);
	return -1;
}

static int runtime_kill(struct wrap_ctx *ctx, const struct ctr_state *st, const char *sig, GError **err)
{
	g_autofree char *rt_root = state_runtime_root(ctx->root);
	const char *args[] = { "kill", st->id, sig, NULL };

	return oci_runtime_call(st->runtime, rt_root, args, NULL, err);
}

/* The monitor is gone: ask the runtime whether the container still runs. */
static bool runtime_says_running(struct wrap_ctx *ctx, const struct ctr_state *st)
{
	g_autofree char *rt_root = state_runtime_root(ctx->root);
	g_autofree char *out = NULL;
	const char *args[] = { "state", st->id, NULL };

	return oci_runtime_call(st->runtime, rt_root, args, &out, NULL) == 0 && strstr(out, "\"running\"");
}

/* The image's StopSignal as a number for the runtime, else TERM. */
static char *image_stop_signal(const struct ctr_state *st)
{
	g_autoptr(image_config) c = st->image_mount ? image_mount_config(st->image_mount) : NULL;
	int signo;

	if (c && c->stop_signal && signal_parse(c->stop_signal, &signo))
		return g_strdup_printf("%d", signo);
	return g_strdup("TERM");
}

/* A frozen process only acts on a signal once thawed (cgroup v1 freezer): thaw after signalling. */
static void thaw_after_signal(struct wrap_ctx *ctx, const struct ctr_state *st)
{
	g_autofree char *rt_root = state_runtime_root(ctx->root);
	const char *args[] = { "resume", st->id, NULL };
	g_autoptr(GError) local = NULL;
	_cleanup_close_ int lock = -1;
	g_autoptr(ctr_state) cur = NULL;

	if (oci_runtime_call(st->runtime, rt_root, args, NULL, &local) < 0)
		g_debug("%s", local->message);
	lock = state_lock_ctr(ctx->root, st->id, NULL);
	cur = lock >= 0 ? state_load(ctx->root, st->id, NULL) : NULL;
	if (cur && cur->paused) {
		cur->paused = false;
		state_save(ctx->root, cur, NULL);
	}
}

int wrap_stop(struct wrap_ctx *ctx, const struct ctr_state *st, int timeout, GError **err)
{
	enum ctr_status s = state_status(ctx->root, st, NULL);
	g_autofree char *stop_signal = image_stop_signal(st);
	g_autoptr(GError) local = NULL;
	int code;
	int r;

	if (s == CTR_EXITED || (s == CTR_CREATED && st->monitor_pid <= 0))
		return 0;
	if (s == CTR_PAUSED) {
		if (runtime_kill(ctx, st, timeout > 0 ? stop_signal : "KILL", err) < 0)
			return -1;
		thaw_after_signal(ctx, st);
	}
	if (s == CTR_UNKNOWN) {
		if (runtime_says_running(ctx, st))
			runtime_kill(ctx, st, "KILL", NULL);
		return 0;
	}
	if (timeout > 0 && s != CTR_PAUSED && runtime_kill(ctx, st, stop_signal, &local) < 0) {
		/* It may have exited between our look and the kill. */
		if (state_read_exit(ctx->root, st->id, &code))
			return 0;
		g_propagate_error(err, g_steal_pointer(&local));
		return -1;
	}
	r = timeout > 0 ? mon_wait_exit(ctx->root, st, timeout * 1000, &code, err) : 0;
	if (r != 0)
		return r > 0 ? 0 : -1;
	if (runtime_kill(ctx, st, "KILL", &local) < 0 && !state_read_exit(ctx->root, st->id, &code)) {
		g_propagate_error(err, g_steal_pointer(&local));
		return -1;
	}
	g_clear_error(&local);
	r = mon_wait_exit(ctx->root, st, 30 * 1000, &code, err);
	if (r == 0)
		cm_set_error(err, ETIMEDOUT, "container %s did not exit after SIGKILL", st->name);
	return r > 0 ? 0 : -1;
}

int cmd_stop(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext)
		oc = wrap_option_context("CONTAINER...", "Stop containers: SIGTERM, then SIGKILL after a timeout.");
	int timeout = DEFAULT_STOP_TIMEOUT, rc = 0;
	const GOptionEntry entries[] = { { "time", 't', 0, G_OPTION_ARG_INT, &timeout,
					   "Seconds to wait before SIGKILL (default 10)", "SECS" },
					 { NULL } };

	g_option_context_add_main_entries(oc, entries, NULL);
	if (wrap_parse(oc, &argc, &argv) < 0 || one_or_more(argc, "stop") < 0)
		return WRAP_EXIT_ERROR;
	for (int i = 1; i < argc; i++) {
		g_autoptr(ctr_state) st = NULL;
		g_autoptr(GError) err = NULL;

		st = wrap_lookup(ctx, argv[i], &err);
		if (!st || restart_policy_disable(ctx, st->id, &err) < 0 || wrap_stop(ctx, st, timeout, &err) < 0) {
			rc = wrap_fail(err);
			continue;
		}
		printf("%s\n", argv[i]);
	}
	return rc;
}

int cmd_kill(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext) oc = wrap_option_context("CONTAINER...", "Send a signal to containers.");
	g_autofree char *sig = NULL;
	const GOptionEntry entries[] = {
		{ "signal", 's', 0, G_OPTION_ARG_STRING, &sig, "Signal name or number (default KILL)", "SIG" }, { NULL }
	};
	char signo_text[16];
	int rc = 0, signo = SIGKILL;

	g_option_context_add_main_entries(oc, entries, NULL);
	if (wrap_parse(oc, &argc, &argv) < 0 || one_or_more(argc, "kill") < 0)
		return WRAP_EXIT_ERROR;
	if (sig && !signal_parse(sig, &signo)) {
		fprintf(stderr, "ctr-wrap: unknown signal %s (use a name like TERM, RTMIN+1 or a number)\n", sig);
		return WRAP_EXIT_ERROR;
	}
	/* A number: runtimes differ in the names they know. */
	snprintf(signo_text, sizeof(signo_text), "%d", signo);
	for (int i = 1; i < argc; i++) {
		g_autoptr(ctr_state) st = NULL;
		g_autoptr(GError) err = NULL;
		enum ctr_status s;

		st = wrap_lookup(ctx, argv[i], &err);
		s = st ? state_status(ctx->root, st, NULL) : CTR_UNKNOWN;
		if (st && s != CTR_RUNNING && s != CTR_PAUSED)
			cm_set_error(&err, EINVAL, "container %s is %s, not running (start it with ctr-wrap start %s)",
				     argv[i], ctr_status_name(s), argv[i]);
		if (!st || err || restart_policy_disable(ctx, st->id, &err) < 0 ||
		    runtime_kill(ctx, st, signo_text, &err) < 0) {
			rc = wrap_fail(err);
			continue;
		}
		if (s == CTR_PAUSED)
			thaw_after_signal(ctx, st);
		printf("%s\n", argv[i]);
	}
	return rc;
}

int cmd_wait(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext)
		oc = wrap_option_context("CONTAINER...", "Wait for containers to exit and print their exit codes.");
	int rc = 0;

	if (wrap_parse(oc, &argc, &argv) < 0 || one_or_more(argc, "wait") < 0)
		return WRAP_EXIT_ERROR;
	for (int i = 1; i < argc; i++) {
		g_autoptr(ctr_state) st = NULL;
		g_autoptr(GError) err = NULL;
		_cleanup_close_ int clients = -1;
		int code = -1;

		st = wrap_lookup(ctx, argv[i], &err);
		/* An --rm container's exit command removes it only once we have read its code (if it is
		 * gone already, or older than the clients file, the wait below tells). */
		if (st && st->rm)
			clients = state_hold_clients(ctx->root, st->id, NULL);
		if (!st || mon_wait_exit(ctx->root, st, -1, &code, &err) < 0) {
			rc = wrap_fail(err);
			continue;
		}
		printf("%d\n", code);
		fflush(stdout);
	}
	return rc;
}

int cmd_rm(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext) oc = wrap_option_context("CONTAINER...", "Remove containers.");
	gboolean force = FALSE;
	const GOptionEntry entries[] = {
		{ "force", 'f', 0, G_OPTION_ARG_NONE, &force, "Kill a running container first", NULL }, { NULL }
	};
	int rc = 0;

	g_option_context_add_main_entries(oc, entries, NULL);
	if (wrap_parse(oc, &argc, &argv) < 0 || one_or_more(argc, "rm") < 0)
		return WRAP_EXIT_ERROR;
	for (int i = 1; i < argc; i++) {
		g_autoptr(ctr_state) st = NULL;
		_cleanup_close_ int lock = -1;
		g_autoptr(GError) err = NULL;
		enum ctr_status s;

		st = wrap_lookup(ctx, argv[i], &err);
		if (!st && force && cm_error_errno(err) != ENOENT) {
			g_clear_error(&err);
			if (wrap_remove_broken(ctx, argv[i], &err) == 0) {
				printf("%s\n", argv[i]);
				continue;
			}
		}
		if (!st) {
			rc = wrap_fail(err);
			continue;
		}
		s = state_status(ctx->root, st, NULL);
		if ((s == CTR_RUNNING || s == CTR_PAUSED || (s == CTR_CREATED && st->monitor_pid > 0)) && !force) {
			fprintf(stderr, "ctr-wrap: container %s is running (stop it first, or use ctr-wrap rm -f)\n",
				argv[i]);
			rc = WRAP_EXIT_ERROR;
			continue;
		}
		if (restart_policy_disable(ctx, st->id, &err) < 0 || (force && wrap_stop(ctx, st, 0, &err) < 0)) {
			rc = wrap_fail(err);
			continue;
		}
		lock = state_lock_ctr(ctx->root, st->id, NULL);
		if (wrap_cleanup(ctx, st, true, &err) < 0) {
			rc = wrap_fail(err);
			continue;
		}
		printf("%s\n", argv[i]);
	}
	return rc;
}

/* The exit file's ctime in microseconds, like Created; NULL if it cannot be read. */
static char *finished_at(const char *root, const char *id)
{
	g_autofree char *exit_file = state_exit_file(root, id);
	struct stat sb;

	if (stat(exit_file, &sb) < 0)
		return NULL;
	g_autoptr(GDateTime) sec = g_date_time_new_from_unix_local(sb.st_ctim.tv_sec);
	g_autoptr(GDateTime) t = g_date_time_add(sec, sb.st_ctim.tv_nsec / 1000);
	return g_date_time_format_iso8601(t);
}

/* The limits in config.json, which `update` changes: what the next start gets. 0 is none. */
static void json_resources(yajl_gen g, const struct ctr_state *st)
{
	g_autofree char *path = g_build_filename(st->bundle, "config.json", NULL);
	g_autofree char *text = NULL;
	const char *mem[] = { "linux", "resources", "memory", "limit", NULL };
	const char *quota[] = { "linux", "resources", "cpu", "quota", NULL };
	const char *period[] = { "linux", "resources", "cpu", "period", NULL };
	const char *pids[] = { "linux", "resources", "pids", "limit", NULL };
	const char *const *paths[] = { mem, quota, period, pids };
	const char *keys[] = { "Memory", "CpuQuota", "CpuPeriod", "PidsLimit" };
	yajl_val root = NULL;

	if (g_file_get_contents(path, &text, NULL, NULL))
		root = yajl_tree_parse(text, NULL, 0);
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		yajl_val v = root ? yajl_tree_get(root, (const char **)paths[i], yajl_t_number) : NULL;
		json_kv_int(g, keys[i], v && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : 0);
	}
	yajl_tree_free(root);
}

char *wrap_inspect_json(struct wrap_ctx *ctx, const struct ctr_state *st, bool pretty)
{
	int code = -1;
	enum ctr_status s = state_status(ctx->root, st, &code);
	g_autofree char *finished = s == CTR_EXITED ? finished_at(ctx->root, st->id) : NULL;
	yajl_gen g = yajl_gen_alloc(NULL);

	yajl_gen_config(g, yajl_gen_beautify, pretty ? 1 : 0);
	yajl_gen_map_open(g);
	json_kv_str(g, "Id", st->id);
	json_kv_str(g, "Name", st->name);
	json_kv_str(g, "State", ctr_status_name(s));
	if (s == CTR_EXITED)
		json_kv_int(g, "ExitCode", code);
	else
		json_kv_str(g, "ExitCode", NULL);
	json_kv_str(g, "FinishedAt", finished);
	json_kv_str(g, "Created", st->created);
	json_kv_str(g, "StartedAt", st->started);
	json_kv_bool(g, "Paused", s == CTR_PAUSED);
	json_kv_bool(g, "Restarting", s == CTR_EXITED && st->restart_pending);
	json_kv_int(g, "RestartCount", st->restart_count);
	json_kv_str(g, "RestartPolicy", restart_policy_name(st));
	json_kv_int(g, "RestartMax", st->restart_max);
	json_kv_int(g, "Pid", st->pid);
	json_kv_int(g, "MonitorPid", st->monitor_pid);
	json_kv_str(g, "Rootfs", st->rootfs);
	json_kv_str(g, "Bundle", st->bundle);
	json_kv_strv(g, "Command", st->command);
	json_kv_str(g, "Runtime", st->runtime);
	json_kv_str(g, "LogDriver", st->log_driver);
	json_kv_str(g, "LogPath", st->log_path);
	json_kv_strv(g, "Ports", st->ports);
	json_kv_bool(g, "Tty", st->tty);
	json_kv_bool(g, "Interactive", st->interactive);
	json_resources(g, st);
	json_kv_bool(g, "AutoRemove", st->rm);
	image_info_container(g, st->image_mount);
	yajl_gen_map_close(g);
	return json_finish(g);
}

int cmd_inspect(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext) oc = wrap_option_context("CONTAINER...", "Show containers' state as a JSON array.");
	g_autoptr(GString) out = g_string_new("[");
	int rc = 0;

	if (wrap_parse(oc, &argc, &argv) < 0 || one_or_more(argc, "inspect") < 0)
		return WRAP_EXIT_ERROR;
	for (int i = 1; i < argc; i++) {
		g_autoptr(ctr_state) st = NULL;
		g_autofree char *json = NULL;
		g_autoptr(GError) err = NULL;

		st = wrap_lookup(ctx, argv[i], &err);
		if (!st) {
			rc = wrap_fail(err);
			continue;
		}
		json = wrap_inspect_json(ctx, st, true);
		g_string_append_printf(out, "%s%s", out->len > 1 ? ",\n" : "\n", json);
	}
	g_string_append(out, "\n]\n");
	fputs(out->str, stdout);
	return rc;
}
