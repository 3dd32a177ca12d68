/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/monitor_exit.h"

#include <errno.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"

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
