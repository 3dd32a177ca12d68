/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "conmon/cli.h"

/* Parse a NULL-terminated list; returns the error message or NULL on success. */
static char *parse(struct cli_opts *o, const char *const *args)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(argv, g_strdup("conmon"));
	for (; *args; args++)
		g_ptr_array_add(argv, g_strdup(*args));
	int argc = (int)argv->len;
	g_ptr_array_add(argv, NULL);
	/* GOptionContext rearranges argv; hand it a copy of the pointer array. */
	g_autofree char **copy = g_memdup2(argv->pdata, sizeof(char *) * argv->len);
	g_autoptr(GError) err = NULL;
	if (cli_parse(argc, copy, o, &err) == 0)
		return NULL;
	return g_strdup(err->message);
}

#define BASE "-c", "ctr", "-u", "ctr", "-r", "/bin/true", "-l", "none"

static void expect_error(const char *const *args, const char *needle)
{
	struct cli_opts o;
	g_autofree char *msg = parse(&o, args);
	g_assert_nonnull(msg);
	if (strstr(msg, needle) == NULL)
		g_error("expected '%s' in '%s'", needle, msg);
	cli_opts_clear(&o);
}

static void test_validation_order(void)
{
	expect_error((const char *[]){ NULL }, "Container ID not provided. Use --cid");
	expect_error((const char *[]){ "-c", "x", NULL }, "Container UUID not provided. Use --cuuid");
	expect_error((const char *[]){ "-c", "x", "-u", "x", NULL }, "Runtime path not provided. Use --runtime");
	expect_error((const char *[]){ "-c", "x", "-u", "x", "-r", "/nonexistent", NULL },
		     "Runtime path /nonexistent is not valid");
	expect_error((const char *[]){ "-c", "x", "-u", "x", "-r", "/bin/true", NULL },
		     "Log driver not provided. Use --log-path");
	expect_error((const char *[]){ BASE, "--log-level", "loud", NULL }, "No such log level loud");
	expect_error((const char *[]){ "-c", "x", "--exec-attach", NULL }, "Attach can only be specified with exec");
	expect_error((const char *[]){ "-c", "x", "-e", "--exec-attach", NULL },
		     "Attach can only be specified for a non-legacy exec session");
	expect_error((const char *[]){ BASE, "-e", NULL }, "Exec process spec path not provided");
	expect_error((const char *[]){ BASE, "-e", "--restore", "/x", NULL },
		     "Cannot use 'exec' and 'restore' at the same time");
	expect_error((const char *[]){ BASE, "--exit-delay", "-1", NULL }, "must be greater than or equal to 0");
	expect_error((const char *[]){ BASE, "--bogus", NULL }, "option parsing failed: Unknown option --bogus");
	expect_error((const char *[]){ BASE, "--timeout", "abc", NULL }, "option parsing failed");
}

static void test_podman_style(void)
{
	struct cli_opts o;
	const char *args[] = { "--api-version",
			       "1",
			       "-c",
			       "abc",
			       "-u",
			       "abc",
			       "-r",
			       "/bin/true",
			       "-b",
			       "/b",
			       "-p",
			       "/b/pidfile",
			       "-n",
			       "name",
			       "--exit-dir",
			       "/exits",
			       "--full-attach",
			       "-s",
			       "-l",
			       "k8s-file:/l",
			       "--log-level",
			       "warning",
			       "--runtime-arg",
			       "--log-format=json",
			       "--runtime-arg",
			       "--log",
			       "--runtime-arg=/run/oci-log",
			       "--log-size-max=9000",
			       "--conmon-pidfile",
			       "/c.pid",
			       "--exit-command",
			       "/usr/bin/podman",
			       "--exit-command-arg",
			       "--root",
			       "--exit-command-arg",
			       "/var/lib",
			       "--timeout=5",
			       "--runtime-opt",
			       "--preserve-fds",
			       "--runtime-opt",
			       "2",
			       NULL };
	g_autofree char *msg = parse(&o, args);
	g_assert_null(msg);
	g_assert_cmpint(o.api_version, ==, 1);
	g_assert_cmpstr(o.cid, ==, "abc");
	g_assert_cmpstr(o.bundle, ==, "/b");
	g_assert_cmpstr(o.container_pidfile, ==, "/b/pidfile");
	g_assert_true(o.full_attach);
	g_assert_true(o.systemd_cgroup);
	g_assert_cmpint(g_strv_length(o.runtime_args), ==, 3);
	g_assert_cmpstr(o.runtime_args[2], ==, "/run/oci-log");
	g_assert_cmpint(o.log_size_max, ==, 9000);
	g_assert_cmpint(o.timeout, ==, 5);
	g_assert_cmpint(g_strv_length(o.exit_command_args), ==, 2);
	g_assert_cmpint(g_strv_length(o.runtime_opts), ==, 2);
	g_assert_cmpstr(o.socket_dir_path, ==, "/var/run/crio");
	cli_opts_clear(&o);
}

