/* SPDX-License-Identifier: Apache-2.0 */
/* No CODE_FILE/CODE_LINE/CODE_FUNC of ours in the container's entries. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1

#include "conmon/log_journald.h"

#include <errno.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "common/error.h"
#include "conmon/diag.h"
#include "conmon/lazy_lib.h"

#define MESSAGE_EQ "MESSAGE="
#define MESSAGE_EQ_LEN (sizeof(MESSAGE_EQ) - 1)
#define SHORT_ID_LEN 12
#define PARTIAL_FIELD "CONTAINER_PARTIAL_MESSAGE=true"
/* MESSAGE, CONTAINER_ID_FULL, PRIORITY, CONTAINER_ID, CONTAINER_TAG, CONTAINER_NAME, SYSLOG_IDENTIFIER, partial */
#define FIXED_FIELDS 8
/* A held buffer that grew past this for a long line is given back after sending. */
#define HELD_KEEP (16 * 1024)

/* "MESSAGE=" followed by the line being collected for one stream. */
struct held {
	char *buf;
	size_t len; /* bytes after "MESSAGE=" */
	size_t cap;
	char priority; /* '0'..'7' from a "<N>" prefix, or 0: the stream's default */
};

struct journald_log {
	char *cid_full;
	char *cid;
	char *tag;
	char *name;
	char *ident;
	char **labels;
	size_t n_labels;
	bool no_partial;
	struct held held[2];
	struct iovec *iov;
	journald_send_fn send;
	void *send_data;
	guint64 failures;
	bool warned;
};

static typeof(sd_journal_sendv) *sym_sd_journal_sendv;

static int load_libsystemd(GError **err)
{
	static const struct lazy_sym syms[] = {
		{ "sd_journal_sendv", (void **)&sym_sd_journal_sendv },
	};

	if (sym_sd_journal_sendv)
		return 0;
	return lazy_lib_load("libsystemd.so.0", syms, G_N_ELEMENTS(syms), err);
}

static int send_sd_journal(const struct iovec *iov, int n, void *data)
{
	(void)data;
	return sym_sd_journal_sendv(iov, n);
}

static const char *const own_fields[] = {
	"MESSAGE",	 "CONTAINER_ID_FULL", "PRIORITY",	   "CONTAINER_ID",
	"CONTAINER_TAG", "CONTAINER_NAME",    "SYSLOG_IDENTIFIER", "CONTAINER_PARTIAL_MESSAGE",
};

/*
 * Accepted as conmon 2.2 accepts it, but not sent: journald drops a client's
 * field that starts with '_' or a digit, and a label named like one of our own
 * fields would give the entry two of them.
 */
static bool label_sendable(const char *label)
{
	size_t klen = strcspn(label, "=");

	if (g_ascii_isdigit(label[0]) || label[0] == '_')
		return false;
	for (size_t i = 0; i < G_N_ELEMENTS(own_fields); i++)
		if (strlen(own_fields[i]) == klen && strncmp(label, own_fields[i], klen) == 0)
			return false;
	return true;
}

/* conmon 2.2's checks and texts: KEY=VALUE, one '=', a key of A-Z, 0-9 and '_'. */
static int check_label(const char *label, GError **err)
{
	const char *eq = strchr(label, '=');

	if (eq == label)
		return cm_set_error(err, EINVAL,
				    "Container labels must be in format LABEL=VALUE (no LABEL present in '%s')", label);
	if (eq == NULL || strchr(eq + 1, '=') != NULL)
		return cm_set_error(err, EINVAL,
				    "Container labels must be in format LABEL=VALUE (none or more than one '=' present "
				    "in '%s')",
				    label);
	for (const char *p = label; p < eq; p++) {
		if (!g_ascii_isupper(*p) && !g_ascii_isdigit(*p) && *p != '_')
			return cm_set_error(err, EINVAL,
					    "Container label names must contain only uppercase letters, numbers and "
					    "underscore (in '%s')",
					    label);
	}
	return 0;
}

