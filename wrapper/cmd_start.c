/* SPDX-License-Identifier: Apache-2.0 */
/* `ctr-wrap start` and `restart`: a created or exited container launched again from its state. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "wrapper/commands.h"
#include "wrapper/ctr_launch.h"
#include "wrapper/monitor_attach.h"
#include "wrapper/oci_runtime.h"
#include "wrapper/restart_policy.h"

#define DEFAULT_STOP_TIMEOUT 10

/* Whether a container in state s may be started; if not, err says what to do instead. */
static int startable(struct wrap_ctx *ctx, const struct ctr_state *st, enum ctr_status s, const char *ref, GError **err)
{
	g_autofree char *rt_root = state_runtime_root(ctx->root);
	g_autofree char *out = NULL;
	const char *args[] = { "state", st->id, NULL };

	switch (s) {
	case CTR_EXITED: return 0;
	case CTR_CREATED:
		if (st->monitor_pid <= 0)
			return 0;
		return cm_set_error(err, EBUSY, "container %s is being started (wait for it, or ctr-wrap rm -f %s)",
				    ref, ref);
	case CTR_RUNNING:
		return cm_set_error(err, EBUSY, "container %s is already running (use ctr-wrap restart %s)", ref, ref);
	case CTR_PAUSED: return cm_set_error(err, EBUSY, "container %s is paused (use ctr-wrap unpause %s)", ref, ref);
	case CTR_UNKNOWN: break;
	}
	/* The monitor is gone (a reboot, or killed): fine as long as the container is gone too. */
	if (oci_runtime_call(st->runtime, rt_root, args, &out, NULL) == 0 && strstr(out, "\"running\""))
		return cm_set_error(
			err, EBUSY,
			"container %s still runs but its monitor is gone (remove it with ctr-wrap rm -f %s)", ref, ref);
	return 0;
}

/*
 * Start one container under its lock. A launch that fails leaves it exited with the launch's code
 * (126/127 like run, else 125). *sock gets the attach socket when attach.
 */
static int start_one(struct wrap_ctx *ctx, const char *ref, bool attach, struct ctr_state **out, int *sock,
		     int *clients, int *exit_code, GError **err)
{
	g_autofree char *id = state_resolve(ctx->root, ref, err);
	_cleanup_close_ int lock = -1;
	g_autoptr(ctr_state) st = NULL;
	struct ctr_launch l = { .attach = attach };

	*exit_code = WRAP_EXIT_ERROR;
	if (!id || (lock = state_lock_ctr(ctx->root, id, err)) < 0 || !(st = state_load(ctx->root, id, err)))
		return -1;
	if (startable(ctx, st, state_status(ctx->root, st, NULL), ref, err) < 0)
		return -1;
	restart_policy_reset(st);
	/* Attached to an --rm container, we read its exit code and remove it, as a foreground run does. */
	st->attached = attach && st->rm;
	if (st->attached)
		*clients = state_hold_clients(ctx->root, st->id, NULL);
	if (ctr_launch(ctx, st, &l, err) < 0) {
		*exit_code = l.exit_code;
		/* Exited with the launch's code: ps, wait and inspect tell what happened. */
		state_write_exit(ctx->root, st->id, l.exit_code, NULL);
		state_save(ctx->root, st, NULL);
		return -1;
	}
	*sock = l.sock;
	if (out)
		*out = g_steal_pointer(&st);
	return 0;
}

/* Containers a boot should bring back: always, and unless-stopped ones no person stopped. */
static bool restartable(struct wrap_ctx *ctx, const struct ctr_state *st)
{
	const char *p = restart_policy_name(st);
	enum ctr_status s = state_status(ctx->root, st, NULL);

	if (s == CTR_RUNNING || s == CTR_PAUSED || (s == CTR_CREATED && st->monitor_pid > 0) || st->restart_pending)
		return false;
	return strcmp(p, "always") == 0 || (strcmp(p, "unless-stopped") == 0 && !st->stopped_by_user);
}

