/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/image_ref.h"

#include <errno.h>
#include <string.h>

#include "common/error.h"

#define MAX_NAME 255
#define MAX_TAG 128

void image_source_ref_clear(struct image_source_ref *s)
{
	g_clear_pointer(&s->path, g_free);
	g_clear_pointer(&s->tag, g_free);
	s->transport = IMAGE_SRC_NONE;
}

static const struct {
	const char *prefix;
	enum image_transport t;
} transports[] = {
	{ "oci:", IMAGE_SRC_OCI_DIR },
	{ "oci-archive:", IMAGE_SRC_OCI_ARCHIVE },
	{ "docker-archive:", IMAGE_SRC_DOCKER_ARCHIVE },
};

int image_source_parse(const char *text, struct image_source_ref *s, GError **err)
{
	for (size_t i = 0; i < G_N_ELEMENTS(transports); i++) {
		const char *rest;
		const char *colon;

		if (!g_str_has_prefix(text, transports[i].prefix))
			continue;
		rest = text + strlen(transports[i].prefix);
		colon = strchr(rest, ':');
		s->transport = transports[i].t;
		s->path = colon ? g_strndup(rest, colon - rest) : g_strdup(rest);
		s->tag = colon && colon[1] ? g_strdup(colon + 1) : NULL;
		if (!s->path[0]) {
			image_source_ref_clear(s);
			return cm_set_error(err, EINVAL, "image source %s: no path after %s", text,
					    transports[i].prefix);
		}
		return 0;
	}
	return 1;
}

static gboolean tag_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > MAX_TAG || !(g_ascii_isalnum(t[0]) || t[0] == '_'))
		return FALSE;
	for (; *t; t++)
		if (!g_ascii_isalnum(*t) && !strchr("_.-", *t))
			return FALSE;
	return TRUE;
}

/* Components of lower-case letters, digits and . _ - ; the first may be a host with a :port. */
static gboolean repo_ok(const char *r)
{
	g_auto(GStrv) parts = g_strsplit(r, "/", -1);

	if (!*r)
		return FALSE;
	for (char **p = parts; *p; p++) {
		const char *c = *p;
		gboolean host = p == parts && parts[1] != NULL;

		if (!*c || strcmp(c, ".") == 0 || strcmp(c, "..") == 0 || !g_ascii_isalnum(c[0]))
			return FALSE;
		for (; *c; c++) {
			if (g_ascii_islower(*c) || g_ascii_isdigit(*c) || strchr("._-", *c))
				continue;
			if (host && (*c == ':' || g_ascii_isupper(*c)))
				continue;
			return FALSE;
		}
	}
	return TRUE;
}

char *image_name_normalize(const char *text, GError **err)
{
	const char *slash = strrchr(text, '/');
	const char *colon = strrchr(slash ? slash : text, ':');
	g_autofree char *repo = colon ? g_strndup(text, colon - text) : g_strdup(text);
	const char *tag = colon ? colon + 1 : "latest";

	if (strlen(text) > MAX_NAME || !repo_ok(repo) || !tag_ok(tag)) {
		cm_set_error(err, EINVAL,
			     "invalid image name %s: use NAME[:TAG], NAME of lower-case letters, digits, . _ - /",
			     text);
		return NULL;
	}
	return g_strdup_printf("%s:%s", repo, tag);
}

char *image_name_to_file(const char *name)
{
	return g_strdelimit(g_strdup(name), "/", '+');
}

char *image_name_from_file(const char *file)
{
	return g_strdelimit(g_strdup(file), "+", '/');
}

gboolean image_is_hex64(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!g_ascii_isdigit(s[n]) && !(s[n] >= 'a' && s[n] <= 'f'))
			return FALSE;
	return n == 64;
}

const char *image_digest_hex(const char *digest)
{
	if (!digest || !g_str_has_prefix(digest, "sha256:") || !image_is_hex64(digest + 7))
		return NULL;
	return digest + 7;
}
