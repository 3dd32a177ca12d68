/* SPDX-License-Identifier: Apache-2.0 */
/* Waiting for a container's exit file, which its monitor writes after the last log record. */
#pragma once

#include <glib.h>

#include "wrapper/state.h"

/*
 * Wait for the container's exit file. Returns 1 with *code set, 0 on timeout
 * (timeout_ms < 0: none), -1 when the monitor died without writing it.
 */
int mon_wait_exit(const char *root, const struct ctr_state *st, int timeout_ms, int *code, GError **err);
