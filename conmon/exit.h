/* SPDX-License-Identifier: Apache-2.0 */
/* What the monitor leaves behind when the container exits: exit files and the exit command. */
#pragma once

#include <glib.h>

#include "conmon/cli.h"

#define TIMED_OUT_MESSAGE "command timed out"

/* Exit code, or 128 + signal number. */
int exit_status_from_wait(int wstatus);

/* <persist-dir>/exit and <exit-dir>/<cid>: decimal status, no newline, replaced atomically. */
int exit_write_files(const struct cli_opts *opts, int status, GError **err);

/*
 * exit_write_files(), tried again with growing pauses for up to retry_ms
 * while it fails (space may come back on a full disk). Warns on the first
 * failure and logs an error when giving up; returns 0 once written.
 */
int exit_write_files_retry(const struct cli_opts *opts, int status, int retry_ms);

/*
 * Run --exit-command (after --exit-delay, in a child with only fds 0-2 and
 * the monitor's environment) and wait for it, by its pid only.
 * Returns the exit command's status (0 when there is none).
 */
int exit_run_command(const struct cli_opts *opts, const char *oom_score_adj);
