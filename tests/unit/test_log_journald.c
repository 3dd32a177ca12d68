/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "conmon/log_journald.h"

#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Entries captured instead of sent: each a NULL-terminated list of "KEY=VALUE". */
struct capture {
	GPtrArray *entries;
	int fail_with; /* -errno to return, or 0 */
};

static int capture_send(const struct iovec *iov, int n, void *data)
{
	struct capture *c = data;
	GPtrArray *fields = g_ptr_array_new();
	for (int i = 0; i < n; i++)
		g_ptr_array_add(fields, g_strndup(iov[i].iov_base, iov[i].iov_len));
	g_ptr_array_add(fields, NULL);
	g_ptr_array_add(c->entries, g_ptr_array_free(fields, FALSE));
	return c->fail_with;
}

static void capture_init(struct capture *c)
{
	c->entries = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	c->fail_with = 0;
}

static char **entry(struct capture *c, guint i)
{
	g_assert_cmpuint(i, <, c->entries->len);
	return g_ptr_array_index(c->entries, i);
}

static struct journald_log *new_log(const struct journald_log_config *cfg, struct capture *c)
{
	g_autoptr(GError) err = NULL;
	struct journald_log *j = journald_log_new(cfg, &err);
	g_assert_no_error(err);
	g_assert_nonnull(j);
	journald_log_set_sender(j, capture_send, c);
	return j;
}

static void assert_fields(char **got, const char *const *want)
{
	g_assert_cmpuint(g_strv_length(got), ==, g_strv_length((char **)want));
	for (guint i = 0; want[i]; i++)
		g_assert_cmpstr(got[i], ==, want[i]);
}

static void assert_built(const struct journald_log *j, enum stdpipe pipe, const char *msg, bool partial,
			 const char *const *want)
{
	struct iovec iov[32];
	size_t n = journald_log_fields(j, pipe, msg, strlen(msg), partial, iov, G_N_ELEMENTS(iov));
	g_assert_cmpuint(n, <=, journald_log_max_fields(j));
	g_auto(GStrv) got = g_new0(char *, n + 1);
	for (size_t i = 0; i < n; i++)
		got[i] = g_strndup(iov[i].iov_base, iov[i].iov_len);
	assert_fields(got, want);
}

static void test_fields_minimal(void)
{
	struct journald_log_config cfg = { .cid = CID };
	struct journald_log *j = journald_log_new(&cfg, NULL);

	assert_built(j, STDPIPE_STDOUT, "MESSAGE=hi\n", false,
		     (const char *[]){ "MESSAGE=hi\n", "CONTAINER_ID_FULL=" CID, "PRIORITY=6",
				       "CONTAINER_ID=0123456789ab", "SYSLOG_IDENTIFIER=0123456789ab", NULL });
	assert_built(j, STDPIPE_STDERR, "MESSAGE=oops", true,
		     (const char *[]){ "MESSAGE=oops", "CONTAINER_ID_FULL=" CID, "PRIORITY=3",
				       "CONTAINER_ID=0123456789ab", "SYSLOG_IDENTIFIER=0123456789ab",
				       "CONTAINER_PARTIAL_MESSAGE=true", NULL });
	journald_log_free(j);
}

static void test_fields_full(void)
{
	char *labels[] = { "APP=web", "TIER_2=a b", NULL };
	struct journald_log_config cfg = { .cid = CID, .name = "ctr", .tag = "mytag", .labels = labels };
	struct journald_log *j = journald_log_new(&cfg, NULL);

	assert_built(j, STDPIPE_STDOUT, "MESSAGE=x\n", true,
		     (const char *[]){ "MESSAGE=x\n", "CONTAINER_ID_FULL=" CID, "PRIORITY=6",
				       "CONTAINER_ID=0123456789ab", "CONTAINER_TAG=mytag", "CONTAINER_NAME=ctr",
				       "SYSLOG_IDENTIFIER=mytag", "CONTAINER_PARTIAL_MESSAGE=true", "APP=web",
				       "TIER_2=a b", NULL });
	g_assert_cmpuint(journald_log_max_fields(j), ==, 10);

	/* a short iov array gets what fits, in order */
	struct iovec iov[3];
	g_assert_cmpuint(journald_log_fields(j, STDPIPE_STDOUT, "MESSAGE=", 8, false, iov, 3), ==, 3);
	journald_log_free(j);

	/* name without tag names the syslog identifier */
	struct journald_log_config named = { .cid = CID, .name = "ctr" };
	j = journald_log_new(&named, NULL);
	assert_built(j, STDPIPE_STDOUT, "MESSAGE=x\n", false,
		     (const char *[]){ "MESSAGE=x\n", "CONTAINER_ID_FULL=" CID, "PRIORITY=6",
				       "CONTAINER_ID=0123456789ab", "CONTAINER_NAME=ctr", "SYSLOG_IDENTIFIER=ctr",
				       NULL });
	journald_log_free(j);

	/* --no-container-partial-message */
	struct journald_log_config quiet = { .cid = CID, .no_partial_message = true };
	j = journald_log_new(&quiet, NULL);
	assert_built(j, STDPIPE_STDERR, "MESSAGE=x", true,
		     (const char *[]){ "MESSAGE=x", "CONTAINER_ID_FULL=" CID, "PRIORITY=3", "CONTAINER_ID=0123456789ab",
				       "SYSLOG_IDENTIFIER=0123456789ab", NULL });
	journald_log_free(j);
}

