/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor's lifecycle, in the order the engine relies on (see
 * docs/protocol.md): parse, wait for the start byte, daemonize, spawn the
 * runtime, report the container pid, watch until it exits, release the
 * inherited fds, write the exit files, run the exit command.
 */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "common/safe_open.h"
#include "conmon/attach.h"
#include "conmon/cli.h"
#include "conmon/ctl_fifo.h"
#include "conmon/ctr_log.h"
#include "conmon/diag.h"
#include "conmon/exit.h"
#include "conmon/fds.h"
#include "conmon/notify.h"
#include "conmon/oom.h"
#include "conmon/oom_score.h"
#include "conmon/reaper.h"
#include "conmon/runtime.h"
#include "conmon/seccomp_notify.h"
#include "conmon/stdin.h"
#include "conmon/stdio.h"
#include "conmon/sync.h"
#include "conmon/terminal.h"

/* The runtime's error text we pass on to the engine, as the reference does. */
#define RUNTIME_ERROR_MAX 8191
/* How long the runtime child may wait for the engine's second start byte (exec attach). */
#define EXEC_HANDSHAKE_TIMEOUT_MS (240 * 1000)
/* runc sends the pty master before `create` returns; it is already queued when we look. */
#define CONSOLE_RECEIVE_TIMEOUT_MS (10 * 1000)
/* A failed exit file (a full disk) is retried this long before the exit command runs anyway. */
#define EXIT_FILE_RETRY_MS (10 * 1000)

struct monitor {
	struct cli_opts opts;
	GArray *inherited_fds;
	char *oom_score_adj;
	pid_t engine_pid;
	int sync_fd;
	int start_fd;
	int attach_pipe_fd;
	int dev_null_r;
	int dev_null_w;
	struct ctr_log *log;
	struct reaper *reaper;
	struct stdio_reader *out;
	struct stdio_reader *err;
	struct stdin_sink *in;
	struct attach_server *attach;
	struct ctl_fifo *ctl;
	struct console_socket *console;
	struct oom_watch *oom;
	struct notify_proxy *notify;
	struct seccomp_agent *seccomp;
	int master_fd;
	unsigned short rows, cols; /* last resize asked for; applied when the pty arrives */
	pid_t container_pid;
	int container_status;
	bool container_exited;
	bool timed_out;
	guint timeout_source;
	GMainLoop *loop;
};

static void print_version(void)
{
	/* conmon's exact two lines: podman matches the first, CRI-O parses its third field as semver. */
	printf("conmon version %s\ncommit: %s\n", CONMON_COMPAT, GIT_COMMIT);
}

static void parse_cli(struct monitor *m, int argc, char **argv)
{
	g_autoptr(GError) err = NULL;
	if (cli_parse(argc, argv, &m->opts, &err) < 0) {
		if (err->domain == G_OPTION_ERROR) {
			/* conmon 2.1.8+ prints these on stderr too (2.1.6 printed parse errors on stdout). */
			fprintf(stderr, "conmon: %s\n", err->message);
			exit(EXIT_FAILURE);
		}
		diag_fatal_error(err);
	}
	if (m->opts.version) {
		print_version();
		exit(EXIT_SUCCESS);
	}
	diag_init(m->opts.cid, m->opts.log_tag, m->opts.syslog);
}

/* Until the runtime is forked, SIGTERM means "give up"; later it is forwarded to the container. */
static void on_early_sigterm(int signo)
{
	(void)signo;
	_exit(EXIT_FAILURE);
}

static int open_dev_null(int flags)
{
	int fd = open("/dev/null", flags | O_CLOEXEC);
	if (fd < 0)
		diag_fatal("Failed to open /dev/null: %s", g_strerror(errno));
	return fd;
}

/* Let go of the caller's stdio: whoever holds the other ends waits for them to close. */
static void stdio_to_dev_null(const struct monitor *m)
{
	if (dup2(m->dev_null_r, STDIN_FILENO) < 0 || dup2(m->dev_null_w, STDOUT_FILENO) < 0 ||
	    dup2(m->dev_null_w, STDERR_FILENO) < 0)
		diag_warn("Failed to point stdio at /dev/null: %s", g_strerror(errno));
}

