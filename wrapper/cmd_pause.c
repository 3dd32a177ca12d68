/* SPDX-License-Identifier: Apache-2.0 */
/* `ctr-wrap pause` and `unpause`: the runtime's freezer, recorded in the state for ps and inspect. */
#include <errno.h>
#include <stdio.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "wrapper/commands.h"
#include "wrapper/oci_runtime.h"

static int set_paused(struct wrap_ctx *ctx, const char *ref, bool pause, GError **err)
{
	g_autofree char *rt_root = state_runtime_root(ctx->root);
	_cleanup_close_ int lock = -1;
	enum ctr_status s;
	g_autoptr(ctr_state) st = state_load_live(ctx->root, ref, NULL, &lock, &s, err);

	if (!st)
		return -1;
	if (pause && s == CTR_PAUSED)
		return cm_set_error(err, EINVAL, "container %s is already paused (ctr-wrap unpause %s thaws it)", ref,
				    ref);
	if (!pause && s == CTR_RUNNING)
		return cm_set_error(err, EINVAL, "container %s is running, not paused (ctr-wrap pause %s freezes it)",
				    ref, ref);
	const char *args[] = { pause ? "pause" : "resume", st->id, NULL };
	if (oci_runtime_call(st->runtime, rt_root, args, NULL, err) < 0)
		return -1;
	st->paused = pause;
	return state_save(ctx->root, st, err);
}

static int pause_cmd(struct wrap_ctx *ctx, int argc, char **argv, bool pause)
{
	g_autoptr(GOptionContext) oc = wrap_option_context(
		"CONTAINER...", pause ? "Freeze every process of running containers (the runtime's freezer)."
				      : "Thaw paused containers.");
	int rc = 0;

	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (argc < 2) {
		fprintf(stderr, "ctr-wrap: %s needs at least one container: see ctr-wrap %s --help\n", argv[0],
			argv[0]);
		return WRAP_EXIT_ERROR;
	}
	for (int i = 1; i < argc; i++) {
		g_autoptr(GError) err = NULL;

		if (set_paused(ctx, argv[i], pause, &err) < 0) {
			rc = wrap_fail(err);
			continue;
		}
		printf("%s\n", argv[i]);
	}
	return rc;
}

int cmd_pause(struct wrap_ctx *ctx, int argc, char **argv)
{
	return pause_cmd(ctx, argc, argv, true);
}

int cmd_unpause(struct wrap_ctx *ctx, int argc, char **argv)
{
	return pause_cmd(ctx, argc, argv, false);
}
