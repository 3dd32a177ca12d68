/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --sdnotify-socket: the container's NOTIFY_SOCKET is <bundle>/notify/notify.sock
 * (podman bind-mounts <bundle>/notify). Datagrams received there are filtered
 * to what the engine expects (READY=1, STATUS=..., never MAINPID) and relayed
 * to the host socket (docs/protocol.md, "sd-notify relay").
 */
#pragma once

#include <glib.h>

struct notify_proxy;

struct notify_proxy *notify_proxy_new(const char *bundle, const char *host_socket, GError **err);

/* Exposed for unit tests: the datagram we would forward for msg, or NULL for none. */
char *notify_filter(const char *msg, size_t len);

void notify_proxy_free(struct notify_proxy *p);
