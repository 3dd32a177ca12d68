/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/reaper.h"

#include <glib-unix.h>

#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/io.h"
#include "conmon/diag.h"

struct watch {
	struct reaper *reaper;
	pid_t pid;
	reaper_exit_fn fn;
	void *data;
	int pidfd;
	guint pidfd_source;
};

struct reaper {
	int sfd;
	guint source;
	GHashTable *watches; /* pid -> struct watch */
	pid_t forward_pid;
};

static void watch_free(gpointer data)
{
	struct watch *w = data;
	if (w->pidfd_source)
		g_source_remove(w->pidfd_source);
	if (w->pidfd >= 0)
		close(w->pidfd);
	g_free(w);
}

static void owned_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGQUIT);
}

int reaper_block_signals(GError **err)
{
	sigset_t set;
	owned_signals(&set);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return cm_set_errno(err, errno, "Failed to block signals");
	return 0;
}

void reaper_check(struct reaper *r)
{
	for (;;) {
		int wstatus;
		pid_t pid = waitpid(-1, &wstatus, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return;
		struct watch *w = g_hash_table_lookup(r->watches, GINT_TO_POINTER(pid));
		if (w == NULL) {
			diag_debug("reaped unknown child %d", pid);
			continue;
		}
		reaper_exit_fn fn = w->fn;
		void *data = w->data;
		g_hash_table_remove(r->watches, GINT_TO_POINTER(pid));
		fn(pid, wstatus, data);
	}
}

static void forward(struct reaper *r, int signo)
{
	if (r->forward_pid <= 0)
		return;
	diag_info("forwarding signal %d to %d", signo, r->forward_pid);
	/* The target may be gone already; its exit shows up as SIGCHLD. */
	if (kill(r->forward_pid, signo) < 0)
		reaper_check(r);
}

static gboolean on_signal(int fd, GIOCondition cond, gpointer data)
{
	(void)cond;
	struct reaper *r = data;
	struct signalfd_siginfo si;
	for (;;) {
		ssize_t n = cm_read(fd, &si, sizeof(si));
		if (n < 0 && errno == EAGAIN)
			return G_SOURCE_CONTINUE;
		if (n != (ssize_t)sizeof(si)) {
			diag_warn("signalfd read failed: %s", n < 0 ? g_strerror(errno) : "short read");
			return G_SOURCE_CONTINUE;
		}
		switch (si.ssi_signo) {
		case SIGCHLD:
		case SIGUSR1: reaper_check(r); break;
		default: forward(r, (int)si.ssi_signo);
		}
	}
}

struct reaper *reaper_new(GError **err)
{
	sigset_t set;
	owned_signals(&set);
	int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		cm_set_errno(err, errno, "Failed to create signalfd");
		return NULL;
	}
	struct reaper *r = g_new0(struct reaper, 1);
	r->sfd = sfd;
	r->watches = g_hash_table_new_full(NULL, NULL, NULL, watch_free);
	r->source = g_unix_fd_add(sfd, G_IO_IN, on_signal, r);
	return r;
}

void reaper_free(struct reaper *r)
{
	if (r == NULL)
		return;
	g_source_remove(r->source);
	close(r->sfd);
	g_hash_table_destroy(r->watches);
	g_free(r);
}

/*
 * The pidfd covers a watched process that is not our child (some systemd
 * setups re-parent the container's init elsewhere): no SIGCHLD would come.
 */
static gboolean on_pidfd(int fd, GIOCondition cond, gpointer data)
{
	(void)fd;
	(void)cond;
	struct watch *w = data;
	struct reaper *r = w->reaper;
	w->pidfd_source = 0;
	pid_t pid = w->pid;
	int wstatus;
	pid_t got;
	do
		got = waitpid(pid, &wstatus, WNOHANG);
	while (got < 0 && errno == EINTR);
	if (got == 0 || (got < 0 && errno != ECHILD)) {
		reaper_check(r);
		return G_SOURCE_REMOVE;
	}
	if (got < 0) {
		diag_info("process %d exited but is not our child: its exit status is unknown, using 0", pid);
		wstatus = 0;
	}
	reaper_exit_fn fn = w->fn;
	void *fn_data = w->data;
	g_hash_table_remove(r->watches, GINT_TO_POINTER(pid));
	fn(pid, wstatus, fn_data);
	return G_SOURCE_REMOVE;
}

void reaper_watch(struct reaper *r, pid_t pid, reaper_exit_fn fn, void *data)
{
	struct watch *w = g_new(struct watch, 1);
	*w = (struct watch){ .reaper = r, .pid = pid, .fn = fn, .data = data, .pidfd = -1 };
	w->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (w->pidfd >= 0)
		w->pidfd_source = g_unix_fd_add(w->pidfd, G_IO_IN, on_pidfd, w);
	else
		diag_debug("pidfd_open(%d): %s", pid, g_strerror(errno));
	g_hash_table_replace(r->watches, GINT_TO_POINTER(pid), w);
}

void reaper_set_forward_pid(struct reaper *r, pid_t pid)
{
	r->forward_pid = pid;
}
