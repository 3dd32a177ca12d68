/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/image_layer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "wrapper/archive_lib.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_META ".wh..wh."
#define CHUNK (128 * 1024)

/* Set by image_layer_unpack, the only way in, before anything below runs. */
static const struct archive_lib *al;

char *image_layer_clean_path(const char *path, GError **err)
{
	g_auto(GStrv) parts = NULL;
	g_autoptr(GPtrArray) keep = g_ptr_array_new();

	if (path[0] == '/') {
		cm_set_error(err, EINVAL, "entry %s has an absolute path", path);
		return NULL;
	}
	parts = g_strsplit(path, "/", -1);
	for (char **p = parts; *p; p++) {
		if (strcmp(*p, "..") == 0) {
			cm_set_error(err, EINVAL, "entry %s leaves the layer (..)", path);
			return NULL;
		}
		if (**p && strcmp(*p, ".") != 0)
			g_ptr_array_add(keep, *p);
	}
	g_ptr_array_add(keep, NULL);
	return g_strjoinv("/", (char **)keep->pdata);
}

enum image_whiteout image_whiteout_kind(const char *clean_path, char **dir, char **name)
{
	const char *slash = strrchr(clean_path, '/');
	const char *base = slash ? slash + 1 : clean_path;

	if (!g_str_has_prefix(base, WH_PREFIX))
		return IMAGE_WH_NONE;
	*dir = slash ? g_strndup(clean_path, slash - clean_path) : g_strdup("");
	*name = NULL;
	if (strcmp(base, WH_OPAQUE) == 0)
		return IMAGE_WH_OPAQUE;
	if (g_str_has_prefix(base, WH_META))
		return IMAGE_WH_META;
	*name = g_strdup(base + strlen(WH_PREFIX));
	if (!**name || strcmp(*name, ".") == 0 || strcmp(*name, "..") == 0) {
		g_clear_pointer(name, g_free);
		return IMAGE_WH_META;
	}
	return IMAGE_WH_FILE;
}

/* The blob as read from disk: its bytes are hashed on the way. */
struct blob_in {
	int fd;
	GChecksum *sum;
	char buf[CHUNK];
};

static la_ssize_t blob_read(struct archive *a, void *data, const void **out)
{
	struct blob_in *b = data;
	ssize_t n;

	do
		n = read(b->fd, b->buf, sizeof(b->buf));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		al->archive_set_error(a, errno, "reading the layer: %s", g_strerror(errno));
		return -1;
	}
	g_checksum_update(b->sum, (guchar *)b->buf, n);
	*out = b->buf;
	return n;
}

/* The decompressed tar stream, hashed for the diff id, fed to the tar reader. */
struct diff_in {
	struct archive *outer;
	GChecksum *sum;
	char buf[CHUNK];
};

static la_ssize_t diff_read(struct archive *a, void *data, const void **out)
{
	struct diff_in *d = data;
	la_ssize_t n = al->archive_read_data(d->outer, d->buf, sizeof(d->buf));

	if (n < 0) {
		al->archive_set_error(a, al->archive_errno(d->outer), "%s", al->archive_error_string(d->outer));
		return -1;
	}
	g_checksum_update(d->sum, (guchar *)d->buf, n);
	*out = d->buf;
	return n;
}

static int open_beneath(int root, const char *rel, int flags)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC | O_NOFOLLOW,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	do
		fd = syscall(SYS_openat2, root, *rel ? rel : ".", &how, sizeof(how));
	while (fd < 0 && (errno == EINTR || errno == EAGAIN));
	return fd;
}

