/* SPDX-License-Identifier: Apache-2.0 */
/* `--user`: user and group names looked up in the image's own /etc/passwd and /etc/group. */
#pragma once

#include <glib.h>
#include <sys/types.h>

/* The image's /etc/passwd and /etc/group are refused beyond this size. */
#define ROOTFS_USER_DB_MAX (16 * 1024 * 1024)

/*
 * "UID[:GID]" or "NAME[:GROUP]" against ROOTFS/etc/passwd and ROOTFS/etc/group,
 * read without following links out of ROOTFS (regular files only, at most
 * ROOTFS_USER_DB_MAX bytes). Without an explicit group the
 * groups that list the user are appended to additional_gids.
 */
int rootfs_user_parse(const char *spec, const char *rootfs, uid_t *uid, gid_t *gid, GArray *additional_gids,
		      GError **err);
