/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"
#include "common/io.h"
#include "conmon/diag.h"

/* The engine reads with no deadline of its own beyond minutes; do not wait forever either. */
#define SYNC_WRITE_TIMEOUT_MS 30000

int sync_env_fd(const char *name, int *fd, GError **err)
{
	*fd = -1;
	const char *value = getenv(name);
	if (value == NULL)
		return 0;
	int n;
	if (!cm_parse_int(value, &n) || n < 0)
		return cm_set_error(err, EINVAL, "unable to parse %s", name);
	if (cm_set_cloexec(n, true) < 0)
		return cm_set_errno(err, errno, "unable to make %s CLOEXEC", name);
	*fd = n;
	return 0;
}

/* conmon's read size: one read takes an engine's whole message ("start\n" as well as podman's one byte). */
#define START_MESSAGE_MAX 8192

int sync_wait_start(int fd, GError **err)
{
	/* On the heap: 8 KiB of stack would stay dirty in every idle monitor; the heap is trimmed. */
	g_autofree char *buf = g_malloc(START_MESSAGE_MAX);
	ssize_t n = cm_read(fd, buf, START_MESSAGE_MAX);
	if (n < 0)
		return cm_set_errno(err, errno, "start-pipe read failed");
	if (n == 0)
		return cm_set_error(err, EPIPE, "start pipe closed before the start message: the engine is gone");
	return 0;
}

char *sync_json_escape(const char *text, size_t len)
{
	GString *out = g_string_sized_new(len + 16);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		switch (c) {
		case '\\': g_string_append(out, "\\\\"); break;
		case '"': g_string_append(out, "\\\""); break;
		case '/': g_string_append(out, "\\/"); break;
		case '\n': g_string_append(out, "\\n"); break;
		case '\t': g_string_append(out, "\\t"); break;
		case '\r': g_string_append(out, "\\r"); break;
		case '\b': g_string_append(out, "\\b"); break;
		case '\f': g_string_append(out, "\\f"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				g_string_append_printf(out, "\\u%04x", c);
			else
				g_string_append_c(out, (char)c);
		}
	}
	return g_string_free(out, FALSE);
}

char *sync_format(const char *key, int data, const char *message)
{
	if (message == NULL || message[0] == '\0')
		return g_strdup_printf("{\"%s\": %d}\n", key, data);
	g_autofree char *escaped = sync_json_escape(message, strlen(message));
	return g_strdup_printf("{\"%s\": %d, \"message\": \"%s\"}\n", key, data, escaped);
}

const char *sync_key(int api_version, bool exec)
{
	if (api_version >= 1)
		return "data";
	return exec ? "exit_code" : "pid";
}

void sync_send(int *fd, const char *key, int data, const char *message)
{
	if (*fd < 0)
		return;
	g_autofree char *line = sync_format(key, data, message);
	diag_debug("sending on sync pipe: %s", line);
	/* One write: the engine's end is a SOCK_SEQPACKET and reads one message per line. */
	if (cm_write_all(*fd, line, strlen(line), SYNC_WRITE_TIMEOUT_MS) == 0)
		return;
	/* The engine hung up (podman 5 does before an exec's exit status): normal, as in conmon >= 2.1.8. */
	if (errno == EPIPE || errno == ECONNRESET) {
		diag_debug("engine closed the sync pipe");
		close(*fd);
		*fd = -1;
		return;
	}
	diag_warn("unable to send on the sync pipe: %s", g_strerror(errno));
}
