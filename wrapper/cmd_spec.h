/* SPDX-License-Identifier: Apache-2.0 */
/* `ctr-wrap spec [OPTIONS] ROOTFS|IMAGE [COMMAND [ARG...]]`: print the config.json run would use. */
#pragma once

/*
 * argv[0] is "spec"; storage is the image store for an IMAGE. Returns the process exit code:
 * 0, or 125 after a one-line error on stderr.
 */
int cmd_spec(const char *storage, int argc, char **argv);
