/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pipes the engine hands over in the environment: _OCI_SYNCPIPE
 * (JSON messages to the engine), _OCI_STARTPIPE (a message: go ahead) and
 * _OCI_ATTACHPIPE (exec attach handshake).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Take the fd named by environment variable name and mark it close-on-exec.
 * Returns 0 with *fd = -1 when the variable is unset.
 */
int sync_env_fd(const char *name, int *fd, GError **err);

/*
 * Block until the engine writes on the start pipe. One read consumes the
 * whole message, so "start\n" releases one wait, not one per byte. EOF
 * before any byte fails: the engine is gone.
 */
int sync_wait_start(int fd, GError **err);

/* JSON string body as conmon 2.2: \\ \" \/ \n \t \r \b \f short forms, other C0 and DEL as \u00XX. */
char *sync_json_escape(const char *text, size_t len);

/* The exact line `{"KEY": N}\n` (message NULL or empty) or `{"KEY": N, "message": "..."}\n`. */
char *sync_format(const char *key, int data, const char *message);

/* The key the engine expects: "data" for api >= 1, else "exit_code" (exec) or "pid". */
const char *sync_key(int api_version, bool exec);

/*
 * Send one message; failures are warnings, never fatal (the engine may be
 * gone, the exit file must still be written). After EPIPE *fd is closed
 * and set to -1 so later sends are skipped.
 */
void sync_send(int *fd, const char *key, int data, const char *message);
