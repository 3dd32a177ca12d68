/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/fds.h"

#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#include "common/io.h"
#include "conmon/diag.h"

GArray *fds_snapshot(void)
{
	GArray *fds = g_array_new(FALSE, FALSE, sizeof(int));
	DIR *dir = opendir("/proc/self/fd");
	if (dir == NULL) {
		diag_warn("unable to list inherited fds: %s", g_strerror(errno));
		return fds;
	}
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		int fd;
		if (!cm_parse_int(de->d_name, &fd) || fd < 3 || fd == dirfd(dir))
			continue;
		g_array_append_val(fds, fd);
	}
	closedir(dir);
	return fds;
}

void fds_close_inherited(GArray *fds, int keep)
{
	for (guint i = 0; i < fds->len; i++) {
		int fd = g_array_index(fds, int, i);
		if (fd != keep)
			close(fd);
	}
	g_array_set_size(fds, 0);
}
