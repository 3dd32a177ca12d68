/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's root made from an image: an overlay mount at STORAGE/mounts/MID/merged with
 * the image's layers as lower directories and MID's own upper/ and work/, so containers of one
 * image share its unpacked layers and see none of each other's writes. MID/image.json says
 * which image and layers; MID/config.json is the image config the container was made from
 * (inspect and stop read it, and it stays right after the image is removed).
 */
#pragma once

#include <glib.h>

#include "wrapper/image_config.h"

/* Mount a new root for image id (name: how the user called it); returns MID's directory. */
char *image_mount_create(const char *storage, const char *id, const char *name, GError **err);

/* MID/merged: the container's ROOTFS. */
char *image_mount_rootfs(const char *mount_dir);

/* Unmount and remove MID, then drop layers nothing uses any more. Absent MID is not an error. */
int image_mount_release(const char *mount_dir, GError **err);

gboolean image_mount_is_mounted(const char *mount_dir);
/* The diff ids of the layers under MID, and its image's id (NULL when unreadable). */
char **image_mount_layers(const char *mount_dir);
char *image_mount_image_id(const char *mount_dir);
char *image_mount_image_name(const char *mount_dir);
/* The image config MID was made from, NULL when unreadable. */
struct image_config *image_mount_config(const char *mount_dir);
