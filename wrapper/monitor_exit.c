/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/monitor_exit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"

/* Without a notification we still look every 200 ms. */
#define EXIT_POLL_MS 200

/* The signal dnotify raises for the exit directory; ignored, so one left pending when we stop is dropped. */
static int exit_signal(void)
{
	return SIGRTMIN + 1;
}

/*
 * dnotify, not inotify: closing an inotify instance waits out an SRCU grace period (10-20 ms),
 * which every foreground run would pay on its way out.
 */
static int watch_dir(const char *dir, sigset_t *old_mask)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct sigaction sa = { .sa_handler = SIG_IGN };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, exit_signal());
	if (fd < 0 || sigaction(exit_signal(), &sa, NULL) < 0 || sigprocmask(SIG_BLOCK, &set, old_mask) < 0)
		return -1;
	if (fcntl(fd, F_SETSIG, exit_signal()) < 0 ||
	    fcntl(fd, F_NOTIFY, DN_CREATE | DN_RENAME | DN_MODIFY | DN_MULTISHOT) < 0) {
		g_debug("dnotify %s: %s", dir, g_strerror(errno));
		sigprocmask(SIG_SETMASK, old_mask, NULL);
		return -1;
	}
	return TAKE_FD(fd);
}

static void wait_signal(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, exit_signal());
	/* A notification (maybe an old one), the timeout and EINTR all mean: look again. */
	sigtimedwait(&set, NULL, &ts);
}

static int wait_exit(const char *root, const struct ctr_state *st, const char *dir, int timeout_ms, bool watched,
		     int *code, GError **err)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	for (;;) {
		int left = EXIT_POLL_MS;

		if (state_read_exit(root, st->id, code))
			return 1;
		/* Removed by the client that read it (run --rm): the monitor may wait for us, not we for it. */
		if (access(dir, F_OK) < 0 && errno == ENOENT) {
			cm_set_error(err, ENOENT, "container %s was removed before its exit code could be read",
				     st->name);
			return -1;
		}
		if (!state_pid_alive(st->monitor_pid)) {
			if (state_read_exit(root, st->id, code))
				return 1;
			cm_set_error(err, ESRCH,
				     "the monitor of container %.12s is gone and left no exit code (remove it with "
				     "ctr-wrap rm -f %s)",
				     st->id, st->name);
			return -1;
		}
		if (timeout_ms >= 0) {
			gint64 rest = (deadline - g_get_monotonic_time()) / 1000;
			if (rest <= 0)
				return 0;
			left = (int)MIN(rest, EXIT_POLL_MS);
		}
		if (watched)
			wait_signal(left);
		else
			g_usleep((gulong)left * 1000);
	}
}

int mon_wait_exit(const char *root, const struct ctr_state *st, int timeout_ms, int *code, GError **err)
{
	g_autofree char *dir = state_exit_dir(root, st->id);
	sigset_t old_mask;
	int fd, r;

	/* Often there already: the monitor writes it right after it lets go of the attach socket. */
	if (state_read_exit(root, st->id, code))
		return 1;
	fd = watch_dir(dir, &old_mask);
	r = wait_exit(root, st, dir, timeout_ms, fd >= 0, code, err);
	if (fd >= 0) {
		close(fd);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
	}
	return r;
}
