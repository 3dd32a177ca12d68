/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/image_store.h"

#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "wrapper/image_json.h"
#include "wrapper/image_layer.h"
#include "wrapper/image_mount.h"
#include "wrapper/image_source.h"
#include "wrapper/json_out.h"
#include "wrapper/state.h"

/* An id prefix shorter than this is more likely a name. */
#define MIN_ID_PREFIX 3

static char *sub(const char *storage, const char *a, const char *b)
{
	return g_build_filename(storage, a, b, NULL);
}

int image_store_lock(const char *storage, GError **err)
{
	static const char *const dirs[] = { "tmp", "layers", "images", "names", "mounts" };
	g_autofree char *lock = g_build_filename(storage, "lock", NULL);
	int fd;

	for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
		g_autofree char *d = g_build_filename(storage, dirs[i], NULL);
		if (g_mkdir_with_parents(d, 0700) < 0)
			return cm_set_errno(err, errno, "storage %s", d);
	}
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return cm_set_errno(err, errno, "open %s", lock);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return cm_set_errno(err, e, "lock %s", lock);
		}
	}
	return fd;
}

char *image_store_layer_dir(const char *storage, const char *diff_id)
{
	const char *hex = image_digest_hex(diff_id);

	return hex ? sub(storage, "layers", hex) : NULL;
}

/* ------------------------------------------------------------ import */

struct import {
	const char *storage;
	char *work; /* STORAGE/tmp/load-XXXXXX */
	struct image_plan plan;
	struct image_config *config;
	char *id;
	char *name;	       /* what the image is called after the import, NULL: nothing */
	GPtrArray *new_layers; /* hex of the layers this import unpacked, in work/ */
};

static void import_clear(struct import *im)
{
	if (im->work)
		state_rm_rf(im->work, NULL);
	g_free(im->work);
	image_plan_clear(&im->plan);
	image_config_free(im->config);
	g_free(im->id);
	g_free(im->name);
	g_ptr_array_unref(im->new_layers);
}

static gboolean in_list(GPtrArray *a, const char *s)
{
	for (guint i = 0; i < a->len; i++)
		if (strcmp(a->pdata[i], s) == 0)
			return TRUE;
	return FALSE;
}

static int unpack_layers(struct import *im, GError **err)
{
	for (guint i = 0; i < im->plan.layers->len; i++) {
		const struct image_blob_ref *b = im->plan.layers->pdata[i];
		const char *diff = im->config->diff_ids[i];
		const char *hex = image_digest_hex(diff);
		g_autofree char *have = NULL;
		g_autofree char *dir = NULL;
		_cleanup_close_ int fd = -1;

		if (!hex)
			return cm_set_error(err, EINVAL, "layer %u: unsupported diff id %s", i + 1, diff);
		have = sub(im->storage, "layers", hex);
		if (g_file_test(have, G_FILE_TEST_IS_DIR) || in_list(im->new_layers, hex))
			continue;
		dir = g_build_filename(im->work, hex, NULL);
		if (mkdir(dir, 0755) < 0)
			return cm_set_errno(err, errno, "mkdir %s", dir);
		fd = ij_open_in_root(im->plan.root_fd, b->path, err);
		if (fd < 0 || image_layer_unpack(fd, dir, b->digest, diff, err) < 0) {
			g_prefix_error(err, "layer %u (%s): ", i + 1, b->digest ? b->digest : diff);
			return -1;
		}
		g_ptr_array_add(im->new_layers, g_strdup(hex));
	}
	return 0;
}

/* Bytes in regular files under path. */
static gint64 tree_bytes(const char *path)
{
	char *const roots[] = { (char *)path, NULL };
	FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
	FTSENT *e;
	gint64 total = 0;

	if (!fts)
		return 0;
	while ((e = fts_read(fts)))
		if (e->fts_info == FTS_F)
			total += e->fts_statp->st_size;
	fts_close(fts);
	return total;
}

