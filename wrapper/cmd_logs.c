/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ctr-wrap logs`: read the monitor's k8s-file log ("TS STREAM F|P TEXT" lines),
 * joining partial (P) records. With -f it follows until the container's exit
 * file exists and the log has been read to its end: the monitor writes the
 * exit file only after the last log write, so no final line is lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "wrapper/commands.h"

struct log_msg {
	int fd; /* 1 or 2 */
	GString *text;
};

static void log_msg_free(gpointer p)
{
	struct log_msg *m = p;
	g_string_free(m->text, TRUE);
	g_free(m);
}

struct log_reader {
	int fd;
	GString *line;	     /* an incomplete line read so far */
	GString *pending[2]; /* joined P records per stream (stdout, stderr) */
	GDateTime *pending_ts[2];
	GDateTime *since;
	GPtrArray *out; /* struct log_msg, while collecting for --tail; NULL: print at once */
	bool broken_pipe;
};

static void emit(struct log_reader *r, int fd, const char *text, size_t len)
{
	if (r->out) {
		struct log_msg *m = g_new0(struct log_msg, 1);
		m->fd = fd;
		m->text = g_string_new_len(text, (gssize)len);
		g_ptr_array_add(r->out, m);
		return;
	}
	if (!r->broken_pipe && cm_write_all(fd, text, len, -1) < 0 && errno == EPIPE)
		r->broken_pipe = true;
}

/* One complete log line (without its newline). */
static void handle_line(struct log_reader *r, const char *line)
{
	g_auto(GStrv) f = g_strsplit(line, " ", 4);
	int idx;
	GDateTime *ts;

	if (g_strv_length(f) < 3)
		return;
	idx = strcmp(f[1], "stderr") == 0 ? 1 : 0;
	if (!r->pending_ts[idx])
		r->pending_ts[idx] = g_date_time_new_from_iso8601(f[0], NULL);
	g_string_append(r->pending[idx], f[3] ? f[3] : "");
	if (strcmp(f[2], "P") == 0)
		return;
	g_string_append_c(r->pending[idx], '\n');
	ts = r->pending_ts[idx];
	if (!r->since || !ts || g_date_time_compare(ts, r->since) >= 0)
		emit(r, idx + 1, r->pending[idx]->str, r->pending[idx]->len);
	g_string_truncate(r->pending[idx], 0);
	g_clear_pointer(&r->pending_ts[idx], g_date_time_unref);
}

/* Read to the current end of the file. */
static int read_available(struct log_reader *r, GError **err)
{
	char buf[65536];
	struct stat sb;

	if (fstat(r->fd, &sb) == 0 && sb.st_size < lseek(r->fd, 0, SEEK_CUR)) {
		/* Truncated by --log-opt max-size: start over. */
		lseek(r->fd, 0, SEEK_SET);
		g_string_truncate(r->line, 0);
	}
	for (;;) {
		ssize_t n = cm_read(r->fd, buf, sizeof(buf));
		char *nl;

		if (n < 0)
			return cm_set_errno(err, errno, "read log");
		if (n == 0)
			return 0;
		g_string_append_len(r->line, buf, n);
		while ((nl = memchr(r->line->str, '\n', r->line->len))) {
			*nl = '\0';
			handle_line(r, r->line->str);
			g_string_erase(r->line, 0, nl - r->line->str + 1);
		}
	}
}

/* At the end of a finished container: show partial records that never got their final part. */
static void flush_partial(struct log_reader *r)
{
	for (int i = 0; i < 2; i++) {
		if (r->pending[i]->len)
			emit(r, i + 1, r->pending[i]->str, r->pending[i]->len);
		g_string_truncate(r->pending[i], 0);
	}
}

static bool container_done(struct wrap_ctx *ctx, const char *id)
{
	g_autoptr(ctr_state) st = state_load(ctx->root, id, NULL);

	return !st || state_status(ctx->root, st, NULL) >= CTR_EXITED;
}

/*
 * The monitor replaces the log with a new file when it hits --log-size-max (and
 * kubelet-style rotation renames it): once the old file is read to its end, go on
 * with whatever file the path names now. Also picks up a log that did not exist yet.
 */
static int reopen_if_replaced(struct log_reader *r, const char *path, GError **err)
{
	struct stat now, cur;
	int fd;

	if (stat(path, &now) < 0 || fstat(r->fd, &cur) < 0 || (now.st_dev == cur.st_dev && now.st_ino == cur.st_ino))
		return 0;
	/* Nothing more goes to the old file once its name is taken: finish it first. */
	if (read_available(r, err) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : cm_set_errno(err, errno, "open %s", path);
	close(r->fd);
	r->fd = fd;
	g_string_truncate(r->line, 0);
	return read_available(r, err);
}

static int follow(struct wrap_ctx *ctx, const struct ctr_state *st, struct log_reader *r, GError **err)
{
	_cleanup_close_ int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	g_autofree char *exits = state_exit_dir(ctx->root, st->id);
	g_autofree char *log_dir = g_path_get_dirname(st->log_path);

	/* The directory, not the file: the file may be replaced under its name. */
	if (ino >= 0) {
		inotify_add_watch(ino, log_dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO);
		inotify_add_watch(ino, exits, IN_CREATE | IN_MOVED_TO);
	}
	for (;;) {
		/* Look at the exit file before reading: everything logged before it is then read below. */
		bool done = container_done(ctx, st->id);
		struct pollfd p = { .fd = ino, .events = POLLIN };
		char drain[4096];

		if (read_available(r, err) < 0 || reopen_if_replaced(r, st->log_path, err) < 0)
			return -1;
		if (done || r->broken_pipe) {
			flush_partial(r);
			return 0;
		}
		if (poll(&p, 1, 250) > 0)
			while (read(ino, drain, sizeof(drain)) > 0)
				;
	}
}

int cmd_logs(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext) oc = wrap_option_context("CONTAINER", "Show a container's output.");
	gboolean follow_opt = FALSE;
	int tail = -1;
	g_autofree char *since = NULL;
	const GOptionEntry entries[] = { { "follow", 'f', 0, G_OPTION_ARG_NONE, &follow_opt,
					   "Follow the output until the container exits", NULL },
					 { "tail", 0, 0, G_OPTION_ARG_INT, &tail, "Show only the last N lines", "N" },
					 { "since", 0, 0, G_OPTION_ARG_STRING, &since,
					   "Show lines logged at or after this RFC 3339 time", "TIME" },
					 { NULL } };
	g_autoptr(ctr_state) st = NULL;
	g_autoptr(GTimeZone) tz = g_time_zone_new_local();
	struct log_reader r = { .fd = -1 };
	g_autoptr(GError) err = NULL;
	int rc = 0;

	g_option_context_add_main_entries(oc, entries, NULL);
	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (argc != 2) {
		fprintf(stderr, "ctr-wrap: logs takes one container: see ctr-wrap logs --help\n");
		return WRAP_EXIT_ERROR;
	}
	if (since && !(r.since = g_date_time_new_from_iso8601(since, tz))) {
		fprintf(stderr, "ctr-wrap: --since %s is not an RFC 3339 time (e.g. 2026-01-02T15:04:05Z)\n", since);
		return WRAP_EXIT_ERROR;
	}
	st = wrap_lookup(ctx, argv[1], &err);
	if (!st) {
		g_clear_pointer(&r.since, g_date_time_unref);
		return wrap_fail(err);
	}
	if (!st->log_path) {
		fprintf(stderr,
			"ctr-wrap: container %s logs with --log-driver %s, not k8s-file (journald: journalctl "
			"CONTAINER_ID_FULL=%s)\n",
			argv[1], st->log_driver ? st->log_driver : "?", st->id);
		g_clear_pointer(&r.since, g_date_time_unref);
		return WRAP_EXIT_ERROR;
	}
	r.line = g_string_new(NULL);
	r.pending[0] = g_string_new(NULL);
	r.pending[1] = g_string_new(NULL);
	r.fd = open(st->log_path, O_RDONLY | O_CLOEXEC);
	if (r.fd < 0 && errno != ENOENT) {
		cm_set_errno(&err, errno, "open %s", st->log_path);
		rc = wrap_fail(err);
	} else {
		if (r.fd < 0)
			r.fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (tail >= 0)
			r.out = g_ptr_array_new_with_free_func(log_msg_free);
		if (read_available(&r, &err) < 0) {
			rc = wrap_fail(err);
		} else {
			if (r.out) {
				GPtrArray *msgs = g_steal_pointer(&r.out);
				guint first = msgs->len > (guint)tail ? msgs->len - (guint)tail : 0;
				for (guint i = first; i < msgs->len; i++) {
					struct log_msg *m = msgs->pdata[i];
					emit(&r, m->fd, m->text->str, m->text->len);
				}
				g_ptr_array_unref(msgs);
			}
			if (follow_opt && follow(ctx, st, &r, &err) < 0)
				rc = wrap_fail(err);
			else if (!follow_opt)
				flush_partial(&r);
		}
	}
	cm_closep(&r.fd);
	g_string_free(r.line, TRUE);
	for (int i = 0; i < 2; i++) {
		g_string_free(r.pending[i], TRUE);
		g_clear_pointer(&r.pending_ts[i], g_date_time_unref);
	}
	g_clear_pointer(&r.since, g_date_time_unref);
	return rc;
}
