/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conmon/log_k8s.h"

/* 2026-11-24T10:24:47.752187190Z */
static const struct timespec TS = { .tv_sec = 1795515887, .tv_nsec = 752187190 };
#define TS_UTC "2026-11-24T10:24:47.752187190+00:00"
#define OUT TS_UTC " stdout "
#define ERR TS_UTC " stderr "
#define PREFIX_LEN 43

static char *tmpdir_new(void)
{
	char *dir = g_dir_make_tmp("log_k8s-XXXXXX", NULL);
	g_assert_nonnull(dir);
	return dir;
}

static void tmpdir_remove(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	g_assert_nonnull(d);
	const char *name;
	while ((name = g_dir_read_name(d)) != NULL) {
		g_autofree char *p = g_build_filename(dir, name, NULL);
		g_assert_cmpint(g_unlink(p), ==, 0);
	}
	g_dir_close(d);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static GBytes *slurp(const char *path)
{
	char *data = NULL;
	gsize len = 0;
	g_assert_true(g_file_get_contents(path, &data, &len, NULL));
	return g_bytes_new_take(data, len);
}

static void assert_file(const char *path, const char *expect, size_t len)
{
	g_autoptr(GBytes) b = slurp(path);
	g_assert_cmpmem(g_bytes_get_data(b, NULL), g_bytes_get_size(b), expect, len);
}
#define ASSERT_FILE(path, lit) assert_file(path, lit, sizeof(lit) - 1)

static struct k8s_log *open_log(const char *path)
{
	struct k8s_log_config cfg = { .path = path, .size_max = -1, .global_size_max = -1, .no_sync = true };
	g_autoptr(GError) err = NULL;
	struct k8s_log *l = k8s_log_open(&cfg, &err);
	g_assert_no_error(err);
	g_assert_nonnull(l);
	return l;
}

static void put(struct k8s_log *l, enum stdpipe pipe, const char *s)
{
	k8s_log_write_at(l, pipe, s, strlen(s), &TS);
}

/* ---- a strict reader of the CRI format ---- */

struct parsed {
	GByteArray *stream[2]; /* the bytes each stream carried */
	size_t records;
	bool last_partial[2];
	GPtrArray *lines; /* each record's content, for ordering checks */
};

static void parsed_init(struct parsed *p)
{
	p->stream[0] = g_byte_array_new();
	p->stream[1] = g_byte_array_new();
	p->records = 0;
	p->last_partial[0] = p->last_partial[1] = false;
	p->lines = g_ptr_array_new_with_free_func(g_free);
}

static void parsed_clear(struct parsed *p)
{
	g_byte_array_unref(p->stream[0]);
	g_byte_array_unref(p->stream[1]);
	g_ptr_array_unref(p->lines);
}

static bool digits(const char *p, int n)
{
	for (int i = 0; i < n; i++)
		if (!g_ascii_isdigit(p[i]))
			return false;
	return true;
}

/* The timestamp layout podman parses: 2006-01-02T15:04:05.000000000Z07:00 (numeric zone). */
static bool valid_ts(const char *p)
{
	return digits(p, 4) && p[4] == '-' && digits(p + 5, 2) && p[7] == '-' && digits(p + 8, 2) && p[10] == 'T' &&
	       digits(p + 11, 2) && p[13] == ':' && digits(p + 14, 2) && p[16] == ':' && digits(p + 17, 2) &&
	       p[19] == '.' && digits(p + 20, 9) && (p[29] == '+' || p[29] == '-') && digits(p + 30, 2) &&
	       p[32] == ':' && digits(p + 33, 2);
}

/* False at the first malformed or torn record. */
static bool parse_log(const char *data, size_t len, struct parsed *out)
{
	const char *p = data;
	const char *end = data + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return false;
		size_t n = (size_t)(nl - p);
		if (n < PREFIX_LEN + 2 || !valid_ts(p))
			return false;
		int s;
		if (memcmp(p + 35, " stdout ", 8) == 0)
			s = 0;
		else if (memcmp(p + 35, " stderr ", 8) == 0)
			s = 1;
		else
			return false;
		char tag = p[43];
		if ((tag != 'F' && tag != 'P') || p[44] != ' ')
			return false;
		const char *content = p + 45;
		size_t clen = (size_t)(nl - content);
		g_byte_array_append(out->stream[s], (const guint8 *)content, (guint)clen);
		if (tag == 'F')
			g_byte_array_append(out->stream[s], (const guint8 *)"\n", 1);
		out->last_partial[s] = tag == 'P';
		g_ptr_array_add(out->lines, g_strndup(content, clen));
		out->records++;
		p = nl + 1;
	}
	return true;
}