static void write_conmon_pidfile(const char *path, pid_t pid)
{
	char buf[16];
	int len = g_snprintf(buf, sizeof(buf), "%d", pid);
	g_autoptr(GError) err = NULL;
	if (cm_write_file_atomic(path, buf, (size_t)len, 0644, false, &err) < 0)
		diag_fatal_now("Failed to write conmon pidfile: %s", err->message);
}

/* Signals nobody should be able to kill the monitor with: it would leave no exit file. */
static void on_harmless_signal(int signo)
{
	(void)signo;
}

/*
 * A handler, not SIG_IGN: the runtime and the exit command, exec'd from
 * us, get the default disposition back (an ignored signal would stay ignored).
 */
static void survive_stray_signals(void)
{
	static const int signals[] = { SIGHUP, SIGUSR2, SIGALRM };
	struct sigaction sa = { .sa_handler = on_harmless_signal, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < G_N_ELEMENTS(signals); i++) {
		if (sigaction(signals[i], &sa, NULL) < 0)
			diag_fatal("Failed to set a handler for signal %d: %s", signals[i], g_strerror(errno));
	}
}

/* The engine's cmd.Wait() returns when our first process exits: the monitor lives on in a child. */
static void daemonize(struct monitor *m)
{
	if (m->opts.sync) {
		if (m->opts.conmon_pidfile)
			write_conmon_pidfile(m->opts.conmon_pidfile, getpid());
		return;
	}
	pid_t pid = fork();
	if (pid < 0)
		diag_fatal("Failed to fork: %s", g_strerror(errno));
	if (pid > 0) {
		if (m->opts.conmon_pidfile)
			write_conmon_pidfile(m->opts.conmon_pidfile, pid);
		_exit(EXIT_SUCCESS);
	}
}

static void fail_to_engine_at(struct monitor *m, enum diag_level level, const char *message)
{
	diag_log(level, "%s", message);
	sync_send(&m->sync_fd, sync_key(m->opts.api_version, m->opts.exec), -1, message);
	exit(EXIT_FAILURE);
}

static void fail_to_engine(struct monitor *m, const char *message)
{
	fail_to_engine_at(m, DIAG_ERROR, message);
}

static void make_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		diag_fatal("Failed to create pipe: %s", g_strerror(errno));
	stdio_grow_pipe(fds[0]);
}

/* What the runtime printed on stderr, for the engine to show its user; NULL: nothing. */
static char *runtime_stderr(int fd)
{
	char buf[RUNTIME_ERROR_MAX + 1];
	ssize_t n = 0;
	if (fd >= 0 && cm_set_nonblock(fd, true) == 0)
		n = cm_read_full(fd, buf, RUNTIME_ERROR_MAX);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return g_strdup(buf);
}

static void apply_window_size(struct monitor *m)
{
	g_autoptr(GError) err = NULL;
	if (m->master_fd >= 0 && (m->rows || m->cols) && terminal_resize(m->master_fd, m->rows, m->cols, &err) < 0)
		diag_warn("%s", err->message);
}

static void take_console(struct monitor *m)
{
	g_autoptr(GError) error = NULL;
	m->master_fd = console_socket_receive(m->console, CONSOLE_RECEIVE_TIMEOUT_MS, &error);
	g_clear_pointer(&m->console, console_socket_free);
	if (m->master_fd < 0) {
		g_autofree char *text = g_strdup_printf("Failed to receive the terminal: %s", error->message);
		fail_to_engine(m, text);
	}
	/* Sizes asked for before the pty existed apply before the process gets going. */
	apply_window_size(m);
}

static gboolean on_console(int fd, GIOCondition cond, gpointer data)
{
	(void)fd;
	(void)cond;
	take_console(data);
	return G_SOURCE_REMOVE;
}

