/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/ctr_launch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "wrapper/monitor_attach.h"
#include "wrapper/monitor_exit.h"
#include "wrapper/monitor_spawn.h"
#include "wrapper/oci_runtime.h"
#include "wrapper/port_forward.h"
#include "wrapper/ports.h"

/* How long a restart waits for the previous monitor and forwarder to let go of the ports. */
#define PORT_RETRY_MS 3000

static char **build_monitor_argv(struct wrap_ctx *ctx, const char *conmon, const struct ctr_state *st)
{
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
	if (g_strcmp0(st->log_driver, "k8s-file") == 0) {
		ADD("-l");
		ADDF("k8s-file:%s", st->log_path);
		if (st->log_size_max > 0) {
			ADD("--log-size-max");
			ADDF("%" G_GINT64_FORMAT, st->log_size_max);
		}
	} else {
		ADD("-l");
		ADD(st->log_driver);
	}
	ADD("--log-level");
	ADD("warning");
	ADD("--runtime-arg");
	ADD("--root");
	ADD("--runtime-arg");
	g_ptr_array_add(a, state_runtime_root(ctx->root));
	/* A slice:prefix:name cgroupsPath; later runtime calls read the driver from the runtime's state. */
	if (st->cgroup_systemd) {
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
	/* For the runtime's delete when a foreground client has removed the state already. */
	ADD("--exit-command-arg");
	ADD("--runtime");
	ADD("--exit-command-arg");
	ADD(st->runtime);
	ADD("--exit-command-arg");
	ADD("cleanup");
	ADD("--exit-command-arg");
	ADDF("--launch=%d", st->launches);
	ADD("--exit-command-arg");
	ADD(st->id);
	if (st->tty)
		ADD("-t");
	if (st->interactive)
		ADD("-i");
	/* A terminal's EOF is typed (^D); detaching must not close it for the next attach. */
	if (st->tty && st->interactive)
		ADD("--leave-stdin-open");
#undef ADD
#undef ADDF
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

static pid_t read_pidfile(const char *path)
{
	g_autofree char *text = NULL;
	int pid = 0;

	if (!g_file_get_contents(path, &text, NULL, NULL) || !cm_parse_int(g_strstrip(text), &pid))
		return 0;
	return pid;
}

static int run_monitor(struct wrap_ctx *ctx, struct ctr_state *st, const char *conmon, GArray *port_fds,
		       struct mon_spawn *mon, int *exit_code, GError **err)
{
	g_auto(GStrv) argv = build_monitor_argv(ctx, conmon, st);
	g_autofree char *message = NULL;
	g_autofree char *pidfile = g_build_filename(st->bundle, "conmon.pid", NULL);
	int data = 0;

	mon->argv = argv;
	/* As podman: the monitor's files (an "oom" marker) go into the bundle, not the caller's directory. */
	mon->cwd = st->bundle;
	mon->extra_fds = (const int *)(void *)port_fds->data;
	mon->n_extra = port_fds->len;
	if (mon_spawn(mon, err) < 0 || mon_send_start(mon, err) < 0 || mon_wait_first(mon, err) < 0)
		return -1;
	mon->argv = NULL;
	st->monitor_pid = read_pidfile(pidfile);
	if (mon_read_msg(mon->sync_fd, MON_SYNC_TIMEOUT_MS, &data, &message, err) < 0)
		return -1;
	if (data <= 0) {
		*exit_code = mon_failure_code(message);
		if (message)
			g_strstrip(message);
		return cm_set_error(err, EIO, "%s",
				    message && message[0] ? message : "container create failed (no message)");
	}
	st->pid = data;
	return 0;
}

/* What the previous monitor left in the bundle; conmon refuses to make its fifos over old ones. */
static void remove_monitor_files(const char *root, const struct ctr_state *st)
{
	static const char *const names[] = { "attach", "ctl", "winsz", "oom", "conmon.pid", "pidfile", NULL };
	g_autofree char *exit_file = state_exit_file(root, st->id);

	for (const char *const *n = names; *n; n++) {
		g_autofree char *p = g_build_filename(st->bundle, *n, NULL);
		if (unlink(p) < 0 && errno != ENOENT)
			g_debug("unlink %s: %s", p, g_strerror(errno));
	}
	if (unlink(exit_file) < 0 && errno != ENOENT)
		g_debug("unlink %s: %s", exit_file, g_strerror(errno));
}

static GArray *publish_mappings(char **specs, GError **err)
{
	g_autoptr(GArray) mappings = ports_mappings_new();

	for (char **p = specs; p && *p; p++)
		if (ports_parse(*p, mappings, err) < 0)
			return NULL;
	return g_steal_pointer(&mappings);
}

int ctr_launch_reserve(struct ctr_state *st, char **specs, GArray *port_fds, GError **err)
{
	g_autoptr(GArray) mappings = publish_mappings(specs, err);
	g_autoptr(GPtrArray) ports = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) publish = g_ptr_array_new_with_free_func(g_free);

	if (!mappings || ports_reserve(mappings, port_fds, err) < 0)
		return -1;
	if (!mappings->len)
		return 0;
	for (guint i = 0; i < mappings->len; i++) {
		const struct port_mapping *m = &g_array_index(mappings, struct port_mapping, i);
		g_ptr_array_add(ports, ports_format(m));
		g_ptr_array_add(publish, ports_spec(m));
	}
	g_ptr_array_add(ports, NULL);
	g_ptr_array_add(publish, NULL);
	g_strfreev(st->ports);
	g_strfreev(st->publish);
	st->ports = (char **)g_ptr_array_steal(ports, NULL);
	st->publish = (char **)g_ptr_array_steal(publish, NULL);
	return 0;
}

/* The previous monitor and forwarder may still hold the ports for a moment after the container exited. */
static int reserve_again(const struct ctr_state *st, GArray *mappings, GArray *port_fds, GError **err)
{
	gint64 deadline = g_get_monotonic_time() + PORT_RETRY_MS * 1000;

	for (;;) {
		g_autoptr(GError) local = NULL;

		if (ports_reserve(mappings, port_fds, &local) == 0)
			return 0;
		if (cm_error_errno(local) != EADDRINUSE || g_get_monotonic_time() >= deadline) {
			g_prefix_error(&local, "container %s: ", st->name);
			g_propagate_error(err, g_steal_pointer(&local));
			return -1;
		}
		g_usleep(50 * 1000);
	}
}

static char *now_rfc3339(void)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_local();
	return g_date_time_format_iso8601(now);
}

