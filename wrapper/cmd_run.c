/* SPDX-License-Identifier: Apache-2.0 */
/* `ctr-wrap run`: create a container through the monitor exactly as podman does, then start it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "wrapper/commands.h"
#include "wrapper/image_rootfs.h"
#include "wrapper/monitor_attach.h"
#include "wrapper/monitor_exit.h"
#include "wrapper/monitor_spawn.h"
#include "wrapper/oci_runtime.h"
#include "wrapper/port_forward.h"
#include "wrapper/ports.h"
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
	gint64 log_size_max;
};

static void run_opts_clear(struct run_opts *r)
{
	g_free(r->name);
	g_free(r->detach_keys);
	g_free(r->log_driver);
	g_strfreev(r->log_opts);
	g_strfreev(r->publish);
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
			return cm_set_error(err, EINVAL, "--log-opt %s: only the k8s-file log driver takes options", *o);
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

static char **build_monitor_argv(struct wrap_ctx *ctx, const char *conmon, const struct ctr_state *st,
				 const struct run_opts *r, const struct spec_opts *so)
{
	bool tty = so->tty;
	GPtrArray *a = g_ptr_array_new();
	g_autofree char *dir = state_ctr_dir(ctx->root, st->id);

#define ADD(s) g_ptr_array_add(a, g_strdup(s))
#define ADDF(...) g_ptr_array_add(a, g_strdup_printf(__VA_ARGS__))
	ADD(conmon);
	ADD("--api-version");
	ADD("1");
	ADD("-c");
	ADD(st->id);
	ADD("-u");
	ADD(st->id);
	ADD("-r");
	ADD(st->runtime);
	ADD("-b");
	ADD(st->bundle);
	ADD("-p");
	ADDF("%s/pidfile", st->bundle);
	ADD("-n");
	ADD(st->name);
	ADD("--exit-dir");
	ADDF("%s/exits", dir);
	ADD("--full-attach");
	if (strcmp(r->log_driver, "k8s-file") == 0) {
		ADD("-l");
		ADDF("k8s-file:%s", st->log_path);
		if (r->log_size_max > 0) {
			ADD("--log-size-max");
			ADDF("%" G_GINT64_FORMAT, r->log_size_max);
		}
	} else {
		ADD("-l");
		ADD(r->log_driver);
	}
	ADD("--log-level");
	ADD("warning");
	ADD("--runtime-arg");
	ADD("--root");
	ADD("--runtime-arg");
	g_ptr_array_add(a, state_runtime_root(ctx->root));
	/* A slice:prefix:name cgroupsPath; later runtime calls read the driver from the runtime's state. */
	if (so->cgroup_systemd) {
		ADD("--runtime-arg");
		ADD("--systemd-cgroup");
	}
	ADD("--conmon-pidfile");
	ADDF("%s/conmon.pid", dir);
	ADD("--exit-command");
	ADD(ctx->self);
	ADD("--exit-command-arg");
	ADD("--root");
	ADD("--exit-command-arg");
	ADD(ctx->root);
	ADD("--exit-command-arg");
	ADD("cleanup");
	ADD("--exit-command-arg");
	ADD(st->id);
	if (tty)
		ADD("-t");
	if (r->interactive)
		ADD("-i");
	/* A terminal's EOF is typed (^D); detaching must not close it for the next attach. */
	if (tty && r->interactive)
		ADD("--leave-stdin-open");
#undef ADD
#undef ADDF
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

static int save_locked(struct wrap_ctx *ctx, const struct ctr_state *st, GError **err)
{
	_cleanup_close_ int lock = state_lock_ctr(ctx->root, st->id, err);

	if (lock < 0)
		return -1;
	return state_save(ctx->root, st, err);
}

static pid_t read_pidfile(const char *path)
{
	g_autofree char *text = NULL;
	int pid = 0;

	if (!g_file_get_contents(path, &text, NULL, NULL) || !cm_parse_int(g_strstrip(text), &pid))
		return 0;
	return pid;
}

/* The monitor and the port reservations it is handed. */
struct launch {
	struct mon_spawn mon;
	GArray *port_fds;
	GArray *mappings;
	int exit_code;		/* for a create failure reported by the monitor */
};

