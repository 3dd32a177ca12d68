/* SPDX-License-Identifier: Apache-2.0 */
#include <glib.h>
#include <signal.h>

#include "wrapper/signal_name.h"

static int parsed(const char *text)
{
	int n = -1;
	return signal_parse(text, &n) ? n : -1;
}

static void test_names_and_numbers(void)
{
	g_assert_cmpint(parsed("TERM"), ==, SIGTERM);
	g_assert_cmpint(parsed("SIGTERM"), ==, SIGTERM);
	g_assert_cmpint(parsed("sigkill"), ==, SIGKILL);
	g_assert_cmpint(parsed("usr1"), ==, SIGUSR1);
	g_assert_cmpint(parsed("15"), ==, 15);
	g_assert_cmpint(parsed("IO"), ==, SIGIO);
	g_assert_cmpint(parsed("POLL"), ==, SIGIO);
	g_assert_cmpint(parsed("IOT"), ==, SIGABRT);
	g_assert_cmpint(parsed("CLD"), ==, SIGCHLD);
}

static void test_realtime(void)
{
	g_assert_cmpint(parsed("RTMIN"), ==, SIGRTMIN);
	g_assert_cmpint(parsed("SIGRTMIN+3"), ==, SIGRTMIN + 3);
	g_assert_cmpint(parsed("RTMAX-1"), ==, SIGRTMAX - 1);
	g_assert_cmpint(parsed("RTMAX"), ==, SIGRTMAX);
	g_assert_cmpint(parsed("RTMAX+1"), ==, -1);
	g_assert_cmpint(parsed("RTMIN-1"), ==, -1);
	g_assert_cmpint(parsed("RTMIN+x"), ==, -1);
}

static void test_rejected(void)
{
	g_assert_cmpint(parsed("0"), ==, -1);
	g_assert_cmpint(parsed("-9"), ==, -1);
	g_assert_cmpint(parsed("65"), ==, -1);
	g_assert_cmpint(parsed("SIG15"), ==, -1);
	g_assert_cmpint(parsed("NOPE"), ==, -1);
	g_assert_cmpint(parsed(""), ==, -1);
	g_assert_cmpint(parsed("SIG"), ==, -1);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/signal_name/names_and_numbers", test_names_and_numbers);
	g_test_add_func("/signal_name/realtime", test_realtime);
	g_test_add_func("/signal_name/rejected", test_rejected);
	return g_test_run();
}
