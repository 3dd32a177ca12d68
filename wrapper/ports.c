/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/ports.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"

/* Head-room kept free for everything else the wrapper opens besides the reservations. */
#define PORTS_FD_SLACK 256

static void mapping_clear(gpointer p)
{
	struct port_mapping *m = p;

	g_clear_pointer(&m->host_ip, g_free);
}

GArray *ports_mappings_new(void)
{
	GArray *a = g_array_new(FALSE, TRUE, sizeof(struct port_mapping));

	g_array_set_clear_func(a, mapping_clear);
	return a;
}

static const char *ports_proto_name(enum port_proto proto)
{
	return proto == PORT_PROTO_UDP ? "udp" : "tcp";
}

static bool parse_port(const char *s, guint16 *out)
{
	if (*s == '\0' || strlen(s) > 5)
		return false;
	unsigned v = 0;
	for (const char *p = s; *p; p++) {
		if (!g_ascii_isdigit(*p))
			return false;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v < 1 || v > 65535)
		return false;
	*out = (guint16)v;
	return true;
}

/* "N" or "N-M"; which names the side ("host"/"container") in the message. */
static int parse_range(const char *spec, const char *s, const char *which, guint16 *lo, guint16 *hi, GError **err)
{
	g_auto(GStrv) ends = g_strsplit(s, "-", 0);
	guint n = g_strv_length(ends);

	if (n == 0 || n > 2 || !parse_port(ends[0], lo) || (n == 2 && !parse_port(ends[1], hi))) {
		cm_set_error(err, EINVAL, "bad port spec '%s': %s port must be a number 1-65535 or a range LOW-HIGH",
			     spec, which);
		return -1;
	}
	if (n == 1)
		*hi = *lo;
	if (*lo > *hi) {
		cm_set_error(err, EINVAL, "bad port spec '%s': %s port range %s is reversed, write it as LOW-HIGH",
			     spec, which, s);
		return -1;
	}
	return 0;
}

static int parse_protos(const char *spec, const char *s, bool want[2], GError **err)
{
	g_auto(GStrv) names = g_strsplit(s, ",", 0);

	want[PORT_PROTO_TCP] = want[PORT_PROTO_UDP] = false;
	for (char **p = names; *p; p++) {
		if (g_ascii_strcasecmp(*p, "tcp") == 0) {
			want[PORT_PROTO_TCP] = true;
		} else if (g_ascii_strcasecmp(*p, "udp") == 0) {
			want[PORT_PROTO_UDP] = true;
		} else if (g_ascii_strcasecmp(*p, "sctp") == 0) {
			cm_set_error(err, EINVAL, "bad port spec '%s': sctp is not supported, use tcp or udp", spec);
			return -1;
		} else {
			cm_set_error(err, EINVAL, "bad port spec '%s': protocol must be tcp or udp", spec);
			return -1;
		}
	}
	if (!want[PORT_PROTO_TCP] && !want[PORT_PROTO_UDP]) {
		cm_set_error(err, EINVAL, "bad port spec '%s': protocol must be tcp or udp", spec);
		return -1;
	}
	return 0;
}

static bool valid_ip(const char *ip)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1;
}