static int launch_monitor(struct wrap_ctx *ctx, const char *conmon, struct ctr_state *st, const struct run_opts *r,
			   const struct spec_opts *so, struct launch *l, GError **err)
{
	g_auto(GStrv) argv = build_monitor_argv(ctx, conmon, st, r, so);
	g_autofree char *message = NULL;
	g_autofree char *pidfile = g_build_filename(ctx->root, st->id, "conmon.pid", NULL);
	int data = 0;

	l->mon.argv = argv;
	l->mon.extra_fds = (const int *)(void *)l->port_fds->data;
	l->mon.n_extra = l->port_fds->len;
	if (mon_spawn(&l->mon, err) < 0)
		return -1;
	if (mon_send_start(&l->mon, err) < 0 || mon_wait_first(&l->mon, err) < 0)
		return -1;
	st->monitor_pid = read_pidfile(pidfile);
	if (mon_read_msg(l->mon.sync_fd, MON_SYNC_TIMEOUT_MS, &data, &message, err) < 0)
		return -1;
	if (data <= 0) {
		l->exit_code = mon_failure_code(message);
		if (message)
			g_strstrip(message);
		return cm_set_error(err, EIO, "%s",
				    message && message[0] ? message : "container create failed (no message)");
	}
	st->pid = data;
	return 0;
}

static int start_forwarder(struct wrap_ctx *ctx, struct launch *l, const struct ctr_state *st, pid_t *fwd,
			   GError **err)
{
	if (!l->mappings->len)
		return 0;
	*fwd = port_forward_start(ctx->self, l->mappings, l->port_fds, st->pid, err);
	return *fwd > 0 ? 0 : -1;
}

struct run_job {
	struct wrap_ctx *ctx;
	struct run_opts r;
	struct spec_opts so;
	struct image_rootfs ir;
	struct spec_host host;
	struct launch l;
	struct ctr_state *st;
	GByteArray *keys;
	char *conmon;
	char *rt_root;
};

/* Options, spec, runtime and monitor choice, the state dir. */
static int prepare(struct run_job *j, GError **err)
{
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *json = NULL;
	struct ctr_state *st = j->st;

	for (char **p = j->r.publish; p && *p; p++)
		if (ports_parse(*p, j->l.mappings, err) < 0)
			return -1;
	if (!(st->runtime = wrap_runtime(j->ctx, err)) || !(j->conmon = wrap_conmon(j->ctx, err)) ||
	    state_init_root(j->ctx->root, err) < 0 || !(st->id = spec_new_id(err)))
		return -1;
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
	st->status = CTR_CREATED;
	st->rm = j->r.rm;
	st->tty = j->so.tty;
	st->attached = !j->r.detach;
	j->rt_root = state_runtime_root(j->ctx->root);
	if (state_create(j->ctx->root, st, err) < 0)
		return -1;
	if (spec_write_bundle(st->bundle, json, err) < 0) {
		wrap_cleanup(j->ctx, st, true, NULL);
		return -1;
	}
	return 0;
}

/*
 * Under the container lock: a command that exits at once makes the monitor run
 * `cleanup` (runtime delete) while `runtime start` may still be finishing.
 */
static int mark_running(struct run_job *j, GError **err)
{
	const char *start[] = { "start", j->st->id, NULL };
	_cleanup_close_ int lock = state_lock_ctr(j->ctx->root, j->st->id, err);

	if (lock < 0 || oci_runtime_call(j->st->runtime, j->rt_root, start, NULL, err) < 0)
		return -1;
	j->st->status = CTR_RUNNING;
	return state_save(j->ctx->root, j->st, err);
}

/* Reserve ports, launch the monitor (create), forward ports, start; *sock is the attach socket unless -d. */
static int launch(struct run_job *j, int *sock, GError **err)
{
	struct ctr_state *st = j->st;
	pid_t fwd = 0;

	/* Kept close-on-exec here: the monitor and the forwarder get copies placed for them. */
	if (ports_reserve(j->l.mappings, j->l.port_fds, err) < 0)
		return -1;
	if (j->l.mappings->len) {
		GPtrArray *ps = g_ptr_array_new();
		for (guint i = 0; i < j->l.mappings->len; i++)
			g_ptr_array_add(ps, ports_format(&g_array_index(j->l.mappings, struct port_mapping, i)));
		g_ptr_array_add(ps, NULL);
		st->ports = (char **)g_ptr_array_free(ps, FALSE);
	}
	if (launch_monitor(j->ctx, j->conmon, st, &j->r, &j->so, &j->l, err) < 0)
		return -1;
	if (start_forwarder(j->ctx, &j->l, st, &fwd, err) < 0 || save_locked(j->ctx, st, err) < 0)
		return -1;
	/* The monitor (and forwarder) hold the reservations now. */
	ports_close_fds(j->l.port_fds);
	if (j->r.detach)
		return mark_running(j, err);
	*sock = mon_attach_connect(st->bundle, err);
	if (*sock < 0)
		return -1;
	if (j->so.tty) {
		g_autofree char *ctl = g_build_filename(st->bundle, "ctl", NULL);
		mon_send_resize(ctl, STDIN_FILENO);
	}
	/* Attached before start: not a byte of output is lost. */
	return mark_running(j, err);
}

