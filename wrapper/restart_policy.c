/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/restart_policy.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "wrapper/ctr_launch.h"

int restart_policy_set(struct ctr_state *st, const char *spec, GError **err)
{
	static const char *const names[] = { "no", "on-failure", "always", "unless-stopped" };
	g_autofree char *name = g_strdup(spec);
	char *colon = strchr(name, ':');
	int max = 0;

	if (colon) {
		*colon = '\0';
		if (strcmp(name, "on-failure") != 0)
			return cm_set_error(err, EINVAL, "--restart %s: only on-failure takes a count (on-failure:MAX)",
					    spec);
		if (!cm_parse_int(colon + 1, &max) || max < 0)
			return cm_set_error(err, EINVAL, "--restart %s: MAX must be a number >= 0", spec);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		if (strcmp(name, names[i]) == 0) {
			g_free(st->restart_policy);
			st->restart_policy = g_strdup(names[i]);
			st->restart_max = max;
			return 0;
		}
	}
	return cm_set_error(err, EINVAL, "unknown --restart %s (use no, on-failure[:MAX], always or unless-stopped)",
			    spec);
}

const char *restart_policy_name(const struct ctr_state *st)
{
	return st->restart_policy ? st->restart_policy : "no";
}

bool restart_policy_wants(const struct ctr_state *st, int code)
{
	const char *p = restart_policy_name(st);

	if (st->stopped_by_user || strcmp(p, "no") == 0)
		return false;
	if (strcmp(p, "on-failure") == 0)
		return code != 0 && (st->restart_max == 0 || st->restart_count < st->restart_max);
	return true;
}

guint restart_policy_next_delay(struct ctr_state *st, double uptime_s)
{
	guint delay = RESTART_BACKOFF_FIRST_MS;

	if (uptime_s >= RESTART_RESET_UPTIME_S)
		st->restart_streak = 0;
	for (int i = 0; i < st->restart_streak && delay < RESTART_BACKOFF_MAX_MS; i++)
		delay *= 2;
	if (st->restart_streak < 64)
		st->restart_streak++;
	return MIN(delay, RESTART_BACKOFF_MAX_MS);
}

static double uptime_of(const struct ctr_state *st)
{
	g_autoptr(GDateTime) started = st->started ? g_date_time_new_from_iso8601(st->started, NULL) : NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_local();

	return started ? (double)g_date_time_difference(now, started) / G_TIME_SPAN_SECOND : 0;
}

