/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/oom.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <linux/magic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "common/safe_open.h"
#include "conmon/diag.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

struct oom_watch {
	char *dir; /* the cgroup directory */
	bool v2;
	char **oom_dirs;
	bool triggered;
	int fd;		  /* v1: eventfd, v2: inotify or memory.events itself; -1 once the cgroup is gone */
	bool kernfs_poll; /* v2 without inotify: fd is memory.events, polled for POLLPRI */
	guint source;
	/* v1 */
	int oom_control;
	bool have_kill; /* memory.oom_control has an oom_kill counter */
	bool pending;	/* a notification the oom_kill counter has not confirmed yet */
	/* both: last seen counters */
	guint64 last_kill;
	guint64 last_oom;
};

/*
 * fd to its end, read straight into the string: a stack buffer would stay
 * dirty in every idle monitor (these files are read while it starts).
 */
static char *read_to_end(int fd, const char *path, GError **err)
{
	g_autoptr(GString) s = g_string_sized_new(1024);
	for (;;) {
		gsize len = s->len;
		g_string_set_size(s, len + 1024);
		ssize_t n = cm_read(fd, s->str + len, 1024);
		if (n < 0) {
			cm_set_errno(err, errno, "Failed to read %s", path);
			return NULL;
		}
		g_string_set_size(s, len + (gsize)n);
		if (n == 0)
			return g_string_free(g_steal_pointer(&s), FALSE);
	}
}

static char *read_text_file(const char *path, GError **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cm_set_errno(err, errno, "Failed to open %s", path);
		return NULL;
	}
	return read_to_end(fd, path, err);
}

/* "key value" lines as in memory.events and memory.oom_control. */
static bool parse_counter(const char *text, const char *key, guint64 *out)
{
	size_t klen = strlen(key);
	const char *line = text;
	while (*line) {
		const char *nl = strchrnul(line, '\n');
		if ((size_t)(nl - line) > klen + 1 && strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			g_autofree char *value = g_strndup(line + klen + 1, (gsize)(nl - line) - klen - 1);
			return g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT64, out, NULL);
		}
		line = *nl ? nl + 1 : nl;
	}
	return false;
}

char *oom_cgroup_dir(const char *proc_cgroup, bool v2)
{
	g_auto(GStrv) lines = g_strsplit(proc_cgroup, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) f = g_strsplit(*l, ":", 3);
		if (g_strv_length(f) != 3 || f[2][0] != '/')
			continue;
		const char *path = strcmp(f[2], "/") == 0 ? "" : f[2];
		if (v2) {
			/* Hybrid hosts also list v1 hierarchies here. */
			if (strcmp(f[0], "0") == 0 && f[1][0] == '\0')
				return g_strconcat(CGROUP_ROOT, path, NULL);
			continue;
		}
		g_auto(GStrv) controllers = g_strsplit(f[1], ",", -1);
		if (g_strv_contains((const char *const *)controllers, "memory"))
			return g_strconcat(CGROUP_ROOT "/memory", path, NULL);
	}
	return NULL;
}

static void trigger(struct oom_watch *w)
{
	if (w->triggered)
		return;
	w->triggered = true;
	diag_info("OOM detected in cgroup %s", w->dir);
	for (char **d = w->oom_dirs; d && *d; d++) {
		g_autofree char *path = g_build_filename(*d, "oom", NULL);
		g_autoptr(GError) err = NULL;
		/* A FIFO or link planted there must neither block us nor create a file elsewhere. */
		int fd = cm_open_safe(path, O_CREAT | O_WRONLY, 0666, CM_OPEN_REGULAR, &err);
		if (fd < 0) {
			if (cm_error_errno(err) == ENOENT)
				diag_debug("not writing %s: %s", path, err->message);
			else
				diag_warn("Failed to write oom file: %s", err->message);
			continue;
		}
		close(fd);
	}
}

static void stop_watching(struct oom_watch *w)
{
	if (w->source)
		g_source_remove(w->source);
	w->source = 0;
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}

/* v1 */

static bool read_oom_kill(const struct oom_watch *w, guint64 *kills)
{
	char buf[512];
	ssize_t n;
	do {
		n = pread(w->oom_control, buf, sizeof(buf) - 1, 0);
	} while (n < 0 && errno == EINTR);
	/* ENODEV: the cgroup was removed under the open file. */
	if (n < 0)
		return false;
	buf[n] = '\0';
	return parse_counter(buf, "oom_kill", kills);
}

/*
 * The notification is sent before the OOM killer runs, so a counter that has
 * not moved yet leaves it pending; a counter we cannot read backs it up.
 */
static void v1_notified(struct oom_watch *w)
{
	guint64 kills;
	w->pending = true;
	if (!w->have_kill || !read_oom_kill(w, &kills) || kills > w->last_kill)
		trigger(w);
}

static bool v1_cgroup_removed(const struct oom_watch *w)
{
	g_autofree char *path = g_build_filename(w->dir, "cgroup.event_control", NULL);
	return access(path, F_OK) < 0 && errno == ENOENT;
}

