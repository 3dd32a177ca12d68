/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The k8s-file (CRI) log writer: "<ts> <stream> <F|P> <content>\n" records,
 * the size limit (truncate, or rotate to .1..N), the global limit and the
 * reopen asked for by the kubelet. Writes never block the monitor: a target
 * that cannot take data (full FIFO, full disk) loses it, and the loss is
 * counted and reported once.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conmon/ctr_log.h"

struct k8s_log_config {
	const char *path;
	gint64 size_max;	     /* bytes per file; <= 0: unlimited */
	gint64 global_size_max;	     /* bytes logged in total; <= 0: unlimited */
	bool rotate;		     /* keep <path>.1..N instead of truncating */
	int max_files;		     /* N for rotate; < 1 counts as 1 */
	char *const *allowlist_dirs; /* with rotate: the file must live under one of these */
	bool no_sync;		     /* no fsync at reopen and close */
};

struct k8s_log_stats {
	guint64 records;	 /* records accepted into the current process's output */
	guint64 bytes;		 /* bytes of those records */
	guint64 dropped_records; /* lost to the global limit or a failing target */
	guint64 dropped_bytes;
	guint64 truncations; /* size-limit truncates or rotations */
};

/* Opens (creating, mode 0640 as conmon 2.1.13+) the file; a FIFO is opened without blocking. */
struct k8s_log *k8s_log_open(const struct k8s_log_config *cfg, GError **err);

/*
 * Log one chunk of a stream (stdout or stderr; other values are ignored)
 * with timestamp ts for all its records: one record per '\n', a tail
 * without '\n' becomes a P record.
 */
void k8s_log_write_at(struct k8s_log *log, enum stdpipe pipe, const char *buf, size_t len, const struct timespec *ts);

/*
 * The file was renamed away (kubelet rotation): sync unless no_sync and
 * open the path again. On failure the old file stays in use.
 */
int k8s_log_reopen(struct k8s_log *log, GError **err);

void k8s_log_get_stats(const struct k8s_log *log, struct k8s_log_stats *out);

/*
 * Sync unless no_sync, close and free. NULL-safe. A stream whose output
 * ended without a newline keeps its last P record as the last record, as
 * conmon 2.2.1 (an empty F would add a newline the container never wrote).
 */
void k8s_log_close(struct k8s_log *log);
