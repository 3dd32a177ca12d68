/* SPDX-License-Identifier: Apache-2.0 */
#include "common/safe_open.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"

/* Say what was planted, when that is why the open failed. */
static int open_error(GError **err, int errnum, const char *path, unsigned how)
{
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return cm_set_error(err, ELOOP, "%s is a symbolic link: not following it", path);
		if ((how & CM_OPEN_REGULAR) && !S_ISREG(st.st_mode))
			return cm_set_error(err, EINVAL, "%s is not a regular file", path);
	}
	return cm_set_errno(err, errnum, "Failed to open %s", path);
}

int cm_open_safe(const char *path, int flags, mode_t mode, unsigned how, GError **err)
{
	_cleanup_close_ int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, mode);
	if (fd < 0)
		return open_error(err, errno, path, how);
	if (how & (CM_OPEN_REGULAR | CM_OPEN_SINGLE_LINK)) {
		struct stat st;
		if (fstat(fd, &st) < 0)
			return cm_set_errno(err, errno, "Failed to stat %s", path);
		if ((how & CM_OPEN_REGULAR) && !S_ISREG(st.st_mode))
			return cm_set_error(err, EINVAL, "%s is not a regular file", path);
		if ((how & CM_OPEN_SINGLE_LINK) && S_ISREG(st.st_mode) && st.st_nlink > 1)
			return cm_set_error(err, EMLINK,
					    "%s has %ju hard links: not writing to a file that is also elsewhere", path,
					    (uintmax_t)st.st_nlink);
	}
	if (!(flags & O_NONBLOCK) && cm_set_nonblock(fd, false) < 0)
		return cm_set_errno(err, errno, "Failed to set flags of %s", path);
	return TAKE_FD(fd);
}

int cm_create_unique(const char *prefix, int extra_flags, mode_t mode, char **path_out, GError **err)
{
	g_autofree char *tmpl = g_strconcat(prefix, ".XXXXXX", NULL);
	int fd = g_mkstemp_full(tmpl, O_WRONLY | O_CLOEXEC | extra_flags, (int)mode);
	if (fd < 0)
		return cm_set_errno(err, errno, "Failed to create a file next to %s", prefix);
	*path_out = g_steal_pointer(&tmpl);
	return fd;
}

static int write_and_close(int fd, const char *tmp, const void *data, size_t len, bool sync, GError **err)
{
	_cleanup_close_ int owned = fd;
	if (cm_write_all(owned, data, len, -1) < 0)
		return cm_set_errno(err, errno, "Failed to write %s", tmp);
	if (sync && fsync(owned) < 0)
		return cm_set_errno(err, errno, "Failed to sync %s", tmp);
	/* Some filesystems report a full disk only at close. */
	if (close(TAKE_FD(owned)) < 0)
		return cm_set_errno(err, errno, "Failed to write %s", tmp);
	return 0;
}

int cm_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode, bool sync, GError **err)
{
	g_autofree char *tmp = NULL;
	int fd = cm_create_unique(path, 0, mode, &tmp, err);
	if (fd < 0)
		return -1;
	if (write_and_close(fd, tmp, data, len, sync, err) < 0) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return cm_set_errno(err, e, "Failed to rename %s to %s", tmp, path);
	}
	return 0;
}

char *cm_read_file_safe(const char *path, size_t max, size_t *len_out, GError **err)
{
	_cleanup_close_ int fd = cm_open_safe(path, O_RDONLY, 0, CM_OPEN_REGULAR, err);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		cm_set_errno(err, errno, "Failed to stat %s", path);
		return NULL;
	}
	if ((guint64)st.st_size > max) {
		cm_set_error(err, EFBIG, "%s is larger than %zu bytes", path, max);
		return NULL;
	}
	/* One byte more than allowed tells a file that grew since the fstat. */
	g_autofree char *buf = g_malloc((gsize)st.st_size + 2);
	size_t want = MIN((size_t)st.st_size + 1, max + 1);
	ssize_t n = cm_read_full(fd, buf, want);
	if (n < 0) {
		cm_set_errno(err, errno, "Failed to read %s", path);
		return NULL;
	}
	if ((size_t)n > max) {
		cm_set_error(err, EFBIG, "%s is larger than %zu bytes", path, max);
		return NULL;
	}
	buf[n] = '\0';
	if (len_out)
		*len_out = (size_t)n;
	return g_steal_pointer(&buf);
}
