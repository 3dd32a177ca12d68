/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Restart policies (`--restart no|on-failure[:MAX]|always|unless-stopped`, podman's meanings) without
 * a daemon: the monitor's exit command (`ctr-wrap cleanup`) decides, and a detached helper process
 * waits out an exponential back-off (100 ms doubling to 1 min, reset after 10 s of uptime) and starts
 * the container again. A stop, kill or rm by a person cancels a pending restart and turns the policy
 * off until the next start.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "wrapper/commands.h"

#define RESTART_BACKOFF_FIRST_MS 100
#define RESTART_BACKOFF_MAX_MS (60 * 1000)
#define RESTART_RESET_UPTIME_S 10

/* "on-failure:3" -> st->restart_policy "on-failure", st->restart_max 3. Bad input: one line naming the choices. */
int restart_policy_set(struct ctr_state *st, const char *spec, GError **err);

/* Whether the policy restarts st after it exited with code (not after a stop by a person). */
bool restart_policy_wants(const struct ctr_state *st, int code);

/*
 * The back-off before the next restart after an exit uptime_s seconds after the start; advances
 * st->restart_streak.
 */
guint restart_policy_next_delay(struct ctr_state *st, double uptime_s);

/*
 * In the exit command, the container lock held and the runtime done with st: when the policy wants a
 * restart after exit code, fork the helper (which owns none of our fds) and record it in st (saved).
 */
int restart_policy_schedule(struct wrap_ctx *ctx, struct ctr_state *st, int code, GError **err);

/* A person stops, kills or removes the container: under its lock, the policy off and a pending restart cancelled. */
int restart_policy_disable(struct wrap_ctx *ctx, const char *id, GError **err);

/* A person starts it: the policy on again with a fresh count, a pending restart cancelled. st is saved by the caller. */
void restart_policy_reset(struct ctr_state *st);

/* podman's spelling for inspect: the policy name, "no" when none. */
const char *restart_policy_name(const struct ctr_state *st);
