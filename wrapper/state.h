/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctr-wrap's on-disk state. Layout under ROOT (default /run/ctr-wrap):
 *
 *   ROOT/lock              flock: short critical sections that touch names/ or create/remove dirs
 *   ROOT/names/NAME        symlink -> ID (names are unique because symlink() is atomic)
 *   ROOT/runtime/          the OCI runtime's --root
 *   ROOT/ID/               the bundle: config.json, state.json, lock, clients, ctr.log, conmon.pid,
 *                          pidfile, exits/ID (the monitor's exit file), attach + ctl (the monitor's)
 *
 * The exit file is the truth about exit; state.json holds what we decided.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#define STATE_DEFAULT_ROOT "/run/ctr-wrap"

enum ctr_status {
	CTR_CREATED, /* monitor up, runtime start not done yet */
	CTR_RUNNING,
	CTR_EXITED,  /* the exit file exists */
	CTR_UNKNOWN, /* no exit file and the monitor is gone */
	CTR_PAUSED,  /* running, frozen by `pause` */
};

struct ctr_state {
	char *id;
	char *name;
	char *bundle;
	char *rootfs;
	char *image_mount; /* the image mount directory rootfs is in, NULL for a plain directory */
	char **command;
	char *created;		/* RFC 3339 */
	char *runtime;		/* absolute path */
	char *log_driver;	/* k8s-file, journald, none */
	char *log_path;		/* NULL unless k8s-file */
	char **ports;		/* "0.0.0.0:8080->80/tcp" */
	enum ctr_status status; /* CTR_CREATED or CTR_RUNNING: what we last recorded */
	pid_t monitor_pid;
	pid_t pid;
	bool rm; /* remove when it exits */
	bool tty;
	bool attached; /* a foreground `run` will remove it itself (--rm) */
	bool deleted;  /* the runtime has forgotten it; only our state is left */

	/* What a later `start` needs to launch the monitor again the same way. */
	bool interactive;    /* -i: the monitor keeps the container's stdin */
	bool cgroup_systemd; /* the runtime needs --systemd-cgroup */
	gint64 log_size_max; /* k8s-file max-size, <= 0: none */
	char **publish;	     /* -p specs with the host port fixed: "127.0.0.1:8080:80/tcp" */
	char *started;	     /* RFC 3339, when the monitor last started it; NULL: never */
	char *boot_id;	     /* the boot the monitor was started in: after a reboot it is gone */
	int launches;	     /* monitors started so far: tells a late exit command of an old one apart */

	/* Restart policy (restart_policy.h) and lifecycle flags. */
	char *restart_policy; /* "no", "on-failure", "always", "unless-stopped"; NULL = "no" */
	int restart_max;      /* on-failure:MAX, 0 = no limit */
	int restart_count;    /* restarts by the policy since the last start by a person */
	int restart_streak;   /* restarts in a row that ran < 10 s: the back-off exponent */
	bool restart_pending; /* a restart helper waits out the back-off */
	pid_t restart_pid;    /* that helper */
	bool stopped_by_user; /* stop/kill by a person: the policy stays off until a start */
	bool paused;	      /* frozen by `pause` */
};

void ctr_state_free(struct ctr_state *st);
typedef struct ctr_state ctr_state;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ctr_state, ctr_state_free)

/* Serialization, public for the tests. */
char *ctr_state_to_json(const struct ctr_state *st, bool pretty);
struct ctr_state *ctr_state_from_json(const char *text, GError **err);

/* Paths (newly allocated). */
char *state_ctr_dir(const char *root, const char *id);
char *state_exit_dir(const char *root, const char *id);
char *state_exit_file(const char *root, const char *id);
char *state_runtime_root(const char *root);

/* Create ROOT, ROOT/names and ROOT/runtime if needed. */
int state_init_root(const char *root, GError **err);

/* flock(LOCK_EX) on ROOT/lock or ROOT/ID/lock; returns the fd to close, or -1. */
int state_lock_root(const char *root, GError **err);
int state_lock_ctr(const char *root, const char *id, GError **err);

/*
 * ROOT/ID/clients: flock(LOCK_SH) by every client that waits for an --rm container's exit code
 * (a foreground run, attach, start -a, wait). The exit command removes such a container only once
 * none is left; a foreground client removes it itself as soon as it has the code.
 */
#define STATE_CLIENTS_FILE "clients"
/* The held fd to close when done (O_CLOEXEC), or -1 (ENOENT: the container is gone). */
int state_hold_clients(const char *root, const char *id, GError **err);
/* True once no client holds ROOT/ID/clients (or it is gone); false if one still does after timeout_ms (< 0: no limit). */
bool state_wait_clients(const char *root, const char *id, int timeout_ms);

/*
 * Claim st->name and create ROOT/ID with exits/ and state.json. A taken name
 * fails with EEXIST and says which container holds it.
 */
int state_create(const char *root, const struct ctr_state *st, GError **err);
int state_save(const char *root, const struct ctr_state *st, GError **err);
struct ctr_state *state_load(const char *root, const char *id, GError **err);

/* NAME, full ID or a unique ID prefix -> ID. Unknown: ENOENT "no such container X (see ctr-wrap ps -a)". */
char *state_resolve(const char *root, const char *ref, GError **err);

/* Every container's ID, oldest first; those with a broken state.json first of all. */
GPtrArray *state_list(const char *root, GError **err);

/*
 * The contents of a regular file only root (or our own uid) can have written:
 * owned by root or us, not group/world writable, no symlink, at most max
 * bytes. Anything else fails with EPERM/ELOOP/EINVAL/EFBIG and a clear message.
 */
char *state_read_trusted(const char *path, size_t max, GError **err);
#define STATE_JSON_MAX (1024 * 1024)

/* A container whose state.json cannot be read: drop every name link to id and ROOT/ID. */
int state_remove_broken(const char *root, const char *id, GError **err);

/* Drop the name link and the whole ROOT/ID directory. */
int state_remove(const char *root, const struct ctr_state *st, GError **err);

/* Read ROOT/ID/exits/ID. False when it does not exist (yet). */
bool state_read_exit(const char *root, const char *id, int *code);

/* A process exists and is not a zombie (PID 1 here does not reap). */
bool state_pid_alive(pid_t pid);

/* Exit file, else recorded status, else CTR_UNKNOWN when the monitor died. */
enum ctr_status state_status(const char *root, const struct ctr_state *st, int *exit_code);
const char *ctr_status_name(enum ctr_status s);

/* This boot's /proc/sys/kernel/random/boot_id (newly allocated), NULL if unreadable. */
char *state_boot_id(void);

/* Write ROOT/ID/exits/ID with code, as the monitor would, for a start that failed before it ran. */
int state_write_exit(const char *root, const char *id, int code, GError **err);

/* Remove a directory tree (no error if absent). */
int state_rm_rf(const char *path, GError **err);

/*
 * What a command on one running container does first: resolve ref, take the container's lock
 * (*lock, for the caller to close) and load its state, running or paused (*status, if not NULL,
 * says which).
 * Any other status fails with EINVAL: "container REF is STATUS, not running (start it with
 * ctr-wrap start REF[, then THEN])".
 */
struct ctr_state *state_load_live(const char *root, const char *ref, const char *then, int *lock,
				  enum ctr_status *status, GError **err);
