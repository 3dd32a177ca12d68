/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conmon/oom.h"

#define MEMCG_ROOT "/sys/fs/cgroup/memory"

static void write_file(const char *path, const char *text)
{
	/* In place, as the kernel updates it: an inotify watch follows the inode. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(write(fd, text, strlen(text)), ==, (ssize_t)strlen(text));
	close(fd);
}

static void drain_loop(void)
{
	while (g_main_context_iteration(NULL, FALSE))
		;
}

static void run_loop_ms(int ms)
{
	gint64 end = g_get_monotonic_time() + ms * G_TIME_SPAN_MILLISECOND;
	while (g_get_monotonic_time() < end) {
		drain_loop();
		g_usleep(5000);
	}
}

static char *make_tmpdir(void)
{
	g_autoptr(GError) err = NULL;
	char *dir = g_dir_make_tmp("conmon-oom-XXXXXX", &err);
	g_assert_no_error(err);
	return dir;
}

static bool has_oom_file(const char *dir)
{
	g_autofree char *path = g_build_filename(dir, "oom", NULL);
	return g_file_test(path, G_FILE_TEST_EXISTS);
}

static void remove_tree(const char *dir)
{
	const char *names[] = { "oom", "memory.events", "memory.oom_control", "cgroup.event_control" };
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *path = g_build_filename(dir, names[i], NULL);
		g_unlink(path);
	}
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_cgroup_dir(void)
{
	const char *hybrid = "9:name=systemd:/\n8:pids:/a\n4:memory:/process_api/e21b\n1:cpu,cpuacct:/x\n0::/\n";
	g_autofree char *v1 = oom_cgroup_dir(hybrid, false);
	g_assert_cmpstr(v1, ==, "/sys/fs/cgroup/memory/process_api/e21b");
	g_autofree char *v2 = oom_cgroup_dir(hybrid, true);
	g_assert_cmpstr(v2, ==, "/sys/fs/cgroup");

	const char *joined = "3:cpu,memory,blkio:/libpod_parent/abc:def\n";
	g_autofree char *j = oom_cgroup_dir(joined, false);
	g_assert_cmpstr(j, ==, "/sys/fs/cgroup/memory/libpod_parent/abc:def");

	const char *unified = "0::/machine.slice/libpod-1234.scope/container\n";
	g_autofree char *u = oom_cgroup_dir(unified, true);
	g_assert_cmpstr(u, ==, "/sys/fs/cgroup/machine.slice/libpod-1234.scope/container");
	g_assert_null(oom_cgroup_dir(unified, false));

	/* "name=memory" is a named hierarchy, not the memory controller. */
	g_assert_null(oom_cgroup_dir("2:name=memory:/x\n2:memoryx:/y\n", false));
	g_assert_null(oom_cgroup_dir("", true));
}

static void test_no_process(void)
{
	g_autoptr(GError) err = NULL;
	const char *dirs[] = { "/nonexistent", NULL };
	/* pid_max is at most 2^22. */
	g_assert_null(oom_watch_new(1 << 23, dirs, &err));
	g_assert_nonnull(err);
}

static void test_v2_counters(void)
{
	g_autofree char *cg = make_tmpdir();
	g_autofree char *out = make_tmpdir();
	g_autofree char *events = g_build_filename(cg, "memory.events", NULL);
	write_file(events, "low 0\nhigh 0\nmax 0\noom 2\noom_kill 2\n");

	/* An absent directory in the list is skipped, the others still get the file. */
	const char *dirs[] = { "/nonexistent/conmon-oom-test", out, NULL };
	g_autoptr(GError) err = NULL;
	struct oom_watch *w = oom_watch_new_at(cg, true, dirs, &err);
	g_assert_no_error(err);

	/* high/max events are no OOM, and the watch must survive them. */
	write_file(events, "low 0\nhigh 3\nmax 5\noom 2\noom_kill 2\n");
	drain_loop();
	g_assert_false(oom_watch_triggered(w));
	/* Counters below the baseline (the history before the watch) are no OOM either. */
	write_file(events, "low 0\nhigh 3\nmax 5\noom 0\noom_kill 0\n");
	drain_loop();
	g_assert_false(oom_watch_triggered(w));
	g_assert_false(has_oom_file(out));

	write_file(events, "oom 1\noom_kill 1");
	drain_loop();
	g_assert_true(oom_watch_triggered(w));
	g_assert_true(has_oom_file(out));

	/* Once only: a removed file is not created again. */
	g_autofree char *oom = g_build_filename(out, "oom", NULL);
	g_assert_cmpint(g_unlink(oom), ==, 0);
	write_file(events, "oom 2\noom_kill 2");
	drain_loop();
	oom_watch_final_check(w);
	g_assert_false(has_oom_file(out));
	oom_watch_free(w);
	remove_tree(cg);
	remove_tree(out);
}

