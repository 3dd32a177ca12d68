/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ctr-wrap exec`: a second process in a running container, through the
 * monitor's exec-attach protocol (docs/protocol.md, Exec attach): start byte ->
 * {"data": 0} on the attach pipe -> connect -> second start byte -> pid and
 * later the exit code on the sync socket.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/safe_open.h"
#include "wrapper/commands.h"
#include "wrapper/json_out.h"
#include "wrapper/monitor_attach.h"
#include "wrapper/monitor_spawn.h"

/* The container's process object with new args and terminal: what `runtime exec --process` takes. */
static char *build_process_json(const char *config_path, char **args, bool tty, GError **err)
{
	g_autofree char *text = NULL;
	const char *path[] = { "process", NULL };
	char errbuf[256] = "";
	yajl_val root, proc;
	yajl_gen g;
	g_autoptr(GError) local = NULL;

	if (!g_file_get_contents(config_path, &text, NULL, &local)) {
		cm_set_error(err, EIO, "%s", local->message);
		return NULL;
	}
	root = yajl_tree_parse(text, errbuf, sizeof(errbuf));
	proc = root ? yajl_tree_get(root, path, yajl_t_object) : NULL;
	if (!proc) {
		yajl_tree_free(root);
		return cm_set_error(err, EINVAL, "%s has no process object", config_path), NULL;
	}
	g = yajl_gen_alloc(NULL);
	yajl_gen_map_open(g);
	for (size_t i = 0; i < proc->u.object.len; i++) {
		const char *key = proc->u.object.keys[i];
		if (!strcmp(key, "args") || !strcmp(key, "terminal") || !strcmp(key, "consoleSize"))
			continue;
		json_str(g, key);
		json_value(g, proc->u.object.values[i]);
	}
	json_str(g, "terminal");
	yajl_gen_bool(g, tty);
	json_str(g, "args");
	json_strv(g, args);
	yajl_gen_map_close(g);
	yajl_tree_free(root);
	return json_finish(g);
}

static char *session_id(void)
{
	return g_strdup_printf("%08x%04x", g_random_int(), g_random_int() & 0xffff);
}

struct exec_job {
	struct wrap_ctx *ctx;
	struct ctr_state *st;
	char *dir; /* the exec bundle */
	char *sid;
	gboolean tty, interactive;
	char *detach_keys;
	char **args;
	struct mon_spawn mon;
	bool keep_dir; /* detached: the monitor still uses it */
};

static char **exec_monitor_argv(struct exec_job *j, const char *conmon)
{
	GPtrArray *a = g_ptr_array_new();
	const char *fixed[] = { "--api-version", "1",  "-c",   j->st->id, "-u", j->sid, "-r",
				j->st->runtime,	 "-b", j->dir, NULL };

	g_ptr_array_add(a, g_strdup(conmon));
	for (const char **f = fixed; *f; f++)
		g_ptr_array_add(a, g_strdup(*f));
	g_ptr_array_add(a, g_strdup("-p"));
	g_ptr_array_add(a, g_build_filename(j->dir, "exec_pid", NULL));
	g_ptr_array_add(a, g_strdup("-n"));
	g_ptr_array_add(a, g_strdup(j->st->name));
	g_ptr_array_add(a, g_strdup("--exit-dir"));
	g_ptr_array_add(a, g_build_filename(j->dir, "exit", NULL));
	g_ptr_array_add(a, g_strdup("--full-attach"));
	g_ptr_array_add(a, g_strdup("-l"));
	g_ptr_array_add(a, g_strdup("none"));
	g_ptr_array_add(a, g_strdup("--log-level"));
	g_ptr_array_add(a, g_strdup("warning"));
	g_ptr_array_add(a, g_strdup("--runtime-arg"));
	g_ptr_array_add(a, g_strdup("--root"));
	g_ptr_array_add(a, g_strdup("--runtime-arg"));
	g_ptr_array_add(a, state_runtime_root(j->ctx->root));
	if (j->tty)
		g_ptr_array_add(a, g_strdup("-t"));
	if (j->interactive)
		g_ptr_array_add(a, g_strdup("-i"));
	g_ptr_array_add(a, g_strdup("-e"));
	g_ptr_array_add(a, g_strdup("--exec-attach"));
	g_ptr_array_add(a, g_strdup("--exec-process-spec"));
	g_ptr_array_add(a, g_build_filename(j->dir, "process.json", NULL));
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

static int exec_run(struct exec_job *j)
{
	g_autofree char *conmon = NULL, *config = NULL, *process = NULL, *proc_path = NULL, *exit_dir = NULL;
	g_autofree char *message = NULL, *ctl = NULL;
	g_autoptr(GByteArray) keys = g_byte_array_new();
	g_auto(GStrv) argv = NULL;
	_cleanup_close_ int sock = -1;
	struct mon_attach_opts o = { 0 };
	enum mon_attach_result res;
	g_autoptr(GError) err = NULL;
	int data = 0;

	if (state_status(j->ctx->root, j->st, NULL) != CTR_RUNNING) {
		cm_set_error(&err, EINVAL, "container %s is not running (see ctr-wrap ps -a)", j->st->name);
		return wrap_fail(err);
	}
	if (mon_parse_detach_keys(j->detach_keys ? j->detach_keys : MON_DEFAULT_DETACH_KEYS, keys, &err) < 0 ||
	    !(conmon = wrap_conmon(j->ctx, &err)))
		return wrap_fail(err);
	config = g_build_filename(j->st->bundle, "config.json", NULL);
	process = build_process_json(config, j->args, j->tty, &err);
	if (!process)
		return wrap_fail(err);
	j->sid = session_id();
	j->dir = g_strdup_printf("%s/exec-%s", j->st->bundle, j->sid);
	exit_dir = g_build_filename(j->dir, "exit", NULL);
	proc_path = g_build_filename(j->dir, "process.json", NULL);
	if (g_mkdir_with_parents(exit_dir, 0700) < 0) {
		cm_set_errno(&err, errno, "mkdir %s", exit_dir);
		return wrap_fail(err);
	}
	/* The runtime runs it as root: nobody else may write it, whatever the caller's umask. */
	if (cm_write_file_atomic(proc_path, process, strlen(process), 0600, false, &err) < 0)
		return wrap_fail(err);

	argv = exec_monitor_argv(j, conmon);
	j->mon.argv = argv;
	j->mon.cwd = j->dir;
	j->mon.exec_attach = true;
	if (mon_spawn(&j->mon, &err) < 0 || mon_send_start(&j->mon, &err) < 0 || mon_wait_first(&j->mon, &err) < 0 ||
	    mon_read_msg(j->mon.attach_fd, MON_SYNC_TIMEOUT_MS, &data, &message, &err) < 0)
		return wrap_fail(err);
	if (data < 0) {
		cm_set_error(&err, EIO, "%s", message ? message : "exec failed");
		return wrap_fail(err);
	}
	sock = mon_attach_connect(j->dir, &err);
	if (sock < 0)
		return wrap_fail(err);
	ctl = g_build_filename(j->dir, "ctl", NULL);
	if (j->tty)
		mon_send_resize(ctl, STDIN_FILENO);
	/* The runtime child waits for this second byte: we are attached, nothing is lost. */
	if (mon_send_start(&j->mon, &err) < 0)
		return wrap_fail(err);
	g_clear_pointer(&message, g_free);
	if (mon_read_msg(j->mon.sync_fd, MON_SYNC_TIMEOUT_MS, &data, &message, &err) < 0)
		return wrap_fail(err);
	if (data <= 0) {
		fprintf(stderr, "ctr-wrap: %s\n", message ? g_strstrip(message) : "exec failed (no message)");
		return mon_failure_code(message);
	}
	o.sock = sock;
	o.forward_stdin = j->interactive;
	o.tty = j->tty;
	o.detach_keys = keys->data;
	o.n_detach_keys = keys->len;
	o.ctl_path = ctl;
	o.signal_pid = data;
	res = mon_attach_run(&o, &err);
	if (res == MON_ATTACH_ERROR)
		return wrap_fail(err);
	if (res == MON_ATTACH_DETACHED) {
		j->keep_dir = true;
		return 0;
	}
	g_clear_pointer(&message, g_free);
	if (mon_read_msg(j->mon.sync_fd, -1, &data, &message, &err) < 0)
		return wrap_fail(err);
	if (data < 0) {
		fprintf(stderr, "ctr-wrap: %s\n", message ? g_strstrip(message) : "exec failed (no message)");
		return mon_failure_code(message);
	}
	return data > 255 ? WRAP_EXIT_ERROR : data;
}

int cmd_exec(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext)
		oc = wrap_option_context("CONTAINER COMMAND [ARG...]", "Run a command in a running container.");
	struct exec_job j = { .ctx = ctx };
	const GOptionEntry entries[] = { { "tty", 't', 0, G_OPTION_ARG_NONE, &j.tty, "Allocate a terminal", NULL },
					 { "interactive", 'i', 0, G_OPTION_ARG_NONE, &j.interactive,
					   "Forward our stdin", NULL },
					 { "detach-keys", 0, 0, G_OPTION_ARG_STRING, &j.detach_keys,
					   "Keys that detach (default " MON_DEFAULT_DETACH_KEYS ")", "KEYS" },
					 { NULL } };
	g_autoptr(GError) err = NULL;
	int rc;

	g_option_context_add_main_entries(oc, entries, NULL);
	mon_spawn_init(&j.mon);
	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (argc < 3) {
		fprintf(stderr, "ctr-wrap: exec needs a container and a command: see ctr-wrap exec --help\n");
		g_free(j.detach_keys);
		return WRAP_EXIT_ERROR;
	}
	j.args = argv + 2;
	j.st = wrap_lookup(ctx, argv[1], &err);
	rc = j.st ? exec_run(&j) : wrap_fail(err);
	mon_spawn_close(&j.mon);
	if (j.dir && !j.keep_dir)
		state_rm_rf(j.dir, NULL);
	ctr_state_free(j.st);
	g_free(j.dir);
	g_free(j.sid);
	g_free(j.detach_keys);
	return rc;
}
