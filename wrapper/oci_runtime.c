/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/oci_runtime.h"

#include <errno.h>

#include "common/error.h"

int oci_runtime_call(const char *runtime, const char *rt_root, const char *const *args, char **out, GError **err)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_autofree char *sout = NULL, *serr = NULL;
	g_autoptr(GError) local = NULL;
	int status = 0;

	g_ptr_array_add(argv, (char *)runtime);
	g_ptr_array_add(argv, (char *)"--root");
	g_ptr_array_add(argv, (char *)rt_root);
	for (; *args; args++)
		g_ptr_array_add(argv, (char *)*args);
	g_ptr_array_add(argv, NULL);
	if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &sout, &serr, &status,
			  &local)) {
		cm_set_error(err, ENOEXEC, "%s", local->message);
		return -1;
	}
	if (!g_spawn_check_wait_status(status, NULL)) {
		g_strstrip(serr);
		return cm_set_error(err, EIO, "%s %s failed: %s", runtime, ((const char **)argv->pdata)[3],
				    serr[0] ? serr : "no message");
	}
	if (out)
		*out = g_steal_pointer(&sout);
	return 0;
}