/* Either counter alone counts: "oom" without a kill, or a kill seen only in "oom_kill". */
static void test_v2_separate_counters(void)
{
	const char *const bumps[] = { "oom 1\noom_kill 0\n", "oom 0\noom_kill 1\n" };
	for (size_t i = 0; i < G_N_ELEMENTS(bumps); i++) {
		g_autofree char *cg = make_tmpdir();
		g_autofree char *events = g_build_filename(cg, "memory.events", NULL);
		write_file(events, "oom 0\noom_kill 0\n");
		const char *dirs[] = { cg, NULL };
		g_autoptr(GError) err = NULL;
		struct oom_watch *w = oom_watch_new_at(cg, true, dirs, &err);
		g_assert_no_error(err);
		write_file(events, bumps[i]);
		drain_loop();
		g_assert_true(oom_watch_triggered(w));
		g_assert_true(has_oom_file(cg));
		oom_watch_free(w);
		remove_tree(cg);
	}
}

/* The cgroup is often removed before the monitor looks: that must neither crash nor invent an OOM. */
static void test_v2_file_removed(void)
{
	g_autofree char *cg = make_tmpdir();
	g_autofree char *events = g_build_filename(cg, "memory.events", NULL);
	write_file(events, "oom 0\noom_kill 0\n");
	const char *dirs[] = { cg, NULL };
	g_autoptr(GError) err = NULL;
	struct oom_watch *w = oom_watch_new_at(cg, true, dirs, &err);
	g_assert_no_error(err);
	g_assert_cmpint(g_unlink(events), ==, 0);
	oom_watch_final_check(w);
	g_assert_false(oom_watch_triggered(w));
	drain_loop();
	oom_watch_final_check(w);
	g_assert_false(oom_watch_triggered(w));
	oom_watch_free(w);

	/* An OOM seen before the removal is kept. */
	write_file(events, "oom 0\noom_kill 0\n");
	w = oom_watch_new_at(cg, true, dirs, &err);
	g_assert_no_error(err);
	write_file(events, "oom 1\noom_kill 1\n");
	drain_loop();
	g_assert_cmpint(g_unlink(events), ==, 0);
	drain_loop();
	oom_watch_final_check(w);
	g_assert_true(oom_watch_triggered(w));
	oom_watch_free(w);
	remove_tree(cg);

	g_assert_null(oom_watch_new_at(cg, true, dirs, &err));
	g_assert_nonnull(err);
}

/*
 * v1 logic on a hand-built directory: event_control is a plain file, so the
 * test reads the eventfd number the watch registered and signals it itself.
 */
struct fake_v1 {
	char *dir;
	char *control;
	int efd;
};

