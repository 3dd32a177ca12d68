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
 * Run --exit-command (after --exit-delay, in a child with only fds 0-2 and
 * the monitor's environment), then reap every child until none is left.
 * Returns the exit command's status (0 when there is none).
 */
int exit_run_command(const struct cli_opts *opts, const char *oom_score_adj);
