/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/log_k8s.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/safe_open.h"
#include "conmon/diag.h"

/*
 * All records of a chunk are formatted into one buffer and written with one
 * write(). It grows up to OUT_MAX (a 256 KiB chunk of short lines needs
 * ~400 KiB) and goes back to OUT_KEEP after a run of small chunks, so an
 * idle monitor does not keep a burst's worth of pages.
 */
#define OUT_KEEP (16 * 1024)
#define OUT_MAX (1024 * 1024)
#define SHRINK_AFTER 32

/* "2006-01-02T15:04:05.000000000+07:00 stdout " is 43 bytes; room for odd years. */
#define PREFIX_MAX 64

struct k8s_log {
	char *path;
	int fd;
	bool regular; /* size limits and truncation undo apply to regular files only */
	gint64 size_max;
	gint64 global_max;
	bool rotate;
	int max_files;
	bool no_sync;
	bool unsynced; /* written since the last fsync: a log nothing was written to costs no fsync */

	gint64 written; /* size of the current file */
	gint64 total;	/* logged by this process, for the global limit */

	/* "YYYY-MM-DDTHH:MM:SS." and "+HH:MM" for second ts_sec */
	bool ts_valid;
	time_t ts_sec;
	char ts_date[40];
	size_t ts_date_len;
	char ts_off[16]; /* "+HH:MM"; sized for what the compiler cannot rule out */

	/* pending output: [out_off, out_len) is not written yet */
	char *out;
	size_t out_cap;
	size_t out_len;
	size_t out_off;
	size_t call_bytes;
	unsigned small_calls;
	bool stalled; /* the target said EAGAIN during this call: do not ask again per record */

	bool warned_write;
	bool warned_cycle;
	bool noted_global;
	struct k8s_log_stats stats;
};

static void warn_write_once(struct k8s_log *l, int errnum)
{
	if (l->warned_write)
		return;
	l->warned_write = true;
	diag_warn("Failed to write to log file %s: %s (output is dropped while this lasts)", l->path,
		  g_strerror(errnum));
}

/*
 * A FIFO is opened O_RDWR|O_NONBLOCK. O_WRONLY would block until a reader
 * shows up (the reference hangs there, podman#17666) or, non-blocking, fail
 * with ENXIO. Holding the read side as well means the open cannot fail for
 * want of a reader, a reader that comes later still finds up to a pipe's
 * worth of output, and a reader going away causes no EPIPE/SIGPIPE. When
 * the pipe is full, output waits in our buffer (bounded) and then is dropped.
 * Everything else gets O_NONBLOCK too, so a terminal or device never blocks.
 * A symlink at the path is refused: whoever planted it would choose the file
 * the container's output is appended to (the reference follows it).
 */
static int open_target(const char *path, GError **err)
{
	g_autoptr(GError) local = NULL;
	int fd = cm_open_safe(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK, 0640, CM_OPEN_SINGLE_LINK, &local);
	if (fd < 0 && cm_error_errno(local) == ENXIO) {
		g_clear_error(&local);
		fd = cm_open_safe(path, O_RDWR | O_NONBLOCK, 0, 0, &local);
	}
	if (fd < 0 && (cm_error_errno(local) == ELOOP || cm_error_errno(local) == EMLINK)) {
		g_propagate_error(err, g_steal_pointer(&local));
		return -1;
	}
	if (fd < 0)
		return cm_set_errno(err, cm_error_errno(local), "Failed to open log file %s", path);
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
		/* Opened for writing because a reader was there: the same FIFO again, with its read side. */
		g_autofree char *self = g_strdup_printf("/proc/self/fd/%d", fd);
		int rw = open(self, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (rw < 0) {
			cm_set_errno(err, errno, "Failed to reopen log FIFO %s", path);
			close(fd);
			return -1;
		}
		close(fd);
		fd = rw;
	}
	return fd;
}

static void use_fd(struct k8s_log *l, int fd)
{
	struct stat st;

	if (l->fd >= 0)
		close(l->fd);
	l->fd = fd;
	l->unsynced = false;
	if (fstat(fd, &st) == 0) {
		l->regular = S_ISREG(st.st_mode);
		l->written = l->regular ? st.st_size : 0;
	} else {
		l->regular = false;
		l->written = 0;
	}
}

static size_t count_newlines(const char *p, size_t n)
{
	size_t count = 0;
	const char *end = p + n;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		count++;
		p++;
	}
	return count;
}

static void count_dropped(struct k8s_log *l, size_t records, size_t bytes)
{
	l->stats.dropped_records += records;
	l->stats.dropped_bytes += bytes;
	l->total -= (gint64)bytes;
}