static void sleep_ms(guint ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * The helper: sleep, then under the lock start the container again if the restart is still ours to
 * do. A launch that fails counts as an exit with its code, so the policy goes on with the back-off.
 */
static G_NORETURN void helper_main(struct wrap_ctx *ctx, const char *id, guint delay_ms)
{
	for (;;) {
		g_autoptr(ctr_state) st = NULL;
		g_autoptr(GError) err = NULL;
		_cleanup_close_ int lock = -1;
		struct ctr_launch l = { 0 };

		sleep_ms(delay_ms);
		lock = state_lock_ctr(ctx->root, id, NULL);
		st = lock >= 0 ? state_load(ctx->root, id, NULL) : NULL;
		if (!st || !st->restart_pending || st->restart_pid != getpid() || st->stopped_by_user)
			_exit(0);
		st->restart_pending = false;
		st->restart_pid = 0;
		st->restart_count++;
		if (ctr_launch(ctx, st, &l, &err) == 0)
			_exit(0);
		fprintf(stderr, "ctr-wrap: restart of container %s failed: %s\n", st->name, err->message);
		state_write_exit(ctx->root, id, l.exit_code, NULL);
		if (restart_policy_wants(st, l.exit_code)) {
			delay_ms = restart_policy_next_delay(st, 0);
			st->restart_pending = true;
			st->restart_pid = getpid();
		}
		if (state_save(ctx->root, st, NULL) < 0 || !st->restart_pending)
			_exit(0);
	}
}

/* In a forked child: what failed, on stderr, then exit 1. */
static G_NORETURN void child_fail(const char *what)
{
	char msg[256];
	int len = snprintf(msg, sizeof(msg), "ctr-wrap: restart helper: %s: %s\n", what, strerror(errno));

	if (len > 0)
		(void)cm_write_all(STDERR_FILENO, msg, MIN((size_t)len, sizeof(msg) - 1), -1);
	_exit(1);
}

/*
 * In the forked child: setsid, /dev/null for stdin and stdout, fork the helper, report its pid on
 * fd w, exit. A failure before the fork reports no pid, so the caller knows no helper runs.
 */
static G_NORETURN void spawn_helper(struct wrap_ctx *ctx, const char *id, guint delay_ms, int w)
{
	pid_t pid;
	int null;

	if (setsid() < 0)
		child_fail("setsid");
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		child_fail("open /dev/null");
	if (dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
		child_fail("dup2 /dev/null");
	pid = fork();
	if (pid < 0)
		child_fail("fork");
	if (pid > 0)
		_exit(cm_write_all(w, &pid, sizeof(pid), -1) < 0 ? 1 : 0);
	/* Nothing of the exit command's, above all not its copy of the container lock. */
	closefrom(3);
	helper_main(ctx, id, delay_ms);
}

int restart_policy_schedule(struct wrap_ctx *ctx, struct ctr_state *st, int code, GError **err)
{
	int p[2];
	pid_t child, helper = 0;
	guint delay;
	int status;
	ssize_t n;

	if (!restart_policy_wants(st, code))
		return 0;
	delay = restart_policy_next_delay(st, uptime_of(st));
	if (pipe2(p, O_CLOEXEC) < 0)
		return cm_set_errno(err, errno, "pipe");
	child = fork();
	if (child < 0) {
		int e = errno;
		close(p[0]);
		close(p[1]);
		return cm_set_errno(err, e, "fork");
	}
	if (child == 0) {
		close(p[0]);
		spawn_helper(ctx, st->id, delay, p[1]);
	}
	close(p[1]);
	n = cm_read(p[0], &helper, sizeof(helper));
	close(p[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (n != sizeof(helper) || helper <= 0)
		return cm_set_error(err, EIO, "could not start the restart helper of container %s", st->name);
	st->restart_pending = true;
	st->restart_pid = helper;
	return state_save(ctx->root, st, err);
}

/* The helper is a fork of `ctr-wrap ... cleanup ... ID`: a recycled pid must not be killed by mistake. */
static bool is_helper(pid_t pid, const char *id)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/cmdline", (int)pid);
	g_autofree char *text = NULL;
	gsize len = 0;
	bool cleanup = false, ours = false;

	if (pid <= 0 || !g_file_get_contents(path, &text, &len, NULL))
		return false;
	for (gsize i = 0; i < len; i += strlen(text + i) + 1) {
		cleanup |= strcmp(text + i, "cleanup") == 0;
		ours |= strcmp(text + i, id) == 0;
	}
	return cleanup && ours;
}

static void cancel(struct ctr_state *st)
{
	if (st->restart_pending && is_helper(st->restart_pid, st->id) && kill(st->restart_pid, SIGKILL) < 0)
		g_debug("kill restart helper %d: %s", (int)st->restart_pid, g_strerror(errno));
	st->restart_pending = false;
	st->restart_pid = 0;
}

int restart_policy_disable(struct wrap_ctx *ctx, const char *id, GError **err)
{
	_cleanup_close_ int lock = state_lock_ctr(ctx->root, id, err);
	g_autoptr(ctr_state) st = NULL;

	if (lock < 0 || !(st = state_load(ctx->root, id, err)))
		return -1;
	if (st->stopped_by_user && !st->restart_pending)
		return 0;
	st->stopped_by_user = true;
	cancel(st);
	return state_save(ctx->root, st, err);
}

void restart_policy_reset(struct ctr_state *st)
{
	cancel(st);
	st->stopped_by_user = false;
	st->restart_count = 0;
	st->restart_streak = 0;
}
