/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "common/error.h"
#include "conmon/lazy_lib.h"

static void test_resolves_all(void)
{
	void *sendv = NULL;
	const struct lazy_sym syms[] = { { "sd_journal_sendv", &sendv } };
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(lazy_lib_load("libsystemd.so.0", syms, G_N_ELEMENTS(syms), &err), ==, 0);
	g_assert_no_error(err);
	g_assert_nonnull(sendv);
}

static void test_missing_library(void)
{
	void *fn = NULL;
	const struct lazy_sym syms[] = { { "anything", &fn } };
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(lazy_lib_load("libnot-there-at-all.so.9", syms, 1, &err), ==, -1);
	g_assert_error(err, CM_ERRNO_ERROR, ENOENT);
	g_assert_nonnull(strstr(err->message, "libnot-there-at-all.so.9"));
	g_assert_null(fn);
}

static void test_missing_symbol_resolves_nothing(void)
{
	void *alloc = NULL, *bogus = NULL;
	const struct lazy_sym syms[] = { { "seccomp_notify_alloc", &alloc }, { "seccomp_no_such_call", &bogus } };
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(lazy_lib_load("libseccomp.so.2", syms, G_N_ELEMENTS(syms), &err), ==, -1);
	g_assert_nonnull(strstr(err->message, "seccomp_no_such_call"));
	g_assert_null(alloc);
	g_assert_null(bogus);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/lazy_lib/resolves_all", test_resolves_all);
	g_test_add_func("/lazy_lib/missing_library", test_missing_library);
	g_test_add_func("/lazy_lib/missing_symbol_resolves_nothing", test_missing_symbol_resolves_nothing);
	return g_test_run();
}
