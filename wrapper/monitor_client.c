/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/monitor_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "common/child_fds.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/unix_socket.h"
#include "common/io.h"

extern char **environ;

void mon_spawn_init(struct mon_spawn *m)
{
	memset(m, 0, sizeof(*m));
	m->pid = -1;
	m->sync_fd = m->start_fd = m->attach_fd = -1;
}

void mon_spawn_close(struct mon_spawn *m)
{
	cm_closep(&m->sync_fd);
	cm_closep(&m->start_fd);
	cm_closep(&m->attach_fd);
	m->sync_fd = m->start_fd = m->attach_fd = -1;
}

static char **child_env(bool exec_attach)
{
	GPtrArray *env = g_ptr_array_new();

	for (char **e = environ; e && *e; e++) {
		if (g_str_has_prefix(*e, "_OCI_SYNCPIPE=") || g_str_has_prefix(*e, "_OCI_STARTPIPE=") ||
		    g_str_has_prefix(*e, "_OCI_ATTACHPIPE="))
			continue;
		g_ptr_array_add(env, g_strdup(*e));
	}
	g_ptr_array_add(env, g_strdup("_OCI_SYNCPIPE=3"));
	g_ptr_array_add(env, g_strdup("_OCI_STARTPIPE=4"));
	if (exec_attach)
		g_ptr_array_add(env, g_strdup("_OCI_ATTACHPIPE=5"));
	g_ptr_array_add(env, NULL);
	return (char **)g_ptr_array_free(env, FALSE);
}

/* In the forked child: only async-signal-safe calls. */
static void G_GNUC_NORETURN exec_child(const struct mon_spawn *m, int *fds, size_t n, char **envp)
{
	if (setpgid(0, 0) < 0)
		_exit(125);
	if (m->cwd && chdir(m->cwd) < 0)
		_exit(125);
	if (cm_place_fds(fds, n, 3) < 0)
		_exit(125);
	execve(m->argv[0], m->argv, envp);
	_exit(127);
}

int mon_spawn(struct mon_spawn *m, GError **err)
{
	int sp[2], start[2], attach[2] = { -1, -1 };
	g_autoptr(GArray) fds = g_array_new(FALSE, FALSE, sizeof(int));
	g_auto(GStrv) envp = NULL;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return cm_set_errno(err, errno, "socketpair");
	if (pipe2(start, O_CLOEXEC) < 0) {
		int e = errno;
		close(sp[0]);
		close(sp[1]);
		return cm_set_errno(err, e, "pipe");
	}
	if (m->exec_attach && pipe2(attach, O_CLOEXEC) < 0) {
		int e = errno;
		close(sp[0]);
		close(sp[1]);
		close(start[0]);
		close(start[1]);
		return cm_set_errno(err, e, "pipe");
	}
	g_array_append_val(fds, sp[1]);
	g_array_append_val(fds, start[0]);
	if (m->exec_attach)
		g_array_append_val(fds, attach[1]);
	if (m->n_extra)
		g_array_append_vals(fds, m->extra_fds, (guint)m->n_extra);
	envp = child_env(m->exec_attach);

	pid = fork();
	if (pid == 0)
		exec_child(m, (int *)(void *)fds->data, fds->len, envp);
	close(sp[1]);
	close(start[0]);
	if (attach[1] >= 0)
		close(attach[1]);
	if (pid < 0) {
		int e = errno;
		close(sp[0]);
		close(start[1]);
		if (attach[0] >= 0)
			close(attach[0]);
		return cm_set_errno(err, e, "fork");
	}
	m->pid = pid;
	m->sync_fd = sp[0];
	m->start_fd = start[1];
	m->attach_fd = attach[0];
	return 0;
}

int mon_send_start(struct mon_spawn *m, GError **err)
{
	char b = 0;

	if (cm_write_all(m->start_fd, &b, 1, -1) < 0)
		return cm_set_errno(err, errno, "write to the monitor's start pipe");
	return 0;
}

int mon_wait_first(struct mon_spawn *m, GError **err)
{
	int status;

	while (waitpid(m->pid, &status, 0) < 0) {
		if (errno != EINTR)
			return cm_set_errno(err, errno, "waitpid monitor");
	}
	m->pid = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return cm_set_error(err, ENOEXEC, "cannot execute the monitor %s (check --conmon)", m->argv[0]);
	if (WIFEXITED(status))
		return cm_set_error(err, EIO, "the monitor %s failed with status %d (its message is above)", m->argv[0],
				    WEXITSTATUS(status));
	return cm_set_error(err, EIO, "the monitor %s was killed by signal %d", m->argv[0], WTERMSIG(status));
}

