/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/exit.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "conmon/diag.h"
#include "conmon/oom_score.h"

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
	if (!g_file_set_contents_full(path, buf, len, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_ONLY_EXISTING,
				      0644, err))
		return -1;
	return 0;
}

int exit_write_files(const struct cli_opts *o, int status, GError **err)
{
	if (o->persist_dir) {
		g_autofree char *path = g_build_filename(o->persist_dir, "exit", NULL);
		if (write_status(path, status, err) < 0)
			return -1;
	}
	if (o->exit_dir) {
		g_autofree char *path = g_build_filename(o->exit_dir, o->cid, NULL);
		if (write_status(path, status, err) < 0)
			return -1;
	}
	return 0;
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

	int result = 0;
	for (;;) {
		int wstatus;
		pid_t pid = waitpid(-1, &wstatus, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		if (pid == cmd && (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)) {
			result = exit_status_from_wait(wstatus);
			diag_warn("exit command %s failed with status %d", o->exit_command, result);
		}
	}
	return result;
}