static bool parse_file(const char *path, struct parsed *out)
{
	g_autoptr(GBytes) b = slurp(path);
	gsize n;
	const char *d = g_bytes_get_data(b, &n);
	return parse_log(d, n, out);
}

/* ---- exact bytes ---- */

static void test_format(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	struct k8s_log *l = open_log(path);

	put(l, STDPIPE_STDOUT, "hello\nworld\n");
	put(l, STDPIPE_STDOUT, "part");
	put(l, STDPIPE_STDOUT, "ial\n");
	put(l, STDPIPE_STDERR, "\n");
	k8s_log_write_at(l, STDPIPE_STDOUT, "a\r\nb\0c\n", 7, &TS);
	put(l, STDPIPE_STDERR, "no newline");
	put(l, STDPIPE_STDERR, "\n");
	ASSERT_FILE(path, OUT "F hello\n" OUT "F world\n" OUT "P part\n" OUT "F ial\n" ERR "F \n" OUT "F a\r\n" OUT
			      "F b\0c\n" ERR "P no newline\n" ERR "F \n");
	k8s_log_close(l);

	struct stat st;
	g_assert_cmpint(stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0640); /* conmon 2.1.13+: readable by the log directory's group */
	tmpdir_remove(dir);
}

static void test_ignores_other_pipes(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	struct k8s_log *l = open_log(path);

	put(l, STDPIPE_STDIN, "x\n");
	k8s_log_write_at(l, STDPIPE_STDOUT, "", 0, &TS);
	k8s_log_close(l);
	ASSERT_FILE(path, "");
	tmpdir_remove(dir);
}

/* conmon 2.2.1 reverted its closing empty F: CRI-O's ExecSync and the kubelet would add a newline. */
static void test_close_keeps_partial(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	struct k8s_log *l = open_log(path);

	put(l, STDPIPE_STDOUT, "abc");
	put(l, STDPIPE_STDERR, "x");
	put(l, STDPIPE_STDERR, "y");
	k8s_log_close(l);
	ASSERT_FILE(path, OUT "P abc\n" ERR "P x\n" ERR "P y\n");
	tmpdir_remove(dir);
}

static void check_tz(const char *tz, const char *expect)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);

	g_setenv("TZ", tz, TRUE);
	tzset();
	struct k8s_log *l = open_log(path);
	put(l, STDPIPE_STDOUT, "x\n");
	k8s_log_close(l);
	g_setenv("TZ", "UTC", TRUE);
	tzset();

	g_autofree char *want = g_strconcat(expect, " stdout F x\n", NULL);
	assert_file(path, want, strlen(want));
	tmpdir_remove(dir);
}

static void test_local_time(void)
{
	check_tz("<+0530>-5:30", "2026-11-24T15:54:47.752187190+05:30");
	check_tz("<-03>3", "2026-11-24T07:24:47.752187190-03:00");
	check_tz("UTC", TS_UTC);
	/* Europe/Berlin-like rules: winter +01:00, summer +02:00 */
	check_tz("CET-1CEST,M3.5.0,M10.5.0/3", "2026-11-24T11:24:47.752187190+01:00");
}