/* Kill what a failed launch started and make the runtime forget it. */
static void undo(struct wrap_ctx *ctx, struct ctr_state *st)
{
	g_autofree char *rt_root = state_runtime_root(ctx->root);

	if (st->pid > 0 && state_pid_alive(st->monitor_pid)) {
		const char *kill_args[] = { "kill", st->id, "KILL", NULL };
		int code;
		oci_runtime_call(st->runtime, rt_root, kill_args, NULL, NULL);
		mon_wait_exit(ctx->root, st, 5000, &code, NULL);
	}
	st->deleted = false;
	wrap_runtime_forget(ctx, st);
}

static int launch_steps(struct wrap_ctx *ctx, struct ctr_state *st, struct ctr_launch *l, GArray *port_fds,
			struct mon_spawn *mon, GError **err)
{
	g_autofree char *conmon = wrap_conmon(ctx, err);
	g_autofree char *rt_root = state_runtime_root(ctx->root);
	const char *start[] = { "start", st->id, NULL };
	g_autoptr(GArray) mappings = NULL;
	pid_t fwd = 0;

	if (!conmon)
		return -1;
	if (!g_file_test(st->rootfs, G_FILE_TEST_IS_DIR))
		return cm_set_error(err, ENOENT,
				    "the root file system %s of container %s is gone (restore it, or ctr-wrap rm %s)",
				    st->rootfs, st->name, st->name);
	if (!(mappings = publish_mappings(st->publish, err)))
		return -1;
	if (!port_fds->len && mappings->len && reserve_again(st, mappings, port_fds, err) < 0)
		return -1;
	if (run_monitor(ctx, st, conmon, port_fds, mon, &l->exit_code, err) < 0)
		return -1;
	if (mappings->len) {
		fwd = port_forward_start(ctx->self, mappings, port_fds, st->pid, err);
		if (fwd <= 0)
			return -1;
	}
	/* The monitor (and forwarder) hold the reservations now. */
	ports_close_fds(port_fds);
	if (state_save(ctx->root, st, err) < 0)
		return -1;
	if (l->attach) {
		l->sock = mon_attach_connect(st->bundle, err);
		if (l->sock < 0)
			return -1;
		if (st->tty) {
			g_autofree char *ctl = g_build_filename(st->bundle, "ctl", NULL);
			mon_send_resize(ctl, STDIN_FILENO);
		}
	}
	if (oci_runtime_call(st->runtime, rt_root, start, NULL, err) < 0)
		return -1;
	st->status = CTR_RUNNING;
	return state_save(ctx->root, st, err);
}

int ctr_launch(struct wrap_ctx *ctx, struct ctr_state *st, struct ctr_launch *l, GError **err)
{
	g_autoptr(GArray) own_fds = g_array_new(FALSE, FALSE, sizeof(int));
	GArray *port_fds = l->port_fds ? l->port_fds : own_fds;
	/* The monitor's sync and start fds stay open until the runtime started the container, as podman keeps them. */
	struct mon_spawn mon;
	int r;

	l->sock = -1;
	l->exit_code = WRAP_EXIT_ERROR;
	/* A start right after an exit may come before the old monitor's cleanup. */
	wrap_runtime_forget(ctx, st);
	remove_monitor_files(ctx->root, st);
	st->launches++;
	g_free(st->started);
	g_free(st->boot_id);
	st->started = now_rfc3339();
	st->boot_id = state_boot_id();
	st->status = CTR_CREATED;
	st->monitor_pid = 0;
	st->pid = 0;
	st->deleted = false;
	st->paused = false;
	/* No exit file and no monitor yet: `created` to everyone who looks meanwhile. */
	mon_spawn_init(&mon);
	r = state_save(ctx->root, st, err) == 0 ? launch_steps(ctx, st, l, port_fds, &mon, err) : -1;
	mon_spawn_close(&mon);
	if (r == 0)
		return 0;
	ports_close_fds(port_fds);
	cm_closep(&l->sock);
	l->sock = -1;
	undo(ctx, st);
	return -1;
}
