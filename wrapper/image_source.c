/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/image_source.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "wrapper/image_config.h"
#include "wrapper/image_json.h"
#include "wrapper/image_layer.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define REF_NAME "org.opencontainers.image.ref.name"
/* How deep image indexes may nest. */
#define MAX_INDEX_DEPTH 4

static const char *const config_types[] = {
	"application/vnd.oci.image.config.v1+json",
	"application/vnd.docker.container.image.v1+json",
};

static const char *const layer_types[] = {
	"application/vnd.oci.image.layer.v1.tar",
	"application/vnd.oci.image.layer.v1.tar+gzip",
	"application/vnd.oci.image.layer.v1.tar+zstd",
	"application/vnd.oci.image.layer.nondistributable.v1.tar",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	"application/vnd.docker.image.rootfs.diff.tar.gzip",
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

static void blob_ref_free(gpointer p)
{
	struct image_blob_ref *b = p;

	g_free(b->path);
	g_free(b->digest);
	g_free(b);
}

void image_plan_clear(struct image_plan *p)
{
	if (p->root_fd >= 0)
		close(p->root_fd);
	p->root_fd = -1;
	g_clear_pointer(&p->config_json, g_free);
	g_clear_pointer(&p->config_digest, g_free);
	g_clear_pointer(&p->layers, g_ptr_array_unref);
	g_clear_pointer(&p->ref_name, g_free);
}

static gboolean known(const char *mt, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (mt && strcmp(mt, list[i]) == 0)
			return TRUE;
	return FALSE;
}

/* An archive's files (and directories, and links that stay inside) under dir. */
static int extract_archive(const char *file, const char *dir, GError **err)
{
	_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	g_autoptr(GError) local = NULL;
	int rc;

	if (fd < 0)
		return cm_set_errno(err, errno, "%s", file);
	/* Same checks as a layer; the archive's own digest is not known. */
	rc = image_layer_unpack(fd, dir, NULL, NULL, &local);
	if (rc < 0)
		return cm_set_error(err, cm_error_errno(local), "%s: %s", file, local->message);
	return 0;
}

static char *blob_path(const char *digest, GError **err)
{
	const char *hex = image_digest_hex(digest);

	if (!hex) {
		cm_set_error(err, EINVAL, "unsupported digest %s (only sha256)", digest ? digest : "(none)");
		return NULL;
	}
	return g_strdup_printf("blobs/sha256/%s", hex);
}

static gint64 desc_size(yajl_val desc)
{
	yajl_val v = ij_get(desc, "size");

	return YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : -1;
}

/* Read a descriptor's blob as JSON, checked against its digest and size. */
static yajl_val read_desc_json(int root, yajl_val desc, char **text_out, GError **err)
{
	g_autofree char *path = blob_path(ij_str(desc, "digest"), err);
	g_autofree char *text = NULL;
	yajl_val v;

	if (!path || ij_read_blob(root, path, ij_str(desc, "digest"), desc_size(desc), &text, NULL, err) < 0)
		return NULL;
	v = ij_parse(text, path, err);
	if (v && text_out)
		*text_out = g_steal_pointer(&text);
	return v;
}

static gboolean platform_matches(yajl_val desc)
{
	yajl_val plat = ij_get(desc, "platform");
	const char *arch = ij_str(plat, "architecture");
	const char *os = ij_str(plat, "os");

	return !plat || ((!os || strcmp(os, "linux") == 0) && (!arch || strcmp(arch, image_host_arch()) == 0));
}

static gboolean tag_matches(yajl_val desc, const char *tag)
{
	const char *name = ij_str(ij_get(desc, "annotations"), REF_NAME);
	size_t n, t;

	if (!name)
		return FALSE;
	if (strcmp(name, tag) == 0)
		return TRUE;
	/* "localhost/web:1" is found by "1" and by "web:1". */
	n = strlen(name);
	t = strlen(tag);
	return n > t && g_str_has_suffix(name, tag) && (name[n - t - 1] == ':' || name[n - t - 1] == '/');
}

/* The entry of a top-level index.json that the tag (or, without one, being alone) picks. */
static yajl_val pick_top(yajl_val manifests, const char *tag, GError **err)
{
	yajl_val found = NULL;
	size_t n = YAJL_IS_ARRAY(manifests) ? manifests->u.array.len : 0;

	if (n == 0)
		return cm_set_error(err, EINVAL, "index.json lists no images"), NULL;
	if (!tag) {
		if (n > 1)
			return cm_set_error(err, EINVAL, "the source holds %zu images: add :TAG to pick one", n), NULL;
		return manifests->u.array.values[0];
	}
	for (size_t i = 0; i < n && !found; i++)
		if (tag_matches(manifests->u.array.values[i], tag))
			found = manifests->u.array.values[i];
	if (!found)
		cm_set_error(err, ENOENT, "no image tagged %s in the source", tag);
	return found;
}

static int read_manifest(int root, yajl_val desc, struct image_plan *plan, int depth, GError **err);

static int read_index(int root, yajl_val index, struct image_plan *plan, int depth, GError **err)
{
	yajl_val list = ij_get(index, "manifests");

	for (size_t i = 0; YAJL_IS_ARRAY(list) && i < list->u.array.len; i++)
		if (platform_matches(list->u.array.values[i]))
			return read_manifest(root, list->u.array.values[i], plan, depth + 1, err);
	return cm_set_error(err, EINVAL, "no image for linux/%s in the image index", image_host_arch());
}

static int add_layers(yajl_val layers, struct image_plan *plan, GError **err)
{
	plan->layers = g_ptr_array_new_with_free_func(blob_ref_free);
	for (size_t i = 0; YAJL_IS_ARRAY(layers) && i < layers->u.array.len; i++) {
		yajl_val l = layers->u.array.values[i];
		const char *mt = ij_str(l, "mediaType");
		struct image_blob_ref *b;
		g_autofree char *path = NULL;

		if (!known(mt, layer_types, G_N_ELEMENTS(layer_types)))
			return cm_set_error(err, EINVAL, "layer %zu has unknown media type %s", i + 1,
					    mt ? mt : "(none)");
		if (!(path = blob_path(ij_str(l, "digest"), err)))
			return -1;
		b = g_new0(struct image_blob_ref, 1);
		b->path = g_steal_pointer(&path);
		b->digest = g_strdup(ij_str(l, "digest"));
		g_ptr_array_add(plan->layers, b);
	}
	return 0;
}

static int read_manifest(int root, yajl_val desc, struct image_plan *plan, int depth, GError **err)
{
	const char *mt = ij_str(desc, "mediaType");
	g_autoptr(ij_node) m = NULL;
	g_autofree char *config_path = NULL;
	yajl_val config;

	if (depth > MAX_INDEX_DEPTH)
		return cm_set_error(err, ELOOP, "image indexes nested deeper than %d", MAX_INDEX_DEPTH);
	if (mt && strcmp(mt, MT_OCI_MANIFEST) && strcmp(mt, MT_DOCKER_MANIFEST) && strcmp(mt, MT_OCI_INDEX) &&
	    strcmp(mt, MT_DOCKER_LIST))
		return cm_set_error(err, EINVAL, "unknown manifest media type %s", mt);
	if (!(m = read_desc_json(root, desc, NULL, err)))
		return -1;
	mt = ij_str(m, "mediaType") ? ij_str(m, "mediaType") : mt;
	if (ij_get(m, "manifests") || (mt && (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST))))
		return read_index(root, m, plan, depth, err);
	config = ij_get(m, "config");
	if (!known(ij_str(config, "mediaType"), config_types, G_N_ELEMENTS(config_types)))
		return cm_set_error(err, EINVAL, "unknown config media type %s",
				    ij_str(config, "mediaType") ? ij_str(config, "mediaType") : "(none)");
	if (!(config_path = blob_path(ij_str(config, "digest"), err)) ||
	    ij_read_blob(root, config_path, ij_str(config, "digest"), desc_size(config), &plan->config_json,
			 &plan->config_digest, err) < 0)
		return -1;
	return add_layers(ij_get(m, "layers"), plan, err);
}

