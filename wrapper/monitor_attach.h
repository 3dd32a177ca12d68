/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The client side of the monitor's attach socket (docs/protocol.md, "Attach socket"): connecting, the
 * terminal loop that relays output, input, detach keys, signals and resizes, and resizes through ctl.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What detaches unless --detach-keys says otherwise (podman's default). */
#define MON_DEFAULT_DETACH_KEYS "ctrl-p,ctrl-q"
/* podman's attach read buffer: 1 stream byte + STDIO_BUF_SIZE. */
#define MON_ATTACH_PACKET 8193

/* Connect to DIR/attach (SOCK_SEQPACKET) through /proc/self/fd so long paths work. */
int mon_attach_connect(const char *dir, GError **err);

/* "ctrl-p,ctrl-q" -> bytes; "" -> none. Letters, @ [ \ ] ^ _ and single characters. */
int mon_parse_detach_keys(const char *spec, GByteArray *out, GError **err);

/* Tell the monitor the terminal size of fd via CTL ("1 ROWS COLS\n"); no-op if fd is not a tty. */
void mon_send_resize(const char *ctl_path, int tty_fd);

enum mon_attach_result {
	MON_ATTACH_ERROR = -1,
	MON_ATTACH_ENDED,    /* the monitor closed the socket: the container is done */
	MON_ATTACH_DETACHED, /* the user typed the detach keys */
};

struct mon_attach_opts {
	int sock;
	bool forward_stdin; /* copy our stdin to the container (-i) */
	bool tty;	    /* raw terminal, resize on SIGWINCH */
	const guint8 *detach_keys;
	size_t n_detach_keys;
	const char *ctl_path; /* for resizes */
	pid_t signal_pid;     /* forward SIGINT/SIGTERM/SIGHUP/SIGQUIT here (0: do not) */
};

/*
 * Copy packets to our stdout/stderr and stdin to the socket until the socket ends or we detach. A
 * terminal is raw meanwhile and restored on every way out.
 */
enum mon_attach_result mon_attach_run(const struct mon_attach_opts *o, GError **err);
