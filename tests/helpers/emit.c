/* SPDX-License-Identifier: Apache-2.0 */
/*
 * emit: write a deterministic pseudo-random byte stream to stdout and/or
 * stderr, for the logging tests (tests/integration/test_logging.py mirrors
 * the generator in Python and compares what the log driver kept).
 *
 *   emit SEED TOTAL MAXLEN MODE STREAMS NOFINALNL MAXCHUNK [PAUSE_US]
 *
 * MODE 0 printable text, 1 text with '\r', 2 any byte but '\n'.
 * STREAMS 1 stdout, 2 stderr, 3 both (chosen per line).
 * NOFINALNL 1: each stream ends with a line without '\n'.
 * Lines are written in write()s of 1..MAXCHUNK bytes (sizes from a second
 * generator the test need not mirror); PAUSE_US sleeps after each line.
 *
 * The generator (xorshift64, keep in step with test_logging.py):
 * - pool: POOL bytes; each 64-bit output gives 8 bytes, least significant
 *   first, each mapped through table(MODE).
 * - per line: r = next(); stream = r & 1 (STREAMS 3); kind = (r >> 1) & 3;
 *   len = next() % (cap + 1) with cap = min(MAXLEN, 200 / 9000 / MAXLEN) for
 *   kind 0-1 / 2 / 3; off = next() % (POOL - len + 1); the line is
 *   pool[off, off + len) + '\n'. Lines are made until TOTAL bytes were made.
 * - NOFINALNL: then per stream (stdout first) len = next() % 100 + 1,
 *   off = next() % (POOL - len + 1), without '\n'.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POOL (256 * 1024)

static uint64_t xs_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static unsigned char map_byte(int mode, unsigned b)
{
	if (mode == 2)
		return b == '\n' ? '\r' : (unsigned char)b;
	if (mode == 1 && b % 32 == 0)
		return '\r';
	return (unsigned char)(32 + b % 95);
}

struct out {
	int fd;
	unsigned char *buf;
	size_t len;
	size_t want;
};

static void write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			exit(3);
		p += w;
		n -= (size_t)w;
	}
}

static void push(struct out *o, const unsigned char *p, size_t n, uint64_t *cs, size_t maxchunk)
{
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	while (o->len >= o->want) {
		write_all(o->fd, o->buf, o->want);
		memmove(o->buf, o->buf + o->want, o->len - o->want);
		o->len -= o->want;
		o->want = 1 + xs_next(cs) % maxchunk;
	}
}

static unsigned long long arg(char **argv, int i)
{
	char *end = NULL;
	unsigned long long v = strtoull(argv[i], &end, 0);

	if (end == argv[i] || *end != '\0') {
		fprintf(stderr, "emit: bad argument %s\n", argv[i]);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc < 8 || argc > 9) {
		fprintf(stderr, "usage: emit SEED TOTAL MAXLEN MODE STREAMS NOFINALNL MAXCHUNK [PAUSE_US]\n");
		return 2;
	}
	uint64_t s = arg(argv, 1);
	unsigned long long total = arg(argv, 2);
	size_t maxlen = arg(argv, 3);
	int mode = (int)arg(argv, 4);
	int streams = (int)arg(argv, 5);
	int nofinal = (int)arg(argv, 6);
	size_t maxchunk = arg(argv, 7);
	unsigned long pause_us = argc > 8 ? arg(argv, 8) : 0;

	if (s == 0)
		s = 88172645463325252ULL;
	if (maxlen > POOL / 2 || maxchunk == 0 || streams < 1 || streams > 3) {
		fprintf(stderr, "emit: MAXLEN <= %d, MAXCHUNK >= 1, STREAMS 1..3\n", POOL / 2);
		return 2;
	}
	uint64_t cs = s ^ 0x9E3779B97F4A7C15ULL;
	static unsigned char pool[POOL];
	for (size_t i = 0; i < POOL; i += 8) {
		uint64_t r = xs_next(&s);
		for (int k = 0; k < 8; k++)
			pool[i + k] = map_byte(mode, (unsigned)(r >> (8 * k)) & 0xff);
	}

	struct out o[2] = { { .fd = 1 }, { .fd = 2 } };
	for (int i = 0; i < 2; i++) {
		o[i].buf = malloc(maxchunk + maxlen + 256);
		if (o[i].buf == NULL)
			return 3;
		o[i].want = 1 + xs_next(&cs) % maxchunk;
	}
	unsigned char nl = '\n';
	unsigned long long made = 0;
	while (made < total) {
		uint64_t r = xs_next(&s);
		int st = streams == 3 ? (int)(r & 1) : streams - 1;
		unsigned kind = (unsigned)(r >> 1) & 3;
		size_t cap = kind < 2 ? 200 : kind == 2 ? 9000 : maxlen;
		if (cap > maxlen)
			cap = maxlen;
		size_t len = xs_next(&s) % (cap + 1);
		size_t off = xs_next(&s) % (POOL - len + 1);
		push(&o[st], pool + off, len, &cs, maxchunk);
		push(&o[st], &nl, 1, &cs, maxchunk);
		made += len + 1;
		if (pause_us) {
			struct timespec ts = { .tv_sec = pause_us / 1000000,
					       .tv_nsec = (long)(pause_us % 1000000) * 1000 };
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
	}
	if (nofinal) {
		for (int st = 0; st < 2; st++) {
			if (!(streams & (1 << st)))
				continue;
			size_t len = xs_next(&s) % 100 + 1;
			size_t off = xs_next(&s) % (POOL - len + 1);
			push(&o[st], pool + off, len, &cs, maxchunk);
		}
	}
	for (int i = 0; i < 2; i++)
		if (o[i].len)
			write_all(o[i].fd, o[i].buf, o[i].len);
	return 0;
}
