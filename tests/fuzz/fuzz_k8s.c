/* SPDX-License-Identifier: Apache-2.0 */
/*
 * k8s-file writer round trip. The input is a list of chunks: a header byte
 * (bit 7: stderr, bits 0-6: length) and that many bytes. All chunks go to a
 * fresh log with one fixed timestamp; the file is parsed back and each
 * stream must reassemble to exactly what was written (closing adds no
 * record: a partial last line stays a P record, as conmon 2.2.1).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "conmon/diag.h"
#include "conmon/log_k8s.h"
#include "tests/fuzz/fuzz.h"

/* TZ=UTC: 1700000000 is 2023-11-14T22:13:20 */
#define TS_SEC 1700000000
#define TS_NSEC 123456789
#define TS_TEXT "2023-11-14T22:13:20.123456789+00:00"

static char *tmpdir;
static char *logpath;

static void cleanup(void)
{
	if (tmpdir)
		fuzz_remove_tree(tmpdir);
}

static void init(void)
{
	g_autoptr(GError) err = NULL;

	setenv("TZ", "UTC", 1);
	tzset();
	diag_set_level("error");
	tmpdir = g_dir_make_tmp("fuzz-k8s-XXXXXX", &err);
	FUZZ_CHECK(tmpdir, "%s", err->message);
	logpath = g_build_filename(tmpdir, "ctr.log", NULL);
	atexit(cleanup);
}

/* Append one record's payload to its stream; checks the record's syntax. */
static void parse_record(const char *line, size_t len, GString *streams[2])
{
	static const char prefix[] = TS_TEXT " ";
	const size_t plen = sizeof(prefix) - 1;

	FUZZ_CHECK(len >= plen + 9 && memcmp(line, prefix, plen) == 0, "bad record prefix: %.*s", (int)len, line);
	line += plen;
	len -= plen;
	int s;
	if (memcmp(line, "stdout ", 7) == 0)
		s = 0;
	else if (memcmp(line, "stderr ", 7) == 0)
		s = 1;
	else
		FUZZ_CHECK(false, "bad stream in record: %.*s", (int)len, line);
	char tag = line[7];
	FUZZ_CHECK((tag == 'F' || tag == 'P') && line[8] == ' ', "bad tag in record: %.*s", (int)len, line);
	g_string_append_len(streams[s], line + 9, (gssize)(len - 9));
	if (tag == 'F')
		g_string_append_c(streams[s], '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!tmpdir)
		init();
	unlink(logpath);

	const struct k8s_log_config cfg = { .path = logpath, .no_sync = true };
	const struct timespec ts = { .tv_sec = TS_SEC, .tv_nsec = TS_NSEC };
	g_autoptr(GError) err = NULL;
	struct k8s_log *log = k8s_log_open(&cfg, &err);
	FUZZ_CHECK(log, "%s", err->message);

	GString *want[2] = { g_string_new(NULL), g_string_new(NULL) };
	size_t i = 0;
	while (i < size) {
		int s = data[i] >> 7;
		size_t n = data[i] & 0x7f;
		i++;
		if (n > size - i)
			n = size - i;
		k8s_log_write_at(log, s ? STDPIPE_STDERR : STDPIPE_STDOUT, (const char *)data + i, n, &ts);
		g_string_append_len(want[s], (const char *)data + i, (gssize)n);
		i += n;
	}
	struct k8s_log_stats st;
	k8s_log_get_stats(log, &st);
	FUZZ_CHECK(st.dropped_records == 0 && st.truncations == 0, "records dropped without limits");
	k8s_log_close(log);

	g_autofree char *contents = NULL;
	gsize clen = 0;
	FUZZ_CHECK(g_file_get_contents(logpath, &contents, &clen, &err), "%s", err->message);
	FUZZ_CHECK(clen == 0 || contents[clen - 1] == '\n', "log does not end with a newline");

	GString *got[2] = { g_string_new(NULL), g_string_new(NULL) };
	for (size_t off = 0; off < clen;) {
		const char *nl = memchr(contents + off, '\n', clen - off);
		parse_record(contents + off, (size_t)(nl - (contents + off)), got);
		off = (size_t)(nl - contents) + 1;
	}
	for (int s = 0; s < 2; s++) {
		FUZZ_CHECK(got[s]->len == want[s]->len && memcmp(got[s]->str, want[s]->str, want[s]->len) == 0,
			   "%s does not round-trip: wrote %zu bytes, read back %zu", s ? "stderr" : "stdout",
			   want[s]->len, got[s]->len);
		g_string_free(got[s], TRUE);
		g_string_free(want[s], TRUE);
	}
	return 0;
}
