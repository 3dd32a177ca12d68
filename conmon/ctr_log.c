/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/ctr_log.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "conmon/diag.h"
#include "conmon/log_journald.h"
#include "conmon/log_k8s.h"

struct ctr_log {
	bool passthrough;
	struct k8s_log *k8s;
	struct journald_log *journald;
};

/* What the -l values asked for. */
struct drivers {
	bool passthrough;
	bool journald;
	char *k8s_path; /* the last k8s-file wins, as in the reference */
};

/*
 * One -l value. The driver name is split off like the reference's strtok()
 * does (leading ':' skipped, "" and ":" are empty, ":PATH" is a k8s file),
 * but the path is the whole rest, so a path may contain ':'.
 */
static int parse_driver(const char *spec, struct drivers *d, GError **err)
{
	const char *start = spec + strspn(spec, ":");
	size_t dlen = strcspn(start, ":");
	const char *path = NULL;

	if (dlen == 0)
		return cm_set_error(err, EINVAL, "log-path must not be empty");
	if (start[dlen] == ':') {
		path = start + dlen + strspn(start + dlen, ":");
		if (*path == '\0')
			path = NULL;
	}
	g_autofree char *driver = g_strndup(start, dlen);

	/* ":none" is a file called none; "none" is the driver */
	if (path == NULL && spec[0] == ':') {
		g_free(d->k8s_path);
		d->k8s_path = g_steal_pointer(&driver);
		return 0;
	}
	if (strcmp(driver, "none") == 0 || strcmp(driver, "off") == 0 || strcmp(driver, "null") == 0)
		return 0;
	if (strcmp(driver, "passthrough") == 0) {
		d->passthrough = true;
		return 0;
	}
	if (strcmp(driver, "journald") == 0) {
		d->journald = true;
		return 0;
	}
	if (strcmp(driver, "k8s-file") == 0) {
		if (path == NULL)
			return cm_set_error(err, EINVAL, "k8s-file requires a filename");
		g_free(d->k8s_path);
		d->k8s_path = g_strdup(path);
		return 0;
	}
	if (strchr(spec, ':') == NULL) {
		g_free(d->k8s_path);
		d->k8s_path = g_steal_pointer(&driver);
		return 0;
	}
	return cm_set_error(err, EINVAL, "No such log driver %s", driver);
}

struct ctr_log *ctr_log_new(const struct cli_opts *opts, GError **err)
{
	struct drivers d = { 0 };
	int r = 0;

	if (opts->log_paths == NULL || opts->log_paths[0] == NULL) {
		cm_set_error(err, EINVAL, "Log driver not provided. Use --log-path");
		return NULL;
	}
	for (char **p = opts->log_paths; r == 0 && *p; p++)
		r = parse_driver(*p, &d, err);
	g_autofree char *k8s_path = d.k8s_path;
	if (r < 0)
		return NULL;
	if (k8s_path && !d.journald) {
		if (opts->log_tag) {
			cm_set_error(err, EINVAL, "k8s-file doesn't support --log-tag");
			return NULL;
		}
		if (opts->log_labels && opts->log_labels[0]) {
			cm_set_error(err, EINVAL, "k8s-file doesn't support --log-label");
			return NULL;
		}
	}

	if (opts->no_container_partial_message && !d.journald)
		diag_warn("--no-container-partial-message has no effect without journald log driver");

	struct ctr_log *log = g_new0(struct ctr_log, 1);
	log->passthrough = d.passthrough;
	if (d.journald) {
		struct journald_log_config jc = {
			.cid = opts->cid,
			.name = opts->name,
			.tag = opts->log_tag,
			.labels = opts->log_labels,
			.no_partial_message = opts->no_container_partial_message,
		};
		log->journald = journald_log_new(&jc, err);
		if (log->journald == NULL) {
			ctr_log_free(log);
			return NULL;
		}
	}
	if (k8s_path) {
		struct k8s_log_config kc = {
			.path = k8s_path,
			.size_max = opts->log_size_max,
			.global_size_max = opts->log_global_size_max,
			.rotate = opts->log_rotate,
			.max_files = opts->log_max_files,
			.allowlist_dirs = opts->log_allowlist_dirs,
			.no_sync = opts->no_sync_log,
		};
		log->k8s = k8s_log_open(&kc, err);
		if (log->k8s == NULL) {
			ctr_log_free(log);
			return NULL;
		}
	}
	return log;
}

bool ctr_log_passthrough(const struct ctr_log *log)
{
	return log->passthrough;
}

void ctr_log_write(struct ctr_log *log, enum stdpipe pipe, const char *buf, size_t len)
{
	if (len == 0)
		return;
	if (log->k8s) {
		struct timespec ts = { 0 };
		clock_gettime(CLOCK_REALTIME, &ts);
		k8s_log_write_at(log->k8s, pipe, buf, len, &ts);
	}
	if (log->journald)
		journald_log_write(log->journald, pipe, buf, len);
}

void ctr_log_reopen(struct ctr_log *log)
{
	g_autoptr(GError) err = NULL;

	if (log->k8s && k8s_log_reopen(log->k8s, &err) < 0)
		diag_warn("%s (still writing to the old file)", err->message);
}

void ctr_log_free(struct ctr_log *log)
{
	if (log == NULL)
		return;
	k8s_log_close(log->k8s);
	journald_log_free(log->journald);
	g_free(log);
}