static int open_oci(int root, const char *tag, struct image_plan *plan, GError **err)
{
	g_autofree char *text = NULL;
	g_autoptr(ij_node) index = NULL;
	yajl_val top;

	if (ij_read_blob(root, "index.json", NULL, -1, &text, NULL, err) < 0)
		return -1;
	if (!(index = ij_parse(text, "index.json", err)))
		return -1;
	if (!(top = pick_top(ij_get(index, "manifests"), tag, err)))
		return -1;
	plan->ref_name = g_strdup(ij_str(ij_get(top, "annotations"), REF_NAME));
	return read_manifest(root, top, plan, 0, err);
}

/* docker save's manifest.json entry the tag picks. */
static yajl_val pick_docker(yajl_val list, const char *tag, GError **err)
{
	size_t n = YAJL_IS_ARRAY(list) ? list->u.array.len : 0;

	if (n == 0)
		return cm_set_error(err, EINVAL, "manifest.json lists no images"), NULL;
	if (!tag) {
		if (n > 1)
			return cm_set_error(err, EINVAL, "the archive holds %zu images: add :TAG to pick one", n), NULL;
		return list->u.array.values[0];
	}
	for (size_t i = 0; i < n; i++) {
		g_auto(GStrv) tags = ij_strv(list->u.array.values[i], "RepoTags");
		for (char **t = tags; t && *t; t++) {
			size_t a = strlen(*t), b = strlen(tag);
			if (strcmp(*t, tag) == 0 ||
			    (a > b && g_str_has_suffix(*t, tag) && strchr(":/", (*t)[a - b - 1])))
				return list->u.array.values[i];
		}
	}
	return cm_set_error(err, ENOENT, "no image tagged %s in the archive", tag), NULL;
}

