/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

static enum diag_level current_level = DIAG_WARN;
static bool to_syslog;
static char syslog_ident[21];

static const struct {
	const char *name;
	enum diag_level level;
} level_names[] = {
	{ "error", DIAG_ERROR },  { "fatal", DIAG_ERROR }, { "panic", DIAG_ERROR }, { "warn", DIAG_WARN },
	{ "warning", DIAG_WARN }, { "info", DIAG_INFO },   { "debug", DIAG_DEBUG }, { "trace", DIAG_TRACE },
};

static const char level_letter[] = { 'e', 'w', 'i', 'd', 'd' };
static const int level_syslog[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG };
static const char *const level_word[] = { "error", "warn", "info", "debug", "trace" };

void diag_init(const char *cid, const char *tag, bool use_syslog)
{
	to_syslog = use_syslog;
	if (!use_syslog || cid == NULL)
		return;
	g_autofree char *ident = tag ? g_strdup_printf("%s:%s", cid, tag) : g_strdup(cid);
	g_strlcpy(syslog_ident, ident, sizeof(syslog_ident));
	openlog("conmon", LOG_PID, LOG_DAEMON);
}

bool diag_set_level(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(level_names); i++) {
		if (strcasecmp(name, level_names[i].name) == 0) {
			current_level = level_names[i].level;
			return true;
		}
	}
	return false;
}

bool diag_enabled(enum diag_level level)
{
	return level <= current_level;
}

static void emit(enum diag_level level, const char *fmt, va_list ap)
{
	int saved = errno;
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	/* One write per line so concurrent writers do not interleave. */
	g_autofree char *line = g_strdup_printf("[conmon:%c]: %s\n", level_letter[level], msg);
	if (write(STDERR_FILENO, line, strlen(line)) < 0) {
		/* stderr is /dev/null or gone once daemonized; syslog may still have it */
	}
	if (to_syslog)
		syslog(level_syslog[level], "%s %s: %s", syslog_ident, level_word[level], msg);
	errno = saved;
}

void diag_log(enum diag_level level, const char *fmt, ...)
{
	if (!diag_enabled(level))
		return;
	va_list ap;
	va_start(ap, fmt);
	emit(level, fmt, ap);
	va_end(ap);
}

void diag_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(DIAG_ERROR, fmt, ap);
	va_end(ap);
	exit(EXIT_FAILURE);
}

void diag_fatal_error(const GError *err)
{
	diag_fatal("%s", err->message);
}

void diag_fatal_now(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emit(DIAG_ERROR, fmt, ap);
	va_end(ap);
	_exit(EXIT_FAILURE);
}