static void expect_config_error(const struct journald_log_config *cfg, const char *message)
{
	g_autoptr(GError) err = NULL;
	g_assert_null(journald_log_new(cfg, &err));
	g_assert_nonnull(err);
	g_assert_cmpstr(err->message, ==, message);
}

static void test_config_errors(void)
{
	struct journald_log_config cfg = { 0 };
	expect_config_error(&cfg, "Container ID must be provided and of the correct length");
	cfg.cid = "0123456789ab";
	expect_config_error(&cfg, "Container ID must be longer than 12 characters");
	cfg.cid = "0123456789abc";
	struct journald_log *j = journald_log_new(&cfg, NULL);
	g_assert_nonnull(j);
	journald_log_free(j);

	const struct {
		const char *label;
		const char *message;
	} bad[] = {
		{ "=x", "Container labels must be in format LABEL=VALUE (no LABEL present in '=x')" },
		{ "NOVALUE", "Container labels must be in format LABEL=VALUE (none or more than one '=' present in "
			     "'NOVALUE')" },
		{ "A=b=c", "Container labels must be in format LABEL=VALUE (none or more than one '=' present in "
			   "'A=b=c')" },
		{ "lower=x", "Container label names must contain only uppercase letters, numbers and underscore "
			     "(in 'lower=x')" },
		{ "A-B=x", "Container label names must contain only uppercase letters, numbers and underscore "
			   "(in 'A-B=x')" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *labels[] = { "OK=1", (char *)bad[i].label, NULL };
		struct journald_log_config lc = { .cid = CID, .labels = labels };
		expect_config_error(&lc, bad[i].message);
	}
	/* conmon 2.2 takes these as well: journald ignores a client's "_" fields, a second MESSAGE is its own */
	char *good[] = { "A=", "Z9_=value with spaces", "PRIORITYX=1", "1A=x", "_PID=1", "MESSAGE=x", NULL };
	struct journald_log_config gc = { .cid = CID, .labels = good };
	j = journald_log_new(&gc, NULL);
	g_assert_nonnull(j);
	journald_log_free(j);
}

static const char *message_of(struct capture *c, guint i)
{
	return entry(c, i)[0];
}

static bool is_partial(struct capture *c, guint i)
{
	for (char **f = entry(c, i); *f; f++)
		if (strcmp(*f, "CONTAINER_PARTIAL_MESSAGE=true") == 0)
			return true;
	return false;
}

static const char *priority_of(struct capture *c, guint i)
{
	return entry(c, i)[2];
}

static void test_lines(void)
{
	struct capture c;
	capture_init(&c);
	struct journald_log_config cfg = { .cid = CID };
	struct journald_log *j = new_log(&cfg, &c);

	journald_log_write(j, STDPIPE_STDOUT, "one\ntwo\nthr", 11);
	g_assert_cmpuint(c.entries->len, ==, 2);
	journald_log_write(j, STDPIPE_STDERR, "err", 3);
	journald_log_write(j, STDPIPE_STDOUT, "ee\n\n", 4);
	journald_log_write(j, STDPIPE_STDERR, "\n", 1);
	journald_log_write(j, STDPIPE_STDIN, "ignored\n", 8);
	journald_log_write(j, STDPIPE_STDOUT, "a\0b\r\n", 5);

	const char *want[] = { "MESSAGE=one\n", "MESSAGE=two\n", "MESSAGE=three\n", "MESSAGE=\n", "MESSAGE=err\n" };
	g_assert_cmpuint(c.entries->len, ==, 6);
	for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
		g_assert_cmpstr(message_of(&c, i), ==, want[i]);
		g_assert_false(is_partial(&c, i));
	}
	g_assert_cmpstr(priority_of(&c, 3), ==, "PRIORITY=6");
	g_assert_cmpstr(priority_of(&c, 4), ==, "PRIORITY=3");
	/* captured with g_strndup: the NUL ends the C string, the field length was 13 */
	g_assert_cmpstr(message_of(&c, 5), ==, "MESSAGE=a");
	journald_log_free(j);
	g_assert_cmpuint(c.entries->len, ==, 6);
	g_ptr_array_unref(c.entries);
}

