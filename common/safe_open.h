/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Files opened or created by path in directories other users may write
 * (fs.protected_symlinks/fifos/regular may all be 0): a symlink at the last
 * component is never followed, a FIFO planted where a file is expected never
 * blocks us, and temporary files get unique names created with O_EXCL, so a
 * file planted under a predictable name is never adopted. Used by the
 * monitor and by ctr-wrap.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Refuse (EINVAL) anything but a regular file: a FIFO, device, socket or directory. */
#define CM_OPEN_REGULAR 0x1u
/*
 * Refuse (EMLINK) a regular file with more than one hard link: one planted
 * at path would make us write into a file that lives elsewhere
 * (fs.protected_hardlinks may be 0).
 */
#define CM_OPEN_SINGLE_LINK 0x2u

/*
 * open(path, flags, mode) with O_NOFOLLOW, O_CLOEXEC and O_NOCTTY added. The
 * open itself is non-blocking (a FIFO without a writer or reader cannot hang
 * us); O_NONBLOCK stays set afterwards only when flags has it. A symlink at
 * path fails with ELOOP. Returns the fd or -1 (errno kept in err).
 */
int cm_open_safe(const char *path, int flags, mode_t mode, unsigned how, GError **err);

/*
 * Create a new file "<prefix>.XXXXXX" (random suffix, O_CREAT|O_EXCL, so
 * never an existing file or link) opened O_WRONLY|O_CLOEXEC plus extra_flags.
 * *path_out gets its path. Returns the fd or -1.
 */
int cm_create_unique(const char *prefix, int extra_flags, mode_t mode, char **path_out, GError **err);

/*
 * Replace path by a file holding len bytes of data, atomically: written to a
 * cm_create_unique() temp next to it, fsync'd when sync, renamed over path
 * (a link planted at path is replaced, not followed). On failure nothing is
 * left behind and path is unchanged.
 */
int cm_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, bool sync, GError **err);

/*
 * The contents of the regular file at path (NUL-terminated; *len_out, if
 * given, gets the length), opened with cm_open_safe(CM_OPEN_REGULAR). A file
 * larger than max fails with EFBIG. Returns NULL on failure.
 */
char *cm_read_file_safe(const char *path, size_t max, size_t *len_out, GError **err);