static struct oom_watch *fake_v1_new(struct fake_v1 *f, bool with_event_control)
{
	f->dir = make_tmpdir();
	f->control = g_build_filename(f->dir, "memory.oom_control", NULL);
	write_file(f->control, "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
	g_autofree char *ec = g_build_filename(f->dir, "cgroup.event_control", NULL);
	if (with_event_control)
		write_file(ec, "");
	const char *dirs[] = { f->dir, NULL };
	g_autoptr(GError) err = NULL;
	struct oom_watch *w = oom_watch_new_at(f->dir, false, dirs, &err);
	g_assert_no_error(err);
	f->efd = -1;
	if (with_event_control) {
		g_autofree char *reg = NULL;
		g_assert_true(g_file_get_contents(ec, &reg, NULL, NULL));
		int ocfd;
		g_assert_cmpint(sscanf(reg, "%d %d", &f->efd, &ocfd), ==, 2);
	}
	return w;
}

static void fake_v1_signal(struct fake_v1 *f, uint64_t n)
{
	g_assert_cmpint(write(f->efd, &n, sizeof(n)), ==, sizeof(n));
}

static void fake_v1_remove_cgroup(struct fake_v1 *f)
{
	g_autofree char *ec = g_build_filename(f->dir, "cgroup.event_control", NULL);
	g_assert_cmpint(g_unlink(ec), ==, 0);
}

static void fake_v1_free(struct fake_v1 *f)
{
	remove_tree(f->dir);
	g_free(f->dir);
	g_free(f->control);
}

static void test_v1_confirmed_by_counter(void)
{
	struct fake_v1 f;
	struct oom_watch *w = fake_v1_new(&f, true);
	/* The kernel notifies before it kills: not yet counted, so pending. */
	fake_v1_signal(&f, 1);
	drain_loop();
	g_assert_false(oom_watch_triggered(w));
	write_file(f.control, "oom_kill_disable 0\nunder_oom 0\noom_kill 4\n");
	oom_watch_final_check(w);
	g_assert_true(oom_watch_triggered(w));
	g_assert_true(has_oom_file(f.dir));
	oom_watch_free(w);
	fake_v1_free(&f);

	w = fake_v1_new(&f, true);
	write_file(f.control, "oom_kill_disable 0\nunder_oom 1\noom_kill 4\n");
	fake_v1_signal(&f, 1);
	drain_loop();
	g_assert_true(oom_watch_triggered(w));
	oom_watch_free(w);
	fake_v1_free(&f);
}

static void test_v1_notification_without_kill(void)
{
	struct fake_v1 f;
	struct oom_watch *w = fake_v1_new(&f, true);
	fake_v1_signal(&f, 1);
	drain_loop();
	oom_watch_final_check(w);
	g_assert_false(oom_watch_triggered(w));
	g_assert_false(has_oom_file(f.dir));
	oom_watch_free(w);
	fake_v1_free(&f);
}

static void test_v1_removal_event(void)
{
	struct fake_v1 f;
	struct oom_watch *w = fake_v1_new(&f, true);
	/* rmdir: the files vanish, then the eventfd is signalled once. */
	fake_v1_remove_cgroup(&f);
	fake_v1_signal(&f, 1);
	drain_loop();
	oom_watch_final_check(w);
	g_assert_false(oom_watch_triggered(w));
	oom_watch_free(w);
	fake_v1_free(&f);

	/* An OOM notification coalesced with the removal one is still an OOM. */
	w = fake_v1_new(&f, true);
	fake_v1_remove_cgroup(&f);
	fake_v1_signal(&f, 2);
	drain_loop();
	g_assert_true(oom_watch_triggered(w));
	oom_watch_free(w);
	fake_v1_free(&f);
}

/* PREEMPT_RT kernels refuse the registration: warn and rely on the counter at exit. */
static void test_v1_registration_refused(void)
{
	struct fake_v1 f;
	struct oom_watch *w = fake_v1_new(&f, false);
	g_assert_nonnull(w);
	oom_watch_final_check(w);
	g_assert_false(oom_watch_triggered(w));
	write_file(f.control, "oom_kill_disable 0\nunder_oom 0\noom_kill 9\n");
	oom_watch_final_check(w);
	g_assert_true(oom_watch_triggered(w));
	oom_watch_free(w);
	fake_v1_free(&f);
}

/* Real kernel cgroup v1 memory controller. */

static bool v1_host(void)
{
	struct statfs sfs;
	if (geteuid() != 0) {
		g_test_skip("needs root");
		return false;
	}
	if (statfs("/sys/fs/cgroup", &sfs) < 0 || sfs.f_type == CGROUP2_SUPER_MAGIC ||
	    !g_file_test(MEMCG_ROOT "/cgroup.event_control", G_FILE_TEST_EXISTS)) {
		g_test_skip("no cgroup v1 memory controller");
		return false;
	}
	return true;
}

static char *make_memcg(const char *limit)
{
	static int seq;
	char *dir = g_strdup_printf(MEMCG_ROOT "/conmon-test-oom-%d-%d", getpid(), seq++);
	g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
	if (limit) {
		g_autofree char *mem = g_build_filename(dir, "memory.limit_in_bytes", NULL);
		write_file(mem, limit);
		/* With swap the allocation would go there instead of failing. */
		g_autofree char *memsw = g_build_filename(dir, "memory.memsw.limit_in_bytes", NULL);
		int fd = open(memsw, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, limit, strlen(limit)) < 0)
				g_test_message("memsw limit: %s", g_strerror(errno));
			close(fd);
		}
	}
	return dir;
}

