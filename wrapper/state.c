/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "common/safe_open.h"
#include "wrapper/json_out.h"

void ctr_state_free(struct ctr_state *st)
{
	if (!st)
		return;
	g_free(st->id);
	g_free(st->name);
	g_free(st->bundle);
	g_free(st->rootfs);
	g_free(st->image_mount);
	g_strfreev(st->command);
	g_free(st->created);
	g_free(st->runtime);
	g_free(st->log_driver);
	g_free(st->log_path);
	g_strfreev(st->ports);
	g_strfreev(st->publish);
	g_free(st->started);
	g_free(st->boot_id);
	g_free(st->restart_policy);
	g_free(st);
}

char *ctr_state_to_json(const struct ctr_state *st, bool pretty)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	yajl_gen_config(g, yajl_gen_beautify, pretty ? 1 : 0);
	yajl_gen_map_open(g);
	json_kv_str(g, "id", st->id);
	json_kv_str(g, "name", st->name);
	json_kv_str(g, "bundle", st->bundle);
	json_kv_str(g, "rootfs", st->rootfs);
	json_kv_str(g, "image_mount", st->image_mount);
	json_kv_strv(g, "command", st->command);
	json_kv_str(g, "created", st->created);
	json_kv_str(g, "runtime", st->runtime);
	json_kv_str(g, "log_driver", st->log_driver);
	json_kv_str(g, "log_path", st->log_path);
	json_kv_strv(g, "ports", st->ports);
	json_kv_str(g, "status", ctr_status_name(st->status));
	json_kv_int(g, "monitor_pid", st->monitor_pid);
	json_kv_int(g, "pid", st->pid);
	json_kv_bool(g, "rm", st->rm);
	json_kv_bool(g, "tty", st->tty);
	json_kv_bool(g, "attached", st->attached);
	json_kv_bool(g, "deleted", st->deleted);
	json_kv_bool(g, "interactive", st->interactive);
	json_kv_bool(g, "cgroup_systemd", st->cgroup_systemd);
	json_kv_int(g, "log_size_max", st->log_size_max);
	json_kv_strv(g, "publish", st->publish);
	json_kv_str(g, "started", st->started);
	json_kv_str(g, "boot_id", st->boot_id);
	json_kv_int(g, "launches", st->launches);
	json_kv_str(g, "restart_policy", st->restart_policy);
	json_kv_int(g, "restart_max", st->restart_max);
	json_kv_int(g, "restart_count", st->restart_count);
	json_kv_int(g, "restart_streak", st->restart_streak);
	json_kv_bool(g, "restart_pending", st->restart_pending);
	json_kv_int(g, "restart_pid", st->restart_pid);
	json_kv_bool(g, "stopped_by_user", st->stopped_by_user);
	json_kv_bool(g, "paused", st->paused);
	yajl_gen_map_close(g);
	return json_finish(g);
}

static char *tree_str(yajl_val root, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_string);
	return v ? g_strdup(YAJL_GET_STRING(v)) : NULL;
}

static char **tree_strv(yajl_val root, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_array);
	GPtrArray *a = g_ptr_array_new();

	for (size_t i = 0; v && i < v->u.array.len; i++) {
		yajl_val e = v->u.array.values[i];
		if (YAJL_IS_STRING(e))
			g_ptr_array_add(a, g_strdup(YAJL_GET_STRING(e)));
	}
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

static long long tree_int(yajl_val root, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_number);
	return v && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : 0;
}

static bool tree_bool(yajl_val root, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_any);
	return v && YAJL_IS_TRUE(v);
}

struct ctr_state *ctr_state_from_json(const char *text, GError **err)
{
	char errbuf[256] = "";
	yajl_val root = yajl_tree_parse(text, errbuf, sizeof(errbuf));
	g_autofree char *status = NULL;
	struct ctr_state *st;

