/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Launching a container's monitor from its state: the one path behind run, start, restart and the
 * restart policy. The bundle (config.json) and state.json exist already; every launch gets a new
 * monitor, a new runtime container, the same log, and its ports reserved again.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "wrapper/commands.h"

struct ctr_launch {
	/* in */
	bool attach;	  /* connect the attach socket before the runtime start (not a byte is lost) */
	GArray *port_fds; /* reservations the caller made for st->publish (run), or NULL: made here */
	/* out */
	int sock;      /* the attach socket when attach, else -1 */
	int exit_code; /* what a failed launch exits with: 126/127 when the runtime refused, else 125 */
};

/*
 * Launch st with the container lock held. On success st is saved as running. On failure what was
 * launched is killed and the runtime forgets the container; st's state and name are the caller's to
 * keep or remove.
 */
int ctr_launch(struct wrap_ctx *ctx, struct ctr_state *st, struct ctr_launch *l, GError **err);

/* Fix random host ports: parse -p specs, reserve them (fds into port_fds) and fill st->ports and st->publish. */
int ctr_launch_reserve(struct ctr_state *st, char **specs, GArray *port_fds, GError **err);
