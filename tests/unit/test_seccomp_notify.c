/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "conmon/seccomp_notify.h"
#include "conmon/seccomp_state.h"

static char *plugin_dir;
static char *plugin1, *plugin2, *plugin_bad;

static void check_state(const char *json, bool ok, const char *want_id, const char *want_bundle)
{
	char *id = (char *)"unset", *bundle = (char *)"unset";
	g_assert_cmpint(seccomp_state_parse(json, strlen(json), &id, &bundle), ==, ok);
	g_assert_cmpstr(id, ==, want_id);
	g_assert_cmpstr(bundle, ==, want_bundle);
	g_free(id);
	g_free(bundle);
}

static void test_parse_state(void)
{
	/* What runc sends: the OCI container process state. */
	check_state("{\"ociVersion\":\"1.0.2\",\"fds\":[\"seccompFd\"],\"pid\":42,\"metadata\":\"m\","
		    "\"state\":{\"ociVersion\":\"1.0.2\",\"id\":\"abc\",\"status\":\"creating\",\"pid\":42,"
		    "\"bundle\":\"/run/b\",\"annotations\":{\"id\":\"not this\"}}}\n",
		    true, "abc", "/run/b");
	check_state(" { \"state\" : { \"bundle\" : \"/a\\\"b\\\\c\\/d\\u00e9\\ud83d\\ude00\" , \"id\" : \"x\\ny\" } } ",
		    true, "x\ny", "/a\"b\\c/d\xc3\xa9\xf0\x9f\x98\x80");
	/* Only the top-level "state" counts; non-string values are not taken. */
	check_state("{\"metadata\":{\"state\":{\"id\":\"no\"}},\"state\":{\"id\":7,\"bundle\":null},"
		    "\"x\":[1,-2.5e3,true,false,null,[],{},\"s\"]}",
		    true, NULL, NULL);
	check_state("{}", true, NULL, NULL);
	check_state("{\"state\":{\"id\":\"abc\"", false, NULL, NULL);
	check_state("{\"state\":{\"id\":\"abc\"}}x", false, NULL, NULL);
	check_state("{\"state\":{\"id\":\"a\x01\"}}", false, NULL, NULL);
	check_state("{\"state\":{\"id\":\"\\q\"}}", false, NULL, NULL);
	check_state("[]", false, NULL, NULL);
	check_state("", false, NULL, NULL);
	g_autoptr(GString) deep = g_string_new("{\"a\":");
	for (int i = 0; i < 100; i++)
		g_string_append(deep, "[");
	for (int i = 0; i < 100; i++)
		g_string_append(deep, "]");
	g_string_append(deep, "}");
	check_state(deep->str, false, NULL, NULL);
}

/* The container: load a filter that sends getpgid to a listener, pass it like runc does, call getpgid. */

#define NCALLS 5
/* -1 stands for the caller's own pid. */
static const long call_args[NCALLS] = { 0, 7, 13, -1, 12345 };

struct call_result {
	long ret;
	int err;
};

static int send_listener(const char *sock_path, int listener)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return -1;
	char payload[512];
	int len = snprintf(payload, sizeof(payload),
			   "{\"ociVersion\":\"1.0.2\",\"fds\":[\"seccompFd\"],\"pid\":%d,\"metadata\":\"test\","
			   "\"state\":{\"ociVersion\":\"1.0.2\",\"id\":\"ctr-1\",\"status\":\"creating\",\"pid\":%d,"
			   "\"bundle\":\"/tmp/bundle\",\"annotations\":{}}}",
			   getpid(), getpid());
	struct iovec iov = { .iov_base = payload, .iov_len = (size_t)len };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = { 0 };
	struct msghdr m = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &listener, sizeof(int));
	if (sendmsg(s, &m, 0) != len)
		return -1;
	close(s);
	return 0;
}

static G_NORETURN void container_main(const char *sock_path, int out)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(10);
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL || seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(getpgid), 0) < 0 || seccomp_load(ctx) < 0)
		_exit(11);
	int listener = seccomp_notify_fd(ctx);
	if (listener < 0 || send_listener(sock_path, listener) < 0)
		_exit(12);
	close(listener);
	struct call_result res[NCALLS];
	for (int i = 0; i < NCALLS; i++) {
		errno = 0;
		res[i].ret = syscall(SYS_getpgid, call_args[i] < 0 ? (long)getpid() : call_args[i]);
		res[i].err = errno;
	}
	if (write(out, res, sizeof(res)) != (ssize_t)sizeof(res))
		_exit(13);
	_exit(0);
}

static void drain_loop(void)
{
	while (g_main_context_iteration(NULL, FALSE))
		;
}

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
		g_usleep(2000);
	}
}

