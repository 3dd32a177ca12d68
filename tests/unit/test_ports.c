/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/child_fds.h"
#include "common/error.h"
#include "wrapper/ports.h"

static struct port_mapping *at(GArray *a, guint i)
{
	return &g_array_index(a, struct port_mapping, i);
}

static void assert_map(GArray *a, guint i, const char *ip, guint16 host, guint16 ctr, enum port_proto proto)
{
	g_assert_cmpuint(i, <, a->len);
	g_assert_cmpstr(at(a, i)->host_ip, ==, ip);
	g_assert_cmpuint(at(a, i)->host_port, ==, host);
	g_assert_cmpuint(at(a, i)->ctr_port, ==, ctr);
	g_assert_cmpint(at(a, i)->proto, ==, proto);
}

static GArray *parse_ok(const char *spec)
{
	GArray *a = ports_mappings_new();
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(ports_parse(spec, a, &err), ==, 0);
	g_assert_no_error(err);
	return a;
}

static void test_parse_ok(void)
{
	g_autoptr(GArray) a = parse_ok("80");
	g_assert_cmpuint(a->len, ==, 1);
	assert_map(a, 0, NULL, 0, 80, PORT_PROTO_TCP);

	g_autoptr(GArray) b = parse_ok("8080:80");
	assert_map(b, 0, NULL, 8080, 80, PORT_PROTO_TCP);

	g_autoptr(GArray) c = parse_ok("127.0.0.1:8080:80/udp");
	g_assert_cmpuint(c->len, ==, 1);
	assert_map(c, 0, "127.0.0.1", 8080, 80, PORT_PROTO_UDP);

	g_autoptr(GArray) d = parse_ok("127.0.0.1::80");
	assert_map(d, 0, "127.0.0.1", 0, 80, PORT_PROTO_TCP);

	g_autoptr(GArray) e = parse_ok("[::1]:8080:80/TCP");
	assert_map(e, 0, "::1", 8080, 80, PORT_PROTO_TCP);

	g_autoptr(GArray) f = parse_ok("8000-8002:80-82");
	g_assert_cmpuint(f->len, ==, 3);
	assert_map(f, 0, NULL, 8000, 80, PORT_PROTO_TCP);
	assert_map(f, 2, NULL, 8002, 82, PORT_PROTO_TCP);

	g_autoptr(GArray) g = parse_ok("53/tcp,udp");
	g_assert_cmpuint(g->len, ==, 2);
	assert_map(g, 0, NULL, 0, 53, PORT_PROTO_TCP);
	assert_map(g, 1, NULL, 0, 53, PORT_PROTO_UDP);

	g_autoptr(GArray) h = parse_ok("::80-81");
	g_assert_cmpuint(h->len, ==, 2);
	assert_map(h, 1, NULL, 0, 81, PORT_PROTO_TCP);

	/* Appends to what is there. */
	g_autoptr(GError) err = NULL;
	g_assert_cmpint(ports_parse("1:2/udp", h, &err), ==, 0);
	g_assert_cmpuint(h->len, ==, 3);
	assert_map(h, 2, NULL, 1, 2, PORT_PROTO_UDP);

	g_autofree char *s1 = ports_format(at(c, 0));
	g_assert_cmpstr(s1, ==, "127.0.0.1:8080->80/udp");
	g_autofree char *s2 = ports_format(at(e, 0));
	g_assert_cmpstr(s2, ==, "[::1]:8080->80/tcp");
	g_autofree char *s3 = ports_format(at(b, 0));
	g_assert_cmpstr(s3, ==, "0.0.0.0:8080->80/tcp");
}