/* The directory rel under root, made (0755) when missing; never through a symlink. */
static int dir_beneath(int root, const char *rel, GError **err)
{
	g_auto(GStrv) parts = g_strsplit(rel, "/", -1);
	g_autoptr(GString) path = g_string_new(NULL);
	int fd = -1;

	for (char **p = parts; *p; p++) {
		if (!**p)
			continue;
		g_string_append_printf(path, "%s%s", path->len ? "/" : "", *p);
		if (mkdirat(root, path->str, 0755) < 0 && errno != EEXIST)
			return cm_set_errno(err, errno, "mkdir %s", path->str);
	}
	fd = open_beneath(root, rel, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return cm_set_errno(err, errno, "directory %s", *rel ? rel : ".");
	return fd;
}

static int apply_whiteout(int root, enum image_whiteout kind, const char *dir, const char *name, GError **err)
{
	_cleanup_close_ int dfd = -1;

	if (kind == IMAGE_WH_META)
		return 0;
	dfd = dir_beneath(root, dir, err);
	if (dfd < 0)
		return -1;
	if (kind == IMAGE_WH_OPAQUE) {
		if (fsetxattr(dfd, "trusted.overlay.opaque", "y", 1, 0) < 0)
			return cm_set_errno(err, errno, "marking %s opaque", *dir ? dir : "/");
		return 0;
	}
	/* A name this same layer also adds stays: the whiteout is for the layers below. */
	if (mknodat(dfd, name, S_IFCHR | 0, makedev(0, 0)) < 0 && errno != EEXIST)
		return cm_set_errno(err, errno, "whiteout for %s/%s", dir, name);
	return 0;
}

/* overlayfs's own xattrs in a layer would let it forge whiteouts and redirects. */
static void drop_overlay_xattrs(struct archive_entry *e)
{
	g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func(g_free);
	const char *name;
	const void *value;
	size_t size;

	if (al->archive_entry_xattr_reset(e) == 0)
		return;
	while (al->archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (g_str_has_prefix(name, "trusted.overlay."))
			continue;
		g_ptr_array_add(keep, g_strdup(name));
		g_ptr_array_add(keep, g_memdup2(value, size));
		g_ptr_array_add(keep, GSIZE_TO_POINTER(size));
	}
	if ((guint)al->archive_entry_xattr_count(e) * 3 == keep->len)
		return;
	al->archive_entry_xattr_clear(e);
	for (guint i = 0; i + 2 < keep->len; i += 3)
		al->archive_entry_xattr_add_entry(e, keep->pdata[i], keep->pdata[i + 1],
						  GPOINTER_TO_SIZE(keep->pdata[i + 2]));
	/* The sizes are not pointers to free. */
	for (guint i = 2; i < keep->len; i += 3)
		keep->pdata[i] = NULL;
}

/* libarchive's disk errors ("Write failed") with the errno behind them. */
static int disk_error(GError **err, struct archive *disk, const char *what, const char *path)
{
	int e = al->archive_errno(disk);

	if (e > 0 && !strstr(al->archive_error_string(disk), g_strerror(e)))
		return cm_set_error(err, e, "%s %s: %s: %s", what, path, al->archive_error_string(disk), g_strerror(e));
	return cm_set_error(err, e, "%s %s: %s", what, path, al->archive_error_string(disk));
}

static int copy_data(struct archive *in, struct archive *disk, const char *path, GError **err)
{
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t offset;
		int r = al->archive_read_data_block(in, &buf, &size, &offset);

		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_OK)
			return cm_set_error(err, EIO, "corrupt layer at %s: %s", path, al->archive_error_string(in));
		if (al->archive_write_data_block(disk, buf, size, offset) < ARCHIVE_OK)
			return disk_error(err, disk, "writing", path);
	}
}

static int unpack_entry(struct archive *in, struct archive *disk, int root, struct archive_entry *e, GError **err)
{
	const char *raw = al->archive_entry_pathname(e);
	g_autofree char *path = raw ? image_layer_clean_path(raw, err) : NULL;
	g_autofree char *dir = NULL;
	g_autofree char *name = NULL;
	const char *link = al->archive_entry_hardlink(e);
	enum image_whiteout kind;

	if (!raw)
		return cm_set_error(err, EINVAL, "corrupt layer: an entry without a readable name");
	if (!path)
		return -1;
	kind = image_whiteout_kind(path, &dir, &name);
	if (kind != IMAGE_WH_NONE)
		return apply_whiteout(root, kind, dir, name, err);
	if (link) {
		g_autofree char *target = image_layer_clean_path(link, err);

		if (!target) {
			g_prefix_error(err, "hard link %s: ", path);
			return -1;
		}
		if (!*target)
			return cm_set_error(err, EINVAL, "hard link %s points at the layer's top directory", path);
		al->archive_entry_set_hardlink(e, target);
	}
	al->archive_entry_set_pathname(e, *path ? path : ".");
	drop_overlay_xattrs(e);
	if (al->archive_write_header(disk, e) < ARCHIVE_OK)
		return disk_error(err, disk, "entry", *path ? path : ".");
	if (al->archive_entry_size(e) > 0 && !link && copy_data(in, disk, path, err) < 0)
		return -1;
	if (al->archive_write_finish_entry(disk) < ARCHIVE_OK)
		return disk_error(err, disk, "entry", *path ? path : ".");
	return 0;
}

