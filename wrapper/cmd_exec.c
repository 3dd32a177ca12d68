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
#include <sys/stat.h>
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
	GByteArray *keys; /* detach_keys parsed */
	char **args;
	char **mon_argv;
	struct mon_spawn mon;
	bool keep_dir; /* detached: the monitor still uses it */
};

/* No --exit-dir: the status comes back on the sync socket, and nothing reads an exec's exit file. */
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

/* The exec bundle: a directory beside the container's with the process object in it. */
static int exec_prepare(struct exec_job *j, GError **err)
{
	g_autofree char *config = NULL, *process = NULL, *proc_path = NULL;

	if (state_status(j->ctx->root, j->st, NULL) != CTR_RUNNING)
		return cm_set_error(err, EINVAL, "container %s is not running (see ctr-wrap ps -a)", j->st->name);
	if (mon_parse_detach_keys(j->detach_keys ? j->detach_keys : MON_DEFAULT_DETACH_KEYS, j->keys, err) < 0)
		return -1;
	config = g_build_filename(j->st->bundle, "config.json", NULL);
	process = build_process_json(config, j->args, j->tty, err);
	if (!process)
		return -1;
	j->sid = session_id();
	j->dir = g_strdup_printf("%s/exec-%s", j->st->bundle, j->sid);
	if (mkdir(j->dir, 0700) < 0) {
		int e = errno;
		g_clear_pointer(&j->dir, g_free);
		return cm_set_errno(err, e, "mkdir %s/exec-%s", j->st->bundle, j->sid);
	}
	proc_path = g_build_filename(j->dir, "process.json", NULL);
	/* The runtime runs it as root: nobody else may write it, whatever the caller's umask. */
	return cm_write_file_atomic(proc_path, process, strlen(process), 0600, false, err);
}

/* Start the monitor and wait until its attach socket is there ({"data": 0} on the attach pipe). */
static int exec_spawn(struct exec_job *j, GError **err)
{
	g_autofree char *conmon = wrap_conmon(j->ctx, err);
	g_autofree char *message = NULL;
	int data = 0;

	if (!conmon)
		return -1;
	j->mon_argv = exec_monitor_argv(j, conmon);
	j->mon.argv = j->mon_argv;
	j->mon.cwd = j->dir;
	j->mon.exec_attach = true;
	if (mon_spawn(&j->mon, err) < 0 || mon_send_start(&j->mon, err) < 0 || mon_wait_first(&j->mon, err) < 0 ||
	    mon_read_msg(j->mon.attach_fd, MON_SYNC_TIMEOUT_MS, &data, &message, err) < 0)
		return -1;
	if (data < 0)
		return cm_set_error(err, EIO, "%s", message ? message : "exec failed");
	return 0;
}

/* The monitor's word on an exec that did not run, or ended without a status. */
static int exec_failed(char *message)
{
	fprintf(stderr, "ctr-wrap: %s\n", message ? g_strstrip(message) : "exec failed (no message)");
	return mon_failure_code(message);
}

/* Relay the session until it ends: its exit code, or 0 when the user detached. */
static int exec_relay(struct exec_job *j, int sock, const char *ctl, pid_t pid)
{
	struct mon_attach_opts o = {
		.sock = sock,
		.forward_stdin = j->interactive,
		.tty = j->tty,
		.detach_keys = j->keys->data,
		.n_detach_keys = j->keys->len,
		.ctl_path = ctl,
		.signal_pid = pid,
	};
	g_autoptr(GError) err = NULL;
	g_autofree char *message = NULL;
	enum mon_attach_result res = mon_attach_run(&o, &err);
	int data = 0;

	if (res == MON_ATTACH_ERROR)
		return wrap_fail(err);
	if (res == MON_ATTACH_DETACHED) {
		j->keep_dir = true;
		return 0;
	}
	if (mon_read_msg(j->mon.sync_fd, -1, &data, &message, &err) < 0)
		return wrap_fail(err);
	if (data < 0)
		return exec_failed(message);
	return data > 255 ? WRAP_EXIT_ERROR : data;
}

/*
 * The runtime has read the process object and the monitor the pid file: removed while the process runs,
 * they are not part of the cleanup the user waits for once it exits (the rest goes with the directory).
 */
static void exec_drop_spent_files(const struct exec_job *j)
{
	const char *spent[] = { "process.json", "exec_pid" };

	for (size_t i = 0; i < G_N_ELEMENTS(spent); i++) {
		g_autofree char *path = g_build_filename(j->dir, spent[i], NULL);
		if (unlink(path) < 0 && errno != ENOENT)
			g_debug("unlink %s: %s", path, g_strerror(errno));
	}
}

static int exec_run(struct exec_job *j)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *message = NULL, *ctl = NULL;
	_cleanup_close_ int sock = -1;
	int pid = 0;

	if (exec_prepare(j, &err) < 0 || exec_spawn(j, &err) < 0)
		return wrap_fail(err);
	sock = mon_attach_connect(j->dir, &err);
	if (sock < 0)
		return wrap_fail(err);
	ctl = g_build_filename(j->dir, "ctl", NULL);
	if (j->tty)
		mon_send_resize(ctl, STDIN_FILENO);
	/* The runtime child waits for this second byte: we are attached, nothing is lost. */
	if (mon_send_start(&j->mon, &err) < 0 ||
	    mon_read_msg(j->mon.sync_fd, MON_SYNC_TIMEOUT_MS, &pid, &message, &err) < 0)
		return wrap_fail(err);
	if (pid <= 0)
		return exec_failed(message);
	exec_drop_spent_files(j);
	return exec_relay(j, sock, ctl, pid);
}

static void exec_job_clear(struct exec_job *j)
{
	mon_spawn_close(&j->mon);
	if (j->dir && !j->keep_dir)
		state_rm_rf(j->dir, NULL);
	ctr_state_free(j->st);
	g_free(j->dir);
	g_free(j->sid);
	g_free(j->detach_keys);
	g_byte_array_unref(j->keys);
	g_strfreev(j->mon_argv);
}

int cmd_exec(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext)
		oc = wrap_option_context("CONTAINER COMMAND [ARG...]", "Run a command in a running container.");
	_cleanup_(exec_job_clear) struct exec_job j = { .ctx = ctx, .keys = g_byte_array_new() };
	const GOptionEntry entries[] = { { "tty", 't', 0, G_OPTION_ARG_NONE, &j.tty, "Allocate a terminal", NULL },
					 { "interactive", 'i', 0, G_OPTION_ARG_NONE, &j.interactive,
					   "Forward our stdin", NULL },
					 { "detach-keys", 0, 0, G_OPTION_ARG_STRING, &j.detach_keys,
					   "Keys that detach (default " MON_DEFAULT_DETACH_KEYS ")", "KEYS" },
					 { NULL } };
	g_autoptr(GError) err = NULL;

	mon_spawn_init(&j.mon);
	g_option_context_add_main_entries(oc, entries, NULL);
	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (argc < 3) {
		fprintf(stderr, "ctr-wrap: exec needs a container and a command: see ctr-wrap exec --help\n");
		return WRAP_EXIT_ERROR;
	}
	j.args = argv + 2;
	j.st = wrap_lookup(ctx, argv[1], &err);
	return j.st ? exec_run(&j) : wrap_fail(err);
}
