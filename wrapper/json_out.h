/* SPDX-License-Identifier: Apache-2.0 */
/* Small yajl_gen helpers shared by the state file, inspect and exec's process.json. */
#pragma once

#include <stdbool.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

/* A string, or null for NULL. */
void json_str(yajl_gen g, const char *s);

/* "key": value, value as json_str. */
void json_kv_str(yajl_gen g, const char *key, const char *val);

/* An array of strings; a NULL vector is an empty array. */
void json_strv(yajl_gen g, char *const *v);

/* "key": value for the other types. */
void json_kv_strv(yajl_gen g, const char *key, char *const *v);
void json_kv_int(yajl_gen g, const char *key, long long v);
void json_kv_bool(yajl_gen g, const char *key, bool v);

/* A parsed value (yajl_tree) written out again as it was. */
void json_value(yajl_gen g, yajl_val v);

/* The generated text (newly allocated); frees g. */
char *json_finish(yajl_gen g);