static void test_defaults(void)
{
	struct cli_opts o;
	g_autofree char *msg = parse(&o, (const char *[]){ BASE, NULL });
	g_assert_null(msg);
	g_autofree char *cwd = g_get_current_dir();
	g_assert_cmpstr(o.bundle, ==, cwd);
	g_autofree char *pidfile = g_strdup_printf("%s/pidfile-ctr", cwd);
	g_assert_cmpstr(o.container_pidfile, ==, pidfile);
	g_assert_cmpint(o.log_size_max, ==, -1);
	g_assert_cmpint(o.log_global_size_max, ==, -1);
	g_assert_cmpint(o.api_version, ==, 0);
	cli_opts_clear(&o);
}

static void test_legacy_exec_needs_no_cuuid(void)
{
	struct cli_opts o;
	g_autofree char *msg = parse(&o, (const char *[]){ "-c", "x", "-r", "/bin/true", "-e", "--exec-process-spec",
							   "/p.json", "-l", "none", NULL });
	g_assert_null(msg);
	g_assert_null(o.bundle);
	cli_opts_clear(&o);
}

static void test_seccomp_plugins_env(void)
{
	struct cli_opts o;
	g_setenv("CONMON_SECCOMP_NOTIFY_PLUGINS", "/a.so:/b.so", TRUE);
	g_autofree char *msg = parse(&o, (const char *[]){ BASE, NULL });
	g_assert_null(msg);
	g_assert_cmpstr(o.seccomp_notify_plugins, ==, "/a.so:/b.so");
	cli_opts_clear(&o);
	g_autofree char *msg2 = parse(&o, (const char *[]){ BASE, "--seccomp-notify-plugins", "/c.so", NULL });
	g_assert_null(msg2);
	g_assert_cmpstr(o.seccomp_notify_plugins, ==, "/c.so");
	cli_opts_clear(&o);
	g_unsetenv("CONMON_SECCOMP_NOTIFY_PLUGINS");
}

static void test_version_skips_validation(void)
{
	struct cli_opts o;
	g_autofree char *msg = parse(&o, (const char *[]){ "--version", NULL });
	g_assert_null(msg);
	g_assert_true(o.version);
	cli_opts_clear(&o);
}

/* Every flag keeps its neighbours: GOption stores a gboolean, whatever the field's type. */
static void test_flags_keep_neighbours(void)
{
	struct cli_opts o;
	g_autofree char *msg = parse(&o, (const char *[]){ BASE, "--log-max-files", "3", "--timeout", "7", "-i", "-t",
							   "--leave-stdin-open", "--no-container-partial-message",
							   "--log-rotate", NULL });
	g_assert_null(msg);
	g_assert_true(o.stdin_pipe && o.terminal && o.leave_stdin_open && o.no_container_partial_message);
	g_assert_true(o.log_rotate);
	g_assert_cmpint(o.log_max_files, ==, 3);
	g_assert_cmpint(o.timeout, ==, 7);
	cli_opts_clear(&o);
	/* --log-rotate alone: one backup, conmon's default */
	g_autofree char *msg2 = parse(&o, (const char *[]){ BASE, "--log-rotate", NULL });
	g_assert_null(msg2);
	g_assert_cmpint(o.log_max_files, ==, 1);
	cli_opts_clear(&o);
}

/* conmon 2.2's log-max-files checks come before the container id's. */
static void test_log_max_files(void)
{
	expect_error((const char *[]){ "--log-max-files", "-1", NULL }, "log-max-files must be non-negative, got -1");
	expect_error((const char *[]){ BASE, "--log-rotate", "--log-max-files", "0", NULL },
		     "log-max-files must be at least 1 when log-rotate is enabled, got 0");
	struct cli_opts o;
	g_autofree char *msg = parse(&o, (const char *[]){ BASE, "--log-max-files", "0", NULL });
	g_assert_null(msg);
	cli_opts_clear(&o);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cli/validation_order", test_validation_order);
	g_test_add_func("/cli/podman_style", test_podman_style);
	g_test_add_func("/cli/defaults", test_defaults);
	g_test_add_func("/cli/flags_keep_neighbours", test_flags_keep_neighbours);
	g_test_add_func("/cli/log_max_files", test_log_max_files);
	g_test_add_func("/cli/legacy_exec", test_legacy_exec_needs_no_cuuid);
	g_test_add_func("/cli/version", test_version_skips_validation);
	g_test_add_func("/cli/seccomp_plugins_env", test_seccomp_plugins_env);
	return g_test_run();
}
