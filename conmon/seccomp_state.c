/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Just enough JSON to pick two strings out of the runtime's state document:
 * strict where the structure is concerned, bounded in depth, and it never
 * reads past len. Numbers and literals are only skipped over.
 */
#include "conmon/seccomp_state.h"

#include <string.h>

#define JSON_MAX_DEPTH 64

struct json {
	const char *p;
	const char *end;
	int depth;
};

typedef bool (*json_member_fn)(struct json *j, const char *key, void *data);

static bool json_skip(struct json *j);

static void json_ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool json_peek(struct json *j, char c)
{
	json_ws(j);
	return j->p < j->end && *j->p == c;
}

static bool json_hex4(struct json *j, gunichar *out)
{
	if (j->end - j->p < 4)
		return false;
	*out = 0;
	for (int i = 0; i < 4; i++) {
		int v = g_ascii_xdigit_value(*j->p++);
		if (v < 0)
			return false;
		*out = (*out << 4) | (gunichar)v;
	}
	return true;
}

static bool json_unicode_escape(struct json *j, GString *out)
{
	gunichar u;
	if (!json_hex4(j, &u))
		return false;
	if (u >= 0xd800 && u < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
		const char *save = j->p;
		gunichar lo;
		j->p += 2;
		if (json_hex4(j, &lo) && lo >= 0xdc00 && lo < 0xe000) {
			u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
		} else {
			j->p = save;
			u = 0xfffd;
		}
	} else if (u >= 0xd800 && u < 0xe000) {
		u = 0xfffd;
	}
	if (out)
		g_string_append_unichar(out, u);
	return true;
}

/* A string at j->p, decoded into out (NULL: skipped). */
static bool json_string(struct json *j, GString *out)
{
	if (!json_peek(j, '"'))
		return false;
	j->p++;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p++;
		if (c == '"')
			return true;
		if (c < 0x20)
			return false;
		if (c != '\\') {
			if (out)
				g_string_append_c(out, (char)c);
			continue;
		}
		if (j->p >= j->end)
			return false;
		char e = *j->p++;
		static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
		if (e == 'u') {
			if (!json_unicode_escape(j, out))
				return false;
			continue;
		}
		const char *m = NULL;
		for (const char *x = escapes; *x; x += 2)
			if (*x == e)
				m = x;
		if (m == NULL)
			return false;
		if (out)
			g_string_append_c(out, m[1]);
	}
	return false;
}

/* Each member's value is consumed by member (NULL: skipped). */
static bool json_object(struct json *j, json_member_fn member, void *data)
{
	if (!json_peek(j, '{') || ++j->depth > JSON_MAX_DEPTH)
		return false;
	j->p++;
	if (json_peek(j, '}')) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		g_autoptr(GString) key = g_string_new(NULL);
		if (!json_string(j, key) || !json_peek(j, ':'))
			return false;
		j->p++;
		if (!(member ? member(j, key->str, data) : json_skip(j)))
			return false;
		if (json_peek(j, ',')) {
			j->p++;
			continue;
		}
		if (!json_peek(j, '}'))
			return false;
		j->p++;
		j->depth--;
		return true;
	}
}

static bool json_array(struct json *j)
{
	if (!json_peek(j, '[') || ++j->depth > JSON_MAX_DEPTH)
		return false;
	j->p++;
	if (json_peek(j, ']')) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		if (!json_skip(j))
			return false;
		if (json_peek(j, ',')) {
			j->p++;
			continue;
		}
		if (!json_peek(j, ']'))
			return false;
		j->p++;
		j->depth--;
		return true;
	}
}

static bool json_skip(struct json *j)
{
	json_ws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '{': return json_object(j, NULL, NULL);
	case '[': return json_array(j);
	case '"': return json_string(j, NULL);
	}
	/* Numbers and literals: only their extent matters here. */
	const char *start = j->p;
	while (j->p < j->end && (g_ascii_isalnum(*j->p) || *j->p == '-' || *j->p == '+' || *j->p == '.'))
		j->p++;
	return j->p > start;
}

struct state_fields {
	char *id;
	char *bundle;
};

static bool take_string(struct json *j, char **out)
{
	if (!json_peek(j, '"'))
		return json_skip(j);
	g_autoptr(GString) s = g_string_new(NULL);
	if (!json_string(j, s))
		return false;
	g_free(*out);
	*out = g_string_free(g_steal_pointer(&s), FALSE);
	return true;
}

static bool state_member(struct json *j, const char *key, void *data)
{
	struct state_fields *f = data;
	if (strcmp(key, "id") == 0)
		return take_string(j, &f->id);
	if (strcmp(key, "bundle") == 0)
		return take_string(j, &f->bundle);
	return json_skip(j);
}

static bool process_state_member(struct json *j, const char *key, void *data)
{
	if (strcmp(key, "state") == 0 && json_peek(j, '{'))
		return json_object(j, state_member, data);
	return json_skip(j);
}

bool seccomp_state_parse(const char *json, size_t len, char **id, char **bundle)
{
	struct json j = { .p = json, .end = json + len };
	struct state_fields f = { 0 };
	bool ok = json_object(&j, process_state_member, &f);
	json_ws(&j);
	if (!ok || j.p != j.end) {
		g_free(f.id);
		g_free(f.bundle);
		*id = *bundle = NULL;
		return false;
	}
	*id = f.id;
	*bundle = f.bundle;
	return true;
}
