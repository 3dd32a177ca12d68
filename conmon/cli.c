/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/cli.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "conmon/diag.h"

#define DEFAULT_SOCKET_PATH "/var/run/crio"

/* GOptionEntry tables keep pointers to their storage, so they are built per parse. */
static GOptionEntry *build_entries(struct cli_opts *o)
{
	const GOptionEntry entries[] = {
		{ "api-version", 0, 0, G_OPTION_ARG_NONE, &o->api_version, "Conmon API version to use", NULL },
		{ "bundle", 'b', 0, G_OPTION_ARG_FILENAME, &o->bundle, "Location of the OCI Bundle path", NULL },
		{ "cid", 'c', 0, G_OPTION_ARG_STRING, &o->cid, "Identification of Container", NULL },
		{ "conmon-pidfile", 'P', 0, G_OPTION_ARG_FILENAME, &o->conmon_pidfile,
		  "PID file for the conmon process", NULL },
		{ "container-pidfile", 'p', 0, G_OPTION_ARG_FILENAME, &o->container_pidfile,
		  "PID file for the initial pid inside of container", NULL },
		{ "cuuid", 'u', 0, G_OPTION_ARG_STRING, &o->cuuid, "Container UUID", NULL },
		{ "exec", 'e', 0, G_OPTION_ARG_NONE, &o->exec, "Exec a command into a running container", NULL },
		{ "exec-attach", 0, 0, G_OPTION_ARG_NONE, &o->exec_attach, "Attach to an exec session", NULL },
		{ "exec-process-spec", 0, 0, G_OPTION_ARG_FILENAME, &o->exec_process_spec,
		  "Path to the process spec for execution", NULL },
		{ "exit-command", 0, 0, G_OPTION_ARG_FILENAME, &o->exit_command,
		  "Path to the program to execute when the container terminates its execution", NULL },
		{ "exit-command-arg", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->exit_command_args,
		  "Additional arg to pass to the exit command.  Can be specified multiple times", NULL },
		{ "exit-delay", 0, 0, G_OPTION_ARG_INT, &o->exit_delay,
		  "Delay before invoking the exit command (in seconds)", NULL },
		{ "exit-dir", 0, 0, G_OPTION_ARG_FILENAME, &o->exit_dir,
		  "Path to the directory where exit files are written", NULL },
		{ "full-attach", 0, 0, G_OPTION_ARG_NONE, &o->full_attach,
		  "Don't truncate the path to the attach socket. This option causes conmon to ignore --socket-dir-path",
		  NULL },
		{ "leave-stdin-open", 0, 0, G_OPTION_ARG_NONE, &o->leave_stdin_open,
		  "Leave stdin open when attached client disconnects", NULL },
		{ "log-level", 0, 0, G_OPTION_ARG_STRING, &o->log_level, "Print debug logs based on log level", NULL },
		{ "log-path", 'l', 0, G_OPTION_ARG_STRING_ARRAY, &o->log_paths, "Log file path", NULL },
		{ "log-size-max", 0, 0, G_OPTION_ARG_INT64, &o->log_size_max, "Maximum size of log file", NULL },
		{ "log-global-size-max", 0, 0, G_OPTION_ARG_INT64, &o->log_global_size_max,
		  "Maximum size of all log files", NULL },
		{ "log-tag", 0, 0, G_OPTION_ARG_STRING, &o->log_tag, "Additional tag to use for logging", NULL },
		{ "log-label", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->log_labels,
		  "Additional journald field KEY=VALUE. Can be specified multiple times", NULL },
		{ "no-container-partial-message", 0, 0, G_OPTION_ARG_NONE, &o->no_container_partial_message,
		  "Do not set CONTAINER_PARTIAL_MESSAGE for journald", NULL },
		{ "log-rotate", 0, 0, G_OPTION_ARG_NONE, &o->log_rotate,
		  "Rotate the k8s log to numbered backups instead of truncating it", NULL },
		{ "log-max-files", 0, 0, G_OPTION_ARG_INT, &o->log_max_files, "Backups kept with --log-rotate", NULL },
		{ "log-allowlist-dir", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o->log_allowlist_dirs,
		  "Directory under which log rotation is allowed. Can be specified multiple times", NULL },
		{ "name", 'n', 0, G_OPTION_ARG_STRING, &o->name, "Container name", NULL },
		{ "no-new-keyring", 0, 0, G_OPTION_ARG_NONE, &o->no_new_keyring,
		  "Do not create a new session keyring for the container", NULL },
		{ "no-pivot", 0, 0, G_OPTION_ARG_NONE, &o->no_pivot, "Do not use pivot_root", NULL },
		{ "no-sync-log", 0, 0, G_OPTION_ARG_NONE, &o->no_sync_log,
		  "Do not manually call sync on logs after container shutdown", NULL },
		{ "persist-dir", '0', 0, G_OPTION_ARG_FILENAME, &o->persist_dir,
		  "Persistent directory for a container that can be used for storing container data", NULL },
		{ "pidfile", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &o->container_pidfile,
		  "PID file (DEPRECATED)", NULL },
		{ "replace-listen-pid", 0, 0, G_OPTION_ARG_NONE, &o->replace_listen_pid,
		  "Replace listen pid if set for oci-runtime pid", NULL },
		{ "restore", 0, 0, G_OPTION_ARG_FILENAME, &o->restore, "Restore a container from a checkpoint", NULL },
		{ "restore-arg", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING_ARRAY, &o->runtime_opts,
		  "Additional arg to pass to the restore command. Can be specified multiple times. (DEPRECATED)",
		  NULL },
		{ "runtime", 'r', 0, G_OPTION_ARG_FILENAME, &o->runtime, "Path to store runtime data for the container",
		  NULL },
		{ "runtime-arg", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->runtime_args,
		  "Additional arg to pass to the runtime. Can be specified multiple times", NULL },
		{ "runtime-opt", 0, 0, G_OPTION_ARG_STRING_ARRAY, &o->runtime_opts,
		  "Additional opts to pass to the restore or exec command. Can be specified multiple times", NULL },
		{ "sdnotify-socket", 0, 0, G_OPTION_ARG_FILENAME, &o->sdnotify_socket,
		  "Path to the host's sd-notify socket to relay messages to", NULL },
		{ "seccomp-notify-socket", 0, 0, G_OPTION_ARG_FILENAME, &o->seccomp_notify_socket,
		  "Path to the socket where the seccomp notification fd is received", NULL },
		{ "seccomp-notify-plugins", 0, 0, G_OPTION_ARG_STRING, &o->seccomp_notify_plugins,
		  "Plugins to use for managing the seccomp notifications", NULL },
		{ "socket-dir-path", 0, 0, G_OPTION_ARG_FILENAME, &o->socket_dir_path,
		  "Location of container attach sockets", NULL },
		{ "stdin", 'i', 0, G_OPTION_ARG_NONE, &o->stdin_pipe, "Open up a pipe to pass stdin to the container",
		  NULL },
		{ "sync", 0, 0, G_OPTION_ARG_NONE, &o->sync,
		  "Keep the main conmon process as its child by only forking once", NULL },
		{ "syslog", 0, 0, G_OPTION_ARG_NONE, &o->syslog, "Log to syslog (use with cgroupfs cgroup manager)",
		  NULL },
		{ "systemd-cgroup", 's', 0, G_OPTION_ARG_NONE, &o->systemd_cgroup,
		  "Enable systemd cgroup manager, rather then use the cgroupfs directly", NULL },
		{ "terminal", 't', 0, G_OPTION_ARG_NONE, &o->terminal, "Allocate a pseudo-TTY. The default is false",
		  NULL },
		{ "timeout", 'T', 0, G_OPTION_ARG_INT, &o->timeout,
		  "Kill container after specified timeout in seconds.", NULL },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &o->version, "Print the version and exit", NULL },
		{ NULL },
	};
	return g_memdup2(entries, sizeof(entries));
}