static void test_timestamp_per_call(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	struct k8s_log *l = open_log(path);

	struct timespec a = { .tv_sec = TS.tv_sec, .tv_nsec = 999999999 };
	struct timespec b = { .tv_sec = TS.tv_sec + 1, .tv_nsec = 0 };
	struct timespec c = { .tv_sec = TS.tv_sec + 86400 * 40, .tv_nsec = 1 };
	k8s_log_write_at(l, STDPIPE_STDOUT, "1\n2\n", 4, &a);
	k8s_log_write_at(l, STDPIPE_STDOUT, "3\n", 2, &b);
	k8s_log_write_at(l, STDPIPE_STDOUT, "4\n", 2, &c);
	k8s_log_close(l);
	ASSERT_FILE(path, "2026-11-24T10:24:47.999999999+00:00 stdout F 1\n"
			  "2026-11-24T10:24:47.999999999+00:00 stdout F 2\n"
			  "2026-11-24T10:24:48.000000000+00:00 stdout F 3\n"
			  "2027-01-03T10:24:47.000000001+00:00 stdout F 4\n");
	tmpdir_remove(dir);
}

/* ---- round trips ---- */

static size_t random_line_len(GRand *r)
{
	int pick = g_rand_int_range(r, 0, 100);
	if (pick < 70)
		return (size_t)g_rand_int_range(r, 0, 200);
	if (pick < 95)
		return (size_t)g_rand_int_range(r, 0, 8193);
	return (size_t)g_rand_int_range(r, 0, 100 * 1024 + 1);
}

static GByteArray *random_stream(GRand *r, size_t lines, bool trailing_newline)
{
	GByteArray *a = g_byte_array_new();
	for (size_t i = 0; i < lines; i++) {
		size_t n = random_line_len(r);
		guint old = a->len;
		g_byte_array_set_size(a, old + (guint)n);
		for (size_t k = 0; k < n; k++) {
			guint8 c = (guint8)g_rand_int_range(r, 0, 256);
			a->data[old + k] = c == '\n' ? '\r' : c;
		}
		if (i + 1 < lines || trailing_newline)
			g_byte_array_append(a, (const guint8 *)"\n", 1);
	}
	return a;
}

static size_t random_chunk(GRand *r)
{
	if (g_rand_boolean(r))
		return (size_t)g_rand_int_range(r, 1, 4097);
	return (size_t)g_rand_int_range(r, 1, 256 * 1024 + 1);
}

static void roundtrip_once(guint32 seed, size_t lines, bool trailing_newline)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	GRand *r = g_rand_new_with_seed(seed);
	GByteArray *in[2] = { random_stream(r, lines, trailing_newline), random_stream(r, lines / 2 + 1, true) };
	size_t pos[2] = { 0, 0 };
	struct timespec ts = TS;
	struct k8s_log *l = open_log(path);

	while (pos[0] < in[0]->len || pos[1] < in[1]->len) {
		int s = g_rand_boolean(r) ? 1 : 0;
		if (pos[s] == in[s]->len)
			s = !s;
		size_t want = random_chunk(r);
		size_t n = MIN(want, in[s]->len - pos[s]);
		k8s_log_write_at(l, s ? STDPIPE_STDERR : STDPIPE_STDOUT, (const char *)in[s]->data + pos[s], n, &ts);
		pos[s] += n;
		ts.tv_nsec = (ts.tv_nsec + 1237) % 1000000000L;
	}

	struct parsed p;
	parsed_init(&p);
	g_assert_true(parse_file(path, &p));
	for (int s = 0; s < 2; s++)
		g_assert_cmpmem(p.stream[s]->data, p.stream[s]->len, in[s]->data, in[s]->len);
	parsed_clear(&p);

	/* closing adds nothing: a trailing partial line stays a P record */
	k8s_log_close(l);
	parsed_init(&p);
	g_assert_true(parse_file(path, &p));
	for (int s = 0; s < 2; s++) {
		g_assert_cmpmem(p.stream[s]->data, p.stream[s]->len, in[s]->data, in[s]->len);
		g_assert_true(p.last_partial[s] == (in[s]->len > 0 && in[s]->data[in[s]->len - 1] != '\n'));
	}
	parsed_clear(&p);

	g_byte_array_unref(in[0]);
	g_byte_array_unref(in[1]);
	g_rand_free(r);
	tmpdir_remove(dir);
}

