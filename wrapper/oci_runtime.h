/* SPDX-License-Identifier: Apache-2.0 */
/* Calls of the OCI runtime (runc, crun) itself: start, kill, state, delete. */
#pragma once

#include <glib.h>

/*
 * RUNTIME --root RTROOT ARGS...; captures stdout into *out (may be NULL).
 * Non-zero exit -> error carrying the runtime's stderr.
 */
int oci_runtime_call(const char *runtime, const char *rt_root, const char *const *args, char **out, GError **err);
