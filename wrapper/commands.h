/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctr-wrap's subcommand table and the global options.
 *
 * How main.c dispatches: the whole of main is
 *
 *	#include "wrapper/commands.h"
 *	int main(int argc, char **argv) { return wrap_main(argc, argv); }
 *
 * wrap_main() parses the global options (--root, --storage, --runtime, --conmon, --help,
 * --version) up to the first non-option word, looks that word up in
 * wrap_commands[] and calls its function with argv[0] = the command name.
 * The return value is the process exit code: 0, 125 for ctr-wrap's own
 * errors (one line "ctr-wrap: ..." on stderr), 126/127 when the command
 * cannot be run / is not found, else the container's exit code.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "wrapper/state.h"

#define WRAP_EXIT_ERROR 125

struct wrap_ctx {
	char *root;	   /* --root, default STATE_DEFAULT_ROOT */
	char *runtime_opt; /* --runtime as given, NULL: probe runc then crun */
	char *conmon_opt;  /* --conmon as given, NULL: beside our binary, then /usr/bin/conmon */
	char *storage;	   /* --storage, default IMAGE_STORE_DEFAULT: the image store */
	char *self;	   /* our own executable (for the monitor's exit command) */
};

typedef int (*wrap_cmd_fn)(struct wrap_ctx *ctx, int argc, char **argv);

struct wrap_command {
	const char *name;
	wrap_cmd_fn fn;
	const char *help; /* one line; NULL hides the command from --help */
};

/* Terminated by an entry with name NULL. */
extern const struct wrap_command wrap_commands[];

int wrap_main(int argc, char **argv);

/* Helpers for the cmd_*.c files. */

/* Print "ctr-wrap: <message>" (err stays the caller's); returns 125. */
int wrap_fail(const GError *err);
/* Parse a command's options; on error prints it and returns -1. */
int wrap_parse(GOptionContext *oc, int *argc, char ***argv);
/* A GOptionContext for "ctr-wrap CMD PARAMS" with a summary line. */
GOptionContext *wrap_option_context(const char *params, const char *summary);
/* The runtime path to use for new containers (probed once). */
char *wrap_runtime(struct wrap_ctx *ctx, GError **err);
/* The monitor binary to use. */
char *wrap_conmon(struct wrap_ctx *ctx, GError **err);
/* `rm -f` of a container whose state.json is broken: runtime delete -f, then its directory and names. */
int wrap_remove_broken(struct wrap_ctx *ctx, const char *ref, GError **err);
/* Resolve REF (name, id, id prefix) and load its state. */
struct ctr_state *wrap_lookup(struct wrap_ctx *ctx, const char *ref, GError **err);
/* `runtime delete --force ID` unless st->deleted says it is done; sets st->deleted. */
void wrap_runtime_forget(struct wrap_ctx *ctx, struct ctr_state *st);
/* `runtime delete [-f] ID`, then remove the state when st->rm or force_remove. Idempotent. */
int wrap_cleanup(struct wrap_ctx *ctx, struct ctr_state *st, bool force_remove, GError **err);

/*
 * A foreground client's removal of an --rm container whose exit code it has read: its image root and
 * state now, under the container lock; the exit command, which waits for the clients, deletes it from
 * the runtime afterwards. Nothing to do when it is gone or was started again.
 */
int wrap_remove_exited(struct wrap_ctx *ctx, const struct ctr_state *st, GError **err);

/* Stop st: SIGTERM, SIGKILL after timeout seconds (0: at once). Done when it has exited. */
int wrap_stop(struct wrap_ctx *ctx, const struct ctr_state *st, int timeout, GError **err);

/* The state plus what is only known now (status, exit code, finish time) as a JSON object. */
char *wrap_inspect_json(struct wrap_ctx *ctx, const struct ctr_state *st, bool pretty);

/* The commands. */
int cmd_run(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_create(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_start(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_restart(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_pause(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_unpause(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_stats(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_top(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_update(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_ps(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_logs(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_attach(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_exec(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_stop(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_kill(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_wait(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_rm(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_inspect(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_cleanup(struct wrap_ctx *ctx, int argc, char **argv);
int cmd_image(struct wrap_ctx *ctx, int argc, char **argv);

/* Shared by run and attach: attach loop + wait for the exit file; returns our exit code. */
int wrap_attach_and_wait(struct wrap_ctx *ctx, struct ctr_state *st, int sock, bool forward_stdin,
			 const GByteArray *detach_keys, bool remove_after);
