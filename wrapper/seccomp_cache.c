/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/seccomp_cache.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/safe_open.h"
#include "wrapper/state.h"

/* The first line of an entry; a new format gets a new line, and old entries become misses. */
#define HEADER "ctr-wrap seccomp check 1: passed\n"
#define ENTRY_MAX (256 * 1024)

/* Length-prefixed, so that no two different profiles hash the same text. */
static void add_str(GChecksum *c, const char *s)
{
	guint64 len = s ? strlen(s) + 1 : 0;

	g_checksum_update(c, (const guchar *)&len, sizeof(len));
	if (s)
		g_checksum_update(c, (const guchar *)s, (gssize)len);
}

static void add_u64(GChecksum *c, guint64 v)
{
	g_checksum_update(c, (const guchar *)&v, sizeof(v));
}

static void add_strv(GChecksum *c, char **v)
{
	add_u64(c, v ? g_strv_length(v) : 0);
	for (char **p = v; p && *p; p++)
		add_str(c, *p);
}

char *seccomp_cache_key(const struct seccomp_profile *p, uint32_t arch)
{
	g_autoptr(GChecksum) c = g_checksum_new(G_CHECKSUM_SHA256);
	const struct scmp_version *v = seccomp_version();

	add_str(c, HEADER);
	add_u64(c, arch);
	add_u64(c, v ? ((guint64)v->major << 32) | (v->minor << 16) | v->micro : 0);
	/* The actions libseccomp accepts depend on what the running kernel supports. */
	add_u64(c, seccomp_api_get());
	/* Messages name the source; built-in profiles warn about nothing. */
	add_str(c, p->source);
	add_u64(c, p->builtin);
	add_str(c, p->default_action);
	add_u64(c, p->has_default_errno);
	add_u64(c, p->default_errno);
	add_strv(c, p->architectures);
	add_strv(c, p->flags);
	add_u64(c, p->rules->len);
	for (guint i = 0; i < p->rules->len; i++) {
		const struct seccomp_rule *r = p->rules->pdata[i];

		add_strv(c, r->names);
		add_str(c, r->action);
		add_u64(c, r->has_errno);
		add_u64(c, r->errno_ret);
		add_u64(c, r->source_index);
		add_u64(c, r->args->len);
		for (guint j = 0; j < r->args->len; j++) {
			const struct seccomp_arg *a = &g_array_index(r->args, struct seccomp_arg, j);

			add_u64(c, a->index);
			add_u64(c, a->value);
			add_u64(c, a->value_two);
			add_u64(c, a->op);
		}
	}
	return g_strdup(g_checksum_get_string(c));
}

bool seccomp_cache_lookup(const char *dir, const char *key, GPtrArray *warnings)
{
	g_autofree char *path = g_build_filename(dir, key, NULL);
	g_autofree char *text = state_read_trusted(path, ENTRY_MAX, NULL);
	g_auto(GStrv) lines = NULL;

	if (!text || !g_str_has_prefix(text, HEADER) || !g_str_has_suffix(text, "\n"))
		return false;
	lines = g_strsplit(text + strlen(HEADER), "\n", -1);
	for (char **l = lines; warnings && *l; l++)
		if (**l)
			g_ptr_array_add(warnings, g_strcompress(*l));
	return true;
}

/* Drop the oldest entries until at most max are left. */
static void trim(const char *dir, guint max)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	while (d && (name = g_dir_read_name(d)))
		g_ptr_array_add(names, g_strdup(name));
	while (names->len > max) {
		guint oldest = 0;
		struct timespec when = { 0 };

		for (guint i = 0; i < names->len; i++) {
			g_autofree char *p = g_build_filename(dir, names->pdata[i], NULL);
			struct stat sb;

			if (lstat(p, &sb) < 0)
				sb.st_mtim = (struct timespec){ 0 };
			if (i == 0 || sb.st_mtim.tv_sec < when.tv_sec ||
			    (sb.st_mtim.tv_sec == when.tv_sec && sb.st_mtim.tv_nsec < when.tv_nsec)) {
				oldest = i;
				when = sb.st_mtim;
			}
		}
		g_autofree char *p = g_build_filename(dir, names->pdata[oldest], NULL);
		if (unlink(p) < 0 && errno != ENOENT)
			g_debug("unlink %s: %s", p, g_strerror(errno));
		g_ptr_array_remove_index_fast(names, oldest);
	}
}

void seccomp_cache_store(const char *dir, const char *key, const GPtrArray *warnings, guint first)
{
	g_autofree char *path = g_build_filename(dir, key, NULL);
	g_autoptr(GString) text = g_string_new(HEADER);
	g_autoptr(GError) err = NULL;
	struct stat sb;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		g_debug("mkdir %s: %s", dir, g_strerror(errno));
		return;
	}
	/* Only a directory of ours: never write through a link or into one others can write. */
	if (lstat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 077)) {
		g_debug("%s is not a private directory: not caching", dir);
		return;
	}
	for (guint i = first; warnings && i < warnings->len; i++) {
		g_autofree char *line = g_strescape(warnings->pdata[i], NULL);
		g_string_append_printf(text, "%s\n", line);
	}
	if (cm_write_file_atomic(path, text->str, text->len, 0600, false, &err) < 0) {
		g_debug("%s", err->message);
		return;
	}
	trim(dir, SECCOMP_CACHE_MAX);
}