	if (!root || !YAJL_IS_OBJECT(root)) {
		cm_set_error(err, EINVAL, "bad state.json: %s", errbuf[0] ? errbuf : "not an object");
		yajl_tree_free(root);
		return NULL;
	}
	st = g_new0(struct ctr_state, 1);
	st->id = tree_str(root, "id");
	st->name = tree_str(root, "name");
	st->bundle = tree_str(root, "bundle");
	st->rootfs = tree_str(root, "rootfs");
	st->image_mount = tree_str(root, "image_mount");
	st->command = tree_strv(root, "command");
	st->created = tree_str(root, "created");
	st->runtime = tree_str(root, "runtime");
	st->log_driver = tree_str(root, "log_driver");
	st->log_path = tree_str(root, "log_path");
	st->ports = tree_strv(root, "ports");
	status = tree_str(root, "status");
	st->status = g_strcmp0(status, "running") == 0 ? CTR_RUNNING : CTR_CREATED;
	st->monitor_pid = (pid_t)tree_int(root, "monitor_pid");
	st->pid = (pid_t)tree_int(root, "pid");
	st->rm = tree_bool(root, "rm");
	st->tty = tree_bool(root, "tty");
	st->attached = tree_bool(root, "attached");
	st->deleted = tree_bool(root, "deleted");
	st->interactive = tree_bool(root, "interactive");
	st->cgroup_systemd = tree_bool(root, "cgroup_systemd");
	st->log_size_max = tree_int(root, "log_size_max");
	st->publish = tree_strv(root, "publish");
	st->started = tree_str(root, "started");
	st->boot_id = tree_str(root, "boot_id");
	st->launches = (int)CLAMP(tree_int(root, "launches"), 0, G_MAXINT);
	st->restart_policy = tree_str(root, "restart_policy");
	st->restart_max = (int)CLAMP(tree_int(root, "restart_max"), 0, G_MAXINT);
	st->restart_count = (int)CLAMP(tree_int(root, "restart_count"), 0, G_MAXINT);
	st->restart_streak = (int)CLAMP(tree_int(root, "restart_streak"), 0, 64);
	st->restart_pending = tree_bool(root, "restart_pending");
	st->restart_pid = (pid_t)CLAMP(tree_int(root, "restart_pid"), 0, G_MAXINT);
	st->stopped_by_user = tree_bool(root, "stopped_by_user");
	st->paused = tree_bool(root, "paused");
	yajl_tree_free(root);
	if (!st->id || !st->name) {
		ctr_state_free(st);
		cm_set_error(err, EINVAL, "bad state.json: no id or name");
		return NULL;
	}
	return st;
}

char *state_ctr_dir(const char *root, const char *id)
{
	return g_build_filename(root, id, NULL);
}

char *state_exit_dir(const char *root, const char *id)
{
	return g_build_filename(root, id, "exits", NULL);
}

char *state_exit_file(const char *root, const char *id)
{
	return g_build_filename(root, id, "exits", id, NULL);
}

char *state_runtime_root(const char *root)
{
	return g_build_filename(root, "runtime", NULL);
}

static int mkdir_p(const char *path, GError **err)
{
	if (g_mkdir_with_parents(path, 0700) < 0)
		return cm_set_errno(err, errno, "mkdir %s", path);
	return 0;
}

int state_init_root(const char *root, GError **err)
{
	g_autofree char *names = g_build_filename(root, "names", NULL);
	g_autofree char *rt = state_runtime_root(root);

	if (mkdir_p(root, err) < 0 || mkdir_p(names, err) < 0 || mkdir_p(rt, err) < 0)
		return -1;
	return 0;
}

static int lock_file(const char *path, int flags, GError **err)
{
	_cleanup_close_ int fd = cm_open_safe(path, O_RDWR | flags, 0600, CM_OPEN_REGULAR, err);

	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR)
			return cm_set_errno(err, errno, "lock %s", path);
	}
	return TAKE_FD(fd);
}

int state_lock_root(const char *root, GError **err)
{
	g_autofree char *path = g_build_filename(root, "lock", NULL);
	return lock_file(path, O_CREAT, err);
}

int state_lock_ctr(const char *root, const char *id, GError **err)
{
	g_autofree char *dir = state_ctr_dir(root, id);
	g_autofree char *path = g_build_filename(dir, "lock", NULL);

	/* Never O_CREAT: that would put a file back into a directory being removed. */
	int fd = lock_file(path, 0, NULL);

	if (fd < 0)
		return cm_set_error(err, ENOENT, "no such container %s (see ctr-wrap ps -a)", id);
	return fd;
}

