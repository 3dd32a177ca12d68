/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/cmd_spec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/io.h"
#include "wrapper/image_rootfs.h"
#include "wrapper/spec.h"
#include "wrapper/spec_opts.h"

/* Exit code for failures of ctr-wrap itself, as podman and docker use it. */
#define EXIT_WRAPPER 125

static int fail(const char *msg)
{
	fprintf(stderr, "ctr-wrap: %s\n", msg);
	return EXIT_WRAPPER;
}

int cmd_spec(const char *storage, int argc, char **argv)
{
	struct image_rootfs ir = { 0 };
	g_autoptr(GOptionContext) ctx = g_option_context_new("ROOTFS|IMAGE [COMMAND [ARG...]]");
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) err = NULL;
	g_autofree char *id_opt = NULL;
	g_autofree char *id = NULL;
	g_autofree char *json = NULL;
	struct spec_opts opts;
	struct spec_host host;
	const GOptionEntry own[] = { { "id", 0, 0, G_OPTION_ARG_FILENAME, &id_opt,
				       "Container id the spec is for (default: a new random one)", "ID" },
				     { NULL } };
	int rc = EXIT_WRAPPER;

	g_set_prgname("ctr-wrap spec");
	g_option_context_set_summary(ctx, "Print the OCI config.json that `ctr-wrap run` would use.");
	g_option_context_set_description(ctx, "Options must come before ROOTFS; everything after COMMAND goes to it.\n"
					      "Example: ctr-wrap spec -u 1000:1000 -m 256m ./rootfs /bin/sh -c 'id'\n");
	/* Stop at ROOTFS so that COMMAND's own options stay COMMAND's. */
	g_option_context_set_strict_posix(ctx, TRUE);
	spec_opts_init(&opts);
	spec_opts_add_entries(ctx, &opts);
	image_rootfs_add_entries(ctx, &ir, FALSE);
	g_option_context_add_main_entries(ctx, own, NULL);
	spec_host_detect(&host);

	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		g_autofree char *msg = g_strdup_printf("%s: see ctr-wrap spec --help", err->message);

		rc = fail(msg);
	} else if (image_rootfs_finish(&ir, storage, &opts, argc - 1, argv + 1, &err) < 0) {
		rc = fail(err->message);
	} else if (!id_opt && !(id = spec_new_id(&err))) {
		rc = fail(err->message);
	} else if (!(json = spec_build(&opts, id_opt ? id_opt : id, &host, true, warnings, &err))) {
		rc = fail(err->message);
	} else {
		for (guint i = 0; i < warnings->len; i++)
			fprintf(stderr, "ctr-wrap: warning: %s\n", (char *)warnings->pdata[i]);
		/* A reader that stopped early (`| head`) wanted no more: EPIPE is not our error to report. */
		if ((cm_write_all(STDOUT_FILENO, json, strlen(json), -1) < 0 ||
		     cm_write_all(STDOUT_FILENO, "\n", 1, -1) < 0) &&
		    errno != EPIPE) {
			g_autofree char *msg = g_strdup_printf("writing the spec to stdout: %s", g_strerror(errno));

			rc = fail(msg);
		} else {
			rc = 0;
		}
	}
	/* The spec names the root a container would get; none does, so it goes again. */
	image_rootfs_release(&ir);
	image_rootfs_clear(&ir);
	spec_host_clear(&host);
	spec_opts_clear(&opts);
	return rc;
}
