/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/commands.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/safe_open.h"
#include "wrapper/cmd_spec.h"
#include "wrapper/image_mount.h"
#include "wrapper/image_store.h"
#include "wrapper/oci_runtime.h"
#include "wrapper/port_forward.h"
#include "wrapper/restart_policy.h"
#include "wrapper/spec.h"

static int spec_adapter(struct wrap_ctx *ctx, int argc, char **argv)
{
	return cmd_spec(ctx->storage, argc, argv);
}

/* Started by `run -p` with its fds in place (port_forward.h). */
static int port_forward_adapter(struct wrap_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	return port_forward_main(argc, argv);
}

const struct wrap_command wrap_commands[] = {
	{ "run", cmd_run, "Run COMMAND in a new container from ROOTFS or an image" },
	{ "create", cmd_create, "Create a container from ROOTFS or an image without starting it" },
	{ "start", cmd_start, "Start created or exited containers" },
	{ "restart", cmd_restart, "Stop and start containers" },
	{ "ps", cmd_ps, "List containers" },
	{ "logs", cmd_logs, "Show a container's output" },
	{ "attach", cmd_attach, "Attach to a running container's input and output" },
	{ "exec", cmd_exec, "Run a command in a running container" },
	{ "stop", cmd_stop, "Stop a container (SIGTERM, then SIGKILL)" },
	{ "kill", cmd_kill, "Send a signal to a container" },
	{ "pause", cmd_pause, "Freeze a container's processes" },
	{ "unpause", cmd_unpause, "Thaw a paused container" },
	{ "wait", cmd_wait, "Wait for a container to exit and print its exit code" },
	{ "rm", cmd_rm, "Remove a container" },
	{ "inspect", cmd_inspect, "Show a container's state as JSON" },
	{ "stats", cmd_stats, "Show containers' CPU, memory, pids, block and network I/O" },
	{ "top", cmd_top, "Show a container's processes" },
	{ "update", cmd_update, "Change a running container's limits" },
	{ "spec", spec_adapter, "Print the OCI config.json that run would use" },
	{ "image", cmd_image, "Load, list, inspect and remove images" },
	{ "cleanup", cmd_cleanup, NULL },
	{ "port-forward", port_forward_adapter, NULL },
	{ NULL, NULL, NULL },
};