int state_hold_clients(const char *root, const char *id, GError **err)
{
	g_autofree char *path = g_build_filename(root, id, STATE_CLIENTS_FILE, NULL);
	_cleanup_close_ int fd = cm_open_safe(path, O_RDONLY, 0, CM_OPEN_REGULAR, NULL);

	if (fd < 0)
		return cm_set_error(err, ENOENT, "no such container %s (see ctr-wrap ps -a)", id);
	while (flock(fd, LOCK_SH) < 0) {
		if (errno != EINTR)
			return cm_set_errno(err, errno, "lock %s", path);
	}
	return TAKE_FD(fd);
}

/* A client that is still attached is about to read the exit file: a short wait, so a few polls do. */
#define CLIENTS_POLL_MS 10

bool state_wait_clients(const char *root, const char *id, int timeout_ms)
{
	g_autofree char *path = g_build_filename(root, id, STATE_CLIENTS_FILE, NULL);
	_cleanup_close_ int fd = cm_open_safe(path, O_RDONLY, 0, CM_OPEN_REGULAR, NULL);
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	/* No file: removed, or made before clients held one. */
	if (fd < 0)
		return true;
	for (;;) {
		if (flock(fd, timeout_ms < 0 ? LOCK_EX : LOCK_EX | LOCK_NB) == 0)
			return true;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK || g_get_monotonic_time() >= deadline)
			return false;
		g_usleep(CLIENTS_POLL_MS * 1000);
	}
}

static int write_state_file(const char *root, const struct ctr_state *st, GError **err)
{
	g_autofree char *path = g_build_filename(root, st->id, "state.json", NULL);
	g_autofree char *json = ctr_state_to_json(st, true);

	return cm_write_file_atomic(path, json, strlen(json), 0600, false, err);
}

/* Only root (or whoever runs us) may have written what we act on as root. */
static int check_trusted(const char *path, const struct stat *sb, GError **err)
{
	if (sb->st_uid != 0 && sb->st_uid != geteuid())
		return cm_set_error(err, EPERM,
				    "refusing %s: it is owned by uid %u, not root (remove it if it is not yours)", path,
				    (unsigned)sb->st_uid);
	if (!S_ISLNK(sb->st_mode) && (sb->st_mode & (S_IWGRP | S_IWOTH)))
		return cm_set_error(err, EPERM,
				    "refusing %s: it is writable by group or others (mode %04o; chmod go-w it)", path,
				    (unsigned)(sb->st_mode & 07777));
	return 0;
}

char *state_read_trusted(const char *path, size_t max, GError **err)
{
	_cleanup_close_ int fd = cm_open_safe(path, O_RDONLY, 0, CM_OPEN_REGULAR, err);
	g_autofree char *buf = NULL;
	struct stat sb;
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0)
		return cm_set_errno(err, errno, "stat %s", path), NULL;
	if (check_trusted(path, &sb, err) < 0)
		return NULL;
	if ((guint64)sb.st_size > max)
		return cm_set_error(err, EFBIG, "refusing %s: larger than %zu bytes", path, max), NULL;
	/* One byte more than allowed tells a file that grew since the fstat. */
	buf = g_malloc(max + 2);
	n = cm_read_full(fd, buf, max + 1);
	if (n < 0)
		return cm_set_errno(err, errno, "read %s", path), NULL;
	if ((size_t)n > max)
		return cm_set_error(err, EFBIG, "refusing %s: larger than %zu bytes", path, max), NULL;
	buf[n] = '\0';
	return g_steal_pointer(&buf);
}

static char *name_link(const char *root, const char *name)
{
	return g_build_filename(root, "names", name, NULL);
}

/* podman's rule, [a-zA-Z0-9][a-zA-Z0-9_.-]*: a name is also a file name under names/. */
static bool name_valid(const char *name)
{
	if (!g_ascii_isalnum(name[0]))
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!g_ascii_isalnum(*p) && !strchr("_.-", *p))
			return false;
	return strlen(name) <= NAME_MAX;
}

