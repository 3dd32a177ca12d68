/* SPDX-License-Identifier: Apache-2.0 */
/* The monitor's command line: conmon 2.2.1's spellings, defaults and checks. */
#pragma once

#include <glib.h>
#include <stdbool.h>

/*
 * Flags are gboolean, not bool: GOption stores a whole gboolean through the
 * pointer, and into a bool it overwrote the next fields (--log-rotate reset
 * --log-max-files to 0).
 */
struct cli_opts {
	/* identity and paths */
	char *cid;
	char *cuuid;
	char *name;
	char *runtime;
	char *bundle;
	char *container_pidfile;
	char *conmon_pidfile;
	char *persist_dir;
	char *exit_dir;
	char *socket_dir_path;
	gboolean full_attach;

	/* mode */
	gboolean exec;
	char *exec_process_spec;
	gboolean exec_attach;
	int api_version;
	char *restore;
	gboolean terminal;
	gboolean stdin_pipe;
	gboolean leave_stdin_open;
	int timeout;
	gboolean sync;
	gboolean version;

	/* runtime pass-through */
	gboolean systemd_cgroup;
	char **runtime_args;
	char **runtime_opts;
	gboolean no_pivot;
	gboolean no_new_keyring;
	gboolean replace_listen_pid;

	/* container logs */
	char **log_paths;
	gint64 log_size_max;
	gint64 log_global_size_max;
	char *log_tag;
	gboolean no_sync_log;
	char **log_labels;
	gboolean no_container_partial_message;
	gboolean log_rotate;
	int log_max_files;
	char **log_allowlist_dirs;

	/* own diagnostics */
	char *log_level;
	gboolean syslog;

	/* exit hooks, notify, seccomp */
	char *exit_command;
	char **exit_command_args;
	int exit_delay;
	char *sdnotify_socket;
	char *seccomp_notify_socket;
	char *seccomp_notify_plugins;
};

/*
 * Parse argv and validate in the reference's order. On failure err carries
 * the message the reference prints after "[conmon:e]: ". --version is
 * reported through opts->version and skips validation.
 */
int cli_parse(int argc, char **argv, struct cli_opts *opts, GError **err);
void cli_opts_clear(struct cli_opts *opts);