int mon_parse_msg(const char *buf, size_t len, int *data, char **message, GError **err)
{
	g_autofree char *text = g_strndup(buf, len);
	const char *data_path[] = { "data", NULL };
	const char *msg_path[] = { "message", NULL };
	char errbuf[256] = "";
	yajl_val root, v;

	root = yajl_tree_parse(text, errbuf, sizeof(errbuf));
	if (!root || !YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		return cm_set_error(err, EPROTO, "bad message from the monitor: %s", g_strstrip(text));
	}
	v = yajl_tree_get(root, data_path, yajl_t_number);
	if (!v || !YAJL_IS_INTEGER(v)) {
		yajl_tree_free(root);
		return cm_set_error(err, EPROTO, "message from the monitor has no \"data\": %s", g_strstrip(text));
	}
	*data = (int)YAJL_GET_INTEGER(v);
	if (message) {
		v = yajl_tree_get(root, msg_path, yajl_t_string);
		*message = v ? g_strdup(YAJL_GET_STRING(v)) : NULL;
	}
	yajl_tree_free(root);
	return 0;
}

int mon_read_msg(int fd, int timeout_ms, int *data, char **message, GError **err)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	guint8 chunk[16384];

	while (!memchr(buf->data, '\n', buf->len)) {
		int left = (int)((deadline - g_get_monotonic_time()) / 1000);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int r;

		if (timeout_ms >= 0 && left <= 0)
			return cm_set_error(err, ETIMEDOUT, "timed out waiting for the monitor");
		r = poll(&p, 1, timeout_ms < 0 ? -1 : left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return cm_set_errno(err, errno, "poll");
		if (r == 0)
			continue;
		n = cm_read(fd, chunk, sizeof(chunk));
		if (n < 0)
			return cm_set_errno(err, errno, "read from the monitor");
		if (n == 0) {
			if (buf->len)
				break;
			return cm_set_error(err, EPIPE, "the monitor exited without reporting (see its message above)");
		}
		g_byte_array_append(buf, chunk, (guint)n);
	}
	return mon_parse_msg((const char *)buf->data, buf->len, data, message, err);
}

int mon_failure_code(const char *message)
{
	g_autofree char *low = g_ascii_strdown(message ? message : "", -1);

	if (strstr(low, "not found") || strstr(low, "no such file or directory"))
		return 127;
	return 126;
}

int mon_attach_connect(const char *dir, GError **err)
{
	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cm_set_errno(err, errno, "open %s", dir);
	struct sockaddr_un addr;
	socklen_t len = 0;
	if (cm_unix_addr_at(&addr, &len, dfd, "attach", err) < 0)
		return -1;
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return cm_set_errno(err, errno, "socket");
	while (connect(s, (struct sockaddr *)&addr, len) < 0) {
		if (errno != EINTR)
			return cm_set_errno(err, errno, "connect to %s/attach", dir);
	}
	return TAKE_FD(s);
}

int mon_parse_detach_keys(const char *spec, GByteArray *out, GError **err)
{
	g_auto(GStrv) keys = NULL;

	if (!spec || !spec[0])
		return 0;
	keys = g_strsplit(spec, ",", -1);
	for (char **k = keys; *k; k++) {
		guint8 b;

		if (g_str_has_prefix(*k, "ctrl-") && strlen(*k) == 6) {
			char c = (*k)[5];
			if (g_ascii_isalpha(c))
				b = (guint8)(g_ascii_tolower(c) - 'a' + 1);
			else if (strchr("@[\\]^_", c))
				b = (guint8)(c - '@');
			else
				return cm_set_error(err, EINVAL, "bad detach key \"%s\" (use e.g. ctrl-p,ctrl-q)", *k);
		} else if (strlen(*k) == 1) {
			b = (guint8)(*k)[0];
		} else {
			return cm_set_error(err, EINVAL, "bad detach key \"%s\" (use e.g. ctrl-p,ctrl-q)", *k);
		}
		g_byte_array_append(out, &b, 1);
	}
	return 0;
}

void mon_send_resize(const char *ctl_path, int tty_fd)
{
	struct winsize ws;
	char line[64];
	int n, fd;

	if (!ctl_path || ioctl(tty_fd, TIOCGWINSZ, &ws) < 0)
		return;
	fd = open(ctl_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "1 %u %u\n", ws.ws_row, ws.ws_col);
	/* Best effort: a lost resize only costs a redraw. */
	if (cm_write_all(fd, line, (size_t)n, 1000) < 0)
		g_debug("resize: %s", g_strerror(errno));
	close(fd);
}

struct attach_loop {
	const struct mon_attach_opts *o;
	size_t matched;		/* detach-key bytes seen so far */
};

/* Feed stdin bytes through the detach-key matcher: 1 when the user detached, else 0 or -1. */
static int forward_input(struct attach_loop *l, const guint8 *buf, size_t len, GError **err)
{
	const struct mon_attach_opts *o = l->o;
	g_autoptr(GByteArray) out = g_byte_array_sized_new((guint)len + 8);

	bool detached = false;

	for (size_t i = 0; i < len && !detached; i++) {
		if (o->n_detach_keys && buf[i] == o->detach_keys[l->matched]) {
			detached = ++l->matched == o->n_detach_keys;
			continue;
		}
		if (l->matched) {
			g_byte_array_append(out, o->detach_keys, (guint)l->matched);
			l->matched = 0;
			if (o->n_detach_keys && buf[i] == o->detach_keys[0]) {
				l->matched = 1;
				continue;
			}
		}
		g_byte_array_append(out, &buf[i], 1);
	}
	if (out->len && cm_write_all(o->sock, out->data, out->len, -1) < 0)
		return cm_set_errno(err, errno, "write to the attach socket");
	return detached;
}

