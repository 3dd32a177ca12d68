/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor's own diagnostics: stderr lines prefixed "[conmon:X]: " as
 * the reference prints them, mirrored to syslog with --syslog.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

enum diag_level {
	DIAG_ERROR = 0,
	DIAG_WARN,
	DIAG_INFO,
	DIAG_DEBUG,
	DIAG_TRACE,
};

/* Identity used in syslog lines: "conmon <cid[:tag] first 20> <level>: msg". */
void diag_init(const char *cid, const char *tag, bool use_syslog);
/* Accepts the reference's spellings, case-insensitive. */
bool diag_set_level(const char *name);
bool diag_enabled(enum diag_level level);

void diag_log(enum diag_level level, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
#define diag_error(...) diag_log(DIAG_ERROR, __VA_ARGS__)
#define diag_warn(...) diag_log(DIAG_WARN, __VA_ARGS__)
#define diag_info(...) diag_log(DIAG_INFO, __VA_ARGS__)
#define diag_debug(...) diag_log(DIAG_DEBUG, __VA_ARGS__)
#define diag_trace(...) diag_log(DIAG_TRACE, __VA_ARGS__)

/* Fatal paths of the monitor (conmon semantics): print and exit(1). */
G_NORETURN void diag_fatal(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
G_NORETURN void diag_fatal_error(const GError *err);
/* Same, but _exit(1): for forked children and after the fork in the parent. */
G_NORETURN void diag_fatal_now(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
