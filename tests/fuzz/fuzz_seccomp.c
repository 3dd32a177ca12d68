/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A user seccomp profile (the input as JSON text): parse, resolve for the
 * default capabilities on this architecture, and build it with libseccomp.
 */
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "wrapper/seccomp_profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *json = g_strndup((const char *)data, size);
	g_autoptr(GError) err = NULL;
	g_autoptr(seccomp_profile) p = seccomp_profile_parse(json, "fuzz.json", &err);

	FUZZ_CHECK((p != NULL) == (err == NULL), "result and error disagree");
	if (!p)
		return 0;
	const struct seccomp_target target = {
		.caps = caps_default(),
		.arch = seccomp_arch_native(),
		.kernel = "6.1.0-13-amd64",
	};
	g_autoptr(seccomp_profile) r = seccomp_profile_resolve(p, &target);
	FUZZ_CHECK(r, "resolve returned NULL");
	g_autoptr(GPtrArray) warnings = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) cerr = NULL;
	bool ok = seccomp_profile_compile(r, warnings, &cerr) == 0;
	FUZZ_CHECK(ok == (cerr == NULL), "compile result and error disagree");
	return 0;
}
