/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One image layer (a tar, gzip- or zstd-compressed or not) unpacked into a directory in the
 * form overlayfs reads as a lower layer: OCI whiteouts `.wh.NAME` become 0:0 character devices
 * and `.wh..wh..opq` the directory's trusted.overlay.opaque=y. Ownership, modes (setuid too),
 * device nodes, hard links, xattrs and times are kept. Entries that would land outside the
 * directory (absolute, "..", through a symlink, hard links to outside) are refused.
 */
#pragma once

#include <glib.h>

/*
 * Unpack the blob open at blob_fd into dir (existing, empty). digest is the sha256 of the
 * blob's bytes and diff_id that of the uncompressed tar ("sha256:..."; NULL: not checked).
 */
int image_layer_unpack(int blob_fd, const char *dir, const char *digest, const char *diff_id, GError **err);

/* Pure parts, public for the tests. */

/* A tar entry's path made relative ("./a/b" -> "a/b", "." -> ""); NULL and err when absolute or with "..". */
char *image_layer_clean_path(const char *path, GError **err);

enum image_whiteout {
	IMAGE_WH_NONE,	 /* an ordinary entry */
	IMAGE_WH_FILE,	 /* .wh.NAME: NAME is deleted from the layers below */
	IMAGE_WH_OPAQUE, /* .wh..wh..opq: the directory hides what the layers below have in it */
	IMAGE_WH_META,	 /* another .wh..wh.* (aufs bookkeeping): skipped */
};

/* Classify a cleaned path; *dir gets its directory ("" for the top) and *name the deleted name. */
enum image_whiteout image_whiteout_kind(const char *clean_path, char **dir, char **name);
