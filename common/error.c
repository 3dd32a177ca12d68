/* SPDX-License-Identifier: Apache-2.0 */
#include "error.h"

#include <string.h>

/* The quark's name is a token sequence, not an expression. */
/* clang-format off */
G_DEFINE_QUARK(cm-errno-error-quark, cm_errno_error)
/* clang-format on */

int cm_set_errno(GError **err, int errnum, const char *fmt, ...)
{
	if (err == NULL)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(err, CM_ERRNO_ERROR, errnum, "%s: %s", msg, g_strerror(errnum));
	return -1;
}

int cm_set_error(GError **err, int errnum, const char *fmt, ...)
{
	if (err == NULL)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(err, CM_ERRNO_ERROR, errnum, msg);
	return -1;
}

int cm_error_errno(const GError *err)
{
	return err && err->domain == CM_ERRNO_ERROR ? err->code : 0;
}