static struct archive *disk_writer(void)
{
	struct archive *disk = al->archive_write_disk_new();

	/* No name lookup: ownership stays numeric, as the image has it. */
	al->archive_write_disk_set_options(
		disk, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
			      ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
			      ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_SPARSE);
	return disk;
}

/* Entries, relative to the current directory (the layer's). */
static int unpack_stream(struct archive *in, int root, GError **err)
{
	struct archive *disk = disk_writer();
	struct archive_entry *e;
	int rc = 0;

	for (;;) {
		int r = al->archive_read_next_header(in, &e);

		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = cm_set_error(err, EIO, "corrupt layer: %s", al->archive_error_string(in));
			break;
		}
		if (unpack_entry(in, disk, root, e, err) < 0) {
			rc = -1;
			break;
		}
	}
	/* Close sets the directories' final modes and times. */
	if (al->archive_write_close(disk) < ARCHIVE_OK && rc == 0)
		rc = disk_error(err, disk, "finishing", "the layer");
	al->archive_write_free(disk);
	return rc;
}

static int check_digest(GChecksum *sum, const char *want, const char *what, GError **err)
{
	g_autofree char *got = g_strconcat("sha256:", g_checksum_get_string(sum), NULL);

	if (want && strcmp(got, want) != 0)
		return cm_set_error(err, EINVAL, "%s digest mismatch: want %s, got %s", what, want, got);
	return 0;
}

static int drain(struct archive *outer, struct diff_in *d, struct blob_in *b, GError **err)
{
	const void *p;
	la_ssize_t n;

	/* Tar padding after the end marker is part of the diff id; bytes after the stream of the digest. */
	while ((n = diff_read(outer, d, &p)) > 0)
		;
	if (n < 0)
		return cm_set_error(err, EIO, "corrupt layer: %s", al->archive_error_string(outer));
	while ((n = blob_read(outer, b, &p)) > 0)
		;
	if (n < 0)
		return cm_set_errno(err, errno, "reading the layer");
	return 0;
}

static int unpack_here(int blob_fd, int root, const char *digest, const char *diff_id, GError **err)
{
	g_autofree struct blob_in *b = g_new0(struct blob_in, 1);
	g_autofree struct diff_in *d = g_new0(struct diff_in, 1);
	struct archive *outer = al->archive_read_new();
	struct archive *in = al->archive_read_new();
	struct archive_entry *e;
	int rc = -1;

	b->fd = blob_fd;
	b->sum = g_checksum_new(G_CHECKSUM_SHA256);
	d->outer = outer;
	d->sum = g_checksum_new(G_CHECKSUM_SHA256);
	al->archive_read_support_filter_gzip(outer);
	al->archive_read_support_filter_zstd(outer);
	al->archive_read_support_format_raw(outer);
	al->archive_read_support_format_tar(in);
	if (al->archive_read_open(outer, b, NULL, blob_read, NULL) < ARCHIVE_OK ||
	    al->archive_read_next_header(outer, &e) < ARCHIVE_OK)
		cm_set_error(err, EIO, "corrupt layer: %s", al->archive_error_string(outer));
	else if (al->archive_read_open(in, d, NULL, diff_read, NULL) < ARCHIVE_OK)
		cm_set_error(err, EIO, "corrupt layer: %s", al->archive_error_string(in));
	else if (unpack_stream(in, root, err) == 0 && drain(outer, d, b, err) == 0 &&
		 check_digest(b->sum, digest, "layer", err) == 0 &&
		 check_digest(d->sum, diff_id, "uncompressed layer (diff id)", err) == 0)
		rc = 0;
	al->archive_read_free(in);
	al->archive_read_free(outer);
	g_checksum_free(b->sum);
	g_checksum_free(d->sum);
	return rc;
}

int image_layer_unpack(int blob_fd, const char *dir, const char *digest, const char *diff_id, GError **err)
{
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int root = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	al = archive_lib_load(err);
	if (!al)
		return -1;
	if (cwd < 0)
		return cm_set_errno(err, errno, "open the current directory");
	if (root < 0)
		return cm_set_errno(err, errno, "open %s", dir);
	/* libarchive's disk writer works relative to the current directory, which makes its checks ours. */
	if (fchdir(root) < 0)
		return cm_set_errno(err, errno, "chdir %s", dir);
	rc = unpack_here(blob_fd, root, digest, diff_id, err);
	if (fchdir(cwd) < 0 && rc == 0)
		return cm_set_errno(err, errno, "chdir back");
	return rc;
}
