/* SPDX-License-Identifier: Apache-2.0 */
/* `ctr-wrap image load|ls|rm|inspect`. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "wrapper/commands.h"
#include "wrapper/image_info.h"
#include "wrapper/image_ref.h"
#include "wrapper/image_store.h"
#include "wrapper/json_out.h"

#define SHORT_ID 12

static GOptionContext *sub_context(const char *params, const char *summary, const GOptionEntry *entries)
{
	GOptionContext *oc = wrap_option_context(params, summary);

	/* `image load SOURCE --name X` reads naturally: options may follow the arguments here. */
	g_option_context_set_strict_posix(oc, FALSE);
	if (entries)
		g_option_context_add_main_entries(oc, entries, NULL);
	return oc;
}

static int image_load(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autofree char *name = NULL;
	const GOptionEntry entries[] = { { "name", 0, 0, G_OPTION_ARG_STRING, &name,
					   "Name the image (default: the name the source records)", "NAME[:TAG]" },
					 { NULL } };
	g_autoptr(GOptionContext) oc = sub_context(
		"SOURCE", "Load an image: oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:TAG].",
		entries);
	struct image_source_ref src = { 0 };
	g_autofree char *id = NULL;
	g_autofree char *named = NULL;
	g_autoptr(GError) err = NULL;
	int r;

	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (argc != 2) {
		fprintf(stderr, "ctr-wrap: image load takes one SOURCE: see ctr-wrap image load --help\n");
		return WRAP_EXIT_ERROR;
	}
	r = image_source_parse(argv[1], &src, &err);
	if (r > 0)
		cm_set_error(&err, EINVAL,
			     "image %s: not a source (use oci:DIR, oci-archive:FILE or docker-archive:FILE)", argv[1]);
	if (r != 0 || image_store_load(ctx->storage, &src, argv[1], name, &id, &named, &err) < 0) {
		image_source_ref_clear(&src);
		return wrap_fail(err);
	}
	image_source_ref_clear(&src);
	if (named)
		printf("Loaded image: %s\n", named);
	printf("Loaded image: sha256:%s\n", id);
	return 0;
}

static char *human_size(gint64 n)
{
	return n < 0 ? g_strdup("?") : g_format_size_full(n, G_FORMAT_SIZE_DEFAULT);
}

static void ls_json(struct wrap_ctx *ctx, GPtrArray *ids)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	g_autofree char *text = NULL;

	yajl_gen_array_open(g);
	for (guint i = 0; i < ids->len; i++) {
		g_auto(GStrv) names = image_store_names(ctx->storage, ids->pdata[i]);
		g_autoptr(image_config) c = image_store_config(ctx->storage, ids->pdata[i], NULL);
		yajl_gen_map_open(g);
		json_kv_str(g, "Id", ids->pdata[i]);
		json_str(g, "Names");
		json_strv(g, names);
		json_kv_str(g, "Created", c ? c->created : NULL);
		json_str(g, "Size");
		yajl_gen_integer(g, image_store_size(ctx->storage, ids->pdata[i]));
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	text = json_finish(g);
	printf("%s\n", text);
}

static void ls_row(const char *repo, const char *tag, const char *id, const char *created, const char *size)
{
	printf("%-40s %-12s %-13s %-21s %s\n", repo, tag, id, created, size);
}

