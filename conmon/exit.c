/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/exit.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/safe_open.h"
#include "conmon/diag.h"
#include "conmon/oom_score.h"

/* Waits between attempts at the exit files: doubling from the first to the max. */
#define EXIT_RETRY_FIRST_MS 100
#define EXIT_RETRY_MAX_PAUSE_MS 2000

int exit_status_from_wait(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return -1;
}

static int write_status(const char *path, int status, GError **err)
{
	char buf[16];
	int len = g_snprintf(buf, sizeof(buf), "%d", status);
	/* Temp file + rename: watchers (CRI-O's inotify, podman) never see a half-written file. */
	return cm_write_file_atomic(path, buf, (size_t)len, 0644, false, err);
}

/* Both files are tried whatever happens to the first; the first error is kept. */
int exit_write_files(const struct cli_opts *o, int status, GError **err)
{
	int rc = 0;
	if (o->persist_dir) {
		g_autofree char *path = g_build_filename(o->persist_dir, "exit", NULL);
		if (write_status(path, status, err) < 0)
			rc = -1;
	}
	if (o->exit_dir) {
		g_autofree char *path = g_build_filename(o->exit_dir, o->cid, NULL);
		g_autoptr(GError) local = NULL;
		if (write_status(path, status, &local) < 0) {
			if (rc == 0)
				g_propagate_error(err, g_steal_pointer(&local));
			rc = -1;
		}
	}
	return rc;
}

int exit_write_files_retry(const struct cli_opts *o, int status, int retry_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)retry_ms * 1000;
	gulong pause_us = EXIT_RETRY_FIRST_MS * 1000;
	for (bool warned = false;; warned = true) {
		g_autoptr(GError) err = NULL;
		if (exit_write_files(o, status, &err) == 0) {
			if (warned)
				diag_info("exit files written after all");
			return 0;
		}
		gint64 left = deadline - g_get_monotonic_time();
		if (left <= 0) {
			diag_error("Failed to write exit file, giving up: %s", err->message);
			return -1;
		}
		if (!warned)
			diag_warn("Failed to write exit file, retrying for up to %g s: %s", retry_ms / 1000.0,
				  err->message);
		g_usleep(MIN(pause_us, (gulong)left));
		pause_us = MIN(pause_us * 2, EXIT_RETRY_MAX_PAUSE_MS * 1000);
	}
}

static G_NORETURN void exec_exit_command(const struct cli_opts *o, const char *oom_score_adj)
{
	closefrom(3);
	signal(SIGPIPE, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (o->exit_delay > 0)
		sleep((unsigned)o->exit_delay);
	oom_score_restore(oom_score_adj);

	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_ptr_array_add(argv, o->exit_command);
	for (char **a = o->exit_command_args; a && *a; a++)
		g_ptr_array_add(argv, *a);
	g_ptr_array_add(argv, NULL);
	execv(o->exit_command, (char **)argv->pdata);
	diag_fatal_now("Failed to exec exit command %s: %s", o->exit_command, g_strerror(errno));
}

int exit_run_command(const struct cli_opts *o, const char *oom_score_adj)
{
	pid_t cmd = -1;
	if (o->exit_command) {
		/* Its descendants must not be re-parented to us: we only wait for our own children. */
		prctl(PR_SET_CHILD_SUBREAPER, 0);
		cmd = fork();
		if (cmd < 0)
			diag_error("Failed to fork exit command: %s", g_strerror(errno));
		else if (cmd == 0)
			exec_exit_command(o, oom_score_adj);
	}

	if (cmd <= 0)
		return 0;
	/* Only the exit command: a process the container left behind must not keep us alive. */
	int wstatus;
	pid_t got;
	do
		got = waitpid(cmd, &wstatus, 0);
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		diag_warn("Failed to wait for exit command %s: %s", o->exit_command, g_strerror(errno));
		return 0;
	}
	int result = exit_status_from_wait(wstatus);
	/* Routine (a cleanup racing `rm -f`); conmon says nothing, its exit status tells. */
	if (result != 0)
		diag_debug("exit command %s failed with status %d", o->exit_command, result);
	return result;
}
