/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/runtime.h"

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "common/safe_open.h"
#include "conmon/diag.h"
#include "conmon/oom_score.h"
#include "conmon/sync.h"

/* A pid file holds one decimal pid: anything longer is not one. */
#define PIDFILE_MAX 64

static void add_all(GPtrArray *argv, char **items)
{
	for (; items && *items; items++)
		g_ptr_array_add(argv, g_strdup(*items));
}

GPtrArray *runtime_build_argv(const struct cli_opts *o, const char *console_socket)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(argv, g_strdup(o->runtime));
	if (o->systemd_cgroup && !o->exec)
		g_ptr_array_add(argv, g_strdup("--systemd-cgroup"));
	add_all(argv, o->runtime_args);

	if (o->exec) {
		const char *fixed[] = { "exec",	     "--pid-file",	   o->container_pidfile,
					"--process", o->exec_process_spec, "--detach",
					NULL };
		add_all(argv, (char **)fixed);
	} else {
		const char *fixed[] = { o->restore ? "restore" : "create",
					"--bundle",
					o->bundle,
					"--pid-file",
					o->container_pidfile,
					NULL };
		add_all(argv, (char **)fixed);
		if (o->no_pivot)
			g_ptr_array_add(argv, g_strdup("--no-pivot"));
		if (o->no_new_keyring)
			g_ptr_array_add(argv, g_strdup("--no-new-keyring"));
		if (o->restore) {
			const char *restore[] = {
				"--detach", "--image-path", o->restore, "--work-path", o->bundle, NULL
			};
			add_all(argv, (char **)restore);
		}
	}
	add_all(argv, o->runtime_opts);
	if (console_socket) {
		g_ptr_array_add(argv, g_strdup("--console-socket"));
		g_ptr_array_add(argv, g_strdup(console_socket));
	}
	g_ptr_array_add(argv, g_strdup(o->cid));
	g_ptr_array_add(argv, NULL);
	return argv;
}

/* systemd socket activation: the runtime checks LISTEN_PID against its own pid. */
static void fix_listen_pid(const struct runtime_spawn *s)
{
	const char *value = getenv("LISTEN_PID");
	if (value == NULL)
		return;
	int pid;
	if (!cm_parse_int(value, &pid) || pid <= 0)
		diag_fatal_now("Invalid LISTEN_PID %s", value);
	/* Meant for whoever started us, or for us (the runtime's parent): either way the runtime inherits it. */
	if (pid != s->engine_pid && pid != getppid() && !s->replace_listen_pid)
		return;
	char buf[16];
	snprintf(buf, sizeof(buf), "%d", getpid());
	if (setenv("LISTEN_PID", buf, 1) < 0)
		diag_fatal_now("Failed to set LISTEN_PID: %s", g_strerror(errno));
}

static G_NORETURN void child_exec(const char *runtime, char *const argv[], const struct runtime_spawn *s)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		diag_fatal_now("Failed to set PDEATHSIG: %s", g_strerror(errno));
	signal(SIGPIPE, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	for (int i = 0; i < 3; i++) {
		if (s->stdio[i] < 0)
			continue;
		if (dup2(s->stdio[i], i) < 0)
			diag_fatal_now("Failed to dup onto fd %d: %s", i, g_strerror(errno));
		/* A container in a user namespace must still be able to reopen /dev/stdout. */
		fchmod(i, 0777);
	}
	fix_listen_pid(s);
	if (s->start_fd >= 0) {
		g_autoptr(GError) err = NULL;
		if (sync_wait_start(s->start_fd, &err) < 0)
			diag_fatal_now("%s", err->message);
		close(s->start_fd);
	}
	if (s->oom_score_adj)
		oom_score_restore(s->oom_score_adj);
	execv(runtime, argv);
	diag_error("Failed to exec %s: %s", runtime, g_strerror(errno));
	_exit(127);
}

pid_t runtime_spawn(const char *runtime, char *const argv[], const struct runtime_spawn *s, GError **err)
{
	if (diag_enabled(DIAG_TRACE)) {
		g_autofree char *line = g_strjoinv(" ", (char **)argv);
		diag_trace("calling: %s", line);
	}
	pid_t pid = fork();
	if (pid < 0)
		return cm_set_errno(err, errno, "Failed to fork the runtime");
	if (pid == 0)
		child_exec(runtime, argv, s);
	return pid;
}

int runtime_read_pidfile(const char *path, pid_t *pid, GError **err)
{
	g_autofree char *contents = cm_read_file_safe(path, PIDFILE_MAX, NULL, err);
	if (contents == NULL)
		return -1;
	int value;
	if (!cm_parse_int(g_strstrip(contents), &value) || value <= 0)
		return cm_set_error(err, EINVAL, "Invalid pid %s in %s", contents, path);
	*pid = value;
	return 0;
}

struct runtime_wait {
	GMainLoop *loop;
	pid_t pid;
	int wstatus;
	bool reaped;
	int wait_errno;
};

static gboolean on_runtime_pidfd(int fd, GIOCondition cond, gpointer data)
{
	(void)fd;
	(void)cond;
	struct runtime_wait *w = data;
	g_main_loop_quit(w->loop);
	return G_SOURCE_REMOVE;
}

/* Without pidfds (old kernels, valgrind) poll for the runtime's exit instead. */
static gboolean on_runtime_poll(gpointer data)
{
	struct runtime_wait *w = data;
	pid_t got = waitpid(w->pid, &w->wstatus, WNOHANG);
	if (got == 0 || (got < 0 && errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (got < 0)
		w->wait_errno = errno;
	else
		w->reaped = true;
	g_main_loop_quit(w->loop);
	return G_SOURCE_REMOVE;
}

static gboolean on_runtime_timeout(gpointer data)
{
	struct runtime_wait *w = data;
	diag_warn("runtime %d did not finish in time (exec attach handshake?), killing it", w->pid);
	kill(w->pid, SIGKILL);
	return G_SOURCE_REMOVE;
}

/* Sources that removed themselves are gone already. */
static void remove_sources(const guint *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		GSource *src = ids[i] ? g_main_context_find_source_by_id(NULL, ids[i]) : NULL;
		if (src && !g_source_is_destroyed(src))
			g_source_destroy(src);
	}
}

int runtime_wait(pid_t pid, GMainLoop *loop, int timeout_ms, int *wstatus, GError **err)
{
	struct runtime_wait w = { .loop = loop, .pid = pid };
	guint sources[2] = { 0 };
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0)
		sources[0] = g_unix_fd_add(pidfd, G_IO_IN, on_runtime_pidfd, &w);
	else
		sources[0] = g_timeout_add(10, on_runtime_poll, &w);
	if (timeout_ms >= 0)
		sources[1] = g_timeout_add((guint)timeout_ms, on_runtime_timeout, &w);
	g_main_loop_run(loop);
	remove_sources(sources, G_N_ELEMENTS(sources));
	while (!w.reaped && w.wait_errno == 0 && waitpid(pid, &w.wstatus, 0) < 0) {
		if (errno != EINTR)
			w.wait_errno = errno;
	}
	if (w.wait_errno)
		return cm_set_errno(err, w.wait_errno, "Failed to wait for the runtime");
	*wstatus = w.wstatus;
	return 0;
}