static void test_partial(void)
{
	struct capture c;
	capture_init(&c);
	struct journald_log_config cfg = { .cid = CID, .name = "n" };
	struct journald_log *j = new_log(&cfg, &c);

	/* a held line that outgrows the limit goes out as partial */
	g_autofree char *big = g_malloc(JOURNALD_LINE_MAX);
	memset(big, 'x', JOURNALD_LINE_MAX);
	journald_log_write(j, STDPIPE_STDOUT, big, JOURNALD_LINE_MAX - 1);
	g_assert_cmpuint(c.entries->len, ==, 0);
	journald_log_write(j, STDPIPE_STDOUT, "yz", 2);
	g_assert_cmpuint(c.entries->len, ==, 1);
	g_assert_true(is_partial(&c, 0));
	g_assert_cmpuint(strlen(message_of(&c, 0)), ==, 8 + JOURNALD_LINE_MAX + 1);
	g_assert_true(g_str_has_suffix(message_of(&c, 0), "xyz"));

	/* a whole line of any length in one chunk is one entry */
	g_autofree char *huge = g_malloc(256 * 1024);
	memset(huge, 'h', 256 * 1024);
	huge[256 * 1024 - 1] = '\n';
	journald_log_write(j, STDPIPE_STDERR, huge, 256 * 1024);
	g_assert_cmpuint(c.entries->len, ==, 2);
	g_assert_false(is_partial(&c, 1));
	g_assert_cmpuint(strlen(message_of(&c, 1)), ==, 8 + 256 * 1024);

	/* what is held at the end goes out as partial */
	journald_log_write(j, STDPIPE_STDERR, "tail", 4);
	journald_log_write(j, STDPIPE_STDOUT, "out", 3);
	journald_log_free(j);
	g_assert_cmpuint(c.entries->len, ==, 4);
	g_assert_cmpstr(message_of(&c, 2), ==, "MESSAGE=out");
	g_assert_cmpstr(priority_of(&c, 2), ==, "PRIORITY=6");
	g_assert_true(is_partial(&c, 2));
	g_assert_cmpstr(message_of(&c, 3), ==, "MESSAGE=tail");
	g_assert_cmpstr(priority_of(&c, 3), ==, "PRIORITY=3");
	g_assert_true(is_partial(&c, 3));
	g_ptr_array_unref(c.entries);
}

static void test_no_partial_message(void)
{
	struct capture c;
	capture_init(&c);
	struct journald_log_config cfg = { .cid = CID, .no_partial_message = true };
	struct journald_log *j = new_log(&cfg, &c);
	journald_log_write(j, STDPIPE_STDOUT, "held", 4);
	journald_log_free(j);
	g_assert_cmpuint(c.entries->len, ==, 1);
	g_assert_cmpstr(message_of(&c, 0), ==, "MESSAGE=held");
	g_assert_false(is_partial(&c, 0));
	g_ptr_array_unref(c.entries);
}

static void test_send_failure(void)
{
	struct capture c;
	capture_init(&c);
	c.fail_with = -ECONNREFUSED;
	struct journald_log_config cfg = { .cid = CID };
	struct journald_log *j = new_log(&cfg, &c);
	for (int i = 0; i < 5; i++)
		journald_log_write(j, STDPIPE_STDOUT, "lost\n", 5);
	g_assert_cmpuint(journald_log_failures(j), ==, 5);
	c.fail_with = 0;
	journald_log_write(j, STDPIPE_STDOUT, "ok\n", 3);
	g_assert_cmpuint(journald_log_failures(j), ==, 5);
	journald_log_free(j);
	g_assert_cmpuint(c.entries->len, ==, 6);
	g_ptr_array_unref(c.entries);
}

/* conmon 2.2: "<N>" (0-7) at the start of a line that arrives whole sets PRIORITY and is cut. */
static void test_priority_prefix(void)
{
	struct capture c;
	capture_init(&c);
	struct journald_log_config cfg = { .cid = CID };
	struct journald_log *j = new_log(&cfg, &c);

	const char out[] = "<4>warn\n<8>text\nx<3>y\n<7>\n<2";
	journald_log_write(j, STDPIPE_STDOUT, out, sizeof(out) - 1);
	journald_log_write(j, STDPIPE_STDOUT, ">joined\n", 8);
	journald_log_write(j, STDPIPE_STDERR, "<0>err\nplain\n", 14);

	const char *want[][2] = { { "MESSAGE=warn\n", "PRIORITY=4" },	   { "MESSAGE=<8>text\n", "PRIORITY=6" },
				  { "MESSAGE=x<3>y\n", "PRIORITY=6" },	   { "MESSAGE=\n", "PRIORITY=7" },
				  { "MESSAGE=<2>joined\n", "PRIORITY=6" }, { "MESSAGE=err\n", "PRIORITY=0" },
				  { "MESSAGE=plain\n", "PRIORITY=3" } };
	g_assert_cmpuint(c.entries->len, ==, G_N_ELEMENTS(want));
	for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
		g_assert_cmpstr(message_of(&c, i), ==, want[i][0]);
		g_assert_cmpstr(priority_of(&c, i), ==, want[i][1]);
	}
	journald_log_free(j);
	g_ptr_array_unref(c.entries);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/log_journald/fields_minimal", test_fields_minimal);
	g_test_add_func("/log_journald/fields_full", test_fields_full);
	g_test_add_func("/log_journald/config_errors", test_config_errors);
	g_test_add_func("/log_journald/lines", test_lines);
	g_test_add_func("/log_journald/priority_prefix", test_priority_prefix);
	g_test_add_func("/log_journald/partial", test_partial);
	g_test_add_func("/log_journald/no_partial_message", test_no_partial_message);
	g_test_add_func("/log_journald/send_failure", test_send_failure);
	return g_test_run();
}
