/* SPDX-License-Identifier: Apache-2.0 */
/*
 * -t: the runtime creates the pty and sends us its master over a console
 * socket (SCM_RIGHTS, runc's protocol). We keep the last requested window
 * size and apply it as soon as the master arrives.
 */
#pragma once

#include <glib.h>

struct console_socket;

/* Listening socket under $TMPDIR (or /tmp), mode 0700, for --console-socket. */
struct console_socket *console_socket_new(GError **err);
const char *console_socket_path(const struct console_socket *c);

/*
 * Accept the runtime's connection and receive the pty master (O_CLOEXEC,
 * ONLCR set). Waits at most timeout_ms. Unlinks the path.
 */
int console_socket_receive(struct console_socket *c, int timeout_ms, GError **err);

void console_socket_free(struct console_socket *c);

/* Apply a window size to a pty master. */
int terminal_resize(int master, unsigned short rows, unsigned short cols, GError **err);