int state_create(const char *root, const struct ctr_state *st, GError **err)
{
	g_autofree char *link = name_link(root, st->name);
	g_autofree char *dir = state_ctr_dir(root, st->id);
	g_autofree char *exits = state_exit_dir(root, st->id);
	g_autofree char *lockf = g_build_filename(dir, "lock", NULL);
	g_autofree char *clientsf = g_build_filename(dir, STATE_CLIENTS_FILE, NULL);
	_cleanup_close_ int lock = -1;
	_cleanup_close_ int lock_fd = -1;
	_cleanup_close_ int clients_fd = -1;

	if (!name_valid(st->name))
		return cm_set_error(
			err, EINVAL,
			"invalid name \"%s\" (start with a letter or digit, then letters, digits, '_', '-', '.')",
			st->name);
	lock = state_lock_root(root, err);
	if (lock < 0)
		return -1;
	if (symlink(st->id, link) < 0) {
		if (errno == EEXIST) {
			g_autofree char *other = g_file_read_link(link, NULL);
			return cm_set_error(err, EEXIST,
					    "name \"%s\" is already in use by container %.12s (remove it with "
					    "ctr-wrap rm %s, or pick another --name)",
					    st->name, other ? other : "?", st->name);
		}
		return cm_set_errno(err, errno, "symlink %s", link);
	}
	if (mkdir(dir, 0700) < 0 || mkdir(exits, 0700) < 0 ||
	    (lock_fd = cm_open_safe(lockf, O_WRONLY | O_CREAT | O_EXCL, 0600, 0, NULL)) < 0 ||
	    (clients_fd = cm_open_safe(clientsf, O_WRONLY | O_CREAT | O_EXCL, 0600, 0, NULL)) < 0) {
		int e = errno;
		unlink(link);
		state_rm_rf(dir, NULL);
		return cm_set_errno(err, e, "mkdir %s", dir);
	}
	if (write_state_file(root, st, err) < 0) {
		unlink(link);
		state_rm_rf(dir, NULL);
		return -1;
	}
	return 0;
}

int state_save(const char *root, const struct ctr_state *st, GError **err)
{
	return write_state_file(root, st, err);
}

struct ctr_state *state_load(const char *root, const char *id, GError **err)
{
	g_autofree char *path = g_build_filename(root, id, "state.json", NULL);
	g_autofree char *text = NULL;
	g_autoptr(GError) local = NULL;

	text = state_read_trusted(path, STATE_JSON_MAX, &local);
	if (!text) {
		if (cm_error_errno(local) == ENOENT)
			cm_set_error(err, ENOENT, "no such container %s (see ctr-wrap ps -a)", id);
		else
			g_propagate_error(err, g_steal_pointer(&local));
		return NULL;
	}
	return ctr_state_from_json(text, err);
}

static bool is_hex_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!g_ascii_isxdigit(*s) || g_ascii_isupper(*s))
			return false;
	return true;
}

/* The id a name link points to; NULL without error when there is none. */
static char *read_name_link(const char *root, const char *link, GError **err)
{
	g_autofree char *names = g_build_filename(root, "names", NULL);
	g_autofree char *target = NULL;
	struct stat sb;

	if (lstat(link, &sb) < 0)
		return NULL;
	if (check_trusted(link, &sb, err) < 0)
		return NULL;
	if (stat(names, &sb) < 0)
		return cm_set_errno(err, errno, "stat %s", names), NULL;
	if (check_trusted(names, &sb, err) < 0)
		return NULL;
	target = g_file_read_link(link, NULL);
	if (!target || strlen(target) != 64 || !is_hex_id(target))
		return cm_set_error(err, EINVAL, "refusing %s: it does not point to a container id", link), NULL;
	return g_steal_pointer(&target);
}

