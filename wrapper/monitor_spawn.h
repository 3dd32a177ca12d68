/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Starting a conmon-compatible monitor the way podman does (docs/protocol.md, "Environment fds"): the
 * sync/start(/attach) fds, the start bytes, and its `{"data": N, "message": "..."}` messages.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* How long we wait for the monitor's pid message (podman: 240 s). */
#define MON_SYNC_TIMEOUT_MS (240 * 1000)

struct mon_spawn {
	/* in */
	char **argv;	      /* argv[0] is the monitor's path */
	const char *cwd;      /* NULL: ours */
	const int *extra_fds; /* placed right after the protocol fds (port reservations) */
	size_t n_extra;
	bool exec_attach; /* also pass _OCI_ATTACHPIPE */
	/* out */
	pid_t pid;     /* the monitor's first process, our child */
	int sync_fd;   /* our end of the SEQPACKET socketpair */
	int start_fd;  /* write end of the start pipe */
	int attach_fd; /* read end of the attach pipe, or -1 */
};

void mon_spawn_init(struct mon_spawn *m);
void mon_spawn_close(struct mon_spawn *m);

/* Fork and exec the monitor: fds 3 sync, 4 start, [5 attach], then extra_fds; own process group. */
int mon_spawn(struct mon_spawn *m, GError **err);

/* One byte on the start pipe (sent once for create, twice for exec-attach). */
int mon_send_start(struct mon_spawn *m, GError **err);

/* Reap the first process; a non-zero exit becomes an error (the monitor printed why on stderr). */
int mon_wait_first(struct mon_spawn *m, GError **err);

/* Parse one message `{"data": N[, "message": "..."]}` (a trailing newline is fine). */
int mon_parse_msg(const char *buf, size_t len, int *data, char **message, GError **err);

/* Read one message from fd (SEQPACKET packet or a pipe line); EOF and timeout are errors. */
int mon_read_msg(int fd, int timeout_ms, int *data, char **message, GError **err);

/* Exit code for a failed create/exec message: 127 when the command was not found, else 126. */
int mon_failure_code(const char *message);