int ports_parse(const char *spec, GArray *out, GError **err)
{
	g_autofree char *body = g_strdup(spec);
	bool want[2] = { true, false };
	char *slash = strrchr(body, '/');

	if (slash) {
		*slash = '\0';
		if (parse_protos(spec, slash + 1, want, err) < 0)
			return -1;
	}

	g_autofree char *ip = NULL;
	g_auto(GStrv) parts = NULL;
	if (body[0] == '[') {
		char *close = strchr(body, ']');
		if (!close || close[1] != ':') {
			cm_set_error(err, EINVAL, "bad port spec '%s': write an IPv6 host IP as [IP]:HOST:CTR", spec);
			return -1;
		}
		ip = g_strndup(body + 1, (gsize)(close - body - 1));
		parts = g_strsplit(close + 2, ":", 0);
		if (g_strv_length(parts) != 2) {
			cm_set_error(err, EINVAL, "bad port spec '%s': expected [IP]:HOST:CTR", spec);
			return -1;
		}
	} else {
		g_auto(GStrv) all = g_strsplit(body, ":", 0);
		guint n = g_strv_length(all);
		if (n == 0 || n > 3) {
			cm_set_error(err, EINVAL,
				     "bad port spec '%s': expected [IP:][HOST:]CTR (write an IPv6 host IP in brackets: "
				     "[::1]:8080:80)",
				     spec);
			return -1;
		}
		if (n == 3)
			ip = g_strdup(all[0]);
		parts = g_new0(char *, 3);
		parts[0] = g_strdup(n >= 2 ? all[n - 2] : "");
		parts[1] = g_strdup(all[n - 1]);
	}
	if (ip && *ip == '\0')
		g_clear_pointer(&ip, g_free);
	if (ip && !valid_ip(ip)) {
		cm_set_error(err, EINVAL, "bad port spec '%s': host IP '%s' is not an IPv4 or IPv6 address", spec, ip);
		return -1;
	}

	guint16 clo, chi, hlo = 0, hhi = 0;
	if (parse_range(spec, parts[1], "container", &clo, &chi, err) < 0)
		return -1;
	bool random_host = parts[0][0] == '\0';
	if (!random_host) {
		if (parse_range(spec, parts[0], "host", &hlo, &hhi, err) < 0)
			return -1;
		if (hhi - hlo != chi - clo) {
			cm_set_error(err, EINVAL,
				     "bad port spec '%s': host range has %d ports but container range has %d, "
				     "make them the same length",
				     spec, hhi - hlo + 1, chi - clo + 1);
			return -1;
		}
	}

	for (int proto = PORT_PROTO_TCP; proto <= PORT_PROTO_UDP; proto++) {
		if (!want[proto])
			continue;
		for (unsigned i = 0; i <= (unsigned)(chi - clo); i++) {
			struct port_mapping m = {
				.host_ip = g_strdup(ip),
				.host_port = random_host ? 0 : (guint16)(hlo + i),
				.ctr_port = (guint16)(clo + i),
				.proto = (enum port_proto)proto,
			};
			g_array_append_val(out, m);
		}
	}
	return 0;
}

static char *format_host(const char *ip, guint16 port)
{
	if (!ip)
		return g_strdup_printf("0.0.0.0:%u", port);
	if (strchr(ip, ':'))
		return g_strdup_printf("[%s]:%u", ip, port);
	return g_strdup_printf("%s:%u", ip, port);
}

char *ports_format(const struct port_mapping *m)
{
	g_autofree char *host = format_host(m->host_ip, m->host_port);

	return g_strdup_printf("%s->%u/%s", host, m->ctr_port, ports_proto_name(m->proto));
}

char *ports_spec(const struct port_mapping *m)
{
	const char *proto = ports_proto_name(m->proto);

	if (!m->host_ip)
		return g_strdup_printf("%u:%u/%s", m->host_port, m->ctr_port, proto);
	if (strchr(m->host_ip, ':'))
		return g_strdup_printf("[%s]:%u:%u/%s", m->host_ip, m->host_port, m->ctr_port, proto);
	return g_strdup_printf("%s:%u:%u/%s", m->host_ip, m->host_port, m->ctr_port, proto);
}

static int bind_failure(GError **err, int errnum, const struct port_mapping *m)
{
	g_autofree char *host = format_host(m->host_ip, m->host_port);
	g_autofree char *text = g_strdup(g_strerror(errnum));

	text[0] = g_ascii_tolower(text[0]);
	return cm_set_error(err, errnum, "cannot bind %s port %s: %s", ports_proto_name(m->proto), host, text);
}

int ports_set_reuseaddr(int fd, bool on)
{
	int v = on;

	return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v));
}