/* While the runtime runs, the pty it sends is taken as soon as it arrives. */
static int wait_runtime(struct monitor *m, pid_t pid, int timeout_ms)
{
	guint console = m->console ? g_unix_fd_add(console_socket_fd(m->console), G_IO_IN, on_console, m) : 0;
	int wstatus;
	g_autoptr(GError) err = NULL;
	if (runtime_wait(pid, m->loop, timeout_ms, &wstatus, &err) < 0)
		diag_fatal_error(err);
	/* on_console clears m->console as it removes itself. */
	if (console && m->console)
		g_source_remove(console);
	return wstatus;
}

static void on_output(enum stdpipe pipe, const char *buf, size_t len, void *data)
{
	struct monitor *m = data;
	ctr_log_write(m->log, pipe, buf, len);
	if (m->attach && attach_broadcast(m->attach, pipe, buf, len)) {
		/* A slow attach client: stop reading until it catches up (the container waits). */
		if (m->out)
			stdio_reader_pause(m->out);
		if (m->err)
			stdio_reader_pause(m->err);
	}
}

static void on_attach_resume(void *data)
{
	struct monitor *m = data;
	if (m->out)
		stdio_reader_resume(m->out);
	if (m->err)
		stdio_reader_resume(m->err);
}

static void on_resize(unsigned short rows, unsigned short cols, void *data)
{
	struct monitor *m = data;
	m->rows = rows;
	m->cols = cols;
	apply_window_size(m);
}

static void on_reopen_logs(void *data)
{
	struct monitor *m = data;
	ctr_log_reopen(m->log);
}

static void on_container_exit(pid_t pid, int wstatus, void *data)
{
	struct monitor *m = data;
	m->container_exited = true;
	m->container_status = exit_status_from_wait(wstatus);
	diag_info("container %d exited with status %d", pid, m->container_status);
	/* The pid is reaped and may be reused: no timeout kill and no signal forwarding from now on. */
	if (m->timeout_source)
		g_source_remove(m->timeout_source);
	m->timeout_source = 0;
	reaper_set_forward_pid(m->reaper, 0);
	g_main_loop_quit(m->loop);
}

static gboolean on_timeout(gpointer data)
{
	struct monitor *m = data;
	m->timeout_source = 0;
	m->timed_out = true;
	diag_info("timed out after %d seconds, killing container %d", m->opts.timeout, m->container_pid);
	/* The whole process group, unless that group is ours. */
	pid_t pgid = getpgid(m->container_pid);
	if (pgid > 1 && pgid != getpgrp())
		kill(-pgid, SIGKILL);
	kill(m->container_pid, SIGKILL);
	return G_SOURCE_REMOVE;
}

/* Attach socket and ctl FIFOs exist before the runtime runs, so nothing early is missed. */
static void setup_endpoints(struct monitor *m)
{
	g_autoptr(GError) err = NULL;
	if (m->opts.seccomp_notify_socket) {
		m->seccomp = seccomp_agent_new(m->opts.seccomp_notify_socket, m->opts.seccomp_notify_plugins, &err);
		if (m->seccomp == NULL)
			fail_to_engine(m, err->message);
	}
	if (m->opts.sdnotify_socket && m->opts.bundle) {
		m->notify = notify_proxy_new(m->opts.bundle, m->opts.sdnotify_socket, &err);
		if (m->notify == NULL)
			fail_to_engine(m, err->message);
	}
	if (m->opts.bundle == NULL || ctr_log_passthrough(m->log))
		return;
	/*
	 * With a terminal, attach input always goes to the pty, -i or not, and a
	 * client's EOF does not end it: a pty has no EOF to pass on, and the next
	 * client (after a detach) must still be able to type.
	 */
	bool input = m->opts.stdin_pipe || m->opts.terminal;
	m->attach = attach_server_new(m->opts.bundle, m->opts.socket_dir_path, m->opts.cuuid, m->opts.full_attach,
				      input ? m->in : NULL, m->opts.leave_stdin_open || m->opts.terminal, &err);
	if (m->attach == NULL)
		fail_to_engine(m, err->message);
	attach_server_on_resume(m->attach, on_attach_resume, m);
	const struct ctl_handlers handlers = { .resize = on_resize, .reopen_logs = on_reopen_logs, .data = m };
	m->ctl = ctl_fifo_new(m->opts.bundle, &handlers, &err);
	if (m->ctl == NULL)
		fail_to_engine(m, err->message);
	if (m->attach_pipe_fd >= 0) {
		/* Exec attach: the engine connects now, then releases the runtime with a second start byte. */
		int fd = m->attach_pipe_fd;
		sync_send(&fd, "data", 0, NULL);
	}
}