static void test_roundtrip_random(void)
{
	for (guint32 seed = 1; seed <= 12; seed++)
		roundtrip_once(seed, 60 + seed * 10, seed % 2 == 0);
}

static void test_roundtrip_100k(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	GRand *r = g_rand_new_with_seed(42);
	GString *in = g_string_new(NULL);

	for (int i = 0; i < 100000; i++) {
		g_string_append_printf(in, "%06d ", i);
		int n = g_rand_int_range(r, 0, 150);
		for (int k = 0; k < n; k++)
			g_string_append_c(in, (char)g_rand_int_range(r, ' ', '~' + 1));
		g_string_append_c(in, '\n');
	}
	struct k8s_log *l = open_log(path);
	for (size_t off = 0; off < in->len; off += 256 * 1024)
		k8s_log_write_at(l, STDPIPE_STDOUT, in->str + off, MIN(256 * 1024, in->len - off), &TS);
	struct k8s_log_stats st;
	k8s_log_get_stats(l, &st);
	k8s_log_close(l);

	struct parsed p;
	parsed_init(&p);
	g_assert_true(parse_file(path, &p));
	g_assert_cmpmem(p.stream[0]->data, p.stream[0]->len, in->str, in->len);
	g_assert_cmpuint(p.stream[1]->len, ==, 0);
	g_assert_cmpuint(p.records, ==, st.records);
	/* chunk borders cut lines into P + F: more records than lines, each line once */
	g_assert_cmpuint(p.records, >=, 100000);
	g_assert_cmpuint(st.dropped_records, ==, 0);
	parsed_clear(&p);
	g_string_free(in, TRUE);
	g_rand_free(r);
	tmpdir_remove(dir);
}

/* ---- size limits ---- */

static gint64 file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	return st.st_size;
}

static void assert_complete(const char *path)
{
	struct parsed p;
	parsed_init(&p);
	g_assert_true(parse_file(path, &p));
	parsed_clear(&p);
}

static void test_truncate(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	struct k8s_log_config cfg = { .path = path, .size_max = 300, .global_size_max = -1, .no_sync = true };
	g_autoptr(GError) err = NULL;
	struct k8s_log *l = k8s_log_open(&cfg, &err);
	g_assert_no_error(err);

	/* records are 45 + 10 bytes: five fit in 300; 201 records leave one in the last file */
	for (int i = 0; i < 200; i += 3) {
		g_autofree char *chunk = g_strdup_printf("line %04d\nline %04d\nline %04d\n", i, i + 1, i + 2);
		put(l, STDPIPE_STDOUT, chunk);
		g_assert_cmpint(file_size(path), <=, 300);
		assert_complete(path);
	}
	struct parsed p;
	parsed_init(&p);
	g_assert_true(parse_file(path, &p));
	g_assert_cmpuint(p.records, ==, 1);
	g_assert_cmpstr(g_ptr_array_index(p.lines, 0), ==, "line 0200");
	parsed_clear(&p);

	/* a record bigger than the limit is written whole, alone */
	char big[500];
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put(l, STDPIPE_STDOUT, big);
	g_assert_cmpint(file_size(path), ==, PREFIX_LEN + 2 + 499 + 1);
	put(l, STDPIPE_STDOUT, "\n");
	ASSERT_FILE(path, OUT "F \n");

	struct k8s_log_stats st;
	k8s_log_get_stats(l, &st);
	g_assert_cmpuint(st.truncations, ==, 42);
	g_assert_cmpuint(st.dropped_records, ==, 0);
	k8s_log_close(l);
	g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
	g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
	tmpdir_remove(dir);
}

