/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image names and image sources as the command line spells them (pure string work).
 *
 *   NAME[:TAG]                      a loaded image: "localhost/web:1", "busybox" (tag latest)
 *   oci:DIR[:TAG]                   an OCI image layout directory
 *   oci-archive:FILE[:TAG]          the same as a tar archive
 *   docker-archive:FILE[:TAG]       what `docker save` / `podman save` write
 *
 * As skopeo reads them, a source's path ends at its first ':' (the rest picks an image: a tag,
 * or a whole name such as localhost/web:1).
 */
#pragma once

#include <glib.h>

enum image_transport {
	IMAGE_SRC_NONE, /* not a source: a name, an id or a directory */
	IMAGE_SRC_OCI_DIR,
	IMAGE_SRC_OCI_ARCHIVE,
	IMAGE_SRC_DOCKER_ARCHIVE,
};

struct image_source_ref {
	enum image_transport transport;
	char *path;
	char *tag; /* NULL: the source must hold exactly one image */
};

void image_source_ref_clear(struct image_source_ref *s);

/* 0 and s filled when text names a transport; 1 when it does not (s untouched); -1 on a bad source. */
int image_source_parse(const char *text, struct image_source_ref *s, GError **err);

/* "NAME[:TAG]" checked and completed with ":latest"; NULL and err when it is not a valid name. */
char *image_name_normalize(const char *text, GError **err);

/* The store's file name for a normalized name ('/' cannot be in a file name: it becomes '+'), and back. */
char *image_name_to_file(const char *name);
char *image_name_from_file(const char *file);

/* 64 lower-case hex digits. */
gboolean image_is_hex64(const char *s);

/* "sha256:<64 hex>" -> the hex part (inside s), or NULL. */
const char *image_digest_hex(const char *digest);
