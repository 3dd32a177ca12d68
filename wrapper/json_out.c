/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/json_out.h"

#include <glib.h>
#include <string.h>

void json_str(yajl_gen g, const char *s)
{
	if (s)
		yajl_gen_string(g, (const unsigned char *)s, strlen(s));
	else
		yajl_gen_null(g);
}

void json_kv_str(yajl_gen g, const char *key, const char *val)
{
	json_str(g, key);
	json_str(g, val);
}

void json_strv(yajl_gen g, char *const *v)
{
	yajl_gen_array_open(g);
	for (; v && *v; v++)
		json_str(g, *v);
	yajl_gen_array_close(g);
}

void json_kv_strv(yajl_gen g, const char *key, char *const *v)
{
	json_str(g, key);
	json_strv(g, v);
}

void json_kv_int(yajl_gen g, const char *key, long long v)
{
	json_str(g, key);
	yajl_gen_integer(g, v);
}

void json_kv_bool(yajl_gen g, const char *key, bool v)
{
	json_str(g, key);
	yajl_gen_bool(g, v);
}

char *json_finish(yajl_gen g)
{
	const unsigned char *buf;
	size_t len;
	char *out;

	yajl_gen_get_buf(g, &buf, &len);
	out = g_strndup((const char *)buf, len);
	yajl_gen_free(g);
	return out;
}

void json_value(yajl_gen g, yajl_val v)
{
	if (YAJL_IS_STRING(v)) {
		json_str(g, YAJL_GET_STRING(v));
	} else if (YAJL_IS_INTEGER(v)) {
		yajl_gen_integer(g, YAJL_GET_INTEGER(v));
	} else if (YAJL_IS_NUMBER(v)) {
		yajl_gen_number(g, YAJL_GET_NUMBER(v), strlen(YAJL_GET_NUMBER(v)));
	} else if (YAJL_IS_OBJECT(v)) {
		yajl_gen_map_open(g);
		for (size_t i = 0; i < v->u.object.len; i++) {
			json_str(g, v->u.object.keys[i]);
			json_value(g, v->u.object.values[i]);
		}
		yajl_gen_map_close(g);
	} else if (YAJL_IS_ARRAY(v)) {
		yajl_gen_array_open(g);
		for (size_t i = 0; i < v->u.array.len; i++)
			json_value(g, v->u.array.values[i]);
		yajl_gen_array_close(g);
	} else if (YAJL_IS_TRUE(v)) {
		yajl_gen_bool(g, 1);
	} else if (YAJL_IS_FALSE(v)) {
		yajl_gen_bool(g, 0);
	} else {
		yajl_gen_null(g);
	}
}
