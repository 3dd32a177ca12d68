/* SPDX-License-Identifier: Apache-2.0 */
/* `ctr-wrap run` and `create`: make a container's spec and state; run then launches it (ctr_launch.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "wrapper/commands.h"
#include "wrapper/ctr_launch.h"
#include "wrapper/image_rootfs.h"
#include "wrapper/monitor_attach.h"
#include "wrapper/ports.h"
#include "wrapper/restart_policy.h"
#include "wrapper/spec.h"
#include "wrapper/spec_opts.h"

/* conmon's k8s-file limit must leave room for at least one line (podman: >= 8192). */
#define MIN_LOG_SIZE 8192

struct run_opts {
	char *name;
	gboolean detach, interactive, rm;
	char *detach_keys;
	char *log_driver;
	char **log_opts;
	char **publish;
	char *restart;
	gint64 log_size_max;
};

static void run_opts_clear(struct run_opts *r)
{
	g_free(r->name);
	g_free(r->detach_keys);
	g_free(r->log_driver);
	g_strfreev(r->log_opts);
	g_strfreev(r->publish);
	g_free(r->restart);
}

static int check_log_opts(struct run_opts *r, GError **err)
{
	r->log_size_max = -1;
	if (!r->log_driver)
		r->log_driver = g_strdup("k8s-file");
	if (strcmp(r->log_driver, "json-file") == 0) {
		g_free(r->log_driver);
		r->log_driver = g_strdup("k8s-file");
	}
	if (strcmp(r->log_driver, "k8s-file") && strcmp(r->log_driver, "journald") && strcmp(r->log_driver, "none"))
		return cm_set_error(err, EINVAL, "unknown --log-driver %s (use k8s-file, journald or none)",
				    r->log_driver);
	for (char **o = r->log_opts; o && *o; o++) {
		if (strcmp(r->log_driver, "k8s-file") != 0)
			return cm_set_error(err, EINVAL, "--log-opt %s: only the k8s-file log driver takes options",
					    *o);
		if (!g_str_has_prefix(*o, "max-size="))
			return cm_set_error(err, EINVAL, "unknown --log-opt %s (supported: max-size=SIZE)", *o);
		if (spec_parse_size(*o + strlen("max-size="), &r->log_size_max, err) < 0)
			return -1;
		if (r->log_size_max < MIN_LOG_SIZE)
			return cm_set_error(err, EINVAL, "--log-opt max-size must be at least %d bytes", MIN_LOG_SIZE);
	}
	return 0;
}

static char *now_rfc3339(void)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	return g_date_time_format_iso8601(now);
}

struct run_job {
	struct wrap_ctx *ctx;
	bool create_only; /* `create`: stop before the monitor */
	struct run_opts r;
	struct spec_opts so;
	struct image_rootfs ir;
	struct spec_host host;
	GArray *port_fds; /* the reservations, kept from prepare() to the launch */
	struct ctr_state *st;
	GByteArray *keys;
	int clients; /* state_hold_clients() of a foreground --rm run */
};

/* How long a run waits for an exited --rm container to give up the name it wants. */
#define RECLAIM_MS 10000

/*
 * name is held by a container that may be an exited --rm one whose removal is under way: wait for
 * it, or remove it now if no client waits for its exit code any more. 0 when it is gone.
 */
static int reclaim_name(struct wrap_ctx *ctx, const char *name, gint64 deadline)
{
	g_autofree char *id = state_resolve(ctx->root, name, NULL);
	g_autoptr(ctr_state) st = id ? state_load(ctx->root, id, NULL) : NULL;
	_cleanup_close_ int lock = -1;
	int code, left;

	if (!st || !st->rm || !state_read_exit(ctx->root, id, &code))
		return -1;
	left = (int)((deadline - g_get_monotonic_time()) / 1000);
	if (left <= 0 || !state_wait_clients(ctx->root, id, left))
		return -1;
	/* Its exit command holds the lock while it removes it. */
	lock = state_lock_ctr(ctx->root, id, NULL);
	g_clear_pointer(&st, ctr_state_free);
	st = lock >= 0 ? state_load(ctx->root, id, NULL) : NULL;
	if (!st)
		return 0;
	if (!st->rm || !state_read_exit(ctx->root, id, &code) || !state_wait_clients(ctx->root, id, 0))
		return -1;
	return wrap_cleanup(ctx, st, true, NULL);
}

/* Claim the name and make the state dir; a name an exited --rm container still holds is waited for. */
static int create_state(struct wrap_ctx *ctx, struct ctr_state *st, GError **err)
{
	gint64 deadline = g_get_monotonic_time() + RECLAIM_MS * 1000;

	for (;;) {
		g_autoptr(GError) local = NULL;

		if (state_create(ctx->root, st, &local) == 0)
			return 0;
		if (cm_error_errno(local) != EEXIST || reclaim_name(ctx, st->name, deadline) < 0) {
			g_propagate_error(err, g_steal_pointer(&local));
			return -1;
		}
	}
}

