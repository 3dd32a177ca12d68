/* SPDX-License-Identifier: Apache-2.0 */
#include "conmon/runtime.h"

static char *joined(const struct cli_opts *o, const char *console)
{
	g_autoptr(GPtrArray) argv = runtime_build_argv(o, console);
	g_assert_null(g_ptr_array_index(argv, argv->len - 1));
	return g_strjoinv(" ", (char **)argv->pdata);
}

static void test_create(void)
{
	char *rargs[] = { "--root", "/r", NULL };
	char *ropts[] = { "--preserve-fds", "2", NULL };
	struct cli_opts o = { .runtime = "/usr/sbin/runc",
			      .cid = "c1",
			      .bundle = "/b",
			      .container_pidfile = "/b/pid",
			      .systemd_cgroup = true,
			      .runtime_args = rargs,
			      .runtime_opts = ropts,
			      .no_pivot = true,
			      .no_new_keyring = true };
	g_autofree char *line = joined(&o, "/tmp/console.sock");
	g_assert_cmpstr(line, ==,
			"/usr/sbin/runc --systemd-cgroup --root /r create --bundle /b --pid-file /b/pid --no-pivot "
			"--no-new-keyring --preserve-fds 2 --console-socket /tmp/console.sock c1");
}

static void test_restore(void)
{
	char *ropts[] = { "--tcp-established", NULL };
	struct cli_opts o = { .runtime = "runc",
			      .cid = "c1",
			      .bundle = "/b",
			      .container_pidfile = "/b/pid",
			      .restore = "/ckpt",
			      .runtime_opts = ropts };
	g_autofree char *line = joined(&o, NULL);
	g_assert_cmpstr(line, ==,
			"runc restore --bundle /b --pid-file /b/pid --detach --image-path /ckpt --work-path /b "
			"--tcp-established c1");
}

static void test_exec(void)
{
	char *rargs[] = { "--log-format=json", NULL };
	struct cli_opts o = { .runtime = "runc",
			      .cid = "c1",
			      .exec = true,
			      .exec_process_spec = "/s/p.json",
			      .container_pidfile = "/s/exec_pid",
			      .systemd_cgroup = true,
			      .runtime_args = rargs };
	g_autofree char *line = joined(&o, NULL);
	/* --systemd-cgroup only applies to create and restore. */
	g_assert_cmpstr(line, ==, "runc --log-format=json exec --pid-file /s/exec_pid --process /s/p.json --detach c1");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/runtime/argv_create", test_create);
	g_test_add_func("/runtime/argv_restore", test_restore);
	g_test_add_func("/runtime/argv_exec", test_exec);
	return g_test_run();
}
