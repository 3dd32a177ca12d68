/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fds the engine leaves open for us without naming them (reserved host
 * ports, rootless network sync pipes). They are held while the container
 * runs and released the moment it exits, before the exit file announces it.
 */
#pragma once

#include <glib.h>

/* The fds >= 3 open right now. Call before the monitor opens anything. */
GArray *fds_snapshot(void);

/* Close every recorded fd except keep (the sync pipe); -1 keeps none. */
void fds_close_inherited(GArray *fds, int keep);