/* What the runtime printed, else its exit status. */
static char *runtime_failure(int err_r, int wstatus)
{
	char *text = runtime_stderr(err_r);
	if (text == NULL)
		text = g_strdup_printf("runtime exited with status %d and no error output",
				       exit_status_from_wait(wstatus));
	return text;
}

/*
 * The runtime has exited: it succeeded and left the container's pid, or the engine hears why not.
 * exec, as conmon 2.2.1: a non-zero status alone is no failure (a runtime may pass the command's
 * own on); a missing pid file is, and it is a warning there. 2.2.1 then exits without a word to
 * the engine, which sees an exec that never ran succeed: it hears it here, as from conmon main.
 */
static void take_container_pid(struct monitor *m, int wstatus, int err_r)
{
	bool failed = !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0;
	if (failed && !m->opts.exec) {
		g_autofree char *text = runtime_failure(err_r, wstatus);
		fail_to_engine(m, text);
	}
	g_autoptr(GError) error = NULL;
	/*
	 * A missing pid file means the runtime failed, whatever its exit code
	 * said; what it printed explains why better than we can (conmon main).
	 */
	if (runtime_read_pidfile(m->opts.container_pidfile, &m->container_pid, &error) < 0) {
		g_autofree char *text = failed ? runtime_failure(err_r, wstatus) : runtime_stderr(err_r);
		if (text == NULL)
			text = g_strdup_printf("Failed to read the container pid: %s", error->message);
		fail_to_engine_at(m, m->opts.exec ? DIAG_WARN : DIAG_ERROR, text);
	}
	if (failed)
		diag_debug("runtime exec exited with status %d after starting process %d",
			   exit_status_from_wait(wstatus), (int)m->container_pid);
}

/* One master, three owners: resizes (master_fd), the output reader (returned), the input sink. */
static int share_terminal(struct monitor *m)
{
	if (m->console)
		take_console(m);
	int out_fd = fcntl(m->master_fd, F_DUPFD_CLOEXEC, 3);
	int in_fd = fcntl(m->master_fd, F_DUPFD_CLOEXEC, 3);
	if (out_fd < 0 || in_fd < 0)
		diag_fatal("Failed to dup the terminal: %s", g_strerror(errno));
	stdin_sink_set_fd(m->in, in_fd);
	return out_fd;
}