static gint64 layers_size(const char *storage, const char *work, char **diff_ids)
{
	gint64 total = 0;

	for (char **d = diff_ids; *d; d++) {
		g_autofree char *in_work = g_build_filename(work, image_digest_hex(*d), NULL);
		g_autofree char *in_store = image_store_layer_dir(storage, *d);
		total += tree_bytes(g_file_test(in_work, G_FILE_TEST_IS_DIR) ? in_work : in_store);
	}
	return total;
}

static int write_file(const char *dir, const char *name, const char *text, GError **err)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) local = NULL;

	if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local)) {
		cm_set_error(err, EIO, "%s", local->message);
		return -1;
	}
	return 0;
}

static int write_record(struct import *im, const char *dir, GError **err)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *loaded = g_date_time_format_iso8601(now);
	g_autofree char *record = NULL;
	yajl_gen g = yajl_gen_alloc(NULL);

	yajl_gen_map_open(g);
	json_kv_str(g, "Id", im->id);
	json_kv_str(g, "Loaded", loaded);
	json_str(g, "Size");
	yajl_gen_integer(g, layers_size(im->storage, im->work, im->config->diff_ids));
	yajl_gen_map_close(g);
	record = json_finish(g);
	if (mkdir(dir, 0700) < 0)
		return cm_set_errno(err, errno, "mkdir %s", dir);
	if (write_file(dir, "config.json", im->plan.config_json, err) < 0 ||
	    write_file(dir, "image.json", record, err) < 0)
		return -1;
	return 0;
}

/* Move the new layers, then the image, into place; undo the moves if one fails. */
static int commit(struct import *im, GError **err)
{
	g_autofree char *image_tmp = g_build_filename(im->work, "image", NULL);
	g_autofree char *image_dir = sub(im->storage, "images", im->id);
	guint done = 0;

	if (write_record(im, image_tmp, err) < 0)
		return -1;
	for (; done < im->new_layers->len; done++) {
		g_autofree char *from = g_build_filename(im->work, im->new_layers->pdata[done], NULL);
		g_autofree char *to = sub(im->storage, "layers", im->new_layers->pdata[done]);
		if (rename(from, to) < 0)
			break;
	}
	if (done == im->new_layers->len && rename(image_tmp, image_dir) == 0)
		return 0;
	cm_set_errno(err, errno, "moving the image into %s", im->storage);
	while (done-- > 0) {
		g_autofree char *from = g_build_filename(im->work, im->new_layers->pdata[done], NULL);
		g_autofree char *to = sub(im->storage, "layers", im->new_layers->pdata[done]);
		rename(to, from);
	}
	return -1;
}

static int set_name(const char *storage, const char *name, const char *id, GError **err)
{
	g_autofree char *file = image_name_to_file(name);
	g_autofree char *link = sub(storage, "names", file);
	g_autofree char *tmp = g_strdup_printf("%s.new", link);

	unlink(tmp);
	if (symlink(id, tmp) < 0 || rename(tmp, link) < 0) {
		int e = errno;
		unlink(tmp);
		return cm_set_errno(err, e, "naming the image %s", name);
	}
	return 0;
}

/* The name the source records, when it is a whole reference (not just a tag). */
static char *source_name(const char *ref_name)
{
	if (!ref_name || !strpbrk(ref_name, "/:"))
		return NULL;
	return image_name_normalize(ref_name, NULL);
}

static GPtrArray *dir_names(const char *dir, GError **err);

/* We hold the lock: whatever is in tmp/ belongs to an import that died. */
static int clear_tmp(const char *storage, GError **err)
{
	g_autofree char *tmp = g_build_filename(storage, "tmp", NULL);
	g_autoptr(GPtrArray) left = dir_names(tmp, err);

	for (guint i = 0; left && i < left->len; i++) {
		g_autofree char *p = g_build_filename(tmp, left->pdata[i], NULL);
		if (state_rm_rf(p, err) < 0)
			return -1;
	}
	return left ? 0 : -1;
}