/* A client that connects and goes away without a listener fd must not disturb the agent. */
static void stray_connection(const char *sock_path)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
	g_assert_cmpint(connect(s, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	g_assert_cmpint(write(s, "{}", 2), ==, 2);
	close(s);
	drain_loop();
}

/* valgrind does not implement seccomp(2): there is nothing to test then. */
static bool seccomp_unavailable(const GError *err)
{
	if (cm_error_errno(err) != ENOSYS)
		return false;
	g_test_skip("seccomp(2) not available (under valgrind?)");
	return true;
}

static bool run_container(const char *plugins, struct call_result *res)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *dir = g_dir_make_tmp("conmon-seccomp-XXXXXX", &err);
	g_assert_no_error(err);
	g_autofree char *sock = g_build_filename(dir, "seccomp.sock", NULL);
	struct seccomp_agent *a = seccomp_agent_new(sock, plugins, &err);
	if (a == NULL && seccomp_unavailable(err)) {
		g_assert_cmpint(g_rmdir(dir), ==, 0);
		return false;
	}
	g_assert_no_error(err);
	stray_connection(sock);

	int out[2];
	g_assert_cmpint(pipe2(out, O_CLOEXEC), ==, 0);
	pid_t pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		close(out[0]);
		container_main(sock, out[1]);
	}
	close(out[1]);
	int status = wait_in_loop(pid);
	ssize_t n = read(out[0], res, sizeof(*res) * NCALLS);
	close(out[0]);
	seccomp_agent_free(a);
	g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
	g_assert_cmpint(g_rmdir(dir), ==, 0);

	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	g_assert_cmpint(n, ==, (ssize_t)(sizeof(*res) * NCALLS));
	return true;
}

static void assert_value(const struct call_result *r, long val)
{
	g_assert_cmpint(r->ret, ==, val);
}

static void assert_enotsup(const struct call_result *r)
{
	g_assert_cmpint(r->ret, ==, -1);
	g_assert_cmpint(r->err, ==, ENOTSUP);
}

static void test_no_plugins(void)
{
	struct call_result res[NCALLS];
	if (!run_container(NULL, res))
		return;
	for (int i = 0; i < NCALLS; i++)
		assert_enotsup(&res[i]);
}

static bool have_plugins(void)
{
	if (plugin1 == NULL)
		g_test_skip("test plugins could not be built (no cc or no tests/plugins/test_plugin.c)");
	return plugin1 != NULL;
}

static void test_plugins(void)
{
	if (!have_plugins())
		return;
	g_autofree char *spec = g_strdup_printf("%s::%s", plugin1, plugin2);
	struct call_result res[NCALLS];
	if (!run_container(spec, res))
		return;
	assert_value(&res[0], 4242);	  /* with the container's id and bundle from the state */
	assert_value(&res[1], 7007);	  /* the first plugin passes, the second answers */
	assert_value(&res[2], 7007);	  /* the first plugin fails, the second answers */
	assert_value(&res[3], getpgrp()); /* CONTINUE: the kernel ran the real getpgid */
	assert_enotsup(&res[4]);
}

static void test_plugin_order(void)
{
	if (!have_plugins())
		return;
	g_autofree char *spec = g_strdup_printf("%s:%s", plugin2, plugin1);
	struct call_result res[NCALLS];
	if (!run_container(spec, res))
		return;
	assert_value(&res[0], 2020);
	assert_value(&res[3], getpgrp());
	assert_enotsup(&res[4]);
}

static void test_bad_plugins(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *dir = g_dir_make_tmp("conmon-seccomp-XXXXXX", &err);
	g_assert_no_error(err);
	g_autofree char *sock = g_build_filename(dir, "seccomp.sock", NULL);
	g_autofree char *missing = g_build_filename(dir, "missing.so", NULL);
	g_assert_null(seccomp_agent_new(sock, missing, &err));
	g_assert_nonnull(strstr(err->message, "missing.so"));
	g_clear_error(&err);
	if (plugin_bad) {
		g_assert_null(seccomp_agent_new(sock, plugin_bad, &err));
		g_assert_nonnull(strstr(err->message, "version"));
		g_clear_error(&err);
	}
	g_assert_false(g_file_test(sock, G_FILE_TEST_EXISTS));
	g_autofree char *nodir = g_build_filename(dir, "no", "seccomp.sock", NULL);
	g_assert_null(seccomp_agent_new(nodir, NULL, &err));
	g_assert_nonnull(err);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static int connect_client(const char *sock_path)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock_path);
	g_assert_cmpint(s, >=, 0);
	g_assert_cmpint(connect(s, (struct sockaddr *)&addr, sizeof(addr)), ==, 0);
	drain_loop();
	return s;
}