/* Options, spec, runtime choice, ports, the state dir: everything `create` leaves behind. */
static int prepare(struct run_job *j, GError **err)
{
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *json = NULL;
	g_autofree char *conmon = NULL;
	struct ctr_state *st = j->st;

	if (j->r.restart && restart_policy_set(st, j->r.restart, err) < 0)
		return -1;
	if (j->r.rm && g_strcmp0(restart_policy_name(st), "no") != 0)
		return cm_set_error(err, EINVAL, "--rm and --restart %s exclude each other (drop one)", j->r.restart);
	if (!(st->runtime = wrap_runtime(j->ctx, err)) || !(conmon = wrap_conmon(j->ctx, err)) ||
	    state_init_root(j->ctx->root, err) < 0 || !(st->id = spec_new_id(err)))
		return -1;
	j->host.seccomp_cache = g_build_filename(j->ctx->root, "seccomp", NULL);
	if (!(json = spec_build(&j->so, st->id, &j->host, true, warnings, err)))
		return -1;
	for (guint i = 0; i < warnings->len; i++)
		fprintf(stderr, "ctr-wrap: warning: %s\n", (char *)warnings->pdata[i]);

	st->name = j->r.name ? g_strdup(j->r.name) : g_strndup(st->id, SPEC_SHORT_ID_LEN);
	st->bundle = state_ctr_dir(j->ctx->root, st->id);
	st->rootfs = g_strdup(j->so.rootfs);
	st->image_mount = g_strdup(j->ir.mount_dir);
	st->command = g_strdupv(j->so.args);
	st->created = now_rfc3339();
	st->log_driver = g_strdup(j->r.log_driver);
	if (strcmp(j->r.log_driver, "k8s-file") == 0)
		st->log_path = g_build_filename(st->bundle, "ctr.log", NULL);
	st->log_size_max = j->r.log_size_max;
	st->status = CTR_CREATED;
	st->rm = j->r.rm;
	st->tty = j->so.tty;
	st->interactive = j->r.interactive;
	st->cgroup_systemd = j->so.cgroup_systemd;
	st->attached = !j->r.detach && !j->create_only;
	/* Nothing for the runtime to forget yet. */
	st->deleted = true;
	/* Random host ports are fixed now, so that every start publishes the same ones. */
	if (ctr_launch_reserve(st, j->r.publish, j->port_fds, err) < 0)
		return -1;
	if (create_state(j->ctx, st, err) < 0)
		return -1;
	if (spec_write_bundle(st->bundle, json, err) < 0) {
		wrap_cleanup(j->ctx, st, true, NULL);
		return -1;
	}
	return 0;
}

/* create (+ start): *sock is the attach socket of a foreground run. */
static int run_job(struct run_job *j, int argc, char **argv, GOptionContext *oc)
{
	g_autoptr(GError) err = NULL;
	struct ctr_launch l = { .port_fds = j->port_fds };
	int r;

	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (image_rootfs_finish(&j->ir, j->ctx->storage, &j->so, argc - 1, argv + 1, &err) < 0)
		return wrap_fail(err);
	/* -P: the image's ports after the -p ones, each on a free host port. */
	{
		g_auto(GStrv) exposed = image_rootfs_exposed(&j->ir);
		g_autoptr(GStrvBuilder) b = g_strv_builder_new();
		g_strv_builder_addv(b, (const char **)(j->r.publish ? j->r.publish : (char *[]){ NULL }));
		g_strv_builder_addv(b, (const char **)(exposed ? exposed : (char *[]){ NULL }));
		g_strfreev(j->r.publish);
		j->r.publish = g_strv_builder_end(b);
	}
	if (check_log_opts(&j->r, &err) < 0 ||
	    mon_parse_detach_keys(j->r.detach_keys ? j->r.detach_keys : MON_DEFAULT_DETACH_KEYS, j->keys, &err) < 0 ||
	    prepare(j, &err) < 0)
		return wrap_fail(err);
	/* Before the container can exit: its exit command must leave an --rm container to us. */
	if (j->st->rm && j->st->attached && (j->clients = state_hold_clients(j->ctx->root, j->st->id, &err)) < 0) {
		wrap_cleanup(j->ctx, j->st, true, NULL);
		return wrap_fail(err);
	}
	if (j->create_only) {
		ports_close_fds(j->port_fds);
		printf("%s\n", j->st->id);
		return 0;
	}
	l.attach = !j->r.detach;
	{
		_cleanup_close_ int lock = state_lock_ctr(j->ctx->root, j->st->id, &err);
		r = lock < 0 ? -1 : ctr_launch(j->ctx, j->st, &l, &err);
	}
	if (r < 0) {
		/* A run that did not start leaves nothing behind. */
		fprintf(stderr, "ctr-wrap: %s\n", err->message);
		wrap_cleanup(j->ctx, j->st, true, NULL);
		return l.exit_code;
	}
	if (j->r.detach) {
		printf("%s\n", j->st->id);
		return 0;
	}
	return wrap_attach_and_wait(j->ctx, j->st, l.sock, j->r.interactive, j->keys, j->r.rm);
}

