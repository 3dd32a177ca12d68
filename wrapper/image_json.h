/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the small JSON documents of an image (index, manifests, configs) with yajl's tree API. */
#pragma once

#include <glib.h>
#include <yajl/yajl_tree.h>

/* Index, manifest and config documents are small; anything larger is refused rather than read. */
#define IMAGE_JSON_MAX (4 * 1024 * 1024)

/* g_autoptr(ij_node) frees a parsed tree. */
typedef struct yajl_val_s ij_node;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ij_node, yajl_tree_free)

/* obj[key] when obj is an object, else NULL. */
yajl_val ij_get(yajl_val obj, const char *key);
/* obj[key] when it is a string, else NULL. */
const char *ij_str(yajl_val obj, const char *key);
/* obj[key] as a NULL-terminated copy when it is an array of strings; NULL when absent or null. */
char **ij_strv(yajl_val obj, const char *key);

/* Parse text; what names the document in the error. */
yajl_val ij_parse(const char *text, const char *what, GError **err);

/*
 * Read rel under root_fd (symlinks resolved inside root_fd, never above it), at most
 * IMAGE_JSON_MAX bytes. want_digest/want_size (NULL/-1: unknown) are checked; the text's
 * own "sha256:..." digest is returned in *digest when digest is not NULL.
 */
int ij_read_blob(int root_fd, const char *rel, const char *want_digest, gint64 want_size, char **text, char **digest,
		 GError **err);

/* openat2(root_fd, rel, RESOLVE_IN_ROOT): the file of a source or store, read-only. */
int ij_open_in_root(int root_fd, const char *rel, GError **err);
