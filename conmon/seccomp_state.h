/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI container process state the runtime sends with a seccomp listener
 * fd (--seccomp-notify-socket): its "state"."id" and "state"."bundle".
 * Container-controlled input, fuzzed by tests/fuzz/fuzz_seccomp_state.c.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * "state"."id" and "state"."bundle" of json (len bytes, NUL not needed), as
 * new strings or NULL where absent or not strings. False, with both NULL,
 * unless json is one complete JSON object.
 */
bool seccomp_state_parse(const char *json, size_t len, char **id, char **bundle);