struct journald_log *journald_log_new(const struct journald_log_config *cfg, GError **err)
{
	if (cfg->cid == NULL) {
		cm_set_error(err, EINVAL, "Container ID must be provided and of the correct length");
		return NULL;
	}
	/* CONTAINER_ID is the first 12 characters; the reference insists on more than that. */
	if (strlen(cfg->cid) <= SHORT_ID_LEN) {
		cm_set_error(err, EINVAL, "Container ID must be longer than 12 characters");
		return NULL;
	}
	for (char *const *l = cfg->labels; l && *l; l++)
		if (check_label(*l, err) < 0)
			return NULL;
	if (load_libsystemd(err) < 0)
		return NULL;

	struct journald_log *j = g_new0(struct journald_log, 1);
	j->cid_full = g_strconcat("CONTAINER_ID_FULL=", cfg->cid, NULL);
	j->cid = g_strdup_printf("CONTAINER_ID=%.*s", SHORT_ID_LEN, cfg->cid);
	if (cfg->tag)
		j->tag = g_strconcat("CONTAINER_TAG=", cfg->tag, NULL);
	if (cfg->name)
		j->name = g_strconcat("CONTAINER_NAME=", cfg->name, NULL);
	/* tag, else name, else the short id */
	if (cfg->tag)
		j->ident = g_strconcat("SYSLOG_IDENTIFIER=", cfg->tag, NULL);
	else if (cfg->name)
		j->ident = g_strconcat("SYSLOG_IDENTIFIER=", cfg->name, NULL);
	else
		j->ident = g_strdup_printf("SYSLOG_IDENTIFIER=%.*s", SHORT_ID_LEN, cfg->cid);
	g_autoptr(GPtrArray) sent = g_ptr_array_new();
	for (char *const *l = cfg->labels; l && *l; l++) {
		if (label_sendable(*l))
			g_ptr_array_add(sent, g_strdup(*l));
		else
			diag_debug("label '%s' is not sent: journald would drop it or it names a field of ours", *l);
	}
	j->n_labels = sent->len;
	g_ptr_array_add(sent, NULL);
	j->labels = (char **)g_ptr_array_free(g_steal_pointer(&sent), FALSE);
	j->no_partial = cfg->no_partial_message;
	j->iov = g_new(struct iovec, FIXED_FIELDS + j->n_labels);
	j->send = send_sd_journal;
	return j;
}

size_t journald_log_max_fields(const struct journald_log *j)
{
	return FIXED_FIELDS + j->n_labels;
}

static size_t add_field(struct iovec *iov, size_t n, size_t max, const char *s, size_t len)
{
	if (n < max) {
		iov[n].iov_base = (void *)s;
		iov[n].iov_len = len;
		n++;
	}
	return n;
}

static size_t entry_fields(const struct journald_log *j, const char *priority, const char *message, size_t message_len,
			   bool partial, struct iovec *iov, size_t max)
{
	size_t n = 0;

	n = add_field(iov, n, max, message, message_len);
	n = add_field(iov, n, max, j->cid_full, strlen(j->cid_full));
	n = add_field(iov, n, max, priority, strlen(priority));
	n = add_field(iov, n, max, j->cid, strlen(j->cid));
	if (j->tag)
		n = add_field(iov, n, max, j->tag, strlen(j->tag));
	if (j->name)
		n = add_field(iov, n, max, j->name, strlen(j->name));
	n = add_field(iov, n, max, j->ident, strlen(j->ident));
	if (partial && !j->no_partial)
		n = add_field(iov, n, max, PARTIAL_FIELD, sizeof(PARTIAL_FIELD) - 1);
	for (size_t i = 0; i < j->n_labels; i++)
		n = add_field(iov, n, max, j->labels[i], strlen(j->labels[i]));
	return n;
}