static const struct wrap_command *wrap_command_find(const char *name)
{
	for (const struct wrap_command *c = wrap_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int wrap_fail(const GError *err)
{
	fprintf(stderr, "ctr-wrap: %s\n", err ? err->message : "unknown error");
	return WRAP_EXIT_ERROR;
}

int wrap_parse(GOptionContext *oc, int *argc, char ***argv)
{
	g_autoptr(GError) err = NULL;
	const char *cmd = (*argc > 0) ? (*argv)[0] : "?";

	if (g_option_context_parse(oc, argc, argv, &err))
		return 0;
	fprintf(stderr, "ctr-wrap: %s: see ctr-wrap %s --help\n", err->message, cmd);
	return -1;
}

GOptionContext *wrap_option_context(const char *params, const char *summary)
{
	GOptionContext *oc = g_option_context_new(params);

	g_option_context_set_summary(oc, summary);
	g_option_context_set_strict_posix(oc, TRUE);
	return oc;
}

static char *find_program(const char *name)
{
	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? g_canonicalize_filename(name, NULL) : NULL;
	return g_find_program_in_path(name);
}

static bool runtime_works(const char *path)
{
	const char *argv[] = { path, "--version", NULL };
	int status = 0;

	return g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
			    NULL, NULL, NULL, &status, NULL) &&
	       g_spawn_check_wait_status(status, NULL);
}

char *wrap_runtime(struct wrap_ctx *ctx, GError **err)
{
	static const char *const candidates[] = { "runc", "crun" };

	if (ctx->runtime_opt) {
		char *p = find_program(ctx->runtime_opt);
		if (!p)
			cm_set_error(err, ENOENT, "runtime %s not found (give a path or install it)", ctx->runtime_opt);
		return p;
	}
	/* Probing costs a runtime start (~20 ms): remember the answer under --root. */
	g_autofree char *cache = g_build_filename(ctx->root, "default-runtime", NULL);
	g_autoptr(GError) local = NULL;
	g_autofree char *cached = state_read_trusted(cache, PATH_MAX, &local);
	/* We would exec what it names as root: one that others could have written is an error, not a cache miss. */
	if (!cached && cm_error_errno(local) != ENOENT) {
		g_propagate_error(err, g_steal_pointer(&local));
		return NULL;
	}
	if (cached && g_path_is_absolute(cached) && access(cached, X_OK) == 0)
		return g_steal_pointer(&cached);
	for (size_t i = 0; i < G_N_ELEMENTS(candidates); i++) {
		g_autofree char *p = find_program(candidates[i]);
		if (p && runtime_works(p)) {
			if (g_mkdir_with_parents(ctx->root, 0700) == 0 &&
			    cm_write_file_atomic(cache, p, strlen(p), 0600, false, &local) < 0) {
				g_debug("%s", local->message);
				g_clear_error(&local);
			}
			return g_steal_pointer(&p);
		}
	}
	cm_set_error(err, ENOENT, "no working OCI runtime (install runc or crun, or pass --runtime PATH)");
	return NULL;
}

char *wrap_conmon(struct wrap_ctx *ctx, GError **err)
{
	g_autofree char *dir = NULL;
	char *p;

	if (ctx->conmon_opt) {
		p = find_program(ctx->conmon_opt);
		if (!p)
			cm_set_error(err, ENOENT, "monitor %s not found or not executable (check --conmon)",
				     ctx->conmon_opt);
		return p;
	}
	dir = g_path_get_dirname(ctx->self);
	p = g_build_filename(dir, "..", "libexec", "ctr-wrap", "conmon", NULL);
	if (access(p, X_OK) == 0)
		return p;
	g_free(p);
	p = g_build_filename(dir, "..", "conmon", "conmon", NULL);
	if (access(p, X_OK) == 0)
		return p;
	g_free(p);
	if (access("/usr/bin/conmon", X_OK) == 0)
		return g_strdup("/usr/bin/conmon");
	cm_set_error(err, ENOENT, "no monitor found (install conmon or pass --conmon PATH)");
	return NULL;
}

int wrap_remove_broken(struct wrap_ctx *ctx, const char *ref, GError **err)
{
	g_autofree char *id = state_resolve(ctx->root, ref, err);
	g_autofree char *rt_root = state_runtime_root(ctx->root);
	g_autofree char *runtime = NULL;
	g_autoptr(GError) local = NULL;
	_cleanup_close_ int lock = -1;

	if (!id)
		return -1;
	lock = state_lock_ctr(ctx->root, id, NULL);
	/* Without a state we do not know its runtime: the default one is the best guess. */
	runtime = wrap_runtime(ctx, &local);
	if (runtime) {
		const char *del[] = { "delete", "--force", id, NULL };
		if (oci_runtime_call(runtime, rt_root, del, NULL, &local) < 0)
			g_debug("%s", local->message);
	}
	return state_remove_broken(ctx->root, id, err);
}

struct ctr_state *wrap_lookup(struct wrap_ctx *ctx, const char *ref, GError **err)
{
	g_autofree char *id = state_resolve(ctx->root, ref, err);

	if (!id)
		return NULL;
	return state_load(ctx->root, id, err);
}

/*
 * The runtime removes only the container's own cgroup. Our shared parent goes
 * once empty; while other containers live in it rmdir fails, as it should.
 */
static void release_parent_cgroup(void)
{
	g_autoptr(GDir) dir = g_dir_open("/sys/fs/cgroup", 0, NULL);
	const char *name;
	if (rmdir("/sys/fs/cgroup" SPEC_DEFAULT_CGROUP_PARENT) < 0 && errno != ENOENT && errno != EBUSY &&
	    errno != ENOTDIR)
		g_debug("rmdir parent cgroup: %s", g_strerror(errno));
	while (dir && (name = g_dir_read_name(dir)) != NULL) {
		g_autofree char *path = g_strdup_printf("/sys/fs/cgroup/%s" SPEC_DEFAULT_CGROUP_PARENT, name);
		rmdir(path);
	}
}

void wrap_runtime_forget(struct wrap_ctx *ctx, struct ctr_state *st)
{
	g_autofree char *rt_root = state_runtime_root(ctx->root);
	const char *del[] = { "delete", "--force", st->id, NULL };
	g_autoptr(GError) local = NULL;

	/* Cleanup runs twice for a foreground --rm (exit command, then `run`): one delete is enough. */
	if (st->deleted)
		return;
	if (oci_runtime_call(st->runtime, rt_root, del, NULL, &local) == 0)
		st->deleted = true;
	else
		g_debug("%s", local->message);
	release_parent_cgroup();
}

int wrap_cleanup(struct wrap_ctx *ctx, struct ctr_state *st, bool force_remove, GError **err)
{
	bool was_deleted = st->deleted;

	wrap_runtime_forget(ctx, st);
	if (force_remove || (st->rm && !st->attached)) {
		if (st->image_mount && image_mount_release(st->image_mount, err) < 0)
			return -1;
		return state_remove(ctx->root, st, err);
	}
	if (was_deleted || !st->deleted)
		return 0;
	return state_save(ctx->root, st, err);
}

int wrap_remove_exited(struct wrap_ctx *ctx, const struct ctr_state *st, GError **err)
{
	_cleanup_close_ int lock = state_lock_ctr(ctx->root, st->id, NULL);
	g_autoptr(ctr_state) cur = lock >= 0 ? state_load(ctx->root, st->id, NULL) : NULL;

	/* Gone already (rm -f), or started again meanwhile: not ours to remove. */
	if (!cur || cur->launches != st->launches)
		return 0;
	if (cur->image_mount && image_mount_release(cur->image_mount, err) < 0)
		return -1;
	return state_remove(ctx->root, cur, err);
}

/* The state is gone: removed by whoever had the exit code, who left the runtime's delete to us. */
static void forget_removed(struct wrap_ctx *ctx, const char *id)
{
	g_autoptr(ctr_state) st = g_new0(struct ctr_state, 1);

	/* An exit command from before --runtime was passed: whoever removed the state also deleted it. */
	if (!ctx->runtime_opt || !(st->runtime = wrap_runtime(ctx, NULL)))
		return;
	st->id = g_strdup(id);
	wrap_runtime_forget(ctx, st);
}

/*
 * `cleanup --launch=N ID`: the monitor's exit command. Quiet when the container is already gone, or
 * when N is not its current launch (a start came first and the runtime container is a new one).
 * An --rm container waits for its clients (state.h): a foreground one removes it itself, so the user
 * waits for neither this command nor the runtime's delete.
 */
int cmd_cleanup(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext) oc = wrap_option_context("ID", "Internal: release a container after it exited.");
	int launch = -1;
	const GOptionEntry entries[] = {
		{ "launch", 0, 0, G_OPTION_ARG_INT, &launch, "The launch this monitor belongs to", "N" }, { NULL }
	};
	g_autoptr(ctr_state) st = NULL;
	_cleanup_close_ int lock = -1;
	g_autoptr(GError) err = NULL;
	int code = -1;

	g_option_context_add_main_entries(oc, entries, NULL);
	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (argc != 2) {
		fprintf(stderr, "ctr-wrap: cleanup takes one container id\n");
		return WRAP_EXIT_ERROR;
	}
	for (;;) {
		g_autoptr(GError) local = NULL;

		lock = state_lock_ctr(ctx->root, argv[1], NULL);
		st = lock >= 0 ? state_load(ctx->root, argv[1], &local) : NULL;
		if (!st) {
			if (lock < 0 || cm_error_errno(local) == ENOENT)
				forget_removed(ctx, argv[1]);
			return 0;
		}
		if (launch >= 0 && launch != st->launches)
			return 0;
		if (!st->rm || state_wait_clients(ctx->root, st->id, 0))
			break;
		/* Without the lock, which the clients need to remove it or to detach. */
		cm_closep(&lock);
		lock = -1;
		g_clear_pointer(&st, ctr_state_free);
		state_wait_clients(ctx->root, argv[1], -1);
	}
	if (wrap_cleanup(ctx, st, st->rm, &err) < 0)
		return wrap_fail(err);
	if (!state_read_exit(ctx->root, st->id, &code) || st->rm)
		return 0;
	if (restart_policy_schedule(ctx, st, code, &err) < 0)
		return wrap_fail(err);
	return 0;
}

