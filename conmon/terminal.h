/* SPDX-License-Identifier: Apache-2.0 */
/*
 * -t: the runtime creates the pty and sends us its master over a console
 * socket (SCM_RIGHTS, runc's protocol). We keep the last requested window
 * size and apply it as soon as the master arrives.
 */
#pragma once

#include <glib.h>

struct console_socket;

/* Listening socket in a private 0700 directory under $TMPDIR (or /tmp), for --console-socket. */
struct console_socket *console_socket_new(GError **err);

/* The --console-socket argument: /proc/<our pid>/fd/N/console when the real path is too long to dial. */
const char *console_socket_path(const struct console_socket *c);

/* The listening fd: readable once the runtime has connected. */
int console_socket_fd(const struct console_socket *c);

/*
 * Accept the runtime's connection and receive the pty master (O_CLOEXEC,
 * blocking as sent, ONLCR set; the caller owns it). Waits at most
 * timeout_ms (< 0: no limit). Closes the listener and removes the path.
 */
int console_socket_receive(struct console_socket *c, int timeout_ms, GError **err);

void console_socket_free(struct console_socket *c);

/* Apply a window size to a pty master. */
int terminal_resize(int master, unsigned short rows, unsigned short cols, GError **err);