/*
 * The target refused the rest of the buffer. Every '\n' in the buffer ends a
 * record, so the last one in the written part is the last complete record;
 * on a regular file the torn record after it is cut off again, so the file
 * only ever holds whole records.
 */
static void drop_pending(struct k8s_log *l)
{
	const char *nl = l->out_off ? memrchr(l->out, '\n', l->out_off) : NULL;
	size_t boundary = nl ? (size_t)(nl + 1 - l->out) : 0;
	size_t torn = l->out_off - boundary;
	size_t drop_from = l->out_off;
	struct stat st;

	if (torn > 0 && l->regular && fstat(l->fd, &st) == 0 && st.st_size >= (off_t)torn &&
	    ftruncate(l->fd, st.st_size - (off_t)torn) == 0)
		drop_from = boundary;
	/* A record torn on a non-regular target, or that could not be cut, counts as lost too. */
	count_dropped(l, count_newlines(l->out + boundary, l->out_len - boundary), l->out_len - drop_from);
	l->out_off = l->out_len = 0;
	if (l->regular && fstat(l->fd, &st) == 0)
		l->written = st.st_size;
}

/*
 * Write what is pending. Returns false when output has to wait (a full
 * FIFO or terminal); any other failure drops the pending records.
 */
static bool out_flush(struct k8s_log *l)
{
	while (l->out_off < l->out_len) {
		ssize_t n = write(l->fd, l->out + l->out_off, l->out_len - l->out_off);
		if (n > 0) {
			l->out_off += (size_t)n;
			l->unsynced = true;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		int e = n < 0 ? errno : EIO;
		warn_write_once(l, e);
		if ((e == EAGAIN || e == EWOULDBLOCK) && !l->regular) {
			l->stalled = true;
			return false;
		}
		drop_pending(l);
		return true;
	}
	l->out_off = l->out_len = 0;
	return true;
}

/* Make room for rlen more bytes; false when a stalled target's backlog is full. */
static bool reserve(struct k8s_log *l, size_t rlen)
{
	if (l->out_len + rlen <= l->out_cap)
		return true;
	if (l->out_len > 0 && l->out_len + rlen > OUT_MAX && !l->stalled)
		out_flush(l);
	if (l->out_off > 0) {
		memmove(l->out, l->out + l->out_off, l->out_len - l->out_off);
		l->out_len -= l->out_off;
		l->out_off = 0;
	}
	size_t need = l->out_len + rlen;
	if (need <= l->out_cap)
		return true;
	if (l->out_len > 0 && need > OUT_MAX)
		return false;
	size_t cap = l->out_cap ? l->out_cap : OUT_KEEP;
	while (cap < need)
		cap *= 2;
	if (cap > OUT_MAX && need <= OUT_MAX)
		cap = OUT_MAX;
	l->out = g_realloc(l->out, cap);
	l->out_cap = cap;
	return true;
}

static void maybe_shrink(struct k8s_log *l)
{
	if (l->out_len > 0 || l->out_cap <= OUT_KEEP)
		return;
	if (l->call_bytes > OUT_KEEP / 2) {
		l->small_calls = 0;
		return;
	}
	if (++l->small_calls < SHRINK_AFTER)
		return;
	l->out = g_realloc(l->out, OUT_KEEP);
	l->out_cap = OUT_KEEP;
	l->small_calls = 0;
}

/*
 * Replace the file by an empty one: the reference's --log-size-max. The new
 * file has a unique name until it is renamed into place, so a file planted
 * under a predictable name (the reference's <path>.tmp) never becomes the log.
 */
static int truncate_file(struct k8s_log *l, GError **err)
{
	g_autofree char *tmp = NULL;
	int fd = cm_create_unique(l->path, O_APPEND | O_NONBLOCK, 0640, &tmp, err);
	if (fd < 0)
		return -1;
	if (rename(tmp, l->path) < 0) {
		cm_set_errno(err, errno, "Failed to rename log file %s", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	use_fd(l, fd);
	return 0;
}

/*
 * --log-rotate: <path>.i -> <path>.i+1, <path> -> <path>.1, fresh <path>.
 * The old file is hard-linked to .1 and the fresh one renamed over <path>,
 * so <path> never goes missing for a reader.
 */
static int rotate_files(struct k8s_log *l, GError **err)
{
	g_autofree char *fresh = NULL;
	g_autofree char *first = g_strconcat(l->path, ".1", NULL);
	_cleanup_close_ int fd = cm_create_unique(l->path, O_APPEND | O_NONBLOCK, 0640, &fresh, err);
	if (fd < 0)
		return -1;

	for (int i = l->max_files - 1; i >= 1; i--) {
		g_autofree char *from = g_strdup_printf("%s.%d", l->path, i);
		g_autofree char *to = g_strdup_printf("%s.%d", l->path, i + 1);
		if (rename(from, to) < 0 && errno != ENOENT) {
			cm_set_errno(err, errno, "Failed to rotate log file %s", from);
			unlink(fresh);
			return -1;
		}
	}
	if (unlink(first) < 0 && errno != ENOENT) {
		cm_set_errno(err, errno, "Failed to remove log file %s", first);
		unlink(fresh);
		return -1;
	}
	if (link(l->path, first) < 0 && errno != ENOENT) {
		/* no hard links here: accept a moment without <path> */
		if (rename(l->path, first) < 0 && errno != ENOENT) {
			cm_set_errno(err, errno, "Failed to rotate log file %s", l->path);
			unlink(fresh);
			return -1;
		}
	}
	if (rename(fresh, l->path) < 0) {
		cm_set_errno(err, errno, "Failed to rename log file %s", fresh);
		unlink(fresh);
		return -1;
	}
	use_fd(l, TAKE_FD(fd));
	return 0;
}

/*
 * The next record would take the file past --log-size-max. If the file
 * cannot be replaced, keep appending (losing nothing) and try again after
 * another size_max bytes.
 */
static void cycle(struct k8s_log *l)
{
	g_autoptr(GError) err = NULL;

	out_flush(l);
	int r = l->rotate ? rotate_files(l, &err) : truncate_file(l, &err);
	if (r == 0) {
		l->stats.truncations++;
		return;
	}
	if (!l->warned_cycle) {
		l->warned_cycle = true;
		diag_warn("%s (log size limit not applied)", err->message);
	}
	l->written = 0;
}

static bool admit(struct k8s_log *l, size_t rlen)
{
	if (l->global_max > 0 && l->total >= l->global_max) {
		if (!l->noted_global) {
			l->noted_global = true;
			diag_info("log file %s reached --log-global-size-max, dropping further output", l->path);
		}
		return false;
	}
	if (l->size_max > 0 && l->regular && l->written > 0 && l->written + (gint64)rlen > l->size_max)
		cycle(l);
	return true;
}

static void append_record(struct k8s_log *l, const char *prefix, size_t plen, const char *content, size_t clen,
			  bool partial)
{
	size_t rlen = plen + 2 + clen + partial;

	if (!admit(l, rlen) || !reserve(l, rlen)) {
		l->stats.dropped_records++;
		l->stats.dropped_bytes += rlen;
		return;
	}
	char *o = l->out + l->out_len;
	memcpy(o, prefix, plen);
	o += plen;
	o[0] = partial ? 'P' : 'F';
	o[1] = ' ';
	memcpy(o + 2, content, clen);
	if (partial)
		o[2 + clen] = '\n';
	l->out_len += rlen;
	l->call_bytes += rlen;
	l->written += (gint64)rlen;
	l->total += (gint64)rlen;
	l->stats.records++;
	l->stats.bytes += rlen;
}

/* Local time of sec: date and time to the second, and the UTC offset. */
static void format_second(struct k8s_log *l, time_t sec)
{
	struct tm tm;
	long off = 0;

	if (localtime_r(&sec, &tm) == NULL) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = 70;
		tm.tm_mday = 1;
	} else {
		off = tm.tm_gmtoff;
	}
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	int n = snprintf(l->ts_date, sizeof(l->ts_date), "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	l->ts_date_len = n > 0 && (size_t)n < sizeof(l->ts_date) ? (size_t)n : 0;
	snprintf(l->ts_off, sizeof(l->ts_off), "%c%02ld:%02ld", sign, off / 3600 % 100, off % 3600 / 60);
	l->ts_sec = sec;
	l->ts_valid = true;
}

/* "<ts> <stream> " for one chunk; the second's part is formatted once per second. */
static size_t format_prefix(struct k8s_log *l, char *out, const struct timespec *ts, int s)
{
	if (!l->ts_valid || ts->tv_sec != l->ts_sec)
		format_second(l, ts->tv_sec);
	char *p = out;
	memcpy(p, l->ts_date, l->ts_date_len);
	p += l->ts_date_len;
	unsigned long ns = ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L ? (unsigned long)ts->tv_nsec : 0;
	for (int i = 8; i >= 0; i--) {
		p[i] = (char)('0' + ns % 10);
		ns /= 10;
	}
	p += 9;
	memcpy(p, l->ts_off, 6);
	p += 6;
	memcpy(p, s ? " stderr " : " stdout ", 8);
	p += 8;
	return (size_t)(p - out);
}

static int path_allowed(const char *path, char *const *dirs, GError **err)
{
	bool any = false;

	for (char *const *d = dirs; d && *d; d++)
		any = any || **d != '\0';
	if (!any)
		return 0;

	g_autofree char *parent = g_path_get_dirname(path);
	g_autofree char *real_parent = realpath(parent, NULL);
	if (real_parent == NULL) {
		cm_set_errno(err, errno, "Failed to resolve log directory %s", parent);
		return -1;
	}
	for (char *const *d = dirs; *d; d++) {
		if (**d == '\0')
			continue;
		g_autofree char *real_dir = realpath(*d, NULL);
		if (real_dir == NULL)
			continue;
		size_t n = strlen(real_dir);
		if (strncmp(real_parent, real_dir, n) == 0 &&
		    (real_parent[n] == '\0' || real_parent[n] == '/' || (n == 1 && real_dir[0] == '/')))
			return 0;
	}
	cm_set_error(err, EPERM, "Log file %s is not under any --log-allowlist-dir, refusing --log-rotate", path);
	return -1;
}

struct k8s_log *k8s_log_open(const struct k8s_log_config *cfg, GError **err)
{
	if (cfg->path == NULL || cfg->path[0] == '\0') {
		cm_set_error(err, EINVAL, "k8s-file requires a filename");
		return NULL;
	}
	if (cfg->rotate && path_allowed(cfg->path, cfg->allowlist_dirs, err) < 0)
		return NULL;
	int fd = open_target(cfg->path, err);
	if (fd < 0)
		return NULL;

	struct k8s_log *l = g_new0(struct k8s_log, 1);
	l->path = g_strdup(cfg->path);
	l->fd = -1;
	l->size_max = cfg->size_max;
	l->global_max = cfg->global_size_max;
	l->rotate = cfg->rotate;
	l->max_files = cfg->max_files < 1 ? 1 : cfg->max_files;
	l->no_sync = cfg->no_sync;
	use_fd(l, fd);
	return l;
}

void k8s_log_write_at(struct k8s_log *l, enum stdpipe pipe, const char *buf, size_t len, const struct timespec *ts)
{
	if (len == 0 || (pipe != STDPIPE_STDOUT && pipe != STDPIPE_STDERR))
		return;
	int s = pipe == STDPIPE_STDERR;
	char prefix[PREFIX_MAX];
	size_t plen = format_prefix(l, prefix, ts, s);
	const char *p = buf;
	const char *end = buf + len;

	l->call_bytes = 0;
	l->stalled = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		bool partial = nl == NULL;
		size_t clen = partial ? (size_t)(end - p) : (size_t)(nl + 1 - p);
		append_record(l, prefix, plen, p, clen, partial);
		p += clen;
	}
	out_flush(l);
	maybe_shrink(l);
}

int k8s_log_reopen(struct k8s_log *l, GError **err)
{
	out_flush(l);
	if (!l->no_sync && l->regular && l->unsynced && fsync(l->fd) < 0)
		diag_warn("Failed to sync log file %s on reopen: %s", l->path, g_strerror(errno));
	int fd = open_target(l->path, err);
	if (fd < 0)
		return -1;
	if (l->out_off > 0) {
		/* the old target has the head of this record; its tail would be garbage in the new one */
		const char *nl = memchr(l->out + l->out_off, '\n', l->out_len - l->out_off);
		size_t end = nl ? (size_t)(nl + 1 - l->out) : l->out_len;
		count_dropped(l, 1, end - l->out_off);
		l->out_off = end;
	}
	use_fd(l, fd);
	out_flush(l);
	return 0;
}

void k8s_log_get_stats(const struct k8s_log *l, struct k8s_log_stats *out)
{
	*out = l->stats;
}

void k8s_log_close(struct k8s_log *l)
{
	if (l == NULL)
		return;
	l->stalled = false;
	if (!out_flush(l))
		drop_pending(l);
	if (!l->no_sync && l->regular && l->unsynced && fsync(l->fd) < 0)
		diag_warn("Failed to sync log file %s before exit: %s", l->path, g_strerror(errno));
	if (l->stats.dropped_records > 0)
		diag_warn("log file %s: %" G_GUINT64_FORMAT " records (%" G_GUINT64_FORMAT " bytes) dropped", l->path,
			  l->stats.dropped_records, l->stats.dropped_bytes);
	close(l->fd);
	g_free(l->out);
	g_free(l->path);
	g_free(l);
}