static void ls_table(struct wrap_ctx *ctx, GPtrArray *ids)
{
	ls_row("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
	for (guint i = 0; i < ids->len; i++) {
		const char *id = ids->pdata[i];
		g_auto(GStrv) names = image_store_names(ctx->storage, id);
		g_autoptr(image_config) c = image_store_config(ctx->storage, id, NULL);
		g_autofree char *size = human_size(image_store_size(ctx->storage, id));
		g_autofree char *short_id = g_strndup(id, SHORT_ID);
		g_autofree char *created = g_strndup(c && c->created ? c->created : "-", 19);

		for (char **n = names; *n; n++) {
			char *colon = strrchr(*n, ':');
			*colon = '\0';
			ls_row(*n, colon + 1, short_id, created, size);
		}
		if (!names[0])
			ls_row("<none>", "<none>", short_id, created, size);
	}
}

static int image_ls(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autofree char *format = NULL;
	gboolean quiet = FALSE;
	const GOptionEntry entries[] = { { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Only the image ids", NULL },
					 { "format", 0, 0, G_OPTION_ARG_STRING, &format, "json for a JSON array",
					   "FORMAT" },
					 { NULL } };
	g_autoptr(GOptionContext) oc = sub_context("", "List the loaded images.", entries);
	g_autoptr(GPtrArray) ids = NULL;
	g_autoptr(GError) err = NULL;

	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (format && strcmp(format, "json") != 0) {
		fprintf(stderr, "ctr-wrap: unknown --format %s (only json)\n", format);
		return WRAP_EXIT_ERROR;
	}
	if (!(ids = image_store_ids(ctx->storage, &err)))
		return wrap_fail(err);
	if (quiet) {
		for (guint i = 0; i < ids->len; i++)
			printf("%s\n", (char *)ids->pdata[i]);
	} else if (format) {
		ls_json(ctx, ids);
	} else {
		ls_table(ctx, ids);
	}
	return 0;
}

static int image_rm(struct wrap_ctx *ctx, int argc, char **argv)
{
	gboolean force = FALSE;
	const GOptionEntry entries[] = {
		{ "force", 'f', 0, G_OPTION_ARG_NONE, &force, "Remove it even while containers use it", NULL }, { NULL }
	};
	g_autoptr(GOptionContext) oc = sub_context("IMAGE...", "Remove images, or one of an image's names.", entries);
	int rc = 0;

	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (argc < 2) {
		fprintf(stderr, "ctr-wrap: image rm needs at least one image: see ctr-wrap image rm --help\n");
		return WRAP_EXIT_ERROR;
	}
	for (int i = 1; i < argc; i++) {
		g_autoptr(GString) out = g_string_new(NULL);
		g_autoptr(GError) err = NULL;

		if (image_store_remove(ctx->storage, argv[i], force, out, &err) < 0)
			rc = wrap_fail(err);
		fputs(out->str, stdout);
	}
	return rc;
}

static int image_inspect(struct wrap_ctx *ctx, int argc, char **argv)
{
	g_autoptr(GOptionContext) oc = sub_context("IMAGE...", "Show images as a JSON array.", NULL);
	g_autoptr(GString) out = g_string_new("[");
	int rc = 0;

	if (wrap_parse(oc, &argc, &argv) < 0)
		return WRAP_EXIT_ERROR;
	if (argc < 2) {
		fprintf(stderr,
			"ctr-wrap: image inspect needs at least one image: see ctr-wrap image inspect --help\n");
		return WRAP_EXIT_ERROR;
	}
	for (int i = 1; i < argc; i++) {
		g_autofree char *id = NULL;
		g_autofree char *json = NULL;
		g_autoptr(GError) err = NULL;

		if (!(id = image_store_resolve(ctx->storage, argv[i], &err)) ||
		    !(json = image_info_json(ctx->storage, id, &err))) {
			rc = wrap_fail(err);
			continue;
		}
		g_string_append_printf(out, "%s%s", out->len > 1 ? ",\n" : "\n", json);
	}
	g_string_append(out, "\n]\n");
	fputs(out->str, stdout);
	return rc;
}

static const struct wrap_command image_commands[] = {
	{ "load", image_load, "Load an image from an OCI layout, OCI archive or docker archive" },
	{ "ls", image_ls, "List images" },
	{ "rm", image_rm, "Remove images" },
	{ "inspect", image_inspect, "Show images as JSON" },
	{ NULL, NULL, NULL },
};

static void image_usage(FILE *out)
{
	fputs("Usage: ctr-wrap image COMMAND [OPTIONS] ...\n\nImage commands:\n", out);
	for (const struct wrap_command *c = image_commands; c->name; c++)
		fprintf(out, "  %-8s %s\n", c->name, c->help);
	fputs("\nImages live under --storage (default " IMAGE_STORE_DEFAULT ").\n"
	      "Run `ctr-wrap image COMMAND --help` for a command's options.\n",
	      out);
}

int cmd_image(struct wrap_ctx *ctx, int argc, char **argv)
{
	if (argc < 2) {
		image_usage(stderr);
		return WRAP_EXIT_ERROR;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		image_usage(stdout);
		return 0;
	}
	for (const struct wrap_command *c = image_commands; c->name; c++)
		if (strcmp(c->name, argv[1]) == 0) {
			g_autofree char *prg = g_strdup_printf("ctr-wrap image %s", c->name);
			g_set_prgname(prg);
			return c->fn(ctx, argc - 1, argv + 1);
		}
	fprintf(stderr, "ctr-wrap: unknown image command \"%s\": see ctr-wrap image --help\n", argv[1]);
	return WRAP_EXIT_ERROR;
}
