/* SPDX-License-Identifier: Apache-2.0 */
/* Small yajl_gen helpers shared by the state file, inspect and exec's process.json. */
#pragma once

#include <yajl/yajl_gen.h>

/* A string, or null for NULL. */
void json_str(yajl_gen g, const char *s);

/* "key": value, value as json_str. */
void json_kv_str(yajl_gen g, const char *key, const char *val);

/* An array of strings; a NULL vector is an empty array. */
void json_strv(yajl_gen g, char *const *v);

/* The generated text (newly allocated); frees g. */
char *json_finish(yajl_gen g);