static void usage(FILE *out)
{
	fputs("Usage: ctr-wrap [--root DIR] [--storage DIR] [--runtime RUNTIME] [--conmon PATH] COMMAND [OPTIONS] "
	      "...\n\n"
	      "Commands:\n",
	      out);
	for (const struct wrap_command *c = wrap_commands; c->name; c++)
		if (c->help)
			fprintf(out, "  %-9s %s\n", c->name, c->help);
	fputs("\nGlobal options:\n"
	      "  --root DIR         state directory (default " STATE_DEFAULT_ROOT ")\n"
	      "  --storage DIR      image store (default " IMAGE_STORE_DEFAULT ")\n"
	      "  --runtime RUNTIME  runc, crun or a path (default: the first of runc, crun that works)\n"
	      "  --conmon PATH      the monitor (default: the one installed with ctr-wrap, or built beside it,\n"
	      "                     else /usr/bin/conmon)\n"
	      "  -h, --help         show this help\n"
	      "  --version          show the version\n\n"
	      "Run `ctr-wrap COMMAND --help` for a command's options.\n",
	      out);
}

int wrap_main(int argc, char **argv)
{
	struct wrap_ctx ctx = { 0 };
	gboolean help = FALSE, version = FALSE;
	const GOptionEntry entries[] = {
		{ "root", 0, 0, G_OPTION_ARG_FILENAME, &ctx.root, "State directory", "DIR" },
		{ "storage", 0, 0, G_OPTION_ARG_FILENAME, &ctx.storage, "Image store", "DIR" },
		{ "runtime", 0, 0, G_OPTION_ARG_FILENAME, &ctx.runtime_opt, "OCI runtime", "RUNTIME" },
		{ "conmon", 0, 0, G_OPTION_ARG_FILENAME, &ctx.conmon_opt, "Monitor binary", "PATH" },
		{ "help", 'h', 0, G_OPTION_ARG_NONE, &help, "Show help", NULL },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version, "Show the version", NULL },
		{ NULL }
	};
	g_autoptr(GOptionContext) oc = g_option_context_new("COMMAND");
	const struct wrap_command *cmd;
	g_autoptr(GError) err = NULL;
	int rc;

	g_option_context_set_help_enabled(oc, FALSE);
	g_option_context_set_strict_posix(oc, TRUE);
	g_option_context_add_main_entries(oc, entries, NULL);
	if (!g_option_context_parse(oc, &argc, &argv, &err)) {
		fprintf(stderr, "ctr-wrap: %s: see ctr-wrap --help\n", err->message);
		return WRAP_EXIT_ERROR;
	}
	if (version) {
		printf("ctr-wrap version %s\ncommit: %s\n", VERSION, GIT_COMMIT);
		return 0;
	}
	if (help || (argc > 1 && strcmp(argv[1], "help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2) {
		usage(stderr);
		return WRAP_EXIT_ERROR;
	}
	cmd = wrap_command_find(argv[1]);
	if (!cmd) {
		fprintf(stderr, "ctr-wrap: unknown command \"%s\": see ctr-wrap --help\n", argv[1]);
		return WRAP_EXIT_ERROR;
	}
	if (!ctx.root)
		ctx.root = g_strdup(STATE_DEFAULT_ROOT);
	else {
		char *abs = g_canonicalize_filename(ctx.root, NULL);
		g_free(ctx.root);
		ctx.root = abs;
	}
	{
		char *abs = g_canonicalize_filename(ctx.storage ? ctx.storage : IMAGE_STORE_DEFAULT, NULL);
		g_free(ctx.storage);
		ctx.storage = abs;
	}
	ctx.self = g_file_read_link("/proc/self/exe", NULL);
	if (!ctx.self)
		ctx.self = g_strdup(argv[0]);
	/*
	 * No process-wide umask 077: the directories made for image content (a layer's parents its archive does
	 * not list, an overlay's upper/work/merged) are 0755 like the layers' own, and would become 0700, shutting
	 * a container's non-root users out. ctr-wrap's own state gets 0600 files and 0700 directories named at
	 * each creation instead (state.c, spec.c, cmd_exec.c, commands.c, image_store.c), which the caller's umask
	 * can only narrow.
	 */
	/* A closed reader of our output must not kill us before we clean up. */
	signal(SIGPIPE, SIG_IGN);
	{
		g_autofree char *prg = g_strdup_printf("ctr-wrap %s", cmd->name);
		g_set_prgname(prg);
	}
	rc = cmd->fn(&ctx, argc - 1, argv + 1);
	g_free(ctx.root);
	g_free(ctx.runtime_opt);
	g_free(ctx.conmon_opt);
	g_free(ctx.storage);
	g_free(ctx.self);
	return rc;
}
