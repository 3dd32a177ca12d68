/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Errors travel as GError values. Failures of system calls use the
 * CM_ERRNO_ERROR domain with the errno as code, so callers can still test
 * for ENOENT and friends after the message has gained context.
 */
#pragma once

#include <glib.h>

#define CM_ERRNO_ERROR (cm_errno_error_quark())
GQuark cm_errno_error_quark(void);

/* "<message>: <strerror(errnum)>", code errnum. Returns -1 for `return cm_set_errno(...)`. */
int cm_set_errno(GError **err, int errnum, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* "<message>", code errnum (no strerror suffix). Returns -1. */
int cm_set_error(GError **err, int errnum, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* The errno behind err, or 0 when it is not of CM_ERRNO_ERROR. */
int cm_error_errno(const GError *err);
