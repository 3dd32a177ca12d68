/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --seccomp-notify-socket / --seccomp-notify-plugins: a seccomp agent. The
 * runtime connects to the socket and passes the container's seccomp listener
 * fd (SCM_RIGHTS, with the OCI container process state JSON as payload);
 * every notification is offered to the plugins in order (crun's plugin ABI)
 * and what no plugin handles fails with ENOTSUP (docs/protocol.md,
 * "seccomp-notify socket").
 *
 * The functions are seccomp_agent_*: libseccomp owns the seccomp_notify_* names.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/* crun's plugin ABI: run_oci_seccomp_notify_version() must return this. */
#define SECCOMP_PLUGIN_ABI_VERSION 1

/* Passed to run_oci_seccomp_notify_start(); same layout as crun's struct libcrun_load_seccomp_notify_conf_s. */
struct seccomp_plugin_conf {
	const char *runtime_root_path; /* unknown to the monitor: NULL */
	const char *name;	       /* container id, from the runtime's state payload */
	const char *bundle_path;
	const char *oci_config_path; /* <bundle>/config.json */
};

/* What a plugin stores in *handled. */
enum {
	SECCOMP_PLUGIN_NOT_HANDLED = 0,		       /* ask the next plugin */
	SECCOMP_PLUGIN_SEND_RESPONSE = 1,	       /* resp is filled in: send it */
	SECCOMP_PLUGIN_DELAYED_RESPONSE = 2,	       /* the plugin answers on the fd itself, later */
	SECCOMP_PLUGIN_SEND_RESPONSE_AND_CONTINUE = 3, /* send with SECCOMP_USER_NOTIF_FLAG_CONTINUE */
};

struct seccomp_notif_sizes;
struct seccomp_notif;
struct seccomp_notif_resp;

/* The exported symbols: run_oci_seccomp_notify_{version,start,handle_request,stop}; start and stop optional. */
typedef int (*seccomp_plugin_version_fn)(void);
typedef int (*seccomp_plugin_start_fn)(void **opaque, struct seccomp_plugin_conf *conf, size_t conf_size);
typedef int (*seccomp_plugin_handle_fn)(void *opaque, struct seccomp_notif_sizes *sizes, struct seccomp_notif *req,
					struct seccomp_notif_resp *resp, int seccomp_fd, int *handled);
typedef int (*seccomp_plugin_stop_fn)(void *opaque);

struct seccomp_agent;

/*
 * Runtime connections that have not yet delivered their listener fd: one per
 * filter being set up, so a few at most. Past this many, a new connection is
 * closed at once.
 */
#define SECCOMP_AGENT_PENDING_MAX 16

/* Listen on socket_path; plugins is a ':'-separated list of .so paths (NULL: none, all ENOTSUP). */
struct seccomp_agent *seccomp_agent_new(const char *socket_path, const char *plugins, GError **err);

void seccomp_agent_free(struct seccomp_agent *a);