/* Consume the eventfd; false once there is nothing more to wait for. */
static bool v1_drain(struct oom_watch *w)
{
	uint64_t count;
	ssize_t n = cm_read(w->fd, &count, sizeof(count));
	if (n < 0 && errno == EAGAIN)
		return true;
	if (n != (ssize_t)sizeof(count)) {
		diag_warn("Failed to read the OOM eventfd: %s", n < 0 ? g_strerror(errno) : "short read");
		return false;
	}
	/*
	 * rmdir signals every registered eventfd once, after the cgroup's files
	 * are gone: that one is not an OOM, anything counted on top of it is.
	 */
	if (v1_cgroup_removed(w)) {
		diag_debug("cgroup %s removed", w->dir);
		if (count > 1 || w->pending)
			trigger(w);
		return false;
	}
	v1_notified(w);
	return true;
}

static gboolean on_v1_event(int fd, GIOCondition cond, gpointer data)
{
	(void)fd;
	(void)cond;
	struct oom_watch *w = data;
	if (v1_drain(w))
		return G_SOURCE_CONTINUE;
	stop_watching(w);
	return G_SOURCE_REMOVE;
}

static void v1_final(struct oom_watch *w)
{
	guint64 kills;
	if (w->have_kill && read_oom_kill(w, &kills)) {
		if (kills > w->last_kill)
			trigger(w);
		else if (w->pending)
			diag_debug("OOM notification in %s without a kill", w->dir);
		return;
	}
	if (w->pending)
		trigger(w);
}

static int register_v1_event(struct oom_watch *w, int efd, GError **err)
{
	g_autofree char *path = g_build_filename(w->dir, "cgroup.event_control", NULL);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return cm_set_errno(err, errno, "Failed to open %s", path);
	char line[64];
	int len = snprintf(line, sizeof(line), "%d %d", efd, w->oom_control);
	if (cm_write_all(fd, line, (size_t)len, -1) < 0)
		return cm_set_errno(err, errno, "Failed to write to %s", path);
	return 0;
}

static int watch_v1(struct oom_watch *w, GError **err)
{
	g_autofree char *control = g_build_filename(w->dir, "memory.oom_control", NULL);
	w->oom_control = open(control, O_RDONLY | O_CLOEXEC);
	if (w->oom_control < 0)
		return cm_set_errno(err, errno, "Failed to open %s", control);
	w->have_kill = read_oom_kill(w, &w->last_kill);

	_cleanup_close_ int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return cm_set_errno(err, errno, "Failed to create eventfd");
	g_autoptr(GError) reg_err = NULL;
	if (register_v1_event(w, efd, &reg_err) < 0) {
		/* PREEMPT_RT kernels refuse the registration; the counter is still read at exit. */
		if (!w->have_kill)
			return cm_set_error(err, cm_error_errno(reg_err), "%s", reg_err->message);
		diag_warn("OOM notifications unavailable (%s); checking the oom_kill counter at exit",
			  reg_err->message);
		return 0;
	}
	w->fd = TAKE_FD(efd);
	w->source = g_unix_fd_add(w->fd, G_IO_IN, on_v1_event, w);
	return 0;
}

/* v2 */

/* New memory.events text: trigger when either counter grew. */
static void v2_update(struct oom_watch *w, const char *text)
{
	bool oom = false;
	guint64 value;
	/* Separate counters: a missing line (file mid-rewrite) changes nothing. */
	if (parse_counter(text, "oom", &value)) {
		oom |= value > w->last_oom;
		w->last_oom = value;
	}
	if (parse_counter(text, "oom_kill", &value)) {
		oom |= value > w->last_kill;
		w->last_kill = value;
	}
	if (oom)
		trigger(w);
}

/* Re-read memory.events; a file that vanished keeps the last result. */
static void v2_check(struct oom_watch *w)
{
	g_autofree char *path = g_build_filename(w->dir, "memory.events", NULL);
	g_autofree char *text = read_text_file(path, NULL);
	if (text != NULL)
		v2_update(w, text);
}

