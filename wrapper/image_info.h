/* SPDX-License-Identifier: Apache-2.0 */
/* What `image inspect` and a container's `inspect` show of an image, as JSON. */
#pragma once

#include <glib.h>
#include <yajl/yajl_gen.h>

/* `image inspect`'s object for image id. */
char *image_info_json(const char *storage, const char *id, GError **err);

/* Into an open map: "Image", "ImageName" and "Config" of a container made from an image mount. */
void image_info_container(yajl_gen g, const char *mount_dir);
