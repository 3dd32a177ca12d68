/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/monitor_attach.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "common/unix_socket.h"

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
	size_t matched; /* detach-key bytes seen so far */
	bool stdin_open;
	int sfd; /* the relayed signals */
	guint8 buf[MON_ATTACH_PACKET + 1];
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

/* Whatever way the loop ends, the user gets the terminal and the signal mask back as they were. */
struct term_guard {
	bool raw;
	struct termios saved;
	bool masked;
	sigset_t old_mask;
};

static void term_guard_release(struct term_guard *g)
{
	if (g->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &g->saved);
	if (g->masked)
		sigprocmask(SIG_SETMASK, &g->old_mask, NULL);
}

/* Route the relayed signals to a signalfd (returned) and put a terminal into raw mode. */
static int term_guard_enter(struct term_guard *g, const struct mon_attach_opts *o, GError **err)
{
	sigset_t mask;
	int sfd;

	sigemptyset(&mask);
	if (o->tty)
		sigaddset(&mask, SIGWINCH);
	if (o->signal_pid > 0) {
		sigaddset(&mask, SIGINT);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGHUP);
		sigaddset(&mask, SIGQUIT);
	}
	sigprocmask(SIG_BLOCK, &mask, &g->old_mask);
	g->masked = true;
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return cm_set_errno(err, errno, "signalfd");
	if (o->tty && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &g->saved) == 0) {
		struct termios t = g->saved;
		cfmakeraw(&t);
		g->raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
	}
	return sfd;
}

/* One packet from the monitor: 1 when the socket ended, else 0 or -1. */
static int on_socket(struct attach_loop *l, GError **err)
{
	ssize_t n = recv(l->o->sock, l->buf, sizeof(l->buf), 0);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0 && errno != ECONNRESET)
		return cm_set_errno(err, errno, "read from the attach socket");
	if (n <= 0)
		return 1;
	if (n > 1) {
		int out = l->buf[0] == 3 ? STDERR_FILENO : STDOUT_FILENO;
		/* Our stdout going away must not stop the container's output from being drained. */
		if (cm_write_all(out, l->buf + 1, (size_t)n - 1, -1) < 0 && errno != EPIPE)
			g_debug("write output: %s", g_strerror(errno));
	}
	return 0;
}

static void on_signals(struct attach_loop *l)
{
	struct signalfd_siginfo si;

	while (read(l->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGWINCH)
			mon_send_resize(l->o->ctl_path, STDIN_FILENO);
		else if (l->o->signal_pid > 0)
			kill(l->o->signal_pid, (int)si.ssi_signo);
	}
}

/* Our stdin: 1 when the user detached, else 0 or -1. */
static int on_stdin(struct attach_loop *l, GError **err)
{
	ssize_t n = cm_read(STDIN_FILENO, l->buf, sizeof(l->buf));

	if (n <= 0) {
		/* EOF: the monitor closes the container's stdin when we shut our side. */
		l->stdin_open = false;
		shutdown(l->o->sock, SHUT_WR);
		return 0;
	}
	return forward_input(l, l->buf, (size_t)n, err);
}

enum mon_attach_result mon_attach_run(const struct mon_attach_opts *o, GError **err)
{
	_cleanup_(term_guard_release) struct term_guard guard = { 0 };
	struct attach_loop l = { .o = o, .stdin_open = o->forward_stdin };
	_cleanup_close_ int sfd = term_guard_enter(&guard, o, err);

	if (sfd < 0)
		return MON_ATTACH_ERROR;
	l.sfd = sfd;
	if (o->tty)
		mon_send_resize(o->ctl_path, STDIN_FILENO);
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = o->sock, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = l.stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
		};
		int r = poll(p, 3, -1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cm_set_errno(err, errno, "poll");
			return MON_ATTACH_ERROR;
		}
		if (p[0].revents) {
			r = on_socket(&l, err);
			if (r != 0)
				return r > 0 ? MON_ATTACH_ENDED : MON_ATTACH_ERROR;
			continue;
		}
		if (p[1].revents)
			on_signals(&l);
		if (p[2].revents) {
			r = on_stdin(&l, err);
			if (r != 0)
				return r > 0 ? MON_ATTACH_DETACHED : MON_ATTACH_ERROR;
		}
	}
}