static void test_parse_errors(void)
{
	static const struct {
		const char *spec;
		const char *msg;
	} cases[] = {
		{ "80:x", "bad port spec '80:x': container port must be a number 1-65535" },
		{ "x:80", "bad port spec 'x:80': host port must be a number 1-65535" },
		{ "", "bad port spec '': expected [IP:][HOST:]CTR" },
		{ "0", "container port must be a number 1-65535" },
		{ "65536", "container port must be a number 1-65535" },
		{ "80-", "container port must be a number 1-65535" },
		{ "+80", "container port must be a number 1-65535" },
		{ "0:80", "host port must be a number 1-65535" },
		{ "82-80", "container port range 82-80 is reversed" },
		{ "8000-8001:80-82", "host range has 2 ports but container range has 3, make them the same length" },
		{ "80/sctp", "bad port spec '80/sctp': sctp is not supported, use tcp or udp" },
		{ "80/icmp", "protocol must be tcp or udp" },
		{ "80/", "protocol must be tcp or udp" },
		{ "1.2.3:80:80", "host IP '1.2.3' is not an IPv4 or IPv6 address" },
		{ "::1:8080:80", "write an IPv6 host IP in brackets" },
		{ "[::1:8080:80", "write an IPv6 host IP as [IP]:HOST:CTR" },
		{ "[::1]:80", "expected [IP]:HOST:CTR" },
		{ "[nope]:1:80", "host IP 'nope' is not an IPv4 or IPv6 address" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GArray) a = ports_mappings_new();
		g_autoptr(GError) err = NULL;

		g_test_message("spec '%s'", cases[i].spec);
		g_assert_cmpint(ports_parse(cases[i].spec, a, &err), ==, -1);
		g_assert_nonnull(err);
		g_assert_nonnull(strstr(err->message, cases[i].msg));
		g_assert_null(strchr(err->message, '\n'));
		g_assert_cmpuint(a->len, ==, 0);
	}
}

static guint count_fds(void)
{
	g_autoptr(GDir) dir = g_dir_open("/proc/self/fd", 0, NULL);
	guint n = 0;

	g_assert_nonnull(dir);
	while (g_dir_read_name(dir))
		n++;
	return n;
}

static void test_reserve_conflict(void)
{
	g_autoptr(GArray) first = ports_mappings_new();
	g_autoptr(GArray) fds = g_array_new(FALSE, FALSE, sizeof(int));
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(ports_parse("127.0.0.1::1/tcp,udp", first, &err), ==, 0);
	g_assert_cmpint(ports_reserve(first, fds, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpuint(fds->len, ==, 2);
	guint16 tcp_port = at(first, 0)->host_port;
	g_assert_cmpuint(tcp_port, >, 0);
	g_assert_cmpuint(at(first, 1)->host_port, >, 0);
	for (guint i = 0; i < fds->len; i++)
		g_assert_true(fcntl(g_array_index(fds, int, i), F_GETFD) & FD_CLOEXEC);

	/* The second set opens one socket fine before hitting the taken port: it must be closed too. */
	g_autoptr(GArray) second = ports_mappings_new();
	g_autoptr(GArray) fds2 = g_array_new(FALSE, FALSE, sizeof(int));
	g_autofree char *spec = g_strdup_printf("127.0.0.1:%u:80", tcp_port);
	g_assert_cmpint(ports_parse("127.0.0.1::81", second, &err), ==, 0);
	g_assert_cmpint(ports_parse(spec, second, &err), ==, 0);
	guint before = count_fds();
	g_assert_cmpint(ports_reserve(second, fds2, &err), ==, -1);
	g_autofree char *want = g_strdup_printf("cannot bind tcp port 127.0.0.1:%u: address already in use", tcp_port);
	g_assert_cmpstr(err->message, ==, want);
	g_assert_cmpint(cm_error_errno(err), ==, EADDRINUSE);
	g_assert_cmpuint(fds2->len, ==, 0);
	g_assert_cmpuint(count_fds(), ==, before);
	g_clear_error(&err);

	/* Another server using SO_REUSEADDR, as most do, cannot take the port either. */
	int other = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(tcp_port) };
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(setsockopt(other, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), ==, 0);
	g_assert_cmpint(bind(other, (struct sockaddr *)&sin, sizeof(sin)), ==, -1);
	g_assert_cmpint(errno, ==, EADDRINUSE);
	close(other);

	/* UDP conflicts as well. */
	g_autoptr(GArray) third = ports_mappings_new();
	g_autofree char *uspec = g_strdup_printf("127.0.0.1:%u:80/udp", at(first, 1)->host_port);
	g_assert_cmpint(ports_parse(uspec, third, &err), ==, 0);
	g_assert_cmpint(ports_reserve(third, fds2, &err), ==, -1);
	g_assert_nonnull(strstr(err->message, "cannot bind udp port 127.0.0.1:"));
	g_assert_cmpuint(fds2->len, ==, 0);
	g_clear_error(&err);

	ports_close_fds(fds);
	g_assert_cmpuint(fds->len, ==, 0);
	/* Free again once the reservation is closed. */
	g_assert_cmpint(ports_reserve(third, fds2, &err), ==, 0);
	g_assert_no_error(err);
	ports_close_fds(fds2);
}

static void assert_v6only(int fd, int want)
{
	int v = -1;
	socklen_t len = sizeof(v);

	g_assert_cmpint(getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len), ==, 0);
	g_assert_cmpint(v, ==, want);
}