static void test_truncate_seeded_from_existing(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	char old[250];
	memset(old, 'o', sizeof(old) - 1);
	old[sizeof(old) - 1] = '\n';
	g_assert_true(g_file_set_contents(path, old, sizeof(old), NULL));

	struct k8s_log_config cfg = { .path = path, .size_max = 300, .global_size_max = -1, .no_sync = true };
	struct k8s_log *l = k8s_log_open(&cfg, NULL);
	g_assert_nonnull(l);
	put(l, STDPIPE_STDOUT, "new line\n");
	k8s_log_close(l);
	ASSERT_FILE(path, OUT "F new line\n");
	tmpdir_remove(dir);
}

static int line_number(const char *content)
{
	int n = -1;
	g_assert_cmpint(sscanf(content, "line %d", &n), ==, 1);
	return n;
}

static void rotate_case(int max_files)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	const int rec = PREFIX_LEN + 2 + 10;
	struct k8s_log_config cfg = {
		.path = path,
		.size_max = 300,
		.global_size_max = -1,
		.rotate = true,
		.max_files = max_files,
		.no_sync = true,
	};
	struct k8s_log *l = k8s_log_open(&cfg, NULL);
	g_assert_nonnull(l);
	for (int i = 0; i < 200; i += 2) {
		g_autofree char *chunk = g_strdup_printf("line %04d\nline %04d\n", i, i + 1);
		put(l, STDPIPE_STDOUT, chunk);
		g_assert_cmpint(file_size(path), <=, 300);
	}
	k8s_log_close(l);

	/* oldest backup first, then the live file: one unbroken run ending at 199 */
	struct parsed p;
	parsed_init(&p);
	for (int i = max_files; i >= 1; i--) {
		g_autofree char *b = g_strdup_printf("%s.%d", path, i);
		g_assert_true(g_file_test(b, G_FILE_TEST_IS_REGULAR));
		g_assert_cmpint(file_size(b), <=, 300);
		g_assert_true(parse_file(b, &p));
	}
	g_autofree char *beyond = g_strdup_printf("%s.%d", path, max_files + 1);
	g_assert_false(g_file_test(beyond, G_FILE_TEST_EXISTS));
	g_assert_true(parse_file(path, &p));
	for (guint i = 1; i < p.lines->len; i++)
		g_assert_cmpint(line_number(g_ptr_array_index(p.lines, i)), ==,
				line_number(g_ptr_array_index(p.lines, i - 1)) + 1);
	g_assert_cmpint(line_number(g_ptr_array_index(p.lines, p.lines->len - 1)), ==, 199);
	parsed_clear(&p);

	/* the newest size_max bytes survive in <path> + <path>.1 */
	g_autofree char *first = g_strdup_printf("%s.1", path);
	g_assert_cmpint(file_size(path) + file_size(first), >, 300 - rec);
	tmpdir_remove(dir);
}

static void test_rotate(void)
{
	rotate_case(1);
	rotate_case(3);
}

static void test_rotate_allowlist(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	char *elsewhere[] = { "/nonexistent-allow", NULL };
	char *here[] = { "", dir, NULL };
	struct k8s_log_config cfg = {
		.path = path, .size_max = 300, .global_size_max = -1, .rotate = true, .max_files = 1, .no_sync = true
	};
	g_autoptr(GError) err = NULL;

	cfg.allowlist_dirs = elsewhere;
	g_assert_null(k8s_log_open(&cfg, &err));
	g_assert_nonnull(strstr(err->message, "--log-allowlist-dir"));
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));

	cfg.allowlist_dirs = here;
	struct k8s_log *l = k8s_log_open(&cfg, NULL);
	g_assert_nonnull(l);
	k8s_log_close(l);
	tmpdir_remove(dir);
}

static void test_global_max(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	struct k8s_log_config cfg = { .path = path, .size_max = -1, .global_size_max = 500, .no_sync = true };
	struct k8s_log *l = k8s_log_open(&cfg, NULL);
	g_assert_nonnull(l);

	/* 100-byte records: the fifth reaches 500, the rest are dropped */
	for (int i = 0; i < 20; i++) {
		g_autofree char *line = g_strdup_printf("%054d\n", i);
		put(l, STDPIPE_STDOUT, line);
	}
	put(l, STDPIPE_STDERR, "tail");
	struct k8s_log_stats st;
	k8s_log_get_stats(l, &st);
	g_assert_cmpuint(st.records, ==, 5);
	g_assert_cmpuint(st.dropped_records, ==, 16);
	g_assert_cmpuint(st.dropped_bytes, ==, 15 * 100 + PREFIX_LEN + 2 + 5);
	k8s_log_close(l);
	g_assert_cmpint(file_size(path), ==, 500);
	assert_complete(path);
	tmpdir_remove(dir);
}

