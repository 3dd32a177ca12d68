/* SPDX-License-Identifier: Apache-2.0 */
/* The OCI runtime child: its argv (create, restore, exec) and how it is started. */
#pragma once

#include <glib.h>
#include <sys/types.h>

#include "conmon/cli.h"

/* NULL-terminated argv for the runtime; console_socket may be NULL. */
GPtrArray *runtime_build_argv(const struct cli_opts *opts, const char *console_socket);

struct runtime_spawn {
	int stdio[3];	  /* become the child's 0, 1, 2; -1 keeps the monitor's own */
	int start_fd;	  /* exec attach: wait for the second start message here before exec; -1: none */
	pid_t engine_pid; /* the monitor's original parent, for LISTEN_PID */
	bool replace_listen_pid;
	const char *oom_score_adj; /* restored in the child; NULL: leave */
};

/* Fork and exec the runtime. The child dies with the monitor (PDEATHSIG). */
pid_t runtime_spawn(const char *runtime, char *const argv[], const struct runtime_spawn *spawn, GError **err);

/* Read the pid the runtime wrote to path. */
int runtime_read_pidfile(const char *path, pid_t *pid, GError **err);

/*
 * Wait in loop for the runtime to exit, so that whatever else the loop
 * serves (resizes on ctl, attach clients, the pty the runtime sends) is
 * served meanwhile: the process may read its window size the moment it
 * starts. With timeout_ms >= 0 (exec attach, where the engine's handshake
 * holds the runtime) the runtime is killed after that long.
 */
int runtime_wait(pid_t pid, GMainLoop *loop, int timeout_ms, int *wstatus, GError **err);
