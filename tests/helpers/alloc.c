/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alloc: allocate and touch N MiB, one MiB at a time, for the OOM tests.
 *
 *   alloc N [HOLD_MS]
 *
 * Prints "allocated N" and exits 0 when all N MiB were touched (after
 * sleeping HOLD_MS); under a smaller memory limit the kernel kills it first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: alloc MIB [HOLD_MS]\n");
		return 2;
	}
	long mib = strtol(argv[1], NULL, 10);
	long hold = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	for (long i = 0; i < mib; i++) {
		char *p = malloc(1 << 20);
		if (p == NULL) {
			perror("malloc");
			return 1;
		}
		memset(p, (int)(i & 0xff) | 1, 1 << 20);
	}
	if (hold > 0) {
		struct timespec ts = { hold / 1000, (hold % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	printf("allocated %ld\n", mib);
	return 0;
}