static const char *priority_field(enum stdpipe pipe, char prefix)
{
	static const char *const fields[] = { "PRIORITY=0", "PRIORITY=1", "PRIORITY=2", "PRIORITY=3",
					      "PRIORITY=4", "PRIORITY=5", "PRIORITY=6", "PRIORITY=7" };
	if (prefix >= '0' && prefix <= '7')
		return fields[prefix - '0'];
	return pipe == STDPIPE_STDERR ? "PRIORITY=3" : "PRIORITY=6";
}

size_t journald_log_fields(const struct journald_log *j, enum stdpipe pipe, const char *message, size_t message_len,
			   bool partial, struct iovec *iov, size_t max)
{
	return entry_fields(j, priority_field(pipe, 0), message, message_len, partial, iov, max);
}

void journald_log_set_sender(struct journald_log *j, journald_send_fn fn, void *data)
{
	j->send = fn ? fn : send_sd_journal;
	j->send_data = fn ? data : NULL;
}

guint64 journald_log_failures(const struct journald_log *j)
{
	return j->failures;
}

static void held_append(struct held *h, const char *p, size_t n)
{
	size_t need = MESSAGE_EQ_LEN + h->len + n;

	if (need > h->cap) {
		size_t cap = h->cap ? h->cap : 256;
		while (cap < need)
			cap *= 2;
		h->buf = g_realloc(h->buf, cap);
		if (h->cap == 0)
			memcpy(h->buf, MESSAGE_EQ, MESSAGE_EQ_LEN);
		h->cap = cap;
	}
	memcpy(h->buf + MESSAGE_EQ_LEN + h->len, p, n);
	h->len += n;
}

static void send_held(struct journald_log *j, enum stdpipe pipe, struct held *h, bool partial)
{
	size_t n = entry_fields(j, priority_field(pipe, h->priority), h->buf, MESSAGE_EQ_LEN + h->len, partial, j->iov,
				journald_log_max_fields(j));
	int r = j->send(j->iov, (int)n, j->send_data);
	if (r < 0) {
		j->failures++;
		if (!j->warned) {
			j->warned = true;
			diag_warn("Failed to send container output to journald: %s (further failures are not reported)",
				  g_strerror(-r));
		}
	}
	h->len = 0;
	h->priority = 0;
	if (h->cap > HELD_KEEP) {
		h->buf = g_realloc(h->buf, HELD_KEEP);
		h->cap = HELD_KEEP;
	}
}

void journald_log_write(struct journald_log *j, enum stdpipe pipe, const char *buf, size_t len)
{
	if (pipe != STDPIPE_STDOUT && pipe != STDPIPE_STDERR)
		return;
	struct held *h = &j->held[pipe == STDPIPE_STDERR];

	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl + 1 - buf) : len;
		/*
		 * A systemd priority prefix "<N>" (N 0-7) on a line that arrives whole
		 * sets its PRIORITY and is cut from MESSAGE (conmon 2.2). A line joined
		 * from several reads keeps its text and the stream's priority, as there.
		 */
		if (h->len == 0 && nl && n >= 3 && buf[0] == '<' && buf[1] >= '0' && buf[1] <= '7' && buf[2] == '>') {
			h->priority = buf[1];
			buf += 3;
			len -= 3;
			n -= 3;
		}
		held_append(h, buf, n);
		buf += n;
		len -= n;
		if (nl == NULL && h->len < JOURNALD_LINE_MAX)
			return;
		send_held(j, pipe, h, nl == NULL);
	}
}

void journald_log_free(struct journald_log *j)
{
	if (j == NULL)
		return;
	for (int s = 0; s < 2; s++) {
		if (j->held[s].len > 0)
			send_held(j, s ? STDPIPE_STDERR : STDPIPE_STDOUT, &j->held[s], true);
		g_free(j->held[s].buf);
	}
	g_free(j->cid_full);
	g_free(j->cid);
	g_free(j->tag);
	g_free(j->name);
	g_free(j->ident);
	g_strfreev(j->labels);
	g_free(j->iov);
	g_free(j);
}