/* ---- reopen ---- */

static void test_reopen_after_rename(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	g_autofree char *old = g_build_filename(dir, "ctr.log.20261124", NULL);
	struct k8s_log_config cfg = { .path = path, .size_max = 1000, .global_size_max = -1 };
	struct k8s_log *l = k8s_log_open(&cfg, NULL);
	g_assert_nonnull(l);
	g_autoptr(GError) err = NULL;

	put(l, STDPIPE_STDOUT, "a\npar");
	g_assert_cmpint(g_rename(path, old), ==, 0);
	put(l, STDPIPE_STDOUT, "t");
	g_assert_cmpint(k8s_log_reopen(l, &err), ==, 0);
	g_assert_no_error(err);
	put(l, STDPIPE_STDOUT, "ial\nb\n");
	k8s_log_close(l);
	ASSERT_FILE(old, OUT "F a\n" OUT "P par\n" OUT "P t\n");
	ASSERT_FILE(path, OUT "F ial\n" OUT "F b\n");

	/* reopen of a file still in place appends, and counts what is there */
	l = k8s_log_open(&cfg, NULL);
	g_assert_cmpint(k8s_log_reopen(l, NULL), ==, 0);
	for (int i = 0; i < 20; i++)
		put(l, STDPIPE_STDOUT, "0123456789012345678901234567890123456789012345678901234\n");
	k8s_log_close(l);
	g_assert_cmpint(file_size(path), <=, 1000);
	assert_complete(path);

	/* a path that cannot be opened leaves the old file in use */
	g_autofree char *sub = g_build_filename(dir, "sub", NULL);
	g_autofree char *subpath = g_build_filename(sub, "ctr.log", NULL);
	g_assert_cmpint(g_mkdir(sub, 0700), ==, 0);
	cfg.path = subpath;
	l = k8s_log_open(&cfg, NULL);
	g_assert_nonnull(l);
	g_autofree char *moved = g_build_filename(dir, "moved.log", NULL);
	g_assert_cmpint(g_rename(subpath, moved), ==, 0);
	g_assert_cmpint(g_rmdir(sub), ==, 0);
	g_assert_cmpint(k8s_log_reopen(l, &err), ==, -1);
	g_assert_nonnull(strstr(err->message, "Failed to open log file"));
	put(l, STDPIPE_STDOUT, "kept\n");
	k8s_log_close(l);
	ASSERT_FILE(moved, OUT "F kept\n");
	tmpdir_remove(dir);
}

static void test_open_error(void)
{
	struct k8s_log_config cfg = { .path = "/nonexistent-dir/ctr.log", .size_max = -1, .global_size_max = -1 };
	g_autoptr(GError) err = NULL;
	g_assert_null(k8s_log_open(&cfg, &err));
	g_assert_cmpstr(err->message, ==,
			"Failed to open log file /nonexistent-dir/ctr.log: No such file or directory");
	g_clear_error(&err);
	cfg.path = "";
	g_assert_null(k8s_log_open(&cfg, &err));
	g_assert_cmpstr(err->message, ==, "k8s-file requires a filename");
}

/* A symlink planted at the log path is refused, not followed to the file it names. */
static void test_symlink_refused(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *victim = g_build_filename(dir, "victim", NULL);
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	g_assert_true(g_file_set_contents(victim, "root's file\n", -1, NULL));
	g_assert_cmpint(symlink(victim, path), ==, 0);
	struct k8s_log_config cfg = { .path = path, .size_max = -1, .global_size_max = -1 };
	g_autoptr(GError) err = NULL;
	g_assert_null(k8s_log_open(&cfg, &err));
	g_assert_nonnull(strstr(err->message, "symbolic link"));
	ASSERT_FILE(victim, "root's file\n");
	tmpdir_remove(dir);
}

