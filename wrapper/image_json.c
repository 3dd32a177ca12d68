/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/image_json.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"

yajl_val ij_get(yajl_val obj, const char *key)
{
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

const char *ij_str(yajl_val obj, const char *key)
{
	yajl_val v = ij_get(obj, key);

	return YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

char **ij_strv(yajl_val obj, const char *key)
{
	yajl_val v = ij_get(obj, key);
	GPtrArray *out;

	if (!YAJL_IS_ARRAY(v))
		return NULL;
	out = g_ptr_array_new();
	for (size_t i = 0; i < v->u.array.len; i++)
		if (YAJL_IS_STRING(v->u.array.values[i]))
			g_ptr_array_add(out, g_strdup(YAJL_GET_STRING(v->u.array.values[i])));
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

yajl_val ij_parse(const char *text, const char *what, GError **err)
{
	char msg[256] = "";
	yajl_val v = yajl_tree_parse(text, msg, sizeof(msg));

	if (!v || !YAJL_IS_OBJECT(v)) {
		if (v)
			yajl_tree_free(v);
		g_strdelimit(msg, "\n", ' ');
		cm_set_error(err, EINVAL, "%s is not a JSON object%s%s", what, msg[0] ? ": " : "", g_strstrip(msg));
		return NULL;
	}
	return v;
}

int ij_open_in_root(int root_fd, const char *rel, GError **err)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	do
		fd = syscall(SYS_openat2, root_fd, rel, &how, sizeof(how));
	while (fd < 0 && (errno == EINTR || errno == EAGAIN));
	if (fd < 0)
		return cm_set_errno(err, errno, "%s", rel);
	return fd;
}

int ij_read_blob(int root_fd, const char *rel, const char *want_digest, gint64 want_size, char **text, char **digest,
		 GError **err)
{
	_cleanup_close_ int fd = ij_open_in_root(root_fd, rel, err);
	g_autoptr(GString) buf = NULL;
	g_autofree char *got = NULL;
	g_autofree char *hex = NULL;
	char chunk[65536];

	if (fd < 0)
		return -1;
	buf = g_string_new(NULL);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cm_set_errno(err, errno, "reading %s", rel);
		if (n == 0)
			break;
		if (buf->len + n > IMAGE_JSON_MAX)
			return cm_set_error(err, EFBIG, "%s is larger than %d bytes", rel, IMAGE_JSON_MAX);
		g_string_append_len(buf, chunk, n);
	}
	hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (guchar *)buf->str, buf->len);
	got = g_strconcat("sha256:", hex, NULL);
	if (want_size >= 0 && (gint64)buf->len != want_size)
		return cm_set_error(err, EINVAL, "%s has %zu bytes, its descriptor says %" G_GINT64_FORMAT, rel,
				    buf->len, want_size);
	if (want_digest && strcmp(got, want_digest) != 0)
		return cm_set_error(err, EINVAL, "digest mismatch for %s: want %s, got %s", rel, want_digest, got);
	if (memchr(buf->str, '\0', buf->len))
		return cm_set_error(err, EINVAL, "%s is not text", rel);
	*text = g_string_free(g_steal_pointer(&buf), FALSE);
	if (digest)
		*digest = g_steal_pointer(&got);
	return 0;
}
