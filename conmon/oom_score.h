/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor protects itself from the OOM killer (it must outlive the
 * container to record its exit) and gives the runtime and the exit
 * command the score it was started with.
 */
#pragma once

/* Save the current /proc/self/oom_score_adj and set -1000. Returns the saved text or NULL. */
char *oom_score_protect(void);

/* Async-signal-safe: for use in a forked child before exec. */
void oom_score_restore(const char *saved);
