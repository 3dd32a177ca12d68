/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/image_info.h"

#include "wrapper/image_config.h"
#include "wrapper/image_mount.h"
#include "wrapper/image_store.h"
#include "wrapper/json_out.h"

static void empty_objects(yajl_gen g, char **keys)
{
	yajl_gen_map_open(g);
	for (char **k = keys; k && *k; k++) {
		json_str(g, *k);
		yajl_gen_map_open(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
}

static void config_map(yajl_gen g, const struct image_config *c)
{
	yajl_gen_map_open(g);
	json_str(g, "Entrypoint");
	json_strv(g, c->entrypoint);
	json_str(g, "Cmd");
	json_strv(g, c->cmd);
	json_str(g, "Env");
	json_strv(g, c->env);
	json_kv_str(g, "WorkingDir", c->workdir);
	json_kv_str(g, "User", c->user);
	json_kv_str(g, "StopSignal", c->stop_signal);
	json_str(g, "ExposedPorts");
	empty_objects(g, c->exposed_ports);
	json_str(g, "Labels");
	yajl_gen_map_open(g);
	for (guint i = 0; c->label_keys && c->label_keys[i]; i++)
		json_kv_str(g, c->label_keys[i], c->label_values[i]);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

char *image_info_json(const char *storage, const char *id, GError **err)
{
	g_autoptr(image_config) c = image_store_config(storage, id, err);
	g_auto(GStrv) names = NULL;
	g_autofree char *loaded = NULL;
	yajl_gen g;

	if (!c)
		return NULL;
	names = image_store_names(storage, id);
	loaded = image_store_loaded(storage, id);
	g = yajl_gen_alloc(NULL);
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_map_open(g);
	json_kv_str(g, "Id", id);
	json_str(g, "Names");
	json_strv(g, names);
	json_kv_str(g, "Created", c->created);
	json_kv_str(g, "Loaded", loaded);
	json_kv_str(g, "Architecture", c->architecture);
	json_kv_str(g, "Os", c->os);
	json_str(g, "Size");
	yajl_gen_integer(g, image_store_size(storage, id));
	json_str(g, "Config");
	config_map(g, c);
	json_str(g, "RootFS");
	yajl_gen_map_open(g);
	json_kv_str(g, "Type", "layers");
	json_str(g, "Layers");
	json_strv(g, c->diff_ids);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	return json_finish(g);
}

void image_info_container(yajl_gen g, const char *mount_dir)
{
	g_autoptr(image_config) c = mount_dir ? image_mount_config(mount_dir) : NULL;
	g_autofree char *id = NULL;
	g_autofree char *name = NULL;

	if (!c)
		return;
	id = image_mount_image_id(mount_dir);
	name = image_mount_image_name(mount_dir);
	json_kv_str(g, "Image", id);
	json_kv_str(g, "ImageName", name);
	json_str(g, "Config");
	config_map(g, c);
}
