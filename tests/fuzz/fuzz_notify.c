/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notify_filter on a datagram as a container sends it: what is relayed is
 * nothing, or '\n'-separated lines each of which is exactly an allowed
 * message or starts with an allowed prefix, holds no '\r' or NUL (systemd
 * would split or reject there), and is a whole line of the input.
 */
#include <stdbool.h>
#include <string.h>

#include "conmon/notify.h"
#include "tests/fuzz/fuzz.h"

static const char *const exact[] = { "READY=1", "RELOADING=1", "STOPPING=1", "WATCHDOG=1", "WATCHDOG=trigger" };
static const char *const prefixes[] = { "STATUS=", "ERRNO=", "BUSERROR=", "MONOTONIC_USEC=" };

static bool allowed(const char *line)
{
	for (size_t i = 0; i < G_N_ELEMENTS(exact); i++)
		if (strcmp(line, exact[i]) == 0)
			return true;
	for (size_t i = 0; i < G_N_ELEMENTS(prefixes); i++)
		if (g_str_has_prefix(line, prefixes[i]))
			return true;
	return false;
}

/* Is line one of the input's lines, as systemd splits them (at '\n' and '\r')? */
static bool input_has_line(const uint8_t *data, size_t size, const char *line)
{
	size_t len = strlen(line);
	for (size_t start = 0; start <= size;) {
		size_t end = start;
		while (end < size && data[end] != '\n' && data[end] != '\r')
			end++;
		if (end - start == len && memcmp(data + start, line, len) == 0)
			return true;
		start = end + 1;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *out = notify_filter((const char *)data, size);
	if (out == NULL)
		return 0;
	size_t n = strlen(out);
	FUZZ_CHECK(n > 0 && n <= size, "relayed %zu bytes of a %zu-byte datagram", n, size);
	FUZZ_CHECK(strchr(out, '\r') == NULL, "'\\r' relayed: %s", out);
	FUZZ_CHECK(out[n - 1] != '\n', "relayed message ends with an empty line");
	g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
	for (char **l = lines; *l; l++) {
		FUZZ_CHECK(allowed(*l), "line not on the allowed list relayed: %s", *l);
		FUZZ_CHECK(input_has_line(data, size, *l), "relayed line is not a line of the input: %s", *l);
	}
	return 0;
}
