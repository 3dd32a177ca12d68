/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A seccomp notify plugin for tests/unit/test_seccomp_notify.c, written
 * against crun's plugin ABI (version 1) alone, none of our headers: the unit
 * test builds it with `cc -shared -fPIC`. The container's getpgid(arg) calls
 * are answered by arg:
 *   TEST_PLUGIN_ID 1: 0 -> 4242 (4343 if the container context was wrong),
 *                     the caller's own pid -> run by the kernel (CONTINUE),
 *                     13 -> the plugin fails, so the next plugin is asked;
 *   TEST_PLUGIN_ID 2: 0 -> 2020, 7 and 13 -> 7007; it has no start/stop.
 * TEST_PLUGIN_VERSION other than 1 makes a plugin the agent must refuse.
 */
#include <errno.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef TEST_PLUGIN_ID
#define TEST_PLUGIN_ID 1
#endif
#ifndef TEST_PLUGIN_VERSION
#define TEST_PLUGIN_VERSION 1
#endif

enum {
	NOT_HANDLED = 0,
	SEND_RESPONSE = 1,
	DELAYED_RESPONSE = 2,
	SEND_RESPONSE_AND_CONTINUE = 3
};

struct conf {
	const char *runtime_root_path;
	const char *name;
	const char *bundle_path;
	const char *oci_config_path;
};

int run_oci_seccomp_notify_version(void);
int run_oci_seccomp_notify_handle_request(void *opaque, struct seccomp_notif_sizes *sizes, struct seccomp_notif *req,
					  struct seccomp_notif_resp *resp, int fd, int *handled);

int run_oci_seccomp_notify_version(void)
{
	return TEST_PLUGIN_VERSION;
}

#if TEST_PLUGIN_ID == 1
struct state {
	int context_ok;
};

static int same(const char *a, const char *b)
{
	return a && strcmp(a, b) == 0;
}

int run_oci_seccomp_notify_start(void **opaque, struct conf *conf, size_t size);
int run_oci_seccomp_notify_stop(void *opaque);

int run_oci_seccomp_notify_start(void **opaque, struct conf *conf, size_t size)
{
	struct state *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->context_ok = size == sizeof(*conf) && same(conf->name, "ctr-1") && same(conf->bundle_path, "/tmp/bundle") &&
			same(conf->oci_config_path, "/tmp/bundle/config.json");
	*opaque = s;
	return 0;
}

int run_oci_seccomp_notify_stop(void *opaque)
{
	free(opaque);
	return 0;
}
#endif

int run_oci_seccomp_notify_handle_request(void *opaque, struct seccomp_notif_sizes *sizes, struct seccomp_notif *req,
					  struct seccomp_notif_resp *resp, int fd, int *handled)
{
	uint64_t arg = req->data.args[0];
	(void)fd;
	if (sizes == NULL || sizes->seccomp_notif_resp < sizeof(*resp) || resp->id != req->id)
		return -EINVAL;
#if TEST_PLUGIN_ID == 1
	const struct state *s = opaque;
	if (arg == 0) {
		resp->val = s->context_ok ? 4242 : 4343;
		*handled = SEND_RESPONSE;
		return 0;
	}
	if (arg == req->pid) {
		*handled = SEND_RESPONSE_AND_CONTINUE;
		return 0;
	}
	if (arg == 13)
		return -EIO;
#else
	if (opaque != NULL)
		return -EINVAL;
	if (arg == 0 || arg == 7 || arg == 13) {
		resp->val = arg == 0 ? 2020 : 7007;
		*handled = SEND_RESPONSE;
		return 0;
	}
#endif
	*handled = NOT_HANDLED;
	return 0;
}
