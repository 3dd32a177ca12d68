/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/ctl_fifo.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/io.h"
#include "common/safe_open.h"
#include "conmon/diag.h"

/* Longest message kept; real ones are under 20 bytes. */
#define LINE_MAX_LEN 256
#define READ_SIZE 4096
#define DIM_MAX 1000

enum ctl_type {
	CTL_RESIZE = 1,
	CTL_REOPEN_LOGS = 2,
};

struct ctl_fifo;

struct fifo {
	struct ctl_fifo *owner;
	const char *name;
	char *path;
	int rfd;
	int wfd; /* never written: keeps a writer so a closing peer causes no HUP */
	guint source;
	char line[LINE_MAX_LEN + 1];
	size_t len;
	bool discarding; /* inside an overlong line, skipping to its newline */
	void (*handle)(struct ctl_fifo *c, const char *line);
};

struct ctl_fifo {
	struct ctl_handlers h;
	struct fifo ctl;
	struct fifo winsz;
};

/*
 * Read up to max integers the way conmon's sscanf("%d %d %d") does: each may
 * follow whitespace and carry a sign; whatever follows the last one is
 * ignored. Returns how many were read. A value beyond int is clamped, so it
 * fails the range check instead of wrapping.
 */
static int scan_ints(const char *p, int *out, int max)
{
	int count = 0;
	while (count < max) {
		while (g_ascii_isspace(*p))
			p++;
		bool neg = *p == '-';
		if (*p == '-' || *p == '+')
			p++;
		if (!g_ascii_isdigit(*p))
			break;
		gint64 v = 0;
		for (; g_ascii_isdigit(*p); p++)
			v = MIN(v * 10 + (*p - '0'), (gint64)G_MAXINT + 1);
		v = neg ? -v : v;
		out[count++] = (int)CLAMP(v, G_MININT, G_MAXINT);
	}
	return count;
}

static bool valid_size(int rows, int cols)
{
	if (rows >= 0 && rows <= DIM_MAX && cols >= 0 && cols <= DIM_MAX)
		return true;
	diag_warn("Invalid window size: %dx%d (must be between 0 and %d)", rows, cols, DIM_MAX);
	return false;
}

static void resize(struct ctl_fifo *c, int rows, int cols)
{
	if (c->h.resize)
		c->h.resize((unsigned short)rows, (unsigned short)cols, c->h.data);
}

/* conmon 2.2's rules and warnings: "TYPE HEIGHT WIDTH", trailing fields ignored. */
static void handle_ctl(struct ctl_fifo *c, const char *line)
{
	int v[3];
	if (scan_ints(line, v, 3) != 3) {
		diag_warn("Invalid control message format");
		return;
	}
	if (v[0] != CTL_RESIZE && v[0] != CTL_REOPEN_LOGS) {
		diag_warn("Invalid control message type: %d", v[0]);
		return;
	}
	if (!valid_size(v[1], v[2]))
		return;
	if (v[0] == CTL_RESIZE) {
		diag_debug("ctl: resize to %d rows, %d columns", v[1], v[2]);
		resize(c, v[1], v[2]);
	} else {
		diag_debug("ctl: reopen logs");
		if (c->h.reopen_logs)
			c->h.reopen_logs(c->h.data);
	}
}

static void handle_winsz(struct ctl_fifo *c, const char *line)
{
	int v[2];
	if (scan_ints(line, v, 2) != 2) {
		diag_warn("Failed to parse window size");
		return;
	}
	if (valid_size(v[0], v[1]))
		resize(c, v[0], v[1]);
}

/* Split into lines, each handled once; a partial line waits for the next bytes. */
static void feed(struct fifo *f, const char *buf, size_t len)
{
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t seg = nl ? (size_t)(nl - buf) : len;
		size_t used = nl ? seg + 1 : len;
		if (f->discarding) {
			f->discarding = nl == NULL;
		} else if (f->len + seg > LINE_MAX_LEN) {
			diag_warn("Ignoring %s message longer than %d bytes", f->name, LINE_MAX_LEN);
			f->len = 0;
			f->discarding = nl == NULL;
		} else {
			memcpy(f->line + f->len, buf, seg);
			f->len += seg;
			if (nl) {
				f->line[f->len] = '\0';
				f->len = 0;
				f->handle(f->owner, f->line);
			}
		}
		buf += used;
		len -= used;
	}
}

static gboolean on_fifo(int fd, GIOCondition cond, gpointer data)
{
	(void)cond;
	struct fifo *f = data;
	char buf[READ_SIZE];
	for (;;) {
		ssize_t n = cm_read(fd, buf, sizeof(buf));
		if (n > 0) {
			feed(f, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			return G_SOURCE_CONTINUE;
		/* Cannot happen while we hold a writer; never spin on it if it does. */
		diag_warn("%s FIFO stopped: %s", f->name, n < 0 ? g_strerror(errno) : "end of file");
		f->source = 0;
		return G_SOURCE_REMOVE;
	}
}

static int fifo_open(struct fifo *f, const char *dir, GError **err)
{
	f->path = g_build_filename(dir, f->name, NULL);
	if (unlink(f->path) < 0 && errno != ENOENT)
		return cm_set_errno(err, errno, "Failed to remove stale %s", f->path);
	if (mkfifo(f->path, 0660) < 0)
		return cm_set_errno(err, errno, "Failed to mkfifo at %s", f->path);
	/* Not through a link swapped in since the mkfifo. */
	f->rfd = cm_open_safe(f->path, O_RDONLY | O_NONBLOCK, 0, 0, err);
	if (f->rfd < 0)
		return -1;
	f->wfd = cm_open_safe(f->path, O_WRONLY | O_NONBLOCK, 0, 0, err);
	if (f->wfd < 0)
		return -1;
	f->source = g_unix_fd_add(f->rfd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_fifo, f);
	return 0;
}

static void fifo_close(struct fifo *f)
{
	if (f->source)
		g_source_remove(f->source);
	if (f->rfd >= 0)
		close(f->rfd);
	if (f->wfd >= 0)
		close(f->wfd);
	if (f->path && unlink(f->path) < 0 && errno != ENOENT)
		diag_debug("Failed to remove %s: %s", f->path, g_strerror(errno));
	g_free(f->path);
}

struct ctl_fifo *ctl_fifo_new(const char *dir, const struct ctl_handlers *handlers, GError **err)
{
	struct ctl_fifo *c = g_new0(struct ctl_fifo, 1);
	c->h = *handlers;
	c->ctl = (struct fifo){ .owner = c, .name = "ctl", .rfd = -1, .wfd = -1, .handle = handle_ctl };
	c->winsz = (struct fifo){ .owner = c, .name = "winsz", .rfd = -1, .wfd = -1, .handle = handle_winsz };
	if (fifo_open(&c->ctl, dir, err) < 0 || fifo_open(&c->winsz, dir, err) < 0) {
		ctl_fifo_free(c);
		return NULL;
	}
	return c;
}

void ctl_fifo_free(struct ctl_fifo *c)
{
	if (c == NULL)
		return;
	fifo_close(&c->ctl);
	fifo_close(&c->winsz);
	g_free(c);
}

void ctl_fifo_feed(struct ctl_fifo *c, const char *buf, size_t len)
{
	feed(&c->ctl, buf, len);
}