static int import_run(struct import *im, const struct image_source_ref *src, const char *name, GError **err)
{
	g_autofree char *tmp = sub(im->storage, "tmp", "load-XXXXXX");
	g_autofree char *src_dir = NULL;
	g_autofree char *image_dir = NULL;

	if (clear_tmp(im->storage, err) < 0)
		return -1;
	if (!g_mkdtemp_full(tmp, 0700))
		return cm_set_errno(err, errno, "mkdir %s", tmp);
	im->work = g_steal_pointer(&tmp);
	src_dir = g_build_filename(im->work, "source", NULL);
	if (mkdir(src_dir, 0700) < 0)
		return cm_set_errno(err, errno, "mkdir %s", src_dir);
	if (image_source_open(src, src_dir, &im->plan, err) < 0)
		return -1;
	if (!(im->config = image_config_parse(im->plan.config_json, "the image config", err)) ||
	    image_config_check_platform(im->config, "the image", err) < 0)
		return -1;
	if (g_strv_length(im->config->diff_ids) != im->plan.layers->len)
		return cm_set_error(err, EINVAL, "the config lists %u layers, the manifest %u",
				    g_strv_length(im->config->diff_ids), im->plan.layers->len);
	im->id = g_strdup(image_digest_hex(im->plan.config_digest));
	im->name = name ? g_strdup(name) : source_name(im->plan.ref_name);
	image_dir = sub(im->storage, "images", im->id);
	if (!g_file_test(image_dir, G_FILE_TEST_IS_DIR) && (unpack_layers(im, err) < 0 || commit(im, err) < 0))
		return -1;
	return im->name ? set_name(im->storage, im->name, im->id, err) : 0;
}

int image_store_load(const char *storage, const struct image_source_ref *src, const char *what, const char *name,
		     char **id, char **named, GError **err)
{
	struct import im = { .storage = storage, .plan.root_fd = -1 };
	_cleanup_close_ int lock = -1;
	g_autofree char *norm = NULL;
	int rc;

	if (name && !(norm = image_name_normalize(name, err)))
		return -1;
	lock = image_store_lock(storage, err);
	if (lock < 0)
		return -1;
	im.new_layers = g_ptr_array_new_with_free_func(g_free);
	rc = import_run(&im, src, norm, err);
	if (rc < 0)
		g_prefix_error(err, "image %s: ", what);
	else
		*id = g_steal_pointer(&im.id);
	if (rc == 0 && named)
		*named = g_steal_pointer(&im.name);
	import_clear(&im);
	return rc;
}

/* ------------------------------------------------------------ queries */

static char *name_target(const char *storage, const char *name)
{
	g_autofree char *file = image_name_to_file(name);
	g_autofree char *link = sub(storage, "names", file);
	g_autofree char *id = g_file_read_link(link, NULL);
	g_autofree char *dir = id && image_is_hex64(id) ? sub(storage, "images", id) : NULL;

	return dir && g_file_test(dir, G_FILE_TEST_IS_DIR) ? g_steal_pointer(&id) : NULL;
}

static gboolean hex_prefix(const char *s)
{
	size_t n = strlen(s);

	if (n < MIN_ID_PREFIX || n > 64)
		return FALSE;
	for (; *s; s++)
		if (!g_ascii_isdigit(*s) && !(*s >= 'a' && *s <= 'f'))
			return FALSE;
	return TRUE;
}

static char *id_by_prefix(const char *storage, const char *prefix, GError **err)
{
	g_autoptr(GPtrArray) ids = image_store_ids(storage, NULL);
	char *found = NULL;

	for (guint i = 0; ids && i < ids->len; i++) {
		if (!g_str_has_prefix(ids->pdata[i], prefix))
			continue;
		if (found) {
			cm_set_error(err, EINVAL, "image id prefix %s is ambiguous: give more digits", prefix);
			return NULL;
		}
		found = ids->pdata[i];
	}
	return g_strdup(found);
}

