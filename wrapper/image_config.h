/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An image's configuration (the OCI image config / docker image JSON) and podman's rules for
 * combining it with the command line.
 */
#pragma once

#include <glib.h>

struct image_config {
	char *architecture; /* "amd64", ... */
	char *os;
	char *created;
	char **entrypoint; /* NULL: none */
	char **cmd;
	char **env; /* "KEY=VALUE" */
	char *workdir;
	char *user;
	char *stop_signal;
	char **exposed_ports; /* "80/tcp", sorted */
	char **label_keys;    /* sorted, label_values in the same order */
	char **label_values;
	char **diff_ids; /* rootfs.diff_ids, bottom layer first */
};

void image_config_free(struct image_config *c);
typedef struct image_config image_config;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(image_config, image_config_free)

/* Parse the config JSON (what names the image in errors). */
struct image_config *image_config_parse(const char *json, const char *what, GError **err);

/* This machine's architecture in the OCI spelling (GOARCH). */
const char *image_host_arch(void);

/* 0 when the image runs here; else err says what it is for. */
int image_config_check_platform(const struct image_config *c, const char *what, GError **err);

/*
 * The container's command: --entrypoint (entrypoint_opt, NULL when not given; a JSON array or
 * one program; "" for none) replaces the image's Entrypoint and drops its Cmd; args, when
 * there are any, replace Cmd. NULL and err when that leaves no command.
 */
char **image_config_command(const struct image_config *c, const char *entrypoint_opt, char *const *args, GError **err);

/* Put the image's Env under env (a GPtrArray of g_free'd "KEY=VALUE"): a KEY env has wins. */
void image_config_merge_env(const struct image_config *c, GPtrArray *env);