enum mon_attach_result mon_attach_run(const struct mon_attach_opts *o, GError **err)
{
	struct attach_loop l = { .o = o };
	struct termios saved;
	bool raw = false, stdin_open = o->forward_stdin;
	enum mon_attach_result res = MON_ATTACH_ERROR;
	sigset_t mask, old;
	_cleanup_close_ int sfd = -1;
	guint8 buf[MON_ATTACH_PACKET + 1];

	sigemptyset(&mask);
	if (o->tty)
		sigaddset(&mask, SIGWINCH);
	if (o->signal_pid > 0) {
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGHUP);
		sigaddset(&mask, SIGQUIT);
	}
	sigprocmask(SIG_BLOCK, &mask, &old);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		cm_set_errno(err, errno, "signalfd");
		sigprocmask(SIG_SETMASK, &old, NULL);
		return MON_ATTACH_ERROR;
	}
	if (o->tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
	}
	if (o->tty)
		mon_send_resize(o->ctl_path, STDIN_FILENO);

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = o->sock, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
		};
		int r = poll(p, 3, -1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cm_set_errno(err, errno, "poll");
			break;
		}
		if (p[0].revents) {
			ssize_t n = recv(o->sock, buf, sizeof(buf), 0);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n < 0 && errno != ECONNRESET) {
				cm_set_errno(err, errno, "read from the attach socket");
				break;
			}
			if (n <= 0) {
				res = MON_ATTACH_ENDED;
				break;
			}
			if (n > 1) {
				int out = buf[0] == 3 ? STDERR_FILENO : STDOUT_FILENO;
				/* Our stdout going away must not stop the container's output from being drained. */
				if (cm_write_all(out, buf + 1, (size_t)n - 1, -1) < 0 && errno != EPIPE)
					g_debug("write output: %s", g_strerror(errno));
			}
			continue;
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGWINCH)
					mon_send_resize(o->ctl_path, STDIN_FILENO);
				else if (o->signal_pid > 0)
					kill(o->signal_pid, (int)si.ssi_signo);
			}
		}
		if (p[2].revents) {
			ssize_t n = cm_read(STDIN_FILENO, buf, sizeof(buf));
			int fwd;
			if (n <= 0) {
				/* EOF: the monitor closes the container's stdin when we shut our side. */
				stdin_open = false;
				shutdown(o->sock, SHUT_WR);
				continue;
			}
			fwd = forward_input(&l, buf, (size_t)n, err);
			if (fwd > 0)
				res = MON_ATTACH_DETACHED;
			if (fwd != 0)
				break;
		}
	}
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return res;
}

int mon_wait_exit(const char *root, const struct ctr_state *st, int timeout_ms, int *code, GError **err)
{
	g_autofree char *dir = state_exit_dir(root, st->id);
	_cleanup_close_ int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	/* Without inotify we still poll every 200 ms. */
	if (ino >= 0 && inotify_add_watch(ino, dir, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
		g_debug("inotify %s: %s", dir, g_strerror(errno));
	for (;;) {
		struct pollfd p = { .fd = ino, .events = POLLIN };
		char drain[4096];

		if (state_read_exit(root, st->id, code))
			return 1;
		if (!state_pid_alive(st->monitor_pid)) {
			if (state_read_exit(root, st->id, code))
				return 1;
			cm_set_error(err, ESRCH,
				     "the monitor of container %.12s is gone and left no exit code (remove it with "
				     "ctr-wrap rm -f %s)",
				     st->id, st->name);
			return -1;
		}
		if (timeout_ms >= 0 && g_get_monotonic_time() >= deadline)
			return 0;
		if (poll(&p, 1, 200) > 0)
			while (read(ino, drain, sizeof(drain)) > 0)
				;
	}
}

int mon_runtime_call(const char *runtime, const char *rt_root, const char *const *args, char **out, GError **err)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autofree char *sout = NULL, *serr = NULL;
	g_autoptr(GError) local = NULL;
	int status = 0;

	g_ptr_array_add(argv, (char *)runtime);
	g_ptr_array_add(argv, (char *)"--root");
	g_ptr_array_add(argv, (char *)rt_root);
	for (; *args; args++)
		g_ptr_array_add(argv, (char *)*args);
	g_ptr_array_add(argv, NULL);
	if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &sout, &serr, &status,
			  &local)) {
		cm_set_error(err, ENOEXEC, "%s", local->message);
		return -1;
	}
	if (!g_spawn_check_wait_status(status, NULL)) {
		g_strstrip(serr);
		return cm_set_error(err, EIO, "%s %s failed: %s", runtime, ((const char **)argv->pdata)[3],
				    serr[0] ? serr : "no message");
	}
	if (out)
		*out = g_steal_pointer(&sout);
	return 0;
}
