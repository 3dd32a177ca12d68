/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/image_rootfs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "wrapper/image_mount.h"
#include "wrapper/image_ref.h"
#include "wrapper/image_store.h"

void image_rootfs_add_entries(GOptionContext *oc, struct image_rootfs *ir, gboolean publish_all)
{
	const GOptionEntry entries[] = { { "entrypoint", 0, 0, G_OPTION_ARG_STRING, &ir->entrypoint,
					   "Replace the image's Entrypoint (a program, or a JSON array; \"\" for none)",
					   "CMD" },
					 { "publish-all", 'P', 0, G_OPTION_ARG_NONE, &ir->publish_all,
					   "Publish every port the image exposes on a free host port", NULL },
					 { NULL } };
	GOptionEntry own[G_N_ELEMENTS(entries)];

	memcpy(own, entries, sizeof(entries));
	if (!publish_all)
		own[1] = (GOptionEntry){ NULL };
	g_option_context_add_main_entries(oc, own, NULL);
}

/* The image ROOTFS names: a source is loaded now; a name or id must be in the store. */
static char *image_id(const char *storage, const char *arg, GError **err)
{
	struct image_source_ref src = { 0 };
	char *id = NULL;
	int r = image_source_parse(arg, &src, err);

	if (r < 0)
		return NULL;
	if (r == 0) {
		image_store_load(storage, &src, arg, NULL, &id, NULL, err);
		image_source_ref_clear(&src);
		return id;
	}
	id = image_store_resolve(storage, arg, err);
	if (!id && cm_error_errno(err ? *err : NULL) == ENOENT) {
		g_clear_error(err);
		cm_set_error(err, ENOENT,
			     "ROOTFS %s: neither a directory nor an image in %s (see ctr-wrap image ls, image load)",
			     arg, storage);
	}
	return id;
}

static int finish_with(struct spec_opts *so, const char *rootfs, char **cmd, GError **err)
{
	g_autoptr(GPtrArray) a = g_ptr_array_new();

	g_ptr_array_add(a, (char *)rootfs);
	for (char **c = cmd; *c; c++)
		g_ptr_array_add(a, *c);
	g_ptr_array_add(a, NULL);
	return spec_opts_finish(so, a->len - 1, (char **)a->pdata, err);
}

/* User and WorkingDir fill -u and -w when those were not given. */
static void image_defaults(const struct image_config *c, struct spec_opts *so)
{
	if (!so->raw.user && c->user)
		so->raw.user = g_strdup(c->user);
	if (!so->raw.workdir && c->workdir)
		so->raw.workdir = c->workdir[0] == '/' ? g_strdup(c->workdir) : g_strconcat("/", c->workdir, NULL);
}

int image_rootfs_finish(struct image_rootfs *ir, const char *storage, struct spec_opts *so, int argc, char **argv,
			GError **err)
{
	g_autofree char *id = NULL;
	g_autofree char *rootfs = NULL;
	g_auto(GStrv) cmd = NULL;

	if (argc < 1 || (g_file_test(argv[0], G_FILE_TEST_IS_DIR) && !ir->entrypoint))
		return spec_opts_finish(so, argc, argv, err);
	if (g_file_test(argv[0], G_FILE_TEST_IS_DIR)) {
		cmd = image_config_command(NULL, ir->entrypoint, argv + 1, err);
		return cmd ? finish_with(so, argv[0], cmd, err) : -1;
	}
	if (!(id = image_id(storage, argv[0], err)) || !(ir->config = image_store_config(storage, id, err)) ||
	    !(cmd = image_config_command(ir->config, ir->entrypoint, argv + 1, err)))
		return -1;
	ir->image = g_strdup(argv[0]);
	if (!(ir->mount_dir = image_mount_create(storage, id, argv[0], err)))
		return -1;
	rootfs = image_mount_rootfs(ir->mount_dir);
	image_defaults(ir->config, so);
	if (finish_with(so, rootfs, cmd, err) < 0) {
		image_rootfs_release(ir);
		return -1;
	}
	image_config_merge_env(ir->config, so->env);
	return 0;
}

char **image_rootfs_exposed(const struct image_rootfs *ir)
{
	return ir->publish_all && ir->config ? g_strdupv(ir->config->exposed_ports) : NULL;
}

void image_rootfs_release(struct image_rootfs *ir)
{
	g_autoptr(GError) err = NULL;

	if (ir->mount_dir && image_mount_release(ir->mount_dir, &err) < 0)
		fprintf(stderr, "ctr-wrap: warning: %s\n", err->message);
	g_clear_pointer(&ir->mount_dir, g_free);
}

void image_rootfs_clear(struct image_rootfs *ir)
{
	g_free(ir->entrypoint);
	g_free(ir->mount_dir);
	g_free(ir->image);
	image_config_free(ir->config);
	memset(ir, 0, sizeof(*ir));
}