static int sock_family(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	g_assert_cmpint(getsockname(fd, (struct sockaddr *)&ss, &len), ==, 0);
	return ss.ss_family;
}

static void test_reserve_families(void)
{
	g_autoptr(GArray) maps = ports_mappings_new();
	g_autoptr(GArray) fds = g_array_new(FALSE, FALSE, sizeof(int));
	g_autoptr(GError) err = NULL;

	g_assert_cmpint(ports_parse("1/tcp,udp", maps, &err), ==, 0);
	g_assert_cmpint(ports_parse("127.0.0.1::1", maps, &err), ==, 0);
	if (access("/proc/net/if_inet6", F_OK) == 0)
		g_assert_cmpint(ports_parse("[::1]::1", maps, &err), ==, 0);
	g_assert_cmpint(ports_reserve(maps, fds, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpuint(fds->len, ==, maps->len);

	for (guint i = 0; i < 2; i++) {
		int fd = g_array_index(fds, int, i);
		if (sock_family(fd) == AF_INET6)
			assert_v6only(fd, 0);
		else
			g_assert_cmpint(sock_family(fd), ==, AF_INET);
	}
	g_assert_cmpint(sock_family(g_array_index(fds, int, 2)), ==, AF_INET);
	if (maps->len == 4) {
		g_assert_cmpint(sock_family(g_array_index(fds, int, 3)), ==, AF_INET6);
		assert_v6only(g_array_index(fds, int, 3), 1);
	}

	/* A dual-stack TCP reservation also holds the IPv4 port. */
	int fd = g_array_index(fds, int, 0);
	if (sock_family(fd) == AF_INET6) {
		g_autoptr(GArray) v4 = ports_mappings_new();
		g_autoptr(GArray) fds2 = g_array_new(FALSE, FALSE, sizeof(int));
		g_autofree char *spec = g_strdup_printf("127.0.0.1:%u:1", at(maps, 0)->host_port);
		g_assert_cmpint(ports_parse(spec, v4, &err), ==, 0);
		g_assert_cmpint(ports_reserve(v4, fds2, &err), ==, -1);
		g_assert_nonnull(strstr(err->message, "address already in use"));
	}
	ports_close_fds(fds);
}

static void assert_same_file(int a, int b)
{
	struct stat sa, sb;

	g_assert_cmpint(fstat(a, &sa), ==, 0);
	g_assert_cmpint(fstat(b, &sb), ==, 0);
	g_assert_cmpuint(sa.st_ino, ==, sb.st_ino);
	g_assert_cmpuint(sa.st_dev, ==, sb.st_dev);
}

/* Close-on-exec sources come out inheritable at their places: what the monitor and forwarder children rely on. */
static void test_place(void)
{
	int p[2];

	g_assert_cmpint(pipe2(p, O_CLOEXEC), ==, 0);
	/* Sources inside the target range, swapped: 201 -> 200 and 200 -> 201. */
	g_assert_cmpint(dup3(p[0], 201, O_CLOEXEC), ==, 201);
	g_assert_cmpint(dup3(p[1], 200, O_CLOEXEC), ==, 200);
	int moved[2] = { 201, 200 };
	guint before = count_fds();
	g_assert_cmpint(cm_place_fds(moved, 2, 200), ==, 0);
	g_assert_cmpint(moved[0], ==, 200);
	g_assert_cmpint(moved[1], ==, 201);
	g_assert_cmpuint(count_fds(), ==, before);
	assert_same_file(200, p[0]);
	assert_same_file(201, p[1]);
	g_assert_cmpint(fcntl(200, F_GETFD) & FD_CLOEXEC, ==, 0);
	g_assert_cmpint(fcntl(201, F_GETFD) & FD_CLOEXEC, ==, 0);
	close(200);
	close(201);
	close(p[0]);
	close(p[1]);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ports/parse_ok", test_parse_ok);
	g_test_add_func("/ports/parse_errors", test_parse_errors);
	g_test_add_func("/ports/reserve_conflict", test_reserve_conflict);
	g_test_add_func("/ports/reserve_families", test_reserve_families);
	g_test_add_func("/ports/place", test_place);
	return g_test_run();
}
