/* SPDX-License-Identifier: Apache-2.0 */
/* Scope-bound cleanup for what GLib's g_autofree/g_autoptr do not cover. */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void cm_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void cm_fclosep(FILE **f)
{
	if (*f) {
		int saved = errno;
		fclose(*f);
		errno = saved;
	}
}

#define _cleanup_close_ _cleanup_(cm_closep)
#define _cleanup_fclose_ _cleanup_(cm_fclosep)

/* Hand an fd out of a _cleanup_close_ scope. */
static inline int cm_take_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}
#define TAKE_FD(fd) cm_take_fd(&(fd))