static bool remove_memcg(const char *dir)
{
	/* A killed task leaves the cgroup asynchronously. */
	for (int i = 0; i < 200; i++) {
		if (g_rmdir(dir) == 0 || errno == ENOENT)
			return true;
		if (errno != EBUSY)
			break;
		g_usleep(10000);
	}
	g_test_message("rmdir %s: %s", dir, g_strerror(errno));
	return false;
}

/* A child that joins cgroup dir, waits for the go byte, touches alloc bytes and exits. */
static pid_t spawn_in_cgroup(const char *dir, size_t alloc, int *go_fd)
{
	int ready[2], go[2];
	g_assert_cmpint(pipe2(ready, O_CLOEXEC), ==, 0);
	g_assert_cmpint(pipe2(go, O_CLOEXEC), ==, 0);
	char procs[4096];
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		char c, self[32];
		int len = snprintf(self, sizeof(self), "%d", getpid());
		int fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, self, (size_t)len) != len)
			_exit(100);
		close(fd);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(101);
		if (alloc) {
			volatile char *p = malloc(alloc);
			if (p == NULL)
				_exit(102);
			for (size_t i = 0; i < alloc; i += 4096)
				p[i] = 1;
			free((void *)p);
		}
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	char c;
	g_assert_cmpint(read(ready[0], &c, 1), ==, 1);
	close(ready[0]);
	*go_fd = go[1];
	return pid;
}

/* Run the main loop until pid exits; returns its wait status. */
static int wait_in_loop(pid_t pid)
{
	gint64 deadline = g_get_monotonic_time() + 30 * G_TIME_SPAN_SECOND;
	int status;
	for (;;) {
		drain_loop();
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		g_assert_cmpint(r, ==, 0);
		if (g_get_monotonic_time() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			g_error("child %d did not exit", pid);
		}
		g_usleep(5000);
	}
}

static void real_oom(bool rmdir_first)
{
	if (!v1_host())
		return;
	g_autofree char *cg = make_memcg("16777216");
	g_autofree char *bundle = make_tmpdir();
	g_autofree char *persist = make_tmpdir();
	int go;
	pid_t pid = spawn_in_cgroup(cg, 64 << 20, &go);
	const char *dirs[] = { bundle, persist, NULL };
	g_autoptr(GError) err = NULL;
	struct oom_watch *w = oom_watch_new(pid, dirs, &err);
	g_assert_cmpint(write(go, "g", 1), ==, 1);
	close(go);
	int status = wait_in_loop(pid);
	drain_loop();
	bool in_loop = w && oom_watch_triggered(w);
	bool removed = rmdir_first && remove_memcg(cg);
	if (w) {
		run_loop_ms(rmdir_first ? 200 : 0);
		oom_watch_final_check(w);
	}
	bool triggered = w && oom_watch_triggered(w);
	bool files = has_oom_file(bundle) && has_oom_file(persist);
	oom_watch_free(w);
	if (!rmdir_first)
		removed = remove_memcg(cg);
	remove_tree(bundle);
	remove_tree(persist);

	g_assert_no_error(err);
	g_test_message("OOM seen in the loop: %s", in_loop ? "yes" : "no (at the final check)");
	g_assert_true(WIFSIGNALED(status));
	g_assert_cmpint(WTERMSIG(status), ==, SIGKILL);
	g_assert_true(triggered);
	g_assert_true(files);
	g_assert_true(removed);
}

static void test_real_v1_oom(void)
{
	real_oom(false);
}

/* The runtime (or systemd) may remove the cgroup before the final check. */
static void test_real_v1_oom_then_rmdir(void)
{
	real_oom(true);
}