char *state_resolve(const char *root, const char *ref, GError **err)
{
	g_autofree char *link = NULL;
	g_autoptr(GPtrArray) ids = NULL;
	char *found = NULL;

	if (!ref[0] || strchr(ref, '/'))
		return cm_set_error(err, ENOENT, "no such container %s (see ctr-wrap ps -a)", ref), NULL;
	link = name_link(root, ref);
	found = read_name_link(root, link, err);
	if (found || (err && *err))
		return found;
	if (!is_hex_id(ref))
		return cm_set_error(err, ENOENT, "no such container %s (see ctr-wrap ps -a)", ref), NULL;
	ids = state_list(root, NULL);
	for (guint i = 0; ids && i < ids->len; i++) {
		const char *id = ids->pdata[i];
		if (!g_str_has_prefix(id, ref))
			continue;
		if (found) {
			g_free(found);
			return cm_set_error(err, EINVAL, "container id prefix %s is ambiguous (give more digits)", ref),
			       NULL;
		}
		found = g_strdup(id);
	}
	if (!found)
		cm_set_error(err, ENOENT, "no such container %s (see ctr-wrap ps -a)", ref);
	return found;
}

static gint cmp_created(gconstpointer a, gconstpointer b, gpointer data)
{
	GHashTable *created = data;
	const char *ia = *(const char *const *)a, *ib = *(const char *const *)b;
	int c = g_strcmp0(g_hash_table_lookup(created, ia), g_hash_table_lookup(created, ib));

	return c ? c : strcmp(ia, ib);
}

GPtrArray *state_list(const char *root, GError **err)
{
	g_autoptr(GHashTable) created = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
	DIR *d = opendir(root);
	struct dirent *de;

	if (!d) {
		if (errno == ENOENT)
			return ids;
		g_ptr_array_unref(ids);
		return cm_set_errno(err, errno, "open %s", root), NULL;
	}
	while ((de = readdir(d))) {
		g_autoptr(ctr_state) st = NULL;
		g_autoptr(GError) local = NULL;
		char *id;

		if (strlen(de->d_name) != 64 || !is_hex_id(de->d_name))
			continue;
		st = state_load(root, de->d_name, &local);
		/* No state.json yet (or any more): being created or removed. Broken ones are listed. */
		if (!st && cm_error_errno(local) == ENOENT)
			continue;
		id = g_strdup(de->d_name);
		g_ptr_array_add(ids, id);
		g_hash_table_insert(created, id, g_strdup(st && st->created ? st->created : ""));
	}
	closedir(d);
	g_ptr_array_sort_with_data(ids, cmp_created, created);
	return ids;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int state_rm_rf(const char *path, GError **err)
{
	/* A monitor that is just finishing may still add a file (its exit file's temp name). */
	for (int tries = 0;; tries++) {
		if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 || errno == ENOENT)
			return 0;
		if (errno != ENOTEMPTY || tries == 5)
			return cm_set_errno(err, errno, "remove %s", path);
		g_usleep(100 * 1000);
	}
}

int state_remove(const char *root, const struct ctr_state *st, GError **err)
{
	g_autofree char *link = name_link(root, st->name);
	g_autofree char *dir = state_ctr_dir(root, st->id);
	g_autofree char *state = g_build_filename(dir, "state.json", NULL);
	g_autofree char *target = NULL;
	_cleanup_close_ int lock = state_lock_root(root, err);

	if (lock < 0)
		return -1;
	target = g_file_read_link(link, NULL);
	if (target && strcmp(target, st->id) == 0 && unlink(link) < 0 && errno != ENOENT)
		return cm_set_errno(err, errno, "unlink %s", link);
	/* state.json first: ps skips a directory without one, instead of showing what is left as broken. */
	if (unlink(state) < 0 && errno != ENOENT)
		return cm_set_errno(err, errno, "unlink %s", state);
	return state_rm_rf(dir, err);
}

int state_remove_broken(const char *root, const char *id, GError **err)
{
	g_autofree char *names = g_build_filename(root, "names", NULL);
	g_autofree char *dir = state_ctr_dir(root, id);
	_cleanup_close_ int lock = state_lock_root(root, err);
	g_autoptr(GDir) d = NULL;
	const char *name;

	if (lock < 0)
		return -1;
	d = g_dir_open(names, 0, NULL);
	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *link = g_build_filename(names, name, NULL);
		g_autofree char *target = g_file_read_link(link, NULL);

		if (target && strcmp(target, id) == 0 && unlink(link) < 0 && errno != ENOENT)
			return cm_set_errno(err, errno, "unlink %s", link);
	}
	return state_rm_rf(dir, err);
}

