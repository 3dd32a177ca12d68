/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/image_mount.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "wrapper/image_json.h"
#include "wrapper/image_ref.h"
#include "wrapper/image_store.h"
#include "wrapper/json_out.h"
#include "wrapper/state.h"

/* mount(2) takes one page of options. */
#define MAX_MOUNT_DATA 4000

char *image_mount_rootfs(const char *mount_dir)
{
	return g_build_filename(mount_dir, "merged", NULL);
}

gboolean image_mount_is_mounted(const char *mount_dir)
{
	g_autofree char *merged = image_mount_rootfs(mount_dir);
	struct stat a, b;

	return stat(mount_dir, &a) == 0 && stat(merged, &b) == 0 && a.st_dev != b.st_dev;
}

static ij_node *read_json(const char *mount_dir, const char *name)
{
	g_autofree char *path = g_build_filename(mount_dir, name, NULL);
	g_autofree char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	return ij_parse(text, path, NULL);
}

char **image_mount_layers(const char *mount_dir)
{
	g_autoptr(ij_node) rec = read_json(mount_dir, "image.json");

	return ij_strv(rec, "Layers");
}

char *image_mount_image_id(const char *mount_dir)
{
	g_autoptr(ij_node) rec = read_json(mount_dir, "image.json");

	return g_strdup(ij_str(rec, "Id"));
}

char *image_mount_image_name(const char *mount_dir)
{
	g_autoptr(ij_node) rec = read_json(mount_dir, "image.json");

	return g_strdup(ij_str(rec, "Name"));
}

struct image_config *image_mount_config(const char *mount_dir)
{
	g_autofree char *path = g_build_filename(mount_dir, "config.json", NULL);
	g_autofree char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	return image_config_parse(text, path, NULL);
}

static int write_record(const char *dir, const char *id, const char *name, char **layers, GError **err)
{
	g_autofree char *path = g_build_filename(dir, "image.json", NULL);
	g_autofree char *text = NULL;
	yajl_gen g = yajl_gen_alloc(NULL);
	g_autoptr(GError) local = NULL;

	yajl_gen_map_open(g);
	json_kv_str(g, "Id", id);
	json_kv_str(g, "Name", name);
	json_str(g, "Layers");
	json_strv(g, layers);
	yajl_gen_map_close(g);
	text = json_finish(g);
	if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local)) {
		cm_set_error(err, EIO, "%s", local->message);
		return -1;
	}
	return 0;
}

/* Lower dirs are named relative to STORAGE/layers (our cwd then) to fit more in a page. */
static char *mount_options(const char *dir, char **diff_ids, GError **err)
{
	g_autoptr(GString) o = g_string_new("lowerdir=");
	guint n = g_strv_length(diff_ids);

	for (guint i = n; i > 0; i--)
		g_string_append_printf(o, "%s%s", i < n ? ":" : "", image_digest_hex(diff_ids[i - 1]));
	g_string_append_printf(o, ",upperdir=%s/upper,workdir=%s/work", dir, dir);
	if (o->len > MAX_MOUNT_DATA) {
		cm_set_error(err, E2BIG, "%u layers are more than one overlay mount takes", n);
		return NULL;
	}
	return g_string_free(g_steal_pointer(&o), FALSE);
}

static int overlay_mount(const char *storage, const char *dir, char **diff_ids, GError **err)
{
	g_autofree char *layers = g_build_filename(storage, "layers", NULL);
	g_autofree char *merged = image_mount_rootfs(dir);
	g_autofree char *opts = mount_options(dir, diff_ids, err);
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (!opts)
		return -1;
	if (cwd < 0 || chdir(layers) < 0)
		return cm_set_errno(err, errno, "chdir %s", layers);
	if (mount("overlay", merged, "overlay", 0, opts) < 0)
		rc = cm_set_errno(err, errno, "mount the overlay root at %s", merged);
	if (fchdir(cwd) < 0 && rc == 0)
		rc = cm_set_errno(err, errno, "chdir back");
	return rc;
}

static int make_dirs(const char *dir, GError **err)
{
	static const char *const subs[] = { "upper", "work", "merged" };

	for (size_t i = 0; i < G_N_ELEMENTS(subs); i++) {
		g_autofree char *d = g_build_filename(dir, subs[i], NULL);
		if (mkdir(d, 0755) < 0)
			return cm_set_errno(err, errno, "mkdir %s", d);
	}
	return 0;
}

static int create_locked(const char *storage, const char *id, const char *name, const char *dir, GError **err)
{
	g_autoptr(image_config) c = image_store_config(storage, id, err);
	g_autofree char *src = g_build_filename(storage, "images", id, "config.json", NULL);
	g_autofree char *dst = g_build_filename(dir, "config.json", NULL);
	g_autofree char *text = NULL;
	g_autoptr(GError) local = NULL;

	if (!c)
		return -1;
	for (char **d = c->diff_ids; *d; d++) {
		g_autofree char *l = image_store_layer_dir(storage, *d);
		if (!l || !g_file_test(l, G_FILE_TEST_IS_DIR))
			return cm_set_error(err, ENOENT, "image %s: layer %s is missing from the store (load it again)",
					    name, *d);
	}
	if (!g_file_get_contents(src, &text, NULL, &local) ||
	    !g_file_set_contents_full(dst, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local)) {
		cm_set_error(err, EIO, "%s", local->message);
		return -1;
	}
	if (make_dirs(dir, err) < 0 || write_record(dir, id, name, c->diff_ids, err) < 0)
		return -1;
	return overlay_mount(storage, dir, c->diff_ids, err);
}

char *image_mount_create(const char *storage, const char *id, const char *name, GError **err)
{
	_cleanup_close_ int lock = image_store_lock(storage, err);
	g_autofree char *dir = NULL;

	if (lock < 0)
		return NULL;
	dir = g_build_filename(storage, "mounts", "XXXXXX", NULL);
	if (!g_mkdtemp_full(dir, 0700)) {
		cm_set_errno(err, errno, "mkdir %s", dir);
		return NULL;
	}
	if (create_locked(storage, id, name, dir, err) < 0) {
		state_rm_rf(dir, NULL);
		return NULL;
	}
	return g_steal_pointer(&dir);
}

int image_mount_release(const char *mount_dir, GError **err)
{
	g_autofree char *parent = g_path_get_dirname(mount_dir);
	g_autofree char *base = g_path_get_basename(parent);
	g_autofree char *storage = g_path_get_dirname(parent);
	g_autofree char *merged = image_mount_rootfs(mount_dir);
	_cleanup_close_ int lock = -1;

	/* The path comes from a state file: never remove anything but a mount directory. */
	if (strcmp(base, "mounts") != 0 || !g_path_is_absolute(mount_dir))
		return cm_set_error(err, EINVAL, "%s is not an image mount", mount_dir);
	if (!g_file_test(mount_dir, G_FILE_TEST_IS_DIR))
		return 0;
	lock = image_store_lock(storage, err);
	if (lock < 0)
		return -1;
	if (umount2(merged, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return cm_set_errno(err, errno, "unmount %s", merged);
	if (state_rm_rf(mount_dir, err) < 0)
		return -1;
	image_store_gc(storage);
	return 0;
}
