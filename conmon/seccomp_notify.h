/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --seccomp-notify-socket / --seccomp-notify-plugins: receive the seccomp
 * listener fd from the runtime and answer every notification through
 * plugins with crun's plugin ABI; what no plugin handles gets a clean errno.
 */
#pragma once

#include <glib.h>

struct seccomp_notify;

/* Listen on socket_path; plugins is a ':'-separated list of .so paths. */
struct seccomp_notify *seccomp_notify_new(const char *socket_path, const char *plugins, GError **err);

void seccomp_notify_free(struct seccomp_notify *s);