/* Spawn the runtime and wait for it; returns the stdout/stderr read ends. */
static void create_container(struct monitor *m, int *out_r, int *err_r)
{
	bool passthrough = ctr_log_passthrough(m->log);
	/* With passthrough too: the container's own terminal comes from the runtime, as with conmon. */
	bool tty = m->opts.terminal;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	g_autoptr(GError) error = NULL;
	if (!passthrough) {
		if (m->opts.stdin_pipe && !tty)
			make_pipe(in);
		if (!tty)
			make_pipe(out);
		/* Even with a tty: the runtime's own errors arrive here. */
		make_pipe(err);
	}
	if (tty) {
		m->console = console_socket_new(&error);
		if (m->console == NULL)
			fail_to_engine(m, error->message);
	}
	if (in[1] >= 0)
		stdin_sink_set_fd(m->in, in[1]);
	setup_endpoints(m);

	if (reaper_block_signals(&error) < 0)
		diag_fatal_error(error);
	g_autoptr(GPtrArray) argv = runtime_build_argv(&m->opts, m->console ? console_socket_path(m->console) : NULL);
	struct runtime_spawn spawn = {
		.stdio = { passthrough	? -1
			   : in[0] >= 0 ? in[0]
					: m->dev_null_r,
			   passthrough	 ? -1
			   : out[1] >= 0 ? out[1]
					 : m->dev_null_w,
			   err[1] },
		.start_fd = m->opts.exec_attach ? m->start_fd : -1,
		.engine_pid = m->engine_pid,
		.replace_listen_pid = m->opts.replace_listen_pid,
		.oom_score_adj = m->oom_score_adj,
	};
	pid_t runtime = runtime_spawn(m->opts.runtime, (char **)argv->pdata, &spawn, &error);
	if (runtime < 0)
		fail_to_engine(m, error->message);
	/* The runtime has the caller's stdio now; we must not hold the caller's pipes open. */
	if (passthrough)
		stdio_to_dev_null(m);
	int worker_ends[] = { in[0], out[1], err[1] };
	for (size_t i = 0; i < G_N_ELEMENTS(worker_ends); i++) {
		if (worker_ends[i] >= 0)
			close(worker_ends[i]);
	}

	int wstatus = wait_runtime(m, runtime, m->opts.exec_attach ? EXEC_HANDSHAKE_TIMEOUT_MS : -1);
	if (m->start_fd >= 0) {
		close(m->start_fd);
		m->start_fd = -1;
	}
	take_container_pid(m, wstatus, err[0]);
	if (tty)
		out[0] = share_terminal(m);
	*out_r = out[0];
	*err_r = err[0];
}

static void watch_oom(struct monitor *m)
{
	const char *oom_dirs[] = { m->opts.bundle, m->opts.persist_dir, NULL };
	g_autoptr(GError) err = NULL;
	m->oom = oom_watch_new(m->container_pid, oom_dirs, &err);
	if (m->oom == NULL)
		diag_warn("OOM events will not be reported: %s", err->message);
}

static void watch_container(struct monitor *m, int out_r, int err_r)
{
	g_autoptr(GError) error = NULL;
	m->reaper = reaper_new(&error);
	if (m->reaper == NULL)
		diag_fatal_error(error);
	reaper_watch(m->reaper, m->container_pid, on_container_exit, m);
	if (!m->opts.exec)
		watch_oom(m);
	reaper_set_forward_pid(m->reaper, m->container_pid);
	if (out_r >= 0)
		m->out = stdio_reader_new(out_r, STDPIPE_STDOUT, on_output, m);
	if (err_r >= 0)
		m->err = stdio_reader_new(err_r, STDPIPE_STDERR, on_output, m);
	if (m->opts.timeout > 0)
		m->timeout_source = g_timeout_add_seconds((guint)m->opts.timeout, on_timeout, m);

	/*
	 * Only now, with the OOM watch armed: the engine starts the container when
	 * it has the pid. Legacy exec sessions learn only the exit code.
	 */
	if (!m->opts.exec || m->opts.api_version >= 1)
		sync_send(&m->sync_fd, sync_key(m->opts.api_version, m->opts.exec), m->container_pid, NULL);

	/* The container may be gone before the loop runs: its SIGCHLD is already queued. */
	reaper_check(m->reaper);
	/* Hand back what start-up freed: an idle monitor's private dirty memory is what each container costs. */
	malloc_trim(0);
	if (!m->container_exited)
		g_main_loop_run(m->loop);

	/* A client that attached just before a quick exit is still in the backlog: it gets the output too. */
	if (m->attach)
		attach_server_accept_pending(m->attach);
	if (m->out)
		stdio_reader_drain(m->out);
	if (m->err)
		stdio_reader_drain(m->err);
	if (m->attach)
		attach_server_flush(m->attach);
}