char *image_store_resolve(const char *storage, const char *ref, GError **err)
{
	g_autofree char *norm = image_name_normalize(ref, NULL);
	const char *r = g_str_has_prefix(ref, "sha256:") ? ref + 7 : ref;
	char *id = NULL;

	if (norm && (id = name_target(storage, norm)))
		return id;
	if (norm && !strchr(ref, '/')) {
		g_autofree char *local = g_strconcat("localhost/", norm, NULL);
		if ((id = name_target(storage, local)))
			return id;
	}
	if (hex_prefix(r)) {
		g_autoptr(GError) local = NULL;
		if ((id = id_by_prefix(storage, r, &local)) || local) {
			if (local)
				g_propagate_error(err, g_steal_pointer(&local));
			return id;
		}
	}
	cm_set_error(err, ENOENT, "no image %s in %s (see ctr-wrap image ls)", ref, storage);
	return NULL;
}

static GPtrArray *dir_names(const char *dir, GError **err)
{
	g_autoptr(GDir) d = NULL;
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) local = NULL;
	const char *name;

	d = g_dir_open(dir, 0, &local);
	if (!d) {
		if (!g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			cm_set_error(err, EIO, "%s", local->message);
			g_ptr_array_unref(out);
			return NULL;
		}
		return out;
	}
	while ((name = g_dir_read_name(d)))
		g_ptr_array_add(out, g_strdup(name));
	g_ptr_array_sort(out, (GCompareFunc)g_strcmp0);
	return out;
}

static int cmp_strp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *image_store_ids(const char *storage, GError **err)
{
	g_autofree char *dir = g_build_filename(storage, "images", NULL);
	GPtrArray *ids = dir_names(dir, err);

	if (ids)
		g_ptr_array_sort(ids, cmp_strp);
	return ids;
}