static void test_real_v1_no_oom(void)
{
	if (!v1_host())
		return;
	g_autofree char *cg = make_memcg(NULL);
	g_autofree char *bundle = make_tmpdir();
	int go;
	pid_t pid = spawn_in_cgroup(cg, 1 << 20, &go);
	const char *dirs[] = { bundle, NULL };
	g_autoptr(GError) err = NULL;
	struct oom_watch *w = oom_watch_new(pid, dirs, &err);
	g_assert_cmpint(write(go, "g", 1), ==, 1);
	close(go);
	int status = wait_in_loop(pid);
	bool early = false, late = false;
	if (w) {
		drain_loop();
		oom_watch_final_check(w);
		early = oom_watch_triggered(w);
	}
	/* The removal signals the eventfd: that must not read as an OOM. */
	bool removed = remove_memcg(cg);
	if (w) {
		run_loop_ms(300);
		oom_watch_final_check(w);
		late = oom_watch_triggered(w);
	}
	bool file = has_oom_file(bundle);
	oom_watch_free(w);
	remove_tree(bundle);

	g_assert_no_error(err);
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	g_assert_false(early);
	g_assert_false(late);
	g_assert_false(file);
	g_assert_true(removed);
}

/* Limit this process (in a user namespace of its own) to no inotify instance: the watch must fall back to poll(). */
static bool without_inotify(void)
{
	/* Root stays root (uid and gid 0 mapped), so cgroupfs files can still be removed. */
	static const char *const writes[][2] = {
		{ "/proc/self/uid_map", "0 0 1\n" },
		{ "/proc/self/setgroups", "deny\n" },
		{ "/proc/self/gid_map", "0 0 1\n" },
		{ "/proc/sys/user/max_inotify_instances", "0\n" },
	};
	bool ok = unshare(CLONE_NEWUSER) == 0;
	for (size_t i = 0; ok && i < G_N_ELEMENTS(writes); i++) {
		int fd = open(writes[i][0], O_WRONLY | O_CLOEXEC);
		ok = fd >= 0 && write(fd, writes[i][1], strlen(writes[i][1])) == (ssize_t)strlen(writes[i][1]);
		if (fd >= 0)
			close(fd);
	}
	if (!ok)
		return false;
	int ino = inotify_init1(IN_CLOEXEC);
	if (ino >= 0) {
		close(ino);
		return false;
	}
	return errno == EMFILE;
}