static int validate(struct cli_opts *o, GError **err)
{
	if (o->log_level && !diag_set_level(o->log_level))
		return cm_set_error(err, EINVAL, "No such log level %s", o->log_level);
	if (o->exec && o->restore)
		return cm_set_error(err, EINVAL, "Cannot use 'exec' and 'restore' at the same time");
	if (o->exec_attach && !o->exec)
		return cm_set_error(err, EINVAL, "Attach can only be specified with exec");
	if (o->exec_attach && o->api_version < 1)
		return cm_set_error(err, EINVAL, "Attach can only be specified for a non-legacy exec session");
	/* Legacy (api 0) exec sessions are identified by the container id alone. */
	if (o->cuuid == NULL && (!o->exec || o->api_version >= 1))
		return cm_set_error(err, EINVAL, "Container UUID not provided. Use --cuuid");
	if (o->runtime == NULL)
		return cm_set_error(err, EINVAL, "Runtime path not provided. Use --runtime");
	if (access(o->runtime, X_OK) < 0)
		return cm_set_errno(err, errno, "Runtime path %s is not valid", o->runtime);
	if (o->exec && o->exec_process_spec == NULL)
		return cm_set_error(err, EINVAL, "Exec process spec path not provided. Use --exec-process-spec");
	if (o->exit_delay < 0)
		return cm_set_error(err, EINVAL,
				    "Delay before invoking exit command must be greater than or equal to 0");
	if (o->seccomp_notify_plugins == NULL && g_getenv("CONMON_SECCOMP_NOTIFY_PLUGINS"))
		o->seccomp_notify_plugins = g_strdup(g_getenv("CONMON_SECCOMP_NOTIFY_PLUGINS"));

	g_autofree char *cwd = g_get_current_dir();
	if (o->bundle == NULL && !o->exec)
		o->bundle = g_strdup(cwd);
	if (o->container_pidfile == NULL)
		o->container_pidfile = g_strdup_printf("%s/pidfile-%s", cwd, o->cid);
	if (o->socket_dir_path == NULL)
		o->socket_dir_path = g_strdup(DEFAULT_SOCKET_PATH);
	if (o->log_paths == NULL || o->log_paths[0] == NULL)
		return cm_set_error(err, EINVAL, "Log driver not provided. Use --log-path");
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_opts *o, GError **err)
{
	*o = (struct cli_opts){ .log_size_max = -1, .log_global_size_max = -1, .log_max_files = 1 };

	g_autofree GOptionEntry *entries = build_entries(o);
	g_autoptr(GOptionContext) ctx = g_option_context_new("- conmon utility");
	g_option_context_add_main_entries(ctx, entries, NULL);
	/* Podman passes "--api-version 1": the "1" stays behind as a positional and is ignored. */
	g_autoptr(GError) perr = NULL;
	if (!g_option_context_parse(ctx, &argc, &argv, &perr)) {
		g_set_error(err, G_OPTION_ERROR, perr->code, "option parsing failed: %s", perr->message);
		return -1;
	}
	if (o->version)
		return 0;
	/* conmon 2.2's first checks, printed as "conmon: ..." like its parse errors. */
	if (o->log_max_files < 0) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "log-max-files must be non-negative, got %d",
			    o->log_max_files);
		return -1;
	}
	if (o->log_rotate && o->log_max_files == 0) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "log-max-files must be at least 1 when log-rotate is enabled, got %d", o->log_max_files);
		return -1;
	}
	if (o->cid == NULL) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "Container ID not provided. Use --cid");
		return -1;
	}
	return validate(o, err);
}

void cli_opts_clear(struct cli_opts *o)
{
	char **strings[] = { &o->cid,
			     &o->cuuid,
			     &o->name,
			     &o->runtime,
			     &o->bundle,
			     &o->container_pidfile,
			     &o->conmon_pidfile,
			     &o->persist_dir,
			     &o->exit_dir,
			     &o->socket_dir_path,
			     &o->exec_process_spec,
			     &o->restore,
			     &o->log_tag,
			     &o->log_level,
			     &o->exit_command,
			     &o->sdnotify_socket,
			     &o->seccomp_notify_socket,
			     &o->seccomp_notify_plugins };
	for (size_t i = 0; i < G_N_ELEMENTS(strings); i++)
		g_clear_pointer(strings[i], g_free);
	char ***vectors[] = { &o->runtime_args, &o->runtime_opts,	&o->log_paths,
			      &o->log_labels,	&o->log_allowlist_dirs, &o->exit_command_args };
	for (size_t i = 0; i < G_N_ELEMENTS(vectors); i++)
		g_clear_pointer(vectors[i], g_strfreev);
}
