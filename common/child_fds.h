/* SPDX-License-Identifier: Apache-2.0 */
/* Handing fds to a child at fixed numbers (fd 3 = sync socket, ...), between fork() and exec(). */
#pragma once

#include <stddef.h>

/*
 * Async-signal-safe: put fds[i] at first_fd + i without FD_CLOEXEC, rewriting
 * fds[]. Whatever was open at those numbers before is replaced; the originals
 * stay open with their own flags. Returns 0 or -1 with errno.
 */
int cm_place_fds(int *fds, size_t n, int first_fd);