bool state_read_exit(const char *root, const char *id, int *code)
{
	g_autofree char *path = state_exit_file(root, id);
	g_autofree char *text = NULL;

	/* The exit file is the monitor's: a FIFO or a huge file planted there must not stop us. */
	text = cm_read_file_safe(path, 64, NULL, NULL);
	if (!text)
		return false;
	g_strstrip(text);
	if (!cm_parse_int(text, code))
		*code = -1;
	return true;
}

bool state_pid_alive(pid_t pid)
{
	g_autofree char *path = NULL;
	g_autofree char *text = NULL;
	const char *p;

	if (pid <= 0)
		return false;
	path = g_strdup_printf("/proc/%d/stat", (int)pid);
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return false;
	/* "pid (comm) S ...": comm may hold spaces and parens, the state follows the last ')'. */
	p = strrchr(text, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

char *state_boot_id(void)
{
	g_autofree char *text = NULL;

	if (!g_file_get_contents("/proc/sys/kernel/random/boot_id", &text, NULL, NULL))
		return NULL;
	return g_strdup(g_strstrip(text));
}

/* A monitor pid recorded before a reboot may now name any process. */
static bool state_same_boot(const struct ctr_state *st)
{
	g_autofree char *now = NULL;

	if (!st->boot_id)
		return true;
	now = state_boot_id();
	return !now || strcmp(now, st->boot_id) == 0;
}

int state_write_exit(const char *root, const char *id, int code, GError **err)
{
	g_autofree char *path = state_exit_file(root, id);
	g_autofree char *text = g_strdup_printf("%d", code);
	g_autoptr(GError) local = NULL;

	if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local))
		return cm_set_error(err, EIO, "%s", local->message);
	return 0;
}

enum ctr_status state_status(const char *root, const struct ctr_state *st, int *exit_code)
{
	int code = -1;
	enum ctr_status s;

	if (state_read_exit(root, st->id, &code)) {
		s = CTR_EXITED;
	} else if (st->monitor_pid <= 0) {
		/* Made by `create`, or between a start's state and its monitor. */
		s = CTR_CREATED;
	} else if (!state_same_boot(st) || !state_pid_alive(st->monitor_pid)) {
		/* The monitor may have written the file just after we looked. */
		s = state_read_exit(root, st->id, &code) ? CTR_EXITED : CTR_UNKNOWN;
	} else if (st->status == CTR_RUNNING) {
		s = st->paused ? CTR_PAUSED : CTR_RUNNING;
	} else {
		s = CTR_CREATED;
	}
	if (exit_code)
		*exit_code = code;
	return s;
}

const char *ctr_status_name(enum ctr_status s)
{
	switch (s) {
	case CTR_CREATED: return "created";
	case CTR_RUNNING: return "running";
	case CTR_EXITED: return "exited";
	case CTR_UNKNOWN: return "unknown";
	case CTR_PAUSED: return "paused";
	}
	return "unknown";
}

struct ctr_state *state_load_live(const char *root, const char *ref, const char *then, int *lock,
				  enum ctr_status *status, GError **err)
{
	g_autofree char *id = state_resolve(root, ref, err);
	_cleanup_close_ int fd = -1;
	g_autoptr(ctr_state) st = NULL;
	enum ctr_status s;

	if (!id || (fd = state_lock_ctr(root, id, err)) < 0 || !(st = state_load(root, id, err)))
		return NULL;
	s = state_status(root, st, NULL);
	if (s != CTR_RUNNING && s != CTR_PAUSED) {
		cm_set_error(err, EINVAL, "container %s is %s, not running (start it with ctr-wrap start %s%s%s)", ref,
			     ctr_status_name(s), ref, then ? ", then " : "", then ? then : "");
		return NULL;
	}
	if (status)
		*status = s;
	*lock = TAKE_FD(fd);
	return g_steal_pointer(&st);
}