static int start_all_restartable(struct wrap_ctx *ctx)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) ids = state_list(ctx->root, &err);
	int rc = 0;

	if (!ids)
		return wrap_fail(err);
	for (guint i = 0; i < ids->len; i++) {
		g_autoptr(ctr_state) st = state_load(ctx->root, ids->pdata[i], NULL);
		g_autoptr(GError) e = NULL;
		int sock = -1, code;

		if (!st || !restartable(ctx, st))
			continue;
		if (start_one(ctx, st->id, false, NULL, &sock, NULL, &code, &e) < 0) {
			rc = wrap_fail(e);
			continue;
		}
		printf("%s\n", st->name);
	}
	return rc;
}

int cmd_start(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext)
		oc = wrap_option_context("CONTAINER...", "Start created or exited containers again, each with a new "
							 "monitor and the same configuration.");
	gboolean attach = FALSE, interactive = FALSE, all_restartable = FALSE;
	g_autofree char *detach_keys = NULL;
	const GOptionEntry entries[] = {
		{ "attach", 'a', 0, G_OPTION_ARG_NONE, &attach,
		  "Attach to the output, wait and exit with the container's code", NULL },
		{ "interactive", 'i', 0, G_OPTION_ARG_NONE, &interactive, "Forward our stdin too (with -a)", NULL },
		{ "detach-keys", 0, 0, G_OPTION_ARG_STRING, &detach_keys,
		  "Keys that detach (default " MON_DEFAULT_DETACH_KEYS ", \"\" disables)", "KEYS" },
		{ "all-restartable", 0, 0, G_OPTION_ARG_NONE, &all_restartable,
		  "Start every stopped container whose policy is always or unless-stopped (for boot)", NULL },
		{ NULL }
	};
	g_autoptr(GByteArray) keys = g_byte_array_new();
	g_autoptr(GError) err = NULL;
	int rc = 0;

	g_option_context_add_main_entries(oc, entries, NULL);
	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (all_restartable) {
		if (argc > 1 || attach) {
			fprintf(stderr, "ctr-wrap: start --all-restartable takes no containers and no -a\n");
			return WRAP_EXIT_ERROR;
		}
		return start_all_restartable(ctx);
	}
	if (argc < 2 || (attach && argc != 2)) {
		fprintf(stderr, "ctr-wrap: start needs %s: see ctr-wrap start --help\n",
			attach ? "exactly one container with -a" : "at least one container");
		return WRAP_EXIT_ERROR;
	}
	if (mon_parse_detach_keys(detach_keys ? detach_keys : MON_DEFAULT_DETACH_KEYS, keys, &err) < 0)
		return wrap_fail(err);
	for (int i = 1; i < argc; i++) {
		g_autoptr(ctr_state) st = NULL;
		g_autoptr(GError) e = NULL;
		_cleanup_close_ int clients = -1;
		int sock = -1, code;

		if (start_one(ctx, argv[i], attach, &st, &sock, &clients, &code, &e) < 0) {
			fprintf(stderr, "ctr-wrap: %s\n", e->message);
			rc = code;
			continue;
		}
		if (attach)
			return wrap_attach_and_wait(ctx, st, sock, interactive, keys, st->rm);
		printf("%s\n", argv[i]);
	}
	return rc;
}

int cmd_restart(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext) oc = wrap_option_context("CONTAINER...", "Stop containers, then start them again.");
	int timeout = DEFAULT_STOP_TIMEOUT, rc = 0;
	const GOptionEntry entries[] = { { "time", 't', 0, G_OPTION_ARG_INT, &timeout,
					   "Seconds to wait before SIGKILL (default 10)", "SECS" },
					 { NULL } };

	g_option_context_add_main_entries(oc, entries, NULL);
	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (argc < 2) {
		fprintf(stderr, "ctr-wrap: restart needs at least one container: see ctr-wrap restart --help\n");
		return WRAP_EXIT_ERROR;
	}
	for (int i = 1; i < argc; i++) {
		g_autoptr(ctr_state) st = NULL;
		g_autoptr(GError) err = NULL;
		int sock = -1, code = WRAP_EXIT_ERROR;

		st = wrap_lookup(ctx, argv[i], &err);
		if (!st || restart_policy_disable(ctx, st->id, &err) < 0 || wrap_stop(ctx, st, timeout, &err) < 0 ||
		    start_one(ctx, st->id, false, NULL, &sock, NULL, &code, &err) < 0) {
			fprintf(stderr, "ctr-wrap: %s\n", err->message);
			rc = code;
			continue;
		}
		printf("%s\n", argv[i]);
	}
	return rc;
}
