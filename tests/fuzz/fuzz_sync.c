/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sync_json_escape: the escaped text inside quotes must be one JSON string
 * that decodes to exactly the input bytes; for valid UTF-8 input it must
 * also pass a validating parser. sync_format must give one JSON object.
 */
#include <string.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "conmon/sync.h"
#include "tests/fuzz/fuzz.h"

struct decoded {
	GString *s;
	int strings;
	int others;
};

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	struct decoded *d = ctx;
	g_string_append_len(d->s, (const char *)s, (gssize)len);
	d->strings++;
	return 1;
}

static int on_other(void *ctx)
{
	((struct decoded *)ctx)->others++;
	return 1;
}

static int on_bool(void *ctx, int b)
{
	(void)b;
	return on_other(ctx);
}

static int on_number(void *ctx, const char *s, size_t len)
{
	(void)s;
	(void)len;
	return on_other(ctx);
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_other,
	.yajl_boolean = on_bool,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_other,
	.yajl_map_key = on_string,
	.yajl_end_map = on_other,
	.yajl_start_array = on_other,
	.yajl_end_array = on_other,
};

/* Parse doc as one JSON value; returns whether it parsed, d gets the decoded strings. */
static bool parse(const char *doc, size_t len, bool validate_utf8, struct decoded *d)
{
	yajl_handle h = yajl_alloc(&callbacks, NULL, d);
	bool ok;

	yajl_config(h, yajl_dont_validate_strings, validate_utf8 ? 0 : 1);
	ok = yajl_parse(h, (const unsigned char *)doc, len) == yajl_status_ok &&
	     yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	g_autofree char *esc = sync_json_escape(text, size);
	g_autofree char *doc = g_strconcat("\"", esc, "\"", NULL);
	bool utf8 = g_utf8_validate(text, (gssize)size, NULL);

	FUZZ_CHECK(strlen(esc) >= size, "escape shortened the text");
	for (const char *p = esc; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f, "raw control byte 0x%02x in output",
			   (unsigned char)*p);

	struct decoded d = { .s = g_string_new(NULL) };
	bool ok = parse(doc, strlen(doc), false, &d);
	FUZZ_CHECK(ok && d.strings == 1 && d.others == 0, "escaped text is not one JSON string: %s", doc);
	FUZZ_CHECK(d.s->len == size && memcmp(d.s->str, data, size) == 0, "round trip changed the text: %s", doc);
	g_string_free(d.s, TRUE);

	if (utf8) {
		d = (struct decoded){ .s = g_string_new(NULL) };
		ok = parse(doc, strlen(doc), true, &d);
		FUZZ_CHECK(ok, "valid UTF-8 input, but the output fails a validating parser: %s", doc);
		g_string_free(d.s, TRUE);

		/* sync_format takes a C string: the message is the input up to its first NUL. */
		g_autofree char *msg = g_strndup(text, size);
		g_autofree char *line = sync_format("data", -1, msg);
		size_t n = strlen(line);
		FUZZ_CHECK(n > 0 && line[n - 1] == '\n' && memchr(line, '\n', n - 1) == NULL,
			   "sync message is not one line");
		char errbuf[128] = "";
		yajl_val v = yajl_tree_parse(line, errbuf, sizeof(errbuf));
		FUZZ_CHECK(v && YAJL_IS_OBJECT(v), "sync message is not a JSON object: %s (%s)", line, errbuf);
		const char *path[] = { "message", NULL };
		yajl_val m = yajl_tree_get(v, path, yajl_t_string);
		FUZZ_CHECK(m && YAJL_IS_STRING(m) && strcmp(m->u.string, msg) == 0, "message does not round-trip: %s",
			   line);
		yajl_tree_free(v);
	}
	return 0;
}
