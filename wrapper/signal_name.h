/* SPDX-License-Identifier: Apache-2.0 */
/* Signal names as `kill -s` takes them, resolved here so the runtime gets a number it cannot misread. */
#pragma once

#include <stdbool.h>

/*
 * "TERM", "SIGTERM", "term", "15", "RTMIN+3", "RTMAX-1", and the aliases IO,
 * POLL, IOT, CLD. False for anything else, or a number outside 1..SIGRTMAX.
 */
bool signal_parse(const char *text, int *signo);
