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
