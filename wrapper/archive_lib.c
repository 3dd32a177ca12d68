/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/archive_lib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>

#include "common/error.h"

/* The soname of the ABI we build against (libarchive has kept 13 since 2012). */
#define ARCHIVE_SONAME "libarchive.so.13"

const struct archive_lib *archive_lib_load(GError **err)
{
	static struct archive_lib lib;
	static bool loaded;
	void *h;

	if (loaded)
		return &lib;
	h = dlopen(ARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return cm_set_error(err, ELIBACC, "cannot load %s, which unpacking images needs: %s", ARCHIVE_SONAME,
				    dlerror()),
		       NULL;
#define ARCHIVE_LIB_SYM(name)                                                                 \
	if (!(lib.name = (__typeof__(lib.name))dlsym(h, #name))) {                            \
		cm_set_error(err, ELIBBAD, "%s has no %s (too old?)", ARCHIVE_SONAME, #name); \
		dlclose(h);                                                                   \
		return NULL;                                                                  \
	}
	ARCHIVE_LIB_FUNCS(ARCHIVE_LIB_SYM)
#undef ARCHIVE_LIB_SYM
	loaded = true;
	return &lib;
}
