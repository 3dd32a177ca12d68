/* SPDX-License-Identifier: Apache-2.0 */
#include "common/child_fds.h"

#include <fcntl.h>
#include <unistd.h>

int cm_place_fds(int *fds, size_t n, int first_fd)
{
	int above = first_fd + (int)n;

	for (size_t i = 0; i < n; i++)
		if (fds[i] >= above)
			above = fds[i] + 1;
	/* Copies out of the target range first, so no dup2 below overwrites a source. */
	for (size_t i = 0; i < n; i++) {
		int t = fcntl(fds[i], F_DUPFD_CLOEXEC, above);
		if (t < 0)
			return -1;
		fds[i] = t;
	}
	for (size_t i = 0; i < n; i++) {
		if (dup2(fds[i], first_fd + (int)i) < 0)
			return -1;
		close(fds[i]);
		fds[i] = first_fd + (int)i;
	}
	return 0;
}