static int docker_entry(int root, yajl_val entry, struct image_plan *plan, GError **err)
{
	const char *config = ij_str(entry, "Config");
	g_auto(GStrv) layers = ij_strv(entry, "Layers");
	g_auto(GStrv) tags = ij_strv(entry, "RepoTags");
	g_autofree char *base = NULL;
	g_autofree char *want = NULL;

	if (!config || !layers)
		return cm_set_error(err, EINVAL, "manifest.json: an entry without Config or Layers");
	/* docker and podman name the config by its digest: check it when they do. */
	base = g_path_get_basename(config);
	if (g_str_has_suffix(base, ".json"))
		base[strlen(base) - 5] = '\0';
	want = image_is_hex64(base) ? g_strconcat("sha256:", base, NULL) : NULL;
	if (ij_read_blob(root, config, want, -1, &plan->config_json, &plan->config_digest, err) < 0)
		return -1;
	plan->ref_name = tags && tags[0] ? g_strdup(tags[0]) : NULL;
	plan->layers = g_ptr_array_new_with_free_func(blob_ref_free);
	for (char **l = layers; *l; l++) {
		struct image_blob_ref *b = g_new0(struct image_blob_ref, 1);
		b->path = g_strdup(*l);
		g_ptr_array_add(plan->layers, b);
	}
	return 0;
}

static int open_docker(int root, const char *tag, struct image_plan *plan, GError **err)
{
	g_autofree char *text = NULL;
	g_autoptr(ij_node) list = NULL;
	yajl_val entry;

	if (ij_read_blob(root, "manifest.json", NULL, -1, &text, NULL, err) < 0)
		return -1;
	list = yajl_tree_parse(text, NULL, 0);
	if (!YAJL_IS_ARRAY(list))
		return cm_set_error(err, EINVAL, "manifest.json is not a JSON array");
	if (!(entry = pick_docker(list, tag, err)))
		return -1;
	return docker_entry(root, entry, plan, err);
}

int image_source_open(const struct image_source_ref *src, const char *work_dir, struct image_plan *plan, GError **err)
{
	const char *dir = src->path;

	plan->root_fd = -1;
	if (src->transport != IMAGE_SRC_OCI_DIR) {
		if (extract_archive(src->path, work_dir, err) < 0)
			return -1;
		dir = work_dir;
	}
	plan->root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (plan->root_fd < 0)
		return cm_set_errno(err, errno, "%s", dir);
	if (src->transport == IMAGE_SRC_DOCKER_ARCHIVE)
		return open_docker(plan->root_fd, src->tag, plan, err);
	return open_oci(plan->root_fd, src->tag, plan, err);
}