/* Truncation never adopts a file planted under a predictable temp name, nor writes through it. */
static void test_truncate_ignores_planted_tmp(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
	g_autofree char *fresh = g_strconcat(path, ".new", NULL);
	g_assert_true(g_file_set_contents(tmp, "planted\n", -1, NULL));
	g_assert_true(g_file_set_contents(fresh, "planted\n", -1, NULL));
	struct k8s_log_config cfg = { .path = path, .size_max = 100, .global_size_max = -1, .no_sync = true };
	struct k8s_log *l = k8s_log_open(&cfg, NULL);
	g_assert_nonnull(l);
	put(l, STDPIPE_STDOUT, "first line of output\n");
	put(l, STDPIPE_STDOUT, "second line of output, past the limit\n");
	put(l, STDPIPE_STDOUT, "third\n");
	struct k8s_log_stats st;
	k8s_log_get_stats(l, &st);
	g_assert_cmpuint(st.truncations, ==, 2);
	k8s_log_close(l);
	ASSERT_FILE(path, OUT "F third\n");
	ASSERT_FILE(tmp, "planted\n");
	ASSERT_FILE(fresh, "planted\n");
	tmpdir_remove(dir);
}

/* ---- targets that refuse data ---- */

static GString *drain(int fd, GString *into)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			g_string_append_len(into, buf, n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		g_assert_true(n == 0 || errno == EAGAIN);
		return into;
	}
}

static void test_fifo_without_reader(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.fifo", NULL);
	g_assert_cmpint(mkfifo(path, 0600), ==, 0);
	alarm(30); /* a hang fails the test instead of wedging it */

	struct k8s_log_config cfg = { .path = path, .size_max = 100, .global_size_max = -1 };
	struct k8s_log *l = k8s_log_open(&cfg, NULL);
	g_assert_nonnull(l);

	GString *chunk = g_string_new(NULL);
	int next = 0;
	for (int round = 0; round < 8; round++) {
		g_string_truncate(chunk, 0);
		while (chunk->len < 256 * 1024 - 100)
			g_string_append_printf(chunk, "line %08d %060d\n", next++, 0);
		k8s_log_write_at(l, STDPIPE_STDOUT, chunk->str, chunk->len, &TS);
	}
	struct k8s_log_stats st;
	k8s_log_get_stats(l, &st);
	g_assert_cmpuint(st.dropped_records, >, 0);
	g_assert_cmpuint(st.truncations, ==, 0);

	/* a reader that comes late gets whole records, in order, until we close */
	int rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	g_assert_cmpint(rfd, >=, 0);
	GString *got = g_string_new(NULL);
	for (int i = 0; i < 64; i++) {
		drain(rfd, got);
		g_autofree char *line = g_strdup_printf("line %08d %060d\n", next++, 0);
		put(l, STDPIPE_STDOUT, line);
	}
	k8s_log_close(l);
	drain(rfd, got);
	close(rfd);
	alarm(0);

	struct parsed p;
	parsed_init(&p);
	g_assert_true(parse_log(got->str, got->len, &p));
	g_assert_cmpuint(p.records, >, 64);
	for (guint i = 1; i < p.lines->len; i++)
		g_assert_cmpint(line_number(g_ptr_array_index(p.lines, i)), >,
				line_number(g_ptr_array_index(p.lines, i - 1)));
	g_assert_cmpint(line_number(g_ptr_array_index(p.lines, p.lines->len - 1)), ==, next - 1);
	parsed_clear(&p);
	g_string_free(got, TRUE);
	g_string_free(chunk, TRUE);
	tmpdir_remove(dir);
}

