/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp_state_parse on the state document the runtime sends with the
 * seccomp listener fd: never a crash or leak, and whatever a strict JSON
 * parser (yajl, comments off, nothing after the value) takes as one object
 * is taken too, with the same "state"."id" and "state"."bundle" where those
 * are unambiguous.
 */
#include <stdbool.h>
#include <string.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "conmon/seccomp_state.h"
#include "tests/fuzz/fuzz.h"

/*
 * Where yajl and our reader may differ by design: nesting past our depth
 * limit, \u escapes (NUL, surrogates), \v and \f (whitespace to yajl only).
 */
static bool comparable(const char *text, size_t size)
{
	size_t opens = 0;
	for (size_t i = 0; i < size; i++)
		opens += text[i] == '{' || text[i] == '[';
	return opens < 60 && memchr(text, '\0', size) == NULL && !strstr(text, "\\u") && !strpbrk(text, "\v\f");
}

/*
 * One JSON object and nothing else. yajl_tree_parse alone lets comments and
 * trailing bytes pass, and yajl's parser takes a text ending inside a string
 * after a complete value (" {} \"x"): such texts are not compared.
 */
static bool strict_object(const char *text, size_t size)
{
	size_t i = strspn(text, " \t\r\n");
	size_t end = size;
	while (end > i && strchr(" \t\r\n", text[end - 1]))
		end--;
	if (i >= end || text[i] != '{' || text[end - 1] != '}')
		return false;
	bool in_string = false;
	for (size_t k = i; k < end; k++) {
		if (in_string && text[k] == '\\')
			k++;
		else if (text[k] == '"')
			in_string = !in_string;
	}
	if (in_string)
		return false;
	yajl_handle h = yajl_alloc(NULL, NULL, NULL);
	bool ok = yajl_parse(h, (const unsigned char *)text, size) == yajl_status_ok &&
		  yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	return ok;
}

static unsigned count(const char *text, const char *needle)
{
	unsigned n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void same_string(yajl_val root, const char *key, const char *ours, const char *text)
{
	const char *path[] = { "state", key, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_any);
	g_autofree char *quoted = g_strdup_printf("\"%s\"", key);
	if (count(text, "\"state\"") != 1 || count(text, quoted) != 1)
		return;
	if (v && YAJL_IS_STRING(v))
		FUZZ_CHECK(ours && strcmp(ours, v->u.string) == 0, "%s: ours %s, yajl %s", key, ours ? ours : "(none)",
			   v->u.string);
	else
		FUZZ_CHECK(ours == NULL, "%s: ours %s, yajl has no string", key, ours);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *text = g_strndup((const char *)data, size);
	char *id = NULL, *bundle = NULL;
	bool ok = seccomp_state_parse((const char *)data, size, &id, &bundle);
	if (!ok)
		FUZZ_CHECK(id == NULL && bundle == NULL, "failed parse left results behind");

	if (comparable(text, size) && strict_object(text, size)) {
		FUZZ_CHECK(ok, "yajl takes this object, we do not: %s", text);
		char errbuf[128];
		yajl_val root = yajl_tree_parse(text, errbuf, sizeof(errbuf));
		FUZZ_CHECK(root && YAJL_IS_OBJECT(root), "yajl's tree parser disagrees with its parser: %s", errbuf);
		same_string(root, "id", id, text);
		same_string(root, "bundle", bundle, text);
		yajl_tree_free(root);
	}
	g_free(id);
	g_free(bundle);
	return 0;
}