/* Undo a half-made container after err; returns the exit code. */
static int abandon(struct run_job *j, const GError *err)
{
	struct ctr_state *st = j->st;
	int rc = j->l.exit_code;

	fprintf(stderr, "ctr-wrap: %s\n", err->message);
	if (st->pid > 0 && state_pid_alive(st->monitor_pid)) {
		const char *kill_args[] = { "kill", st->id, "KILL", NULL };
		int code;
		oci_runtime_call(st->runtime, j->rt_root, kill_args, NULL, NULL);
		mon_wait_exit(j->ctx->root, st, 5000, &code, NULL);
	}
	ports_close_fds(j->l.port_fds);
	wrap_cleanup(j->ctx, st, true, NULL);
	return rc;
}

static int run_job(struct run_job *j, int argc, char **argv, GOptionContext *oc)
{
	g_autoptr(GError) err = NULL;
	_cleanup_close_ int sock = -1;

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
	if (launch(j, &sock, &err) < 0)
		return abandon(j, err);
	if (j->r.detach) {
		printf("%s\n", j->st->id);
		return 0;
	}
	return wrap_attach_and_wait(j->ctx, j->st, TAKE_FD(sock), j->r.interactive, j->keys, j->r.rm);
}

int cmd_run(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext) oc = wrap_option_context(
		"ROOTFS|IMAGE [COMMAND [ARG...]]",
		"Run COMMAND in a new container whose root is ROOTFS, or made from IMAGE (a loaded image's name\n"
		"or id, or oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:TAG], loaded first).");
	struct run_job j = { .ctx = ctx, .l.exit_code = WRAP_EXIT_ERROR };
	const GOptionEntry entries[] = {
		{ "name", 0, 0, G_OPTION_ARG_STRING, &j.r.name, "Container name (default: the short id)", "NAME" },
		{ "detach", 'd', 0, G_OPTION_ARG_NONE, &j.r.detach, "Run in the background, print the id", NULL },
		{ "interactive", 'i', 0, G_OPTION_ARG_NONE, &j.r.interactive, "Keep stdin open and forward it",
		  NULL },
		{ "rm", 0, 0, G_OPTION_ARG_NONE, &j.r.rm, "Remove the container when it exits", NULL },
		{ "detach-keys", 0, 0, G_OPTION_ARG_STRING, &j.r.detach_keys,
		  "Keys that detach (default " MON_DEFAULT_DETACH_KEYS ", \"\" disables)", "KEYS" },
		{ "log-driver", 0, 0, G_OPTION_ARG_STRING, &j.r.log_driver, "k8s-file (default), journald or none",
		  "DRIVER" },
		{ "log-opt", 0, 0, G_OPTION_ARG_STRING_ARRAY, &j.r.log_opts, "max-size=SIZE (k8s-file)", "OPT" },
		{ "publish", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &j.r.publish,
		  "Publish a port [IP:][HOST:]CTR[/PROTO]", "SPEC" },
		{ NULL }
	};
	int rc;

	spec_opts_init(&j.so);
	spec_opts_add_entries(oc, &j.so);
	image_rootfs_add_entries(oc, &j.ir, TRUE);
	g_option_context_add_main_entries(oc, entries, NULL);
	g_option_context_set_description(oc, "Options must come before ROOTFS or IMAGE.\n"
					     "Example: ctr-wrap run --rm -it ./rootfs /bin/sh\n");
	mon_spawn_init(&j.l.mon);
	j.l.port_fds = g_array_new(FALSE, FALSE, sizeof(int));
	j.l.mappings = ports_mappings_new();
	j.keys = g_byte_array_new();
	j.st = g_new0(struct ctr_state, 1);
	spec_host_detect(&j.host);

	rc = run_job(&j, argc, argv, oc);
	/* A container that exists keeps its image root until it is removed. */
	if (!j.st->bundle || !g_file_test(j.st->bundle, G_FILE_TEST_IS_DIR))
		image_rootfs_release(&j.ir);

	mon_spawn_close(&j.l.mon);
	ports_close_fds(j.l.port_fds);
	g_array_unref(j.l.port_fds);
	g_array_unref(j.l.mappings);
	g_byte_array_unref(j.keys);
	ctr_state_free(j.st);
	g_free(j.conmon);
	g_free(j.rt_root);
	spec_host_clear(&j.host);
	spec_opts_clear(&j.so);
	image_rootfs_clear(&j.ir);
	run_opts_clear(&j.r);
	return rc;
}
