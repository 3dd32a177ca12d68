/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine side of the monitor protocol (docs: monitor-protocol.md 1.7, 2.2-2.7):
 * spawning a conmon-compatible monitor with the sync/start(/attach) fds the way
 * podman does, reading its `{"data": N, "message": "..."}` messages, the attach
 * socket client, and calls of the OCI runtime itself.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "wrapper/state.h"

/* How long we wait for the monitor's pid message (podman: 240 s). */
#define MON_SYNC_TIMEOUT_MS (240 * 1000)
/* What detaches unless --detach-keys says otherwise (podman's default). */
#define MON_DEFAULT_DETACH_KEYS "ctrl-p,ctrl-q"
/* podman's attach read buffer: 1 stream byte + STDIO_BUF_SIZE. */
#define MON_ATTACH_PACKET 8193

struct mon_spawn {
	/* in */
	char **argv;		/* argv[0] is the monitor's path */
	const char *cwd;	/* NULL: ours */
	const int *extra_fds;	/* placed right after the protocol fds (port reservations) */
	size_t n_extra;
	bool exec_attach;	/* also pass _OCI_ATTACHPIPE */
	/* out */
	pid_t pid;		/* the monitor's first process, our child */
	int sync_fd;		/* our end of the SEQPACKET socketpair */
	int start_fd;		/* write end of the start pipe */
	int attach_fd;		/* read end of the attach pipe, or -1 */
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

/* Connect to DIR/attach (SOCK_SEQPACKET) through /proc/self/fd so long paths work. */
int mon_attach_connect(const char *dir, GError **err);

/* "ctrl-p,ctrl-q" -> bytes; "" -> none. Letters, @ [ \ ] ^ _ and single characters. */
int mon_parse_detach_keys(const char *spec, GByteArray *out, GError **err);

/* Tell the monitor the terminal size of fd via CTL ("1 ROWS COLS\n"); no-op if fd is not a tty. */
void mon_send_resize(const char *ctl_path, int tty_fd);

enum mon_attach_result {
	MON_ATTACH_ERROR = -1,
	MON_ATTACH_ENDED,	/* the monitor closed the socket: the container is done */
	MON_ATTACH_DETACHED,	/* the user typed the detach keys */
};

struct mon_attach_opts {
	int sock;
	bool forward_stdin;	/* copy our stdin to the container (-i) */
	bool tty;		/* raw terminal, resize on SIGWINCH */
	const guint8 *detach_keys;
	size_t n_detach_keys;
	const char *ctl_path;	/* for resizes */
	pid_t signal_pid;	/* forward SIGINT/SIGTERM/SIGHUP/SIGQUIT here (0: do not) */
};

/* Copy packets to our stdout/stderr and stdin to the socket until the socket ends or we detach. */
enum mon_attach_result mon_attach_run(const struct mon_attach_opts *o, GError **err);

/*
 * Wait for the container's exit file. Returns 1 with *code set, 0 on timeout
 * (timeout_ms < 0: none), -1 when the monitor died without writing it.
 */
int mon_wait_exit(const char *root, const struct ctr_state *st, int timeout_ms, int *code, GError **err);

/*
 * RUNTIME --root RTROOT ARGS...; captures stdout into *out (may be NULL).
 * Non-zero exit -> error carrying the runtime's stderr.
 */
int mon_runtime_call(const char *runtime, const char *rt_root, const char *const *args, char **out,
		      GError **err);
