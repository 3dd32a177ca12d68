/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp_probe: call one syscall and print "SYSCALL ret=R errno=E", for the
 * seccomp notify tests (a monitor plugin may answer the call instead of the
 * kernel).
 *
 *   seccomp_probe SYSCALL... (each one of getpgid, mkdirat, getppid)
 *
 * mkdirat creates /tmp/probe-dir; getpgid asks about pid 0 (itself).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: seccomp_probe getpgid|mkdirat|getppid...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		long ret;
		errno = 0;
		if (strcmp(argv[i], "getpgid") == 0) {
			ret = syscall(SYS_getpgid, 0);
		} else if (strcmp(argv[i], "mkdirat") == 0) {
			ret = syscall(SYS_mkdirat, AT_FDCWD, "/tmp/probe-dir", 0755);
		} else if (strcmp(argv[i], "getppid") == 0) {
			ret = syscall(SYS_getppid);
		} else {
			fprintf(stderr, "seccomp_probe: unknown syscall %s\n", argv[i]);
			return 2;
		}
		printf("%s ret=%ld errno=%d\n", argv[i], ret, ret < 0 ? errno : 0);
		fflush(stdout);
	}
	return 0;
}