static void test_full_device(void)
{
	struct k8s_log_config cfg = { .path = "/dev/full", .size_max = 10, .global_size_max = -1 };
	struct k8s_log *l = k8s_log_open(&cfg, NULL);
	g_assert_nonnull(l);
	put(l, STDPIPE_STDOUT, "one\ntwo\n");
	put(l, STDPIPE_STDOUT, "three");
	g_assert_cmpint(k8s_log_reopen(l, NULL), ==, 0);
	struct k8s_log_stats st;
	k8s_log_get_stats(l, &st);
	g_assert_cmpuint(st.dropped_records, ==, 3);
	g_assert_cmpuint(st.dropped_bytes, ==, 3 * (PREFIX_LEN + 2) + 4 + 4 + 6);
	k8s_log_close(l);
}

/* A write cut short by the file size limit must not leave half a record. */
static void test_torn_write_is_undone(void)
{
	g_autofree char *dir = tmpdir_new();
	g_autofree char *path = g_build_filename(dir, "ctr.log", NULL);
	struct k8s_log *l = open_log(path);
	struct rlimit old;
	g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);

	GString *chunk = g_string_new(NULL);
	for (int i = 0; i < 30; i++)
		g_string_append_printf(chunk, "line %04d %050d\n", i, 0);
	struct rlimit lim = { .rlim_cur = 1000, .rlim_max = old.rlim_max };
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
	k8s_log_write_at(l, STDPIPE_STDOUT, chunk->str, chunk->len, &TS);
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
	signal(SIGXFSZ, old_handler);

	const int rec = PREFIX_LEN + 2 + 61;
	g_assert_cmpint(file_size(path), ==, (1000 / rec) * rec);
	struct k8s_log_stats st;
	k8s_log_get_stats(l, &st);
	g_assert_cmpuint(st.dropped_records, ==, 30 - 1000 / rec);

	put(l, STDPIPE_STDOUT, "after\n");
	k8s_log_close(l);
	struct parsed p;
	parsed_init(&p);
	g_assert_true(parse_file(path, &p));
	g_assert_cmpuint(p.records, ==, 1000 / rec + 1);
	g_assert_cmpstr(g_ptr_array_index(p.lines, p.records - 1), ==, "after");
	parsed_clear(&p);
	g_string_free(chunk, TRUE);
	tmpdir_remove(dir);
}

int main(int argc, char **argv)
{
	g_setenv("TZ", "UTC", TRUE);
	tzset();
	umask(022); /* the monitor's own umask */
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/log_k8s/format", test_format);
	g_test_add_func("/log_k8s/ignores_other_pipes", test_ignores_other_pipes);
	g_test_add_func("/log_k8s/close_keeps_partial", test_close_keeps_partial);
	g_test_add_func("/log_k8s/local_time", test_local_time);
	g_test_add_func("/log_k8s/timestamp_per_call", test_timestamp_per_call);
	g_test_add_func("/log_k8s/roundtrip_random", test_roundtrip_random);
	g_test_add_func("/log_k8s/roundtrip_100k", test_roundtrip_100k);
	g_test_add_func("/log_k8s/truncate", test_truncate);
	g_test_add_func("/log_k8s/truncate_seeded_from_existing", test_truncate_seeded_from_existing);
	g_test_add_func("/log_k8s/rotate", test_rotate);
	g_test_add_func("/log_k8s/rotate_allowlist", test_rotate_allowlist);
	g_test_add_func("/log_k8s/global_max", test_global_max);
	g_test_add_func("/log_k8s/reopen_after_rename", test_reopen_after_rename);
	g_test_add_func("/log_k8s/open_error", test_open_error);
	g_test_add_func("/log_k8s/symlink_refused", test_symlink_refused);
	g_test_add_func("/log_k8s/truncate_ignores_planted_tmp", test_truncate_ignores_planted_tmp);
	g_test_add_func("/log_k8s/fifo_without_reader", test_fifo_without_reader);
	g_test_add_func("/log_k8s/full_device", test_full_device);
	g_test_add_func("/log_k8s/torn_write_is_undone", test_torn_write_is_undone);
	return g_test_run();
}
