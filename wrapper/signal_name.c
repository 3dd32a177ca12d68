/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/signal_name.h"

#include <glib.h>
#include <signal.h>
#include <string.h>

#include "common/io.h"

static const struct {
	const char *name;
	int signo;
} aliases[] = {
	{ "IO", SIGIO },
	{ "POLL", SIGPOLL },
	{ "IOT", SIGIOT },
	{ "CLD", SIGCHLD },
};

static bool in_range(int n)
{
	return n >= 1 && n <= SIGRTMAX;
}

/* RTMIN+N, RTMAX-N, or the bare RTMIN/RTMAX. */
static bool parse_realtime(const char *s, int *signo)
{
	int base, off = 0;

	if (g_ascii_strncasecmp(s, "RTMIN", 5) == 0)
		base = SIGRTMIN;
	else if (g_ascii_strncasecmp(s, "RTMAX", 5) == 0)
		base = SIGRTMAX;
	else
		return false;
	s += 5;
	if (*s) {
		bool minus = *s == '-';
		if ((*s != '+' && !minus) || !cm_parse_int(s + 1, &off) || off < 0)
			return false;
		off = minus ? -off : off;
	}
	*signo = base + off;
	return in_range(*signo) && *signo >= SIGRTMIN;
}

bool signal_parse(const char *text, int *signo)
{
	const char *s = g_ascii_strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
	int n;

	/* A number stands alone: "SIG15" is no signal. */
	if (cm_parse_int(s, &n)) {
		*signo = n;
		return s == text && in_range(n);
	}
	if (parse_realtime(s, signo))
		return true;
	for (size_t i = 0; i < G_N_ELEMENTS(aliases); i++) {
		if (g_ascii_strcasecmp(aliases[i].name, s) == 0) {
			*signo = aliases[i].signo;
			return true;
		}
	}
	for (int i = 1; i < SIGRTMIN; i++) {
		const char *abbrev = sigabbrev_np(i);
		if (abbrev && g_ascii_strcasecmp(abbrev, s) == 0) {
			*signo = i;
			return true;
		}
	}
	return false;
}
