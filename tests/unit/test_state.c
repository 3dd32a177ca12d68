/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/error.h"
#include "wrapper/state.h"

#define ID_A "aaaa000000000000000000000000000000000000000000000000000000000001"
#define ID_B "aaab000000000000000000000000000000000000000000000000000000000002"

static char *make_root(void)
{
	g_autoptr(GError) err = NULL;
	char *root = g_dir_make_tmp("test_state_XXXXXX", &err);

	g_assert_no_error(err);
	g_assert_cmpint(state_init_root(root, NULL), ==, 0);
	return root;
}

static struct ctr_state *new_state(const char *root, const char *id, const char *name, const char *created)
{
	struct ctr_state *st = g_new0(struct ctr_state, 1);
	const char *cmd[] = { "/bin/echo", "hi there", NULL };

	st->id = g_strdup(id);
	st->name = g_strdup(name);
	st->bundle = state_ctr_dir(root, id);
	st->rootfs = g_strdup("/tmp/rootfs");
	st->command = g_strdupv((char **)cmd);
	st->created = g_strdup(created);
	st->runtime = g_strdup("/usr/sbin/runc");
	st->log_driver = g_strdup("k8s-file");
	st->status = CTR_RUNNING;
	st->monitor_pid = 0;
	st->pid = 1234;
	st->rm = true;
	return st;
}

static void test_json_roundtrip(void)
{
	g_autoptr(ctr_state) st = new_state("/r", ID_A, "web \"1\"", "2026-01-02T03:04:05Z");
	g_autoptr(ctr_state) back = NULL;
	g_autofree char *json = NULL;
	g_autoptr(GError) err = NULL;

	const char *publish[] = { "127.0.0.1:8080:80/tcp", NULL };

	st->deleted = true;
	st->interactive = true;
	st->log_size_max = 8192;
	st->publish = g_strdupv((char **)publish);
	st->started = g_strdup("2026-01-02T03:04:06Z");
	st->boot_id = g_strdup("b00t");
	st->launches = 3;
	st->restart_policy = g_strdup("on-failure");
	st->restart_max = 5;
	st->restart_count = 2;
	st->restart_streak = 4;
	st->restart_pending = true;
	st->restart_pid = 4321;
	st->stopped_by_user = true;
	st->paused = true;
	json = ctr_state_to_json(st, false);
	back = ctr_state_from_json(json, &err);
	g_assert_no_error(err);
	g_assert_cmpstr(back->id, ==, ID_A);
	g_assert_cmpstr(back->name, ==, "web \"1\"");
	g_assert_cmpstr(back->command[1], ==, "hi there");
	g_assert_null(back->command[2]);
	g_assert_null(back->log_path);
	g_assert_cmpint(back->pid, ==, 1234);
	g_assert_cmpint(back->status, ==, CTR_RUNNING);
	g_assert_true(back->rm);
	g_assert_true(back->deleted);
	g_assert_false(back->attached);
	g_assert_false(back->tty);
	g_assert_true(back->interactive);
	g_assert_false(back->cgroup_systemd);
	g_assert_cmpint(back->log_size_max, ==, 8192);
	g_assert_cmpstr(back->publish[0], ==, publish[0]);
	g_assert_null(back->publish[1]);
	g_assert_cmpstr(back->started, ==, "2026-01-02T03:04:06Z");
	g_assert_cmpstr(back->boot_id, ==, "b00t");
	g_assert_cmpint(back->launches, ==, 3);
	g_assert_cmpstr(back->restart_policy, ==, "on-failure");
	g_assert_cmpint(back->restart_max, ==, 5);
	g_assert_cmpint(back->restart_count, ==, 2);
	g_assert_cmpint(back->restart_streak, ==, 4);
	g_assert_true(back->restart_pending);
	g_assert_cmpint(back->restart_pid, ==, 4321);
	g_assert_true(back->stopped_by_user);
	g_assert_true(back->paused);
	g_assert_null(ctr_state_from_json("{\"name\": \"x\"}", &err));
	g_assert_error(err, CM_ERRNO_ERROR, EINVAL);
}

