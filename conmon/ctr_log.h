/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container output logging: the -l drivers (k8s-file, journald, passthrough,
 * none) behind one dispatcher. Write errors never stop the monitor: each
 * driver reports its first failure once and keeps draining.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#include "conmon/cli.h"

/* Stream ids as framed on the attach socket. */
enum stdpipe {
	STDPIPE_STDIN = 1,
	STDPIPE_STDOUT = 2,
	STDPIPE_STDERR = 3,
};

struct ctr_log;

/*
 * Parse opts->log_paths and open every sink (the k8s file is opened here so
 * that a bad path fails before the monitor forks). Error texts follow the
 * reference ("No such log driver X", "k8s-file doesn't support --log-tag").
 */
struct ctr_log *ctr_log_new(const struct cli_opts *opts, GError **err);

/* True when -l passthrough was given: the runtime gets the caller's stdio. */
bool ctr_log_passthrough(const struct ctr_log *log);

/* One chunk read from the container; all chunks of a read share one timestamp. */
void ctr_log_write(struct ctr_log *log, enum stdpipe pipe, const char *buf, size_t len);

/* ctl type 2 and rotation: sync (unless --no-sync-log) and reopen the files. */
void ctr_log_reopen(struct ctr_log *log);

/* At exit: flush, sync and close (a trailing P record stays the last). NULL-safe. */
void ctr_log_free(struct ctr_log *log);
