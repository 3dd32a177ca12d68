/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/oom_score.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "conmon/diag.h"

#define OOM_SCORE_PATH "/proc/self/oom_score_adj"

static int write_score(const char *value)
{
	_cleanup_close_ int fd = open(OOM_SCORE_PATH, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	return cm_write_all(fd, value, strlen(value), -1);
}

char *oom_score_protect(void)
{
	g_autofree char *saved = NULL;
	if (!g_file_get_contents(OOM_SCORE_PATH, &saved, NULL, NULL)) {
		diag_debug("unable to read %s", OOM_SCORE_PATH);
		return NULL;
	}
	g_strstrip(saved);
	/* Lowering the score needs CAP_SYS_RESOURCE; without it we simply stay as we are. */
	if (write_score("-1000") < 0)
		diag_debug("unable to set %s: %s", OOM_SCORE_PATH, g_strerror(errno));
	return g_steal_pointer(&saved);
}

void oom_score_restore(const char *saved)
{
	if (saved)
		write_score(saved);
}
