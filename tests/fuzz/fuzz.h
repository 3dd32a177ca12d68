/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared bits of the libFuzzer targets. Each fuzz_<name>.c defines
 * LLVMFuzzerTestOneInput; it is linked either with libFuzzer (make fuzz) or
 * with standalone.c (make check: replays seeds and saved crashes).
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed property: print it and abort, so both libFuzzer and the replayer see a crash. */
#define FUZZ_CHECK(cond, ...)                                                                    \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                            \
			fputc('\n', stderr);                                                     \
			abort();                                                                 \
		}                                                                                \
	} while (0)

/* Input split at NUL bytes into owned strings (a trailing empty piece is dropped). */
static inline GPtrArray *fuzz_split_nul(const uint8_t *data, size_t size)
{
	GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
	size_t start = 0;

	for (size_t i = 0; i <= size; i++) {
		if (i == size || data[i] == '\0') {
			if (i > start || i < size)
				g_ptr_array_add(parts, g_strndup((const char *)data + start, i - start));
			start = i + 1;
		}
	}
	return parts;
}

/*
 * GOption prints help and calls exit(0) for -h, -?, --help* (even after
 * "--"): that is not a finding, so such argument vectors are not tried.
 */
static inline gboolean fuzz_argv_asks_help(GPtrArray *args, guint from)
{
	for (guint i = from; i < args->len; i++) {
		const char *a = args->pdata[i];

		if (g_str_has_prefix(a, "--help"))
			return TRUE;
		if (a[0] == '-' && a[1] != '-' && (strchr(a, 'h') || strchr(a, '?')))
			return TRUE;
	}
	return FALSE;
}

/* rm -r of a flat temp dir made by the target (no subdirectories beyond one level). */
static inline void fuzz_remove_tree(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	if (d) {
		while ((name = g_dir_read_name(d)) != NULL) {
			char *p = g_build_filename(dir, name, NULL);

			if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
				fuzz_remove_tree(p);
			else
				g_unlink(p);
			g_free(p);
		}
		g_dir_close(d);
	}
	g_rmdir(dir);
}