static int reserve_one(struct port_mapping *m, GError **err)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} addr = { 0 };
	socklen_t addrlen;
	int type = (m->proto == PORT_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC;
	int v6only = 1;
	_cleanup_close_ int fd = -1;

	if (m->host_ip && inet_pton(AF_INET, m->host_ip, &addr.in4.sin_addr) == 1) {
		addr.in4.sin_family = AF_INET;
	} else if (m->host_ip) {
		if (inet_pton(AF_INET6, m->host_ip, &addr.in6.sin6_addr) != 1)
			return cm_set_error(err, EINVAL, "host IP '%s' is not an IPv4 or IPv6 address", m->host_ip);
		addr.in6.sin6_family = AF_INET6;
	} else {
		/* One dual-stack socket covers both families; hosts without IPv6 get plain IPv4. */
		addr.in6.sin6_family = AF_INET6;
		addr.in6.sin6_addr = in6addr_any;
		v6only = 0;
	}

	fd = socket(addr.sa.sa_family, type, 0);
	if (fd < 0 && errno == EAFNOSUPPORT && !m->host_ip) {
		memset(&addr, 0, sizeof(addr));
		addr.in4.sin_family = AF_INET;
		addr.in4.sin_addr.s_addr = htonl(INADDR_ANY);
		fd = socket(AF_INET, type, 0);
	}
	if (fd < 0)
		return bind_failure(err, errno, m);

	if (addr.sa.sa_family == AF_INET6) {
		addr.in6.sin6_port = htons(m->host_port);
		addrlen = sizeof(addr.in6);
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)
			return cm_set_errno(err, errno, "setsockopt IPV6_V6ONLY");
	} else {
		addr.in4.sin_port = htons(m->host_port);
		addrlen = sizeof(addr.in4);
	}
	if (m->proto == PORT_PROTO_TCP && ports_set_reuseaddr(fd, true) < 0)
		return cm_set_errno(err, errno, "setsockopt SO_REUSEADDR");
	if (bind(fd, &addr.sa, addrlen) < 0)
		return bind_failure(err, errno, m);
	/*
	 * SO_REUSEADDR gets the bind past old connections in TIME_WAIT, but a bound, non-listening socket that
	 * keeps it lets any other SO_REUSEADDR socket bind and even listen on the same port (verified on 6.x):
	 * the reservation would hold nothing. Cleared, it conflicts with every later bind.
	 */
	if (m->proto == PORT_PROTO_TCP && ports_set_reuseaddr(fd, false) < 0)
		return cm_set_errno(err, errno, "setsockopt SO_REUSEADDR");

	if (m->host_port == 0) {
		addrlen = sizeof(addr);
		if (getsockname(fd, &addr.sa, &addrlen) < 0)
			return cm_set_errno(err, errno, "getsockname for random %s port", ports_proto_name(m->proto));
		m->host_port = ntohs(addr.sa.sa_family == AF_INET6 ? addr.in6.sin6_port : addr.in4.sin_port);
	}
	return TAKE_FD(fd);
}

static void raise_nofile(guint needed)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= (rlim_t)needed + PORTS_FD_SLACK)
		return;
	/* Best effort: if it fails, bind reports EMFILE with the port that hit it. */
	rl.rlim_cur = rl.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

int ports_reserve(GArray *mappings, GArray *fds_out, GError **err)
{
	g_autoptr(GArray) fds = g_array_new(FALSE, FALSE, sizeof(int));

	raise_nofile(mappings->len);
	for (guint i = 0; i < mappings->len; i++) {
		int fd = reserve_one(&g_array_index(mappings, struct port_mapping, i), err);
		if (fd < 0) {
			ports_close_fds(fds);
			return -1;
		}
		g_array_append_val(fds, fd);
	}
	g_array_append_vals(fds_out, fds->data, fds->len);
	return 0;
}

void ports_close_fds(GArray *fds)
{
	for (guint i = 0; i < fds->len; i++)
		close(g_array_index(fds, int, i));
	g_array_set_size(fds, 0);
}
