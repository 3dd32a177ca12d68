/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image store under a persistent directory (--storage, default /var/lib/ctr-wrap):
 *
 *   STORAGE/lock             flock held by every change (import, remove, mounts)
 *   STORAGE/tmp/             imports in progress; whatever is left there is an import that died
 *   STORAGE/layers/HEX/      one unpacked layer, HEX its diff id (sha256 of the uncompressed tar)
 *   STORAGE/images/ID/       config.json (its sha256 is ID) and image.json (size, load time)
 *   STORAGE/names/NAME       symlink -> ID, '/' in NAME spelled '+'
 *   STORAGE/mounts/MID/      a container's overlay root (see image_mount.h)
 *
 * An import unpacks and verifies everything under tmp/ and then renames it into place, so a
 * failed import leaves the store as it was; the lock makes concurrent imports take turns, and
 * the second finds the layers already there.
 */
#pragma once

#include <glib.h>

#include "wrapper/image_config.h"
#include "wrapper/image_ref.h"

#define IMAGE_STORE_DEFAULT "/var/lib/ctr-wrap"

/* Create the store's directories if needed and take its lock; returns the fd to close, or -1. */
int image_store_lock(const char *storage, GError **err);

/*
 * Import src (what: the source as the user spelled it, for messages) under name (NULL: the
 * name the source records, if any). *id gets the image id, *named the name given (or NULL).
 */
int image_store_load(const char *storage, const struct image_source_ref *src, const char *what, const char *name,
		     char **id, char **named, GError **err);

/* A name ("web", "localhost/web:1"), an id or a unique id prefix -> the id. */
char *image_store_resolve(const char *storage, const char *ref, GError **err);

/* Every image id, and per id its names (sorted), its config and its unpacked size. */
GPtrArray *image_store_ids(const char *storage, GError **err);
char **image_store_names(const char *storage, const char *id);
struct image_config *image_store_config(const char *storage, const char *id, GError **err);
gint64 image_store_size(const char *storage, const char *id);
/* When the image was loaded, RFC 3339. */
char *image_store_loaded(const char *storage, const char *id);

char *image_store_layer_dir(const char *storage, const char *diff_id);

/*
 * `image rm`: a name that is not the image's last only loses that name; otherwise the image
 * goes, refused while a container's root uses it unless force. out gets "Untagged: NAME"
 * and "Deleted: ID" lines.
 */
int image_store_remove(const char *storage, const char *ref, gboolean force, GString *out, GError **err);

/* Under the lock: drop mounts nobody has mounted and layers no image or mount uses. */
void image_store_gc(const char *storage);