/* Still held open by the agent (nothing to read yet), or closed by it (EOF). */
static bool held_open(int s)
{
	char c;
	ssize_t n = recv(s, &c, 1, MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return true;
	g_assert_cmpint(n, ==, 0);
	return false;
}

/* Connections that never deliver a listener fd are held up to the cap; past it they are closed at once. */
static void test_pending_capped(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *dir = g_dir_make_tmp("conmon-seccomp-XXXXXX", &err);
	g_assert_no_error(err);
	g_autofree char *sock = g_build_filename(dir, "seccomp.sock", NULL);
	struct seccomp_agent *a = seccomp_agent_new(sock, NULL, &err);
	if (a == NULL && seccomp_unavailable(err)) {
		g_assert_cmpint(g_rmdir(dir), ==, 0);
		return;
	}
	g_assert_no_error(err);

	int pending[SECCOMP_AGENT_PENDING_MAX];
	for (int i = 0; i < SECCOMP_AGENT_PENDING_MAX; i++)
		pending[i] = connect_client(sock);
	for (int i = 0; i < 3; i++) {
		int extra = connect_client(sock);
		g_assert_false(held_open(extra));
		close(extra);
	}
	for (int i = 0; i < SECCOMP_AGENT_PENDING_MAX; i++)
		g_assert_true(held_open(pending[i]));
	/* One that leaves makes room for the next. */
	close(pending[0]);
	drain_loop();
	pending[0] = connect_client(sock);
	g_assert_true(held_open(pending[0]));
	int extra = connect_client(sock);
	g_assert_false(held_open(extra));
	close(extra);

	for (int i = 0; i < SECCOMP_AGENT_PENDING_MAX; i++)
		close(pending[i]);
	drain_loop();
	seccomp_agent_free(a);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static char *find_plugin_source(void)
{
	const char *rel = "tests/plugins/test_plugin.c";
	if (g_file_test(rel, G_FILE_TEST_EXISTS))
		return g_strdup(rel);
	/* BUILD/tests/unit/test_x -> the source tree above BUILD. */
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	if (exe == NULL)
		return NULL;
	g_autofree char *unit = g_path_get_dirname(exe);
	char *path = g_build_filename(unit, "..", "..", "..", rel, NULL);
	if (g_file_test(path, G_FILE_TEST_EXISTS))
		return path;
	g_free(path);
	return NULL;
}

static char *build_plugin(const char *cc, const char *src, const char *name, const char *define)
{
	char *out = g_build_filename(plugin_dir, name, NULL);
	const char *argv[] = { cc, "-shared", "-fPIC", "-O1", "-Wall", "-Werror", define, "-o", out, src, NULL };
	g_autoptr(GError) err = NULL;
	int status;
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status, &err) ||
	    !g_spawn_check_wait_status(status, NULL)) {
		g_printerr("# building %s failed%s%s\n", name, err ? ": " : "", err ? err->message : "");
		g_free(out);
		return NULL;
	}
	return out;
}

static void build_plugins(void)
{
	g_autofree char *cc = g_find_program_in_path("cc");
	g_autofree char *src = find_plugin_source();
	if (cc == NULL || src == NULL)
		return;
	g_autoptr(GError) err = NULL;
	plugin_dir = g_dir_make_tmp("conmon-seccomp-plugins-XXXXXX", &err);
	g_assert_no_error(err);
	plugin1 = build_plugin(cc, src, "plugin1.so", "-DTEST_PLUGIN_ID=1");
	plugin2 = build_plugin(cc, src, "plugin2.so", "-DTEST_PLUGIN_ID=2");
	plugin_bad = build_plugin(cc, src, "bad.so", "-DTEST_PLUGIN_VERSION=2");
	if (plugin2 == NULL)
		g_clear_pointer(&plugin1, g_free);
}

static void remove_plugins(void)
{
	char **plugins[] = { &plugin1, &plugin2, &plugin_bad };
	for (size_t i = 0; i < G_N_ELEMENTS(plugins); i++) {
		if (*plugins[i])
			g_unlink(*plugins[i]);
		g_clear_pointer(plugins[i], g_free);
	}
	if (plugin_dir)
		g_rmdir(plugin_dir);
	g_clear_pointer(&plugin_dir, g_free);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	build_plugins();
	g_test_add_func("/seccomp_notify/parse_state", test_parse_state);
	g_test_add_func("/seccomp_notify/no_plugins", test_no_plugins);
	g_test_add_func("/seccomp_notify/plugins", test_plugins);
	g_test_add_func("/seccomp_notify/plugin_order", test_plugin_order);
	g_test_add_func("/seccomp_notify/bad_plugins", test_bad_plugins);
	g_test_add_func("/seccomp_notify/pending_capped", test_pending_capped);
	int rc = g_test_run();
	remove_plugins();
	return rc;
}
