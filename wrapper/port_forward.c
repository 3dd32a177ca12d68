/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Setting the forwarder up. `ctr-wrap run` forks and, in the child, only puts
 * the fds into their slots and execs the hidden `ctr-wrap port-forward`: a
 * fresh process, free to use GLib, whatever threads or locks the parent had.
 */
#include "wrapper/port_forward.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "common/child_fds.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "wrapper/port_relay.h"
#include "wrapper/ports.h"

extern char **environ;

/* Where the forwarder finds its fds; the reserved sockets follow FD_PORTS0, in the order of its arguments. */
enum {
	FD_STATUS = 3,
	FD_PIDFD,
	FD_NETNS,
	FD_PORTS0
};

/*
 * Setup status on the pipe to the parent: STATUS_OK, or STATUS_FAIL and a message. EOF alone means the child
 * died before it could say anything.
 */
#define STATUS_OK '+'
#define STATUS_FAIL '-'

static int loopback_up(void)
{
	struct ifreq ifr;
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", sizeof("lo"));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static G_GNUC_NORETURN void child_fail_msg(const char *text)
{
	char msg[256];
	int len = snprintf(msg, sizeof(msg), "%c%s", STATUS_FAIL, text);

	if (len > 0)
		(void)cm_write_all(FD_STATUS, msg, MIN((size_t)len, sizeof(msg) - 1), -1);
	_exit(1);
}

static G_GNUC_NORETURN void child_fail(const char *what)
{
	g_autofree char *text = g_strdup_printf("%s: %s", what, strerror(errno));

	child_fail_msg(text);
}

/* Alone in its own session with /dev/null for stdio and only the fds it was given. */
static void detach_process(int n_ports)
{
	sigset_t none;
	struct rlimit rl;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0)
		child_fail("open /dev/null");
	for (int i = 0; i < 3; i++)
		if (dup2(null, i) < 0)
			child_fail("dup2 /dev/null");
	if (null > 2)
		close(null);
	closefrom(FD_PORTS0 + n_ports);
	/* Out of the wrapper's session and process group: ^C on its terminal must not reach us. */
	if (setsid() < 0)
		child_fail("setsid");
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* "tcp:80" or "udp:53". */
static int parse_port_arg(const char *arg, bool *udp, guint16 *port)
{
	int v;

	if (g_str_has_prefix(arg, "tcp:"))
		*udp = false;
	else if (g_str_has_prefix(arg, "udp:"))
		*udp = true;
	else
		return -1;
	if (!cm_parse_int(arg + 4, &v) || v < 1 || v > 65535)
		return -1;
	*port = (guint16)v;
	return 0;
}

int port_forward_main(int argc, char **argv)
{
	int n_ports = argc - 1;
	struct port_relay_limits lim;
	g_autoptr(GError) err = NULL;
	struct port_relay *r;
	char ok = STATUS_OK;

	detach_process(n_ports);
	if (port_relay_limits_from_env(&lim, &err) < 0)
		child_fail_msg(err->message);
	/* Its stderr is /dev/null: the relay's warnings (a limit reached) go to syslog. */
	openlog("ctr-wrap-port-forward", LOG_PID, LOG_DAEMON);
	r = port_relay_new(FD_PIDFD, (size_t)n_ports, &lim);
	if (!r)
		child_fail("set up the relay");
	for (int i = 0; i < n_ports; i++) {
		bool udp;
		guint16 port;

		if (parse_port_arg(argv[i + 1], &udp, &port) < 0) {
			errno = EINVAL;
			child_fail(argv[i + 1]);
		}
		if (port_relay_add(r, FD_PORTS0 + i, udp, port) < 0)
			child_fail("watch a port socket");
	}
	/* The host sockets keep working in the namespace they were made in; every socket made from here on is
	 * inside the container. */
	if (setns(FD_NETNS, CLONE_NEWNET) < 0)
		child_fail("setns into the container's network namespace");
	close(FD_NETNS);
	if (loopback_up() < 0)
		child_fail("bring up lo in the container's network namespace");
	if (cm_write_all(FD_STATUS, &ok, 1, -1) < 0)
		return 1;
	close(FD_STATUS);
	port_relay_run(r);
}

/* TCP reservations start listening (shared with the monitor's copy of the socket). */
static int listen_all(GArray *mappings, GArray *reserved_fds, GError **err)
{
	for (guint i = 0; i < mappings->len; i++) {
		const struct port_mapping *m = &g_array_index(mappings, struct port_mapping, i);
		int fd = g_array_index(reserved_fds, int, i);
		if (m->proto == PORT_PROTO_TCP && (ports_set_reuseaddr(fd, true) < 0 || listen(fd, SOMAXCONN) < 0)) {
			g_autofree char *what = ports_format(m);
			return cm_set_errno(err, errno, "listen on %s", what);
		}
	}
	return 0;
}

static char **forwarder_argv(const char *self, GArray *mappings)
{
	GPtrArray *a = g_ptr_array_new();

	g_ptr_array_add(a, g_strdup(self));
	g_ptr_array_add(a, g_strdup("port-forward"));
	for (guint i = 0; i < mappings->len; i++) {
		const struct port_mapping *m = &g_array_index(mappings, struct port_mapping, i);
		g_ptr_array_add(a, g_strdup_printf("%s:%u", m->proto == PORT_PROTO_UDP ? "udp" : "tcp", m->ctr_port));
	}
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

/* In the forked child: async-signal-safe calls only, up to the exec. */
static G_GNUC_NORETURN void exec_forwarder(char **argv, int *fds, size_t n_fds, const char *fail_msg)
{
	if (cm_place_fds(fds, n_fds, FD_STATUS) == 0)
		execve(argv[0], argv, environ);
	/* fds[0] is the status pipe, in its slot or still where it was. */
	(void)cm_write_all(fds[0], fail_msg, strlen(fail_msg), -1);
	_exit(127);
}

/* The forwarder's answer on the status pipe; reaps it unless it is up. */
static pid_t wait_ready(pid_t pid, int status_r, GError **err)
{
	char msg[257];
	ssize_t got = cm_read_full(status_r, msg, sizeof(msg) - 1);
	int saved = errno;

	if (got == 1 && msg[0] == STATUS_OK)
		return pid;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (got < 0)
		return cm_set_errno(err, saved, "port forwarder: read status");
	if (got == 0 || msg[0] != STATUS_FAIL)
		return cm_set_error(err, EIO, "port forwarder: died during setup");
	msg[got] = '\0';
	return cm_set_error(err, EIO, "port forwarder: %s", msg + 1);
}

pid_t port_forward_start(const char *self, GArray *mappings, GArray *reserved_fds, pid_t container_pid, GError **err)
{
	if (mappings->len != reserved_fds->len)
		return cm_set_error(err, EINVAL, "port forwarder: %u mappings but %u reserved sockets", mappings->len,
				    reserved_fds->len);
	if (listen_all(mappings, reserved_fds, err) < 0)
		return -1;

	_cleanup_close_ int pidfd = pidfd_open(container_pid, 0);
	if (pidfd < 0)
		return cm_set_errno(err, errno, "pidfd_open container pid %d", container_pid);
	g_autofree char *ns_path = g_strdup_printf("/proc/%d/ns/net", container_pid);
	_cleanup_close_ int netns = open(ns_path, O_RDONLY | O_CLOEXEC);
	if (netns < 0)
		return cm_set_errno(err, errno, "open %s", ns_path);
	int status[2];
	if (pipe2(status, O_CLOEXEC) < 0)
		return cm_set_errno(err, errno, "pipe2");
	_cleanup_close_ int status_r = status[0];
	_cleanup_close_ int status_w = status[1];

	/* Everything the child needs is laid out before fork: it only moves fds and execs. */
	g_auto(GStrv) argv = forwarder_argv(self, mappings);
	g_autofree char *fail_msg = g_strdup_printf("%ccannot execute %s port-forward", STATUS_FAIL, self);
	g_autofree int *fds = g_new(int, 3 + reserved_fds->len);
	fds[0] = status_w;
	fds[1] = pidfd;
	fds[2] = netns;
	memcpy(fds + 3, reserved_fds->data, reserved_fds->len * sizeof(int));

	pid_t pid = fork();
	if (pid < 0)
		return cm_set_errno(err, errno, "fork port forwarder");
	if (pid == 0)
		exec_forwarder(argv, fds, 3 + reserved_fds->len, fail_msg);
	close(TAKE_FD(status_w));
	return wait_ready(pid, status_r, err);
}
