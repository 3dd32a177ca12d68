/* SPDX-License-Identifier: Apache-2.0 */
/* `ctr-wrap attach`, and the attach-then-wait half of a foreground `run`. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "wrapper/commands.h"
#include "wrapper/monitor_attach.h"
#include "wrapper/monitor_exit.h"

/* Record whether a foreground client will remove the container itself; removes it if it already exited. */
static int set_attached(struct wrap_ctx *ctx, struct ctr_state *st, bool attached, GError **err)
{
	_cleanup_close_ int lock = state_lock_ctr(ctx->root, st->id, err);
	g_autoptr(ctr_state) cur = NULL;
	int code;

	if (lock < 0)
		return -1;
	cur = state_load(ctx->root, st->id, err);
	if (!cur)
		return -1;
	cur->attached = attached;
	st->attached = attached;
	if (!attached && cur->rm && state_read_exit(ctx->root, st->id, &code))
		return wrap_cleanup(ctx, cur, true, err);
	return state_save(ctx->root, cur, err);
}

int wrap_attach_and_wait(struct wrap_ctx *ctx, struct ctr_state *st, int sock_in, bool forward_stdin,
			 const GByteArray *detach_keys, bool remove_after)
{
	_cleanup_close_ int sock = sock_in;
	g_autofree char *ctl = g_build_filename(st->bundle, "ctl", NULL);
	struct mon_attach_opts o = {
		.sock = sock,
		.forward_stdin = forward_stdin,
		.tty = st->tty,
		.ctl_path = ctl,
		.signal_pid = st->pid,
	};
	enum mon_attach_result res;
	g_autoptr(GError) err = NULL;
	int code = -1, r;

	o.detach_keys = detach_keys->data;
	o.n_detach_keys = detach_keys->len;
	res = mon_attach_run(&o, &err);
	if (res == MON_ATTACH_ERROR)
		return wrap_fail(err);
	if (res == MON_ATTACH_DETACHED) {
		if (st->tty)
			fputs("\r\n", stderr);
		if (remove_after && set_attached(ctx, st, false, &err) < 0)
			return wrap_fail(err);
		return 0;
	}
	r = mon_wait_exit(ctx->root, st, -1, &code, &err);
	if (r < 0)
		return wrap_fail(err);
	if (remove_after && wrap_remove_exited(ctx, st, &err) < 0)
		return wrap_fail(err);
	return code < 0 || code > 255 ? WRAP_EXIT_ERROR : code;
}

int cmd_attach(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext)
		oc = wrap_option_context("CONTAINER", "Attach to a running container's input and output.");
	g_autofree char *detach_keys = NULL;
	gboolean no_stdin = FALSE;
	const GOptionEntry entries[] = {
		{ "detach-keys", 0, 0, G_OPTION_ARG_STRING, &detach_keys,
		  "Keys that detach (default " MON_DEFAULT_DETACH_KEYS ", \"\" disables)", "KEYS" },
		{ "no-stdin", 0, 0, G_OPTION_ARG_NONE, &no_stdin, "Do not forward our stdin", NULL },
		{ NULL }
	};
	g_autoptr(ctr_state) st = NULL;
	g_autoptr(GByteArray) keys = g_byte_array_new();
	g_autoptr(GError) err = NULL;
	_cleanup_close_ int clients = -1;
	int sock;

	g_option_context_add_main_entries(oc, entries, NULL);
	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (argc != 2) {
		fprintf(stderr, "ctr-wrap: attach takes one container: see ctr-wrap attach --help\n");
		return WRAP_EXIT_ERROR;
	}
	if (mon_parse_detach_keys(detach_keys ? detach_keys : MON_DEFAULT_DETACH_KEYS, keys, &err) < 0)
		return wrap_fail(err);
	st = wrap_lookup(ctx, argv[1], &err);
	if (!st)
		return wrap_fail(err);
	if (state_status(ctx->root, st, NULL) != CTR_RUNNING) {
		cm_set_error(&err, EINVAL, "container %s is not running (see ctr-wrap ps -a)", argv[1]);
		return wrap_fail(err);
	}
	/* Held until we exit: the exit command leaves an --rm container to us while we are attached. */
	if (st->rm)
		clients = state_hold_clients(ctx->root, st->id, NULL);
	sock = mon_attach_connect(st->bundle, &err);
	if (sock < 0)
		return wrap_fail(err);
	if (st->rm && set_attached(ctx, st, true, &err) < 0) {
		close(sock);
		return wrap_fail(err);
	}
	return wrap_attach_and_wait(ctx, st, sock, !no_stdin, keys, st->rm);
}