static int run_or_create(struct wrap_ctx *ctx, int argc, char **argv, bool create_only)
{
	g_autoptr(GOptionContext) oc = wrap_option_context(
		"ROOTFS|IMAGE [COMMAND [ARG...]]",
		create_only
			? "Create a container whose root is ROOTFS, or made from IMAGE, to run COMMAND when started\n"
			  "(ctr-wrap start). IMAGE is a loaded image's name or id, or oci:DIR[:TAG],\n"
			  "oci-archive:FILE[:TAG], docker-archive:FILE[:TAG], loaded first."
			: "Run COMMAND in a new container whose root is ROOTFS, or made from IMAGE (a loaded image's "
			  "name\n"
			  "or id, or oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:TAG], loaded first).");
	struct run_job j = { .ctx = ctx, .create_only = create_only, .clients = -1 };
	const GOptionEntry entries[] = {
		{ "name", 0, 0, G_OPTION_ARG_STRING, &j.r.name, "Container name (default: the short id)", "NAME" },
		{ "interactive", 'i', 0, G_OPTION_ARG_NONE, &j.r.interactive, "Keep stdin open and forward it", NULL },
		{ "rm", 0, 0, G_OPTION_ARG_NONE, &j.r.rm, "Remove the container when it exits", NULL },
		{ "log-driver", 0, 0, G_OPTION_ARG_STRING, &j.r.log_driver, "k8s-file (default), journald or none",
		  "DRIVER" },
		{ "log-opt", 0, 0, G_OPTION_ARG_STRING_ARRAY, &j.r.log_opts, "max-size=SIZE (k8s-file)", "OPT" },
		{ "publish", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &j.r.publish, "Publish a port [IP:][HOST:]CTR[/PROTO]",
		  "SPEC" },
		{ "restart", 0, 0, G_OPTION_ARG_STRING, &j.r.restart,
		  "Restart policy: no (default), on-failure[:MAX], always, unless-stopped", "POLICY" },
		{ NULL }
	};
	const GOptionEntry run_entries[] = {
		{ "detach", 'd', 0, G_OPTION_ARG_NONE, &j.r.detach, "Run in the background, print the id", NULL },
		{ "detach-keys", 0, 0, G_OPTION_ARG_STRING, &j.r.detach_keys,
		  "Keys that detach (default " MON_DEFAULT_DETACH_KEYS ", \"\" disables)", "KEYS" },
		{ NULL }
	};
	int rc;

	spec_opts_init(&j.so);
	spec_opts_add_entries(oc, &j.so);
	image_rootfs_add_entries(oc, &j.ir, TRUE);
	g_option_context_add_main_entries(oc, entries, NULL);
	if (!create_only)
		g_option_context_add_main_entries(oc, run_entries, NULL);
	g_option_context_set_description(oc, create_only
						     ? "Options must come before ROOTFS or IMAGE.\n"
						       "Example: ctr-wrap create --name web --restart always ./rootfs "
						       "httpd -f\n"
						     : "Options must come before ROOTFS or IMAGE.\n"
						       "Example: ctr-wrap run --rm -it ./rootfs /bin/sh\n");
	j.port_fds = g_array_new(FALSE, FALSE, sizeof(int));
	j.keys = g_byte_array_new();
	j.st = g_new0(struct ctr_state, 1);
	spec_host_detect(&j.host);

	rc = run_job(&j, argc, argv, oc);
	/* A container that exists keeps its image root until it is removed. */
	if (!j.st->bundle || !g_file_test(j.st->bundle, G_FILE_TEST_IS_DIR))
		image_rootfs_release(&j.ir);

	cm_closep(&j.clients);
	ports_close_fds(j.port_fds);
	g_array_unref(j.port_fds);
	g_byte_array_unref(j.keys);
	ctr_state_free(j.st);
	spec_host_clear(&j.host);
	spec_opts_clear(&j.so);
	image_rootfs_clear(&j.ir);
	run_opts_clear(&j.r);
	return rc;
}

int cmd_run(struct wrap_ctx *ctx, int argc, char **argv)
{
	return run_or_create(ctx, argc, argv, false);
}

int cmd_create(struct wrap_ctx *ctx, int argc, char **argv)
{
	return run_or_create(ctx, argc, argv, true);
}
