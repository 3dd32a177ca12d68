/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading an image source (OCI layout, OCI archive, docker-save archive) down to what an
 * import needs: the verified config and, per layer, where its blob is and what it must hash to.
 */
#pragma once

#include <glib.h>

#include "wrapper/image_ref.h"

struct image_blob_ref {
	char *path;   /* relative to image_plan.root_fd */
	char *digest; /* "sha256:..." of the blob; NULL when the source does not say (docker archive) */
};

struct image_plan {
	int root_fd; /* the layout directory (archives are extracted first) */
	char *config_json;
	char *config_digest; /* sha256 of config_json: the image id */
	GPtrArray *layers;   /* struct image_blob_ref *, bottom first */
	char *ref_name;	     /* the name the source gives the image, NULL if none */
};

void image_plan_clear(struct image_plan *p);

/*
 * Open src; an archive is unpacked under work_dir (which must exist and be empty). The tag,
 * when given, picks one of several images; platform lists pick this machine's.
 */
int image_source_open(const struct image_source_ref *src, const char *work_dir, struct image_plan *plan, GError **err);
