/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ROOTFS as run and spec take it: a directory as before, or an image (a loaded image's name
 * or id, or a source that is loaded first) whose overlay root is mounted for the container
 * and whose configuration fills what the command line leaves open (podman's precedence):
 * the arguments after the image replace Cmd, --entrypoint replaces Entrypoint (and drops
 * Cmd), -e wins over the image's Env, -u and -w over User and WorkingDir.
 */
#pragma once

#include <glib.h>

#include "wrapper/image_config.h"
#include "wrapper/spec_opts.h"

struct image_rootfs {
	char *entrypoint;     /* --entrypoint as given, NULL when not */
	gboolean publish_all; /* -P */
	char *mount_dir;      /* the image mount, NULL for a directory */
	char *image;	      /* how ROOTFS named the image */
	struct image_config *config;
};

/* --entrypoint, and -P when publish_all (run). */
void image_rootfs_add_entries(GOptionContext *oc, struct image_rootfs *ir, gboolean publish_all);

/*
 * In place of spec_opts_finish(so, argc, argv): argv is ROOTFS [COMMAND [ARG...]]. For an
 * image, mounts its root (give it to the container, or image_rootfs_release() it).
 */
int image_rootfs_finish(struct image_rootfs *ir, const char *storage, struct spec_opts *so, int argc, char **argv,
			GError **err);

/* The -p values -P stands for: every ExposedPorts entry ("80/tcp") on a free host port. */
char **image_rootfs_exposed(const struct image_rootfs *ir);

/* Unmount and remove the image root (when no container took it). */
void image_rootfs_release(struct image_rootfs *ir);
void image_rootfs_clear(struct image_rootfs *ir);
