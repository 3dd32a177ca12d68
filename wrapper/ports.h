/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Published ports (`run -p [IP:][HOST:]CTR[/tcp|udp]`): parsing, and host
 * port reservation. A reservation is a bound (not listening) socket that the
 * monitor keeps open for the container's lifetime, so nobody else can take the
 * port meanwhile and `run` fails early when it is already taken.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

enum port_proto {
	PORT_PROTO_TCP,
	PORT_PROTO_UDP,
};

struct port_mapping {
	char *host_ip;	   /* NULL: every address (dual stack) */
	guint16 host_port; /* 0: random, filled in by ports_reserve() */
	guint16 ctr_port;
	enum port_proto proto;
};

/* A GArray of struct port_mapping that frees host_ip on removal. */
GArray *ports_mappings_new(void);

/* Parse one -p value and append one mapping per port and protocol to out. */
int ports_parse(const char *spec, GArray *out, GError **err);

/* "127.0.0.1:8080->80/tcp", "0.0.0.0:8080->80/udp", "[::1]:8080->80/tcp". */
char *ports_format(const struct port_mapping *m);

/* The mapping as a -p value that ports_parse() reads back: "127.0.0.1:8080:80/tcp", "[::1]:8080:80/udp". */
char *ports_spec(const struct port_mapping *m);

/*
 * Bind one socket per mapping (fds_out, a GArray of int, gets them in
 * mapping order). Random host ports are written back into mappings. On
 * failure nothing stays open and fds_out is left as it was.
 */
int ports_reserve(GArray *mappings, GArray *fds_out, GError **err);

/*
 * A TCP reservation is bound with SO_REUSEADDR, which is then cleared so no one else can bind the port
 * (see ports.c). Whoever starts listening on it sets it again (else old TIME_WAIT connections make
 * listen() fail). Returns setsockopt()'s result.
 */
int ports_set_reuseaddr(int fd, bool on);

/* Close and empty a GArray of int fds. */
void ports_close_fds(GArray *fds);