char **image_store_names(const char *storage, const char *id)
{
	g_autofree char *dir = g_build_filename(storage, "names", NULL);
	g_autoptr(GPtrArray) files = dir_names(dir, NULL);
	GPtrArray *out = g_ptr_array_new();

	for (guint i = 0; files && i < files->len; i++) {
		g_autofree char *link = g_build_filename(dir, files->pdata[i], NULL);
		g_autofree char *target = g_file_read_link(link, NULL);
		if (target && strcmp(target, id) == 0)
			g_ptr_array_add(out, image_name_from_file(files->pdata[i]));
	}
	g_ptr_array_sort(out, cmp_strp);
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

struct image_config *image_store_config(const char *storage, const char *id, GError **err)
{
	g_autofree char *path = g_build_filename(storage, "images", id, "config.json", NULL);
	g_autofree char *text = NULL;
	g_autoptr(GError) local = NULL;

	if (!g_file_get_contents(path, &text, NULL, &local)) {
		cm_set_error(err, EIO, "image %s: %s", id, local->message);
		return NULL;
	}
	return image_config_parse(text, path, err);
}

static ij_node *read_record(const char *storage, const char *id)
{
	g_autofree char *path = g_build_filename(storage, "images", id, "image.json", NULL);
	g_autofree char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	return ij_parse(text, path, NULL);
}

gint64 image_store_size(const char *storage, const char *id)
{
	g_autoptr(ij_node) rec = read_record(storage, id);
	yajl_val v = ij_get(rec, "Size");

	return YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : -1;
}

char *image_store_loaded(const char *storage, const char *id)
{
	g_autoptr(ij_node) rec = read_record(storage, id);

	return g_strdup(ij_str(rec, "Loaded"));
}

/* ------------------------------------------------------------ removal */

static void mark_layers(GHashTable *used, char **diff_ids)
{
	for (char **d = diff_ids; d && *d; d++)
		if (image_digest_hex(*d))
			g_hash_table_add(used, g_strdup(image_digest_hex(*d)));
}

void image_store_gc(const char *storage)
{
	g_autoptr(GHashTable) used = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autofree char *mounts = g_build_filename(storage, "mounts", NULL);
	g_autofree char *layers = g_build_filename(storage, "layers", NULL);
	g_autoptr(GPtrArray) ids = image_store_ids(storage, NULL);
	g_autoptr(GPtrArray) mdirs = dir_names(mounts, NULL);
	g_autoptr(GPtrArray) ldirs = dir_names(layers, NULL);

	for (guint i = 0; ids && i < ids->len; i++) {
		g_autoptr(image_config) c = image_store_config(storage, ids->pdata[i], NULL);
		if (c)
			mark_layers(used, c->diff_ids);
	}
	for (guint i = 0; mdirs && i < mdirs->len; i++) {
		g_autofree char *m = g_build_filename(mounts, mdirs->pdata[i], NULL);
		g_auto(GStrv) ls = NULL;

		if (!image_mount_is_mounted(m)) {
			state_rm_rf(m, NULL);
			continue;
		}
		ls = image_mount_layers(m);
		mark_layers(used, ls);
	}
	for (guint i = 0; ldirs && i < ldirs->len; i++) {
		if (!g_hash_table_contains(used, ldirs->pdata[i])) {
			g_autofree char *l = g_build_filename(layers, ldirs->pdata[i], NULL);
			state_rm_rf(l, NULL);
		}
	}
}

static gboolean image_in_use(const char *storage, const char *id)
{
	g_autofree char *mounts = g_build_filename(storage, "mounts", NULL);
	g_autoptr(GPtrArray) mdirs = dir_names(mounts, NULL);

	for (guint i = 0; mdirs && i < mdirs->len; i++) {
		g_autofree char *m = g_build_filename(mounts, mdirs->pdata[i], NULL);
		g_autofree char *mid = image_mount_image_id(m);
		if (mid && strcmp(mid, id) == 0 && image_mount_is_mounted(m))
			return TRUE;
	}
	return FALSE;
}

static int untag(const char *storage, const char *name, GString *out, GError **err)
{
	g_autofree char *file = image_name_to_file(name);
	g_autofree char *link = sub(storage, "names", file);

	if (unlink(link) < 0 && errno != ENOENT)
		return cm_set_errno(err, errno, "remove the name %s", name);
	g_string_append_printf(out, "Untagged: %s\n", name);
	return 0;
}

static int remove_locked(const char *storage, const char *ref, gboolean force, GString *out, GError **err)
{
	g_autofree char *id = image_store_resolve(storage, ref, err);
	g_autofree char *norm = image_name_normalize(ref, NULL);
	g_auto(GStrv) names = NULL;
	g_autofree char *dir = NULL;

	if (!id)
		return -1;
	names = image_store_names(storage, id);
	/* By one of several names: only that name goes. */
	if (norm && g_strv_length(names) > 1) {
		for (char **n = names; *n; n++)
			if (strcmp(*n, norm) == 0 || (g_str_has_prefix(*n, "localhost/") && !strcmp(*n + 10, norm)))
				return untag(storage, *n, out, err);
	}
	if (!force && image_in_use(storage, id))
		return cm_set_error(err, EBUSY, "image %s is used by a container (remove it first, or use image rm -f)",
				    ref);
	for (char **n = names; *n; n++)
		if (untag(storage, *n, out, err) < 0)
			return -1;
	dir = sub(storage, "images", id);
	if (state_rm_rf(dir, err) < 0)
		return -1;
	g_string_append_printf(out, "Deleted: %s\n", id);
	image_store_gc(storage);
	return 0;
}

int image_store_remove(const char *storage, const char *ref, gboolean force, GString *out, GError **err)
{
	_cleanup_close_ int lock = image_store_lock(storage, err);

	return lock < 0 ? -1 : remove_locked(storage, ref, force, out, err);
}