static bool v2_drain(struct oom_watch *w)
{
	bool gone = false;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = cm_read(w->fd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			diag_warn("Failed to read inotify events: %s", n < 0 ? g_strerror(errno) : "EOF");
			gone = true;
			break;
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			/* The watch is gone with the file (cgroup removed). */
			if (ev->mask & IN_IGNORED)
				gone = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	v2_check(w);
	return !gone;
}

static gboolean on_v2_event(int fd, GIOCondition cond, gpointer data)
{
	(void)fd;
	(void)cond;
	struct oom_watch *w = data;
	if (v2_drain(w))
		return G_SOURCE_CONTINUE;
	stop_watching(w);
	return G_SOURCE_REMOVE;
}

/* memory.events through the watched fd; reading also re-arms kernfs' poll notification. */
static char *v2_read_open_file(struct oom_watch *w)
{
	if (lseek(w->fd, 0, SEEK_SET) < 0)
		return NULL;
	/* NULL on ENODEV: the cgroup was removed. */
	return read_to_end(w->fd, "memory.events", NULL);
}

static gboolean on_v2_kernfs_event(int fd, GIOCondition cond, gpointer data)
{
	(void)fd;
	(void)cond;
	struct oom_watch *w = data;
	g_autofree char *text = v2_read_open_file(w);
	if (text) {
		v2_update(w, text);
		return G_SOURCE_CONTINUE;
	}
	w->source = 0;
	stop_watching(w);
	return G_SOURCE_REMOVE;
}

/*
 * inotify instances are limited per user (128 by default) and shared by every
 * monitor and every other program of root: past that, kernfs still wakes poll()
 * with POLLPRI when memory.events changes. On a plain file (the tests' fake
 * cgroup) this never fires, and the check after exit still reads the file.
 */
static int watch_v2_kernfs(struct oom_watch *w, const char *path, GError **err)
{
	w->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (w->fd < 0)
		return cm_set_errno(err, errno, "Failed to open %s", path);
	w->kernfs_poll = true;
	g_autofree char *text = v2_read_open_file(w);
	if (text == NULL)
		return cm_set_errno(err, errno, "Failed to read %s", path);
	parse_counter(text, "oom", &w->last_oom);
	parse_counter(text, "oom_kill", &w->last_kill);
	w->source = g_unix_fd_add(w->fd, G_IO_PRI, on_v2_kernfs_event, w);
	return 0;
}

static int watch_v2(struct oom_watch *w, GError **err)
{
	g_autofree char *path = g_build_filename(w->dir, "memory.events", NULL);
	_cleanup_close_ int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOMEM)) {
		diag_debug("no inotify instance (%s): polling %s", g_strerror(errno), path);
		return watch_v2_kernfs(w, path, err);
	}
	if (fd < 0)
		return cm_set_errno(err, errno, "Failed to create inotify fd");
	if (inotify_add_watch(fd, path, IN_MODIFY) < 0)
		return cm_set_errno(err, errno, "Failed to add inotify watch for %s", path);
	/* The baseline is read after the watch exists, so no change falls in between. */
	g_autofree char *text = read_text_file(path, err);
	if (text == NULL)
		return -1;
	parse_counter(text, "oom", &w->last_oom);
	parse_counter(text, "oom_kill", &w->last_kill);
	w->fd = TAKE_FD(fd);
	w->source = g_unix_fd_add(w->fd, G_IO_IN, on_v2_event, w);
	return 0;
}

struct oom_watch *oom_watch_new_at(const char *cgroup_dir, bool v2, const char *const *oom_dirs, GError **err)
{
	struct oom_watch *w = g_new0(struct oom_watch, 1);
	w->dir = g_strdup(cgroup_dir);
	w->v2 = v2;
	w->oom_dirs = g_strdupv((char **)oom_dirs);
	w->fd = -1;
	w->oom_control = -1;
	if ((v2 ? watch_v2(w, err) : watch_v1(w, err)) < 0) {
		oom_watch_free(w);
		return NULL;
	}
	diag_debug("watching %s for OOM (cgroup v%d)", w->dir, v2 ? 2 : 1);
	return w;
}

struct oom_watch *oom_watch_new(pid_t pid, const char *const *oom_dirs, GError **err)
{
	struct statfs sfs;
	if (statfs(CGROUP_ROOT, &sfs) < 0) {
		cm_set_errno(err, errno, "Failed to statfs %s", CGROUP_ROOT);
		return NULL;
	}
	/* Hybrid hosts (tmpfs at the root) count as v1. */
	bool v2 = sfs.f_type == CGROUP2_SUPER_MAGIC;
	g_autofree char *proc = g_strdup_printf("/proc/%d/cgroup", pid);
	g_autofree char *text = read_text_file(proc, err);
	if (text == NULL)
		return NULL;
	g_autofree char *dir = oom_cgroup_dir(text, v2);
	if (dir == NULL) {
		cm_set_error(err, ENOENT, "No %s cgroup found for pid %d", v2 ? "unified" : "memory", pid);
		return NULL;
	}
	return oom_watch_new_at(dir, v2, oom_dirs, err);
}

void oom_watch_final_check(struct oom_watch *w)
{
	if (w->triggered)
		return;
	if (w->v2) {
		if (w->fd >= 0 && !w->kernfs_poll && !v2_drain(w))
			stop_watching(w);
		v2_check(w);
		return;
	}
	if (w->fd >= 0 && !v1_drain(w))
		stop_watching(w);
	v1_final(w);
}

bool oom_watch_triggered(const struct oom_watch *w)
{
	return w->triggered;
}

void oom_watch_free(struct oom_watch *w)
{
	if (w == NULL)
		return;
	stop_watching(w);
	if (w->oom_control >= 0)
		close(w->oom_control);
	g_strfreev(w->oom_dirs);
	g_free(w->dir);
	g_free(w);
}
