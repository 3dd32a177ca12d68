/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/monitor_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "common/child_fds.h"
#include "common/cleanup.h"
#include "common/error.h"
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