/* Returns the monitor's exit code: the exit command's failure, else the container's status. */
static int finish(struct monitor *m)
{
	int status = m->timed_out ? -1 : m->container_status;
	g_clear_pointer(&m->out, stdio_reader_free);
	g_clear_pointer(&m->err, stdio_reader_free);
	g_clear_pointer(&m->log, ctr_log_free);
	g_clear_pointer(&m->ctl, ctl_fifo_free);
	g_clear_pointer(&m->attach, attach_server_free);
	g_clear_pointer(&m->in, stdin_sink_free);
	if (m->master_fd >= 0)
		close(m->master_fd);

	g_clear_pointer(&m->notify, notify_proxy_free);
	g_clear_pointer(&m->seccomp, seccomp_agent_free);
	/* The oom file must exist before the exit file announces the exit. */
	if (m->oom)
		oom_watch_final_check(m->oom);
	g_clear_pointer(&m->oom, oom_watch_free);

	/* Reserved host ports are free again before anyone learns the container exited. */
	fds_close_inherited(m->inherited_fds, m->sync_fd);

	/* Even without an exit file, the engine still gets the status and the exit command still runs. */
	exit_write_files_retry(&m->opts, status, EXIT_FILE_RETRY_MS);
	if (m->opts.exec)
		sync_send(&m->sync_fd, sync_key(m->opts.api_version, true), status,
			  m->timed_out ? TIMED_OUT_MESSAGE : NULL);
	g_clear_pointer(&m->reaper, reaper_free);
	g_clear_pointer(&m->loop, g_main_loop_unref);
	if (m->sync_fd >= 0)
		close(m->sync_fd);

	int cmd_status = exit_run_command(&m->opts, m->oom_score_adj);
	cli_opts_clear(&m->opts);
	g_array_unref(m->inherited_fds);
	g_free(m->oom_score_adj);
	/* -1 (timed out) leaves as 255, as the reference's does. */
	return cmd_status != 0 ? cmd_status : status & 0xff;
}

static void take_env_fds(struct monitor *m)
{
	g_autoptr(GError) err = NULL;
	if (sync_env_fd("_OCI_SYNCPIPE", &m->sync_fd, &err) < 0)
		diag_fatal_error(err);
	if (m->opts.exec_attach) {
		if (sync_env_fd("_OCI_ATTACHPIPE", &m->attach_pipe_fd, &err) < 0)
			diag_fatal_error(err);
		if (m->attach_pipe_fd < 0)
			diag_fatal("--attach specified but _OCI_ATTACHPIPE was not");
	}
}

int main(int argc, char **argv)
{
	struct monitor m = { .sync_fd = -1, .start_fd = -1, .attach_pipe_fd = -1, .master_fd = -1 };
	m.inherited_fds = fds_snapshot();
	m.engine_pid = getppid();
	setlocale(LC_ALL, "");
	umask(022);

	parse_cli(&m, argc, argv);
	g_autoptr(GError) err = NULL;
	m.log = ctr_log_new(&m.opts, &err);
	if (m.log == NULL)
		diag_fatal_error(err);

	m.oom_score_adj = oom_score_protect();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_early_sigterm);
	survive_stray_signals();

	if (sync_env_fd("_OCI_STARTPIPE", &m.start_fd, &err) < 0)
		diag_fatal_error(err);
	if (m.start_fd >= 0) {
		if (sync_wait_start(m.start_fd, &err) < 0)
			diag_fatal_error(err);
		/* Exec attach needs it again: the second byte releases the runtime. */
		if (!m.opts.exec_attach) {
			close(m.start_fd);
			m.start_fd = -1;
		}
	}
	m.dev_null_r = open_dev_null(O_RDONLY);
	m.dev_null_w = open_dev_null(O_WRONLY);

	daemonize(&m);
	take_env_fds(&m);
	/* The engine waits for EOF on the pipes it gave us as stdio. */
	if (!ctr_log_passthrough(m.log))
		stdio_to_dev_null(&m);
	/* Fails harmlessly with --sync, where the engine made us a process group leader. */
	if (setsid() < 0)
		diag_debug("setsid: %s", g_strerror(errno));
	/* The container's init is re-parented to us when `runtime create` exits. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		diag_fatal("Failed to make conmon a subreaper: %s", g_strerror(errno));

	m.loop = g_main_loop_new(NULL, FALSE);
	m.in = stdin_sink_new();
	int out_r, err_r;
	create_container(&m, &out_r, &err_r);
	watch_container(&m, out_r, err_r);
	return finish(&m);
}
