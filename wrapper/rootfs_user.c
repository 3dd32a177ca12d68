/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/rootfs_user.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"

static bool parse_u32(const char *s, guint32 *out)
{
	gint64 v;

	/* (uid_t)-1 means "unchanged" to the kernel: never a real id. */
	if (!s[0] || !g_ascii_isdigit(s[0]) || !cm_parse_int64(s, &v) || v < 0 || v >= G_MAXUINT32)
		return false;
	*out = (guint32)v;
	return true;
}

/*
 * Read ROOTFS/path without letting symlinks in the image escape to the host's
 * files. The container may own its rootfs: a FIFO there must not block us
 * (non-blocking open, regular files only) nor a huge sparse file exhaust us.
 */
static int read_rootfs_file(const char *rootfs, const char *path, char **contents, GError **err)
{
	_cleanup_close_ int dirfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, .resolve = RESOLVE_IN_ROOT };
	_cleanup_close_ int fd = -1;
	g_autofree char *buf = NULL;
	struct stat sb;
	ssize_t n;

	if (dirfd < 0) {
		cm_set_errno(err, errno, "open %s", rootfs);
		return -1;
	}
	fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return cm_set_errno(err, errno, "open %s/%s", rootfs, path);
	if (fstat(fd, &sb) < 0)
		return cm_set_errno(err, errno, "stat %s/%s", rootfs, path);
	if (!S_ISREG(sb.st_mode))
		return cm_set_error(err, EINVAL, "%s/%s is not a regular file", rootfs, path);
	if (sb.st_size > ROOTFS_USER_DB_MAX)
		return cm_set_error(err, EFBIG, "%s/%s is larger than %d bytes", rootfs, path, ROOTFS_USER_DB_MAX);
	/* One byte more than its size tells a file that grew since the fstat. */
	buf = g_malloc((gsize)sb.st_size + 2);
	n = cm_read_full(fd, buf, (size_t)sb.st_size + 1);
	if (n < 0)
		return cm_set_errno(err, errno, "read %s/%s", rootfs, path);
	if (n > sb.st_size)
		return cm_set_error(err, EAGAIN, "%s/%s changed while it was read", rootfs, path);
	buf[n] = '\0';
	*contents = g_steal_pointer(&buf);
	return 0;
}

/* Missing files count as empty: many minimal images have no /etc/group. */
static char **rootfs_lines(const char *rootfs, const char *path, GError **err)
{
	g_autofree char *contents = NULL;
	g_autoptr(GError) local = NULL;

	if (read_rootfs_file(rootfs, path, &contents, &local) < 0) {
		if (cm_error_errno(local) != ENOENT) {
			g_propagate_error(err, g_steal_pointer(&local));
			return NULL;
		}
		return g_new0(char *, 1);
	}
	return g_strsplit(contents, "\n", -1);
}

/* The fields of the passwd/group line whose name is name, or (name == NULL) whose id (field 2) is id. */
static char **db_find(char **lines, const char *name, guint32 id)
{
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) f = NULL;
		guint32 v;

		if (!**l || **l == '#' || **l == '+' || **l == '-')
			continue;
		f = g_strsplit(*l, ":", -1);
		if (g_strv_length(f) < 4)
			continue;
		if (name ? strcmp(f[0], name) == 0 : (parse_u32(f[2], &v) && v == id))
			return g_steal_pointer(&f);
	}
	return NULL;
}

static void add_gid(GArray *gids, gid_t primary, gid_t g)
{
	if (g == primary)
		return;
	for (guint i = 0; i < gids->len; i++)
		if (g_array_index(gids, gid_t, i) == g)
			return;
	g_array_append_val(gids, g);
}

/* Add the gid of /etc/group line if user is in its member list. */
static void add_if_member(GArray *gids, gid_t primary, const char *line, const char *user)
{
	g_auto(GStrv) f = g_strsplit(line, ":", -1);
	g_auto(GStrv) members = NULL;
	guint32 gid;

	if (g_strv_length(f) < 4 || f[0][0] == '#' || !parse_u32(f[2], &gid))
		return;
	members = g_strsplit(f[3], ",", -1);
	for (char **m = members; *m; m++)
		if (strcmp(g_strstrip(*m), user) == 0)
			add_gid(gids, primary, gid);
}

int rootfs_user_parse(const char *spec, const char *rootfs, uid_t *uid, gid_t *gid, GArray *additional_gids,
		      GError **err)
{
	g_auto(GStrv) parts = g_strsplit(spec, ":", 2);
	g_auto(GStrv) passwd = NULL;
	g_auto(GStrv) group = NULL;
	g_auto(GStrv) pw = NULL;
	const char *user = parts[0] ? parts[0] : "";
	const char *grp = parts[0] ? parts[1] : NULL;
	guint32 u, g = 0;

	if (!*user || (grp && !*grp)) {
		cm_set_error(err, EINVAL, "--user \"%s\": expected UID[:GID] or NAME[:GROUP]", spec);
		return -1;
	}
	passwd = rootfs_lines(rootfs, "etc/passwd", err);
	if (!passwd)
		return -1;
	if (parse_u32(user, &u)) {
		pw = db_find(passwd, NULL, u);
	} else {
		pw = db_find(passwd, user, 0);
		if (!pw || !parse_u32(pw[2], &u)) {
			cm_set_error(err, ENOENT, "--user %s: no such user in %s/etc/passwd: use a numeric UID", user,
				     rootfs);
			return -1;
		}
	}
	/* A uid the image does not know gets group 0, as docker and podman do. */
	if (pw && !parse_u32(pw[3], &g))
		g = 0;

	if (grp || pw) {
		group = rootfs_lines(rootfs, "etc/group", err);
		if (!group)
			return -1;
	}
	if (grp && !parse_u32(grp, &g)) {
		g_auto(GStrv) gr = db_find(group, grp, 0);

		if (!gr || !parse_u32(gr[2], &g)) {
			cm_set_error(err, ENOENT, "--user %s: no such group in %s/etc/group: use a numeric GID", spec,
				     rootfs);
			return -1;
		}
	}
	/* An explicit group means exactly that identity; otherwise the image's memberships apply. */
	if (!grp && pw)
		for (char **l = group; *l; l++)
			add_if_member(additional_gids, g, *l, pw[0]);
	*uid = u;
	*gid = g;
	return 0;
}