/* Whether without_inotify() works here, tried in a throwaway child. */
static bool can_limit_inotify(void)
{
	int status;
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0)
		_exit(without_inotify() ? 0 : 1);
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool have_unified(const char *path)
{
	struct statfs sfs;
	return statfs(path, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

static int dispatches(void)
{
	int n = 0;
	while (n < 1000 && g_main_context_iteration(NULL, FALSE))
		n++;
	return n;
}

/* The fake cgroup is a plain file: no poll event ever, no busy loop, and the check after exit still sees the OOM. */
static void test_v2_without_inotify_fake(void)
{
	if (!g_test_subprocess()) {
		if (!can_limit_inotify()) {
			g_test_skip("no user namespace to limit inotify in");
			return;
		}
		g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
		g_test_trap_assert_passed();
		return;
	}
	g_assert_true(without_inotify());
	g_autofree char *cg = make_tmpdir();
	g_autofree char *events = g_build_filename(cg, "memory.events", NULL);
	write_file(events, "oom 3\noom_kill 3\n");
	const char *dirs[] = { cg, NULL };
	g_autoptr(GError) err = NULL;
	struct oom_watch *w = oom_watch_new_at(cg, true, dirs, &err);
	g_assert_no_error(err);
	g_assert_cmpint(dispatches(), ==, 0);
	g_assert_false(oom_watch_triggered(w));
	write_file(events, "oom 4\noom_kill 4\n");
	g_assert_cmpint(dispatches(), ==, 0);
	oom_watch_final_check(w);
	g_assert_true(oom_watch_triggered(w));
	g_assert_true(has_oom_file(cg));
	oom_watch_free(w);
	remove_tree(cg);
}

/*
 * The real kernfs mechanism, on this host's cgroup2 mount: memory.events is a symlink to a
 * fresh cgroup's cgroup.events, whose "populated" line changes when a process moves in.
 * Each change is one dispatch; removing the cgroup ends the watch instead of spinning.
 */
static void test_v2_without_inotify_kernfs(void)
{
	const char *unified = "/sys/fs/cgroup/unified";
	if (!g_test_subprocess()) {
		if (!have_unified(unified) || !can_limit_inotify()) {
			g_test_skip("no cgroup2 mount or user namespace here");
			return;
		}
		g_autofree char *cgroup = g_strdup_printf("%s/conmon-oom-test-%d", unified, getpid());
		g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
		/* A failed run leaves its cgroup; its sleeper died with it (PDEATHSIG). */
		for (int i = 0; i < 100 && rmdir(cgroup) < 0 && errno == EBUSY; i++)
			g_usleep(10000);
		g_test_trap_assert_passed();
		return;
	}
	/* Named after the test process, which removes it if this run fails half-way. */
	g_autofree char *cgroup = g_strdup_printf("%s/conmon-oom-test-%d", unified, getppid());
	g_autofree char *procs = g_build_filename(cgroup, "cgroup.procs", NULL);
	g_autofree char *cg_events = g_build_filename(cgroup, "cgroup.events", NULL);
	g_autofree char *fake = make_tmpdir();
	g_autofree char *link = g_build_filename(fake, "memory.events", NULL);
	g_assert_cmpint(mkdir(cgroup, 0755), ==, 0);
	g_assert_cmpint(symlink(cg_events, link), ==, 0);
	int procs_fd = open(procs, O_WRONLY | O_CLOEXEC);
	g_assert_cmpint(procs_fd, >=, 0);
	pid_t child = fork();
	g_assert_cmpint(child, >=, 0);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pause();
		_exit(0);
	}
	g_assert_true(without_inotify());
	const char *dirs[] = { NULL };
	g_autoptr(GError) err = NULL;
	struct oom_watch *w = oom_watch_new_at(fake, true, dirs, &err);
	g_assert_no_error(err);
	g_assert_cmpint(dispatches(), ==, 0);
	g_autofree char *pid = g_strdup_printf("%d\n", child);
	g_assert_cmpint(write(procs_fd, pid, strlen(pid)), ==, (ssize_t)strlen(pid));
	close(procs_fd);
	/* populated 0 -> 1: one wakeup, then quiet again. */
	g_usleep(20000);
	g_assert_cmpint(dispatches(), >=, 1);
	g_assert_cmpint(dispatches(), ==, 0);
	kill(child, SIGKILL);
	g_assert_cmpint(waitpid(child, NULL, 0), ==, child);
	g_usleep(20000);
	g_assert_cmpint(rmdir(cgroup), ==, 0);
	/* The last change and the removal: the watch ends instead of spinning on POLLERR. */
	g_assert_cmpint(dispatches(), <=, 2);
	g_assert_cmpint(dispatches(), ==, 0);
	g_assert_false(oom_watch_triggered(w));
	oom_watch_free(w);
	g_unlink(link);
	g_assert_cmpint(g_rmdir(fake), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/oom/cgroup_dir", test_cgroup_dir);
	g_test_add_func("/oom/no_process", test_no_process);
	g_test_add_func("/oom/v2/counters", test_v2_counters);
	g_test_add_func("/oom/v2/separate_counters", test_v2_separate_counters);
	g_test_add_func("/oom/v2/file_removed", test_v2_file_removed);
	g_test_add_func("/oom/v2/without_inotify_fake", test_v2_without_inotify_fake);
	g_test_add_func("/oom/v2/without_inotify_kernfs", test_v2_without_inotify_kernfs);
	g_test_add_func("/oom/v1/confirmed_by_counter", test_v1_confirmed_by_counter);
	g_test_add_func("/oom/v1/notification_without_kill", test_v1_notification_without_kill);
	g_test_add_func("/oom/v1/removal_event", test_v1_removal_event);
	g_test_add_func("/oom/v1/registration_refused", test_v1_registration_refused);
	g_test_add_func("/oom/real_v1/oom", test_real_v1_oom);
	g_test_add_func("/oom/real_v1/oom_then_rmdir", test_real_v1_oom_then_rmdir);
	g_test_add_func("/oom/real_v1/no_oom", test_real_v1_no_oom);
	return g_test_run();
}
