/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signals and children. SIGCHLD and SIGUSR1 (re-check children) and the
 * signals we forward (TERM, INT, QUIT) are blocked and read from a
 * signalfd in the main loop: no work happens in signal handlers.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

typedef void (*reaper_exit_fn)(pid_t pid, int wstatus, void *data);

/* Block the signals the reaper owns; call before forking children. */
int reaper_block_signals(GError **err);

struct reaper;
struct reaper *reaper_new(GError **err);
void reaper_free(struct reaper *r);

/* Call fn when pid exits. Unknown children are reaped silently (we are a subreaper). */
void reaper_watch(struct reaper *r, pid_t pid, reaper_exit_fn fn, void *data);

/* TERM/INT/QUIT are forwarded to this pid (the container); 0: to nobody (it was reaped). */
void reaper_set_forward_pid(struct reaper *r, pid_t pid);

/* Reap now: for an exit that may have happened before the loop ran. */
void reaper_check(struct reaper *r);
