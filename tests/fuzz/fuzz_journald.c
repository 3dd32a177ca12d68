/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The journald writer's entries, with a sender that checks each one instead
 * of sd_journal_sendv. Input: NUL-separated cid, tag, name, labels (one per
 * line), then chunks whose first byte picks the stream (odd: stderr).
 * Checked: every field is KEY=VALUE with a key journald takes from a
 * client; the fields are the ones configured, once each; PRIORITY matches
 * the stream; CONTAINER_PARTIAL_MESSAGE marks exactly the entries not
 * ending in '\n'; and the MESSAGE values of a stream, joined, are exactly
 * what was written to it.
 */
#include <stdbool.h>
#include <string.h>

#include "conmon/log_journald.h"
#include "tests/fuzz/fuzz.h"

struct expect {
	const struct journald_log_config *cfg;
	GString *got[2];
	size_t labels;
};

static bool key_valid(const char *field, size_t len, size_t *klen)
{
	const char *eq = memchr(field, '=', len);
	if (eq == NULL || eq == field)
		return false;
	*klen = (size_t)(eq - field);
	if (field[0] == '_' || g_ascii_isdigit(field[0]))
		return false;
	for (const char *p = field; p < eq; p++)
		if (!g_ascii_isupper(*p) && !g_ascii_isdigit(*p) && *p != '_')
			return false;
	return true;
}

static bool field_is(const struct iovec *v, const char *key, size_t klen)
{
	return strlen(key) == klen && memcmp(v->iov_base, key, klen) == 0;
}

static int check_entry(const struct iovec *iov, int n, void *data)
{
	struct expect *e = data;
	int stream = -1;
	bool partial = false;
	const char *msg = NULL;
	size_t msg_len = 0;
	size_t fixed = 5; /* MESSAGE, CONTAINER_ID_FULL, PRIORITY, CONTAINER_ID, SYSLOG_IDENTIFIER */
	fixed += e->cfg->tag != NULL;
	fixed += e->cfg->name != NULL;

	for (int i = 0; i < n; i++) {
		const char *f = iov[i].iov_base;
		size_t klen;
		FUZZ_CHECK(key_valid(f, iov[i].iov_len, &klen), "field %d is not KEY=VALUE: %.*s", i,
			   (int)MIN(iov[i].iov_len, 80), f);
		if (field_is(&iov[i], "MESSAGE", klen)) {
			FUZZ_CHECK(msg == NULL, "two MESSAGE fields");
			msg = f + klen + 1;
			msg_len = iov[i].iov_len - klen - 1;
		} else if (field_is(&iov[i], "PRIORITY", klen)) {
			FUZZ_CHECK(stream < 0, "two PRIORITY fields");
			stream = f[klen + 1] == '3';
		} else if (field_is(&iov[i], "CONTAINER_PARTIAL_MESSAGE", klen)) {
			partial = true;
		}
	}
	FUZZ_CHECK(msg != NULL && stream >= 0, "entry without MESSAGE or PRIORITY");
	FUZZ_CHECK(msg_len > 0, "empty MESSAGE");
	bool ends_line = msg[msg_len - 1] == '\n';
	if (e->cfg->no_partial_message)
		FUZZ_CHECK(!partial, "partial field despite no_partial_message");
	else
		FUZZ_CHECK(partial == !ends_line, "partial field %d for a message %s a newline", partial,
			   ends_line ? "ending in" : "without");
	FUZZ_CHECK((size_t)n == fixed + partial + e->labels, "%d fields, want %zu", n, fixed + partial + e->labels);
	g_string_append_len(e->got[stream], msg, (gssize)msg_len);
	return 0;
}

static const char *part(GPtrArray *parts, guint i)
{
	return i < parts->len && ((char *)parts->pdata[i])[0] ? parts->pdata[i] : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GPtrArray) parts = fuzz_split_nul(data, size);
	if (parts->len < 4 || size == 0)
		return 0;
	const char *labels_text = part(parts, 3);
	g_auto(GStrv) labels = labels_text ? g_strsplit(labels_text, "\n", 8) : NULL;
	struct journald_log_config cfg = {
		.cid = part(parts, 0),
		.tag = part(parts, 1),
		.name = part(parts, 2),
		.labels = labels,
		.no_partial_message = data[0] & 1,
	};
	struct journald_log *j = journald_log_new(&cfg, NULL);
	if (j == NULL)
		return 0;
	struct expect e = { .cfg = &cfg, .labels = labels ? g_strv_length(labels) : 0 };
	GString *want[2] = { g_string_new(NULL), g_string_new(NULL) };
	e.got[0] = g_string_new(NULL);
	e.got[1] = g_string_new(NULL);
	journald_log_set_sender(j, check_entry, &e);
	/* Labels journald would drop, or that name our own fields, are accepted but not sent. */
	FUZZ_CHECK(journald_log_max_fields(j) >= 8 && journald_log_max_fields(j) <= 8 + e.labels, "max fields %zu",
		   journald_log_max_fields(j));
	e.labels = journald_log_max_fields(j) - 8;

	for (guint i = 4; i < parts->len; i++) {
		const char *chunk = parts->pdata[i];
		size_t len = strlen(chunk);
		if (len == 0)
			continue;
		int s = chunk[0] & 1;
		journald_log_write(j, s ? STDPIPE_STDERR : STDPIPE_STDOUT, chunk + 1, len - 1);
		g_string_append_len(want[s], chunk + 1, (gssize)len - 1);
	}
	journald_log_free(j);
	for (int s = 0; s < 2; s++) {
		FUZZ_CHECK(e.got[s]->len == want[s]->len && memcmp(e.got[s]->str, want[s]->str, want[s]->len) == 0,
			   "stream %d: %zu bytes in MESSAGE fields, %zu written", s, e.got[s]->len, want[s]->len);
		g_string_free(e.got[s], TRUE);
		g_string_free(want[s], TRUE);
	}
	return 0;
}