static void test_create_list_resolve(void)
{
	g_autofree char *root = make_root();
	g_autoptr(ctr_state) a = new_state(root, ID_A, "first", "2026-01-02T03:04:06Z");
	g_autoptr(ctr_state) b = new_state(root, ID_B, "second", "2026-01-02T03:04:05Z");
	g_autoptr(ctr_state) loaded = NULL;
	g_autoptr(GPtrArray) ids = NULL;
	g_autoptr(GError) err = NULL;
	g_autofree char *r = NULL;

	g_assert_cmpint(state_create(root, a, &err), ==, 0);
	g_assert_cmpint(state_create(root, b, &err), ==, 0);
	g_assert_no_error(err);

	ids = state_list(root, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(ids->len, ==, 2);
	/* oldest first */
	g_assert_cmpstr(ids->pdata[0], ==, ID_B);
	g_assert_cmpstr(ids->pdata[1], ==, ID_A);

	r = state_resolve(root, "first", &err);
	g_assert_cmpstr(r, ==, ID_A);
	g_free(r);
	r = state_resolve(root, "aaab", &err);
	g_assert_cmpstr(r, ==, ID_B);
	g_free(r);
	r = state_resolve(root, "aaa", &err);
	g_assert_null(r);
	g_assert_error(err, CM_ERRNO_ERROR, EINVAL);
	g_clear_error(&err);
	r = state_resolve(root, "nope", &err);
	g_assert_null(r);
	g_assert_error(err, CM_ERRNO_ERROR, ENOENT);
	g_assert_nonnull(strstr(err->message, "no such container nope (see ctr-wrap ps -a)"));
	g_clear_error(&err);

	loaded = state_load(root, ID_A, &err);
	g_assert_no_error(err);
	g_assert_cmpstr(loaded->name, ==, "first");

	g_assert_cmpint(state_remove(root, a, &err), ==, 0);
	g_assert_null(state_load(root, ID_A, &err));
	g_assert_error(err, CM_ERRNO_ERROR, ENOENT);
	g_clear_error(&err);
	g_assert_null(state_resolve(root, "first", &err));
	g_clear_error(&err);
	g_assert_cmpint(state_remove(root, b, &err), ==, 0);
	g_assert_cmpint(state_rm_rf(root, &err), ==, 0);
}

static void test_name_clash(void)
{
	g_autofree char *root = make_root();
	g_autoptr(ctr_state) a = new_state(root, ID_A, "same", "t1");
	g_autoptr(ctr_state) b = new_state(root, ID_B, "same", "t2");
	g_autoptr(ctr_state) bad = new_state(root, ID_B, "a/b", "t2");
	g_autoptr(GError) err = NULL;
	g_autofree char *dir_b = state_ctr_dir(root, ID_B);

	g_assert_cmpint(state_create(root, a, &err), ==, 0);
	g_assert_cmpint(state_create(root, b, &err), ==, -1);
	g_assert_error(err, CM_ERRNO_ERROR, EEXIST);
	g_assert_nonnull(strstr(err->message, "already in use by container aaaa00000000"));
	g_clear_error(&err);
	/* The loser left nothing behind. */
	g_assert_false(g_file_test(dir_b, G_FILE_TEST_EXISTS));
	g_assert_cmpint(state_create(root, bad, &err), ==, -1);
	g_assert_error(err, CM_ERRNO_ERROR, EINVAL);
	for (const char *const *n = (const char *const[]){ "we\"ird", "-x", ".x", "_x", "a b", "", NULL }; *n; n++) {
		g_autoptr(ctr_state) odd = new_state(root, ID_B, *n, "t3");
		g_clear_error(&err);
		g_assert_cmpint(state_create(root, odd, &err), ==, -1);
		g_assert_error(err, CM_ERRNO_ERROR, EINVAL);
	}
	g_autoptr(ctr_state) fine = new_state(root, ID_B, "Web_1.a-b", "t4");
	g_clear_error(&err);
	g_assert_cmpint(state_create(root, fine, &err), ==, 0);
	g_assert_cmpint(state_rm_rf(root, NULL), ==, 0);
}

static void test_locks(void)
{
	g_autofree char *root = make_root();
	g_autoptr(ctr_state) a = new_state(root, ID_A, "l", "t");
	g_autoptr(GError) err = NULL;
	g_autofree char *lockpath = g_build_filename(root, ID_A, "lock", NULL);
	int fd, other;

	g_assert_cmpint(state_create(root, a, &err), ==, 0);
	fd = state_lock_ctr(root, ID_A, &err);
	g_assert_cmpint(fd, >=, 0);
	other = open(lockpath, O_RDWR | O_CLOEXEC);
	g_assert_cmpint(other, >=, 0);
	g_assert_cmpint(flock(other, LOCK_EX | LOCK_NB), ==, -1);
	g_assert_cmpint(errno, ==, EWOULDBLOCK);
	close(fd);
	g_assert_cmpint(flock(other, LOCK_EX | LOCK_NB), ==, 0);
	close(other);

	fd = state_lock_root(root, &err);
	g_assert_cmpint(fd, >=, 0);
	close(fd);

	g_assert_cmpint(state_remove(root, a, &err), ==, 0);
	/* A removed container's lock is not recreated. */
	g_assert_cmpint(state_lock_ctr(root, ID_A, &err), ==, -1);
	g_assert_error(err, CM_ERRNO_ERROR, ENOENT);
	g_assert_cmpint(state_rm_rf(root, NULL), ==, 0);
}

static void test_status(void)
{
	g_autofree char *root = make_root();
	g_autoptr(ctr_state) a = new_state(root, ID_A, "s", "t");
	g_autofree char *exit_file = state_exit_file(root, ID_A);
	int code = 0;

	g_assert_cmpint(state_create(root, a, NULL), ==, 0);
	/* Monitor pid 0: made by `create`, never launched. */
	g_assert_cmpint(state_status(root, a, &code), ==, CTR_CREATED);
	/* A monitor that is gone without an exit file. */
	a->monitor_pid = INT_MAX;
	g_assert_cmpint(state_status(root, a, &code), ==, CTR_UNKNOWN);
	a->monitor_pid = getpid();
	g_assert_cmpint(state_status(root, a, &code), ==, CTR_RUNNING);
	a->paused = true;
	g_assert_cmpint(state_status(root, a, &code), ==, CTR_PAUSED);
	g_assert_cmpstr(ctr_status_name(CTR_PAUSED), ==, "paused");
	a->paused = false;
	/* Recorded in another boot: the pid names some other process now. */
	a->boot_id = g_strdup("not-this-boot");
	g_assert_cmpint(state_status(root, a, &code), ==, CTR_UNKNOWN);
	g_clear_pointer(&a->boot_id, g_free);
	a->boot_id = state_boot_id();
	g_assert_nonnull(a->boot_id);
	g_assert_cmpint(state_status(root, a, &code), ==, CTR_RUNNING);
	a->status = CTR_CREATED;
	g_assert_cmpint(state_status(root, a, &code), ==, CTR_CREATED);
	g_assert_true(g_file_set_contents(exit_file, "137", -1, NULL));
	g_assert_cmpint(state_status(root, a, &code), ==, CTR_EXITED);
	g_assert_cmpint(code, ==, 137);
	/* A start that failed before its monitor ran records its code the same way. */
	g_assert_cmpint(state_write_exit(root, ID_A, 125, NULL), ==, 0);
	g_assert_true(state_read_exit(root, ID_A, &code));
	g_assert_cmpint(code, ==, 125);
	g_assert_cmpstr(ctr_status_name(CTR_EXITED), ==, "exited");
	g_assert_true(state_pid_alive(getpid()));
	g_assert_false(state_pid_alive(0));
	g_assert_cmpint(state_rm_rf(root, NULL), ==, 0);
}

static void test_load_live(void)
{
	g_autofree char *root = make_root();
	g_autoptr(ctr_state) a = new_state(root, ID_A, "live", "t");
	g_autoptr(GError) err = NULL;
	g_autofree char *lockpath = g_build_filename(root, ID_A, "lock", NULL);
	enum ctr_status s = CTR_UNKNOWN;
	int lock = -1, other;

	/* Monitor pid 0: created, not running. */
	a->monitor_pid = 0;
	g_assert_cmpint(state_create(root, a, NULL), ==, 0);
	g_assert_null(state_load_live(root, "live", "update it", &lock, &s, &err));
	g_assert_error(err, CM_ERRNO_ERROR, EINVAL);
	g_assert_cmpstr(err->message, ==,
			"container live is created, not running (start it with ctr-wrap start live, then update it)");
	g_assert_cmpint(lock, ==, -1);
	g_clear_error(&err);
	g_assert_null(state_load_live(root, "nothing", NULL, &lock, &s, &err));
	g_assert_error(err, CM_ERRNO_ERROR, ENOENT);
	g_clear_error(&err);

	a->monitor_pid = getpid();
	a->paused = true;
	g_assert_cmpint(state_save(root, a, NULL), ==, 0);
	{
		g_autoptr(ctr_state) got = state_load_live(root, ID_A, NULL, &lock, &s, &err);

		g_assert_no_error(err);
		g_assert_cmpstr(got->id, ==, ID_A);
		g_assert_cmpint(s, ==, CTR_PAUSED);
		g_assert_cmpint(lock, >=, 0);
		other = open(lockpath, O_RDWR | O_CLOEXEC);
		g_assert_cmpint(other, >=, 0);
		/* The container's lock is held until the caller closes it. */
		g_assert_cmpint(flock(other, LOCK_EX | LOCK_NB), ==, -1);
		g_assert_cmpint(errno, ==, EWOULDBLOCK);
		close(lock);
		g_assert_cmpint(flock(other, LOCK_EX | LOCK_NB), ==, 0);
		close(other);
	}
	g_assert_cmpint(state_write_exit(root, ID_A, 0, NULL), ==, 0);
	g_assert_null(state_load_live(root, "live", NULL, &lock, NULL, &err));
	g_assert_cmpstr(err->message, ==, "container live is exited, not running (start it with ctr-wrap start live)");
	g_assert_cmpint(state_rm_rf(root, NULL), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/state/json_roundtrip", test_json_roundtrip);
	g_test_add_func("/state/create_list_resolve", test_create_list_resolve);
	g_test_add_func("/state/name_clash", test_name_clash);
	g_test_add_func("/state/locks", test_locks);
	g_test_add_func("/state/status", test_status);
	g_test_add_func("/state/load_live", test_load_live);
	return g_test_run();
}
