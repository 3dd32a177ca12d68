/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/lazy_lib.h"

#include <dlfcn.h>
#include <errno.h>

#include "common/error.h"

static void forget(const struct lazy_sym *syms, size_t n)
{
	for (size_t i = 0; i < n; i++)
		*syms[i].fn = NULL;
}

int lazy_lib_load(const char *soname, const struct lazy_sym *syms, size_t n, GError **err)
{
	/* Never closed: the resolved pointers live in statics for the monitor's life. */
	void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (handle == NULL)
		return cm_set_error(err, ENOENT, "Failed to load %s: %s", soname, dlerror());

	for (size_t i = 0; i < n; i++) {
		dlerror();
		*syms[i].fn = dlsym(handle, syms[i].name);
		if (*syms[i].fn == NULL) {
			const char *why = dlerror();
			forget(syms, i);
			return cm_set_error(err, ENOENT, "%s has no %s: %s", soname, syms[i].name,
					    why ? why : "null symbol");
		}
	}
	return 0;
}
