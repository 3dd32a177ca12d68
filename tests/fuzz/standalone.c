/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Replays inputs through a fuzz target without libFuzzer: every file named
 * on the command line, and every regular file in a named directory (sorted).
 * A failing input aborts (the target's checks, or a sanitizer).
 */
#include <errno.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#define LEAK_CHECK() __lsan_do_recoverable_leak_check()
#else
#define LEAK_CHECK() 0
#endif

static int run_file(const char *path)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	g_autoptr(GError) err = NULL;

	if (!g_file_get_contents(path, &data, &len, &err)) {
		fprintf(stderr, "%s\n", err->message);
		return -1;
	}
	fprintf(stderr, "input %s (%zu bytes)\n", path, (size_t)len);
	/* An own copy of exactly len bytes, so overreads hit the sanitizer's redzone. */
	g_autofree uint8_t *copy = g_memdup2(data, len);
	LLVMFuzzerTestOneInput(copy, len);
	/* Check per input, so a leak is blamed on the input that caused it. */
	if (LEAK_CHECK()) {
		fprintf(stderr, "check failed: memory leaked while running %s\n", path);
		exit(1);
	}
	return 0;
}

static int cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, unsigned *count)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GDir) d = g_dir_open(dir, 0, &err);
	g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	if (!d) {
		/* A target without saved regressions has no directory: nothing to replay. */
		if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return 0;
		fprintf(stderr, "%s\n", err->message);
		return -1;
	}
	while ((name = g_dir_read_name(d)) != NULL) {
		char *p = g_build_filename(dir, name, NULL);

		if (name[0] != '.' && g_file_test(p, G_FILE_TEST_IS_REGULAR))
			g_ptr_array_add(files, p);
		else
			g_free(p);
	}
	g_ptr_array_sort(files, cmp_str);
	for (guint i = 0; i < files->len; i++) {
		if (run_file(files->pdata[i]) < 0)
			return -1;
		(*count)++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned count = 0;

	for (int i = 1; i < argc; i++) {
		int r;

		if (g_file_test(argv[i], G_FILE_TEST_IS_DIR) || !g_file_test(argv[i], G_FILE_TEST_EXISTS)) {
			r = run_dir(argv[i], &count);
		} else {
			r = run_file(argv[i]);
			count++;
		}
		if (r < 0)
			return 2;
	}
	printf("ok: %u inputs\n", count);
	return 0;
}
