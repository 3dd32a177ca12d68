/* SPDX-License-Identifier: Apache-2.0 */
#include "wrapper/cgroup_stats.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

/* Where each controller of a process lives: v1 controller name -> directory, and the unified one. */
struct cg_dirs {
	GHashTable *v1;
	char *v2;
};

static void cg_dirs_clear(struct cg_dirs *d)
{
	g_clear_pointer(&d->v1, g_hash_table_unref);
	g_clear_pointer(&d->v2, g_free);
}

static int cg_dirs_read(pid_t pid, struct cg_dirs *d, GError **err)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/cgroup", (int)pid);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return cm_set_error(err, ESRCH, "process %d is gone", (int)pid);
	d->v1 = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) f = g_strsplit(*l, ":", 3);

		if (g_strv_length(f) != 3 || f[2][0] != '/' || strstr(f[2], "/../"))
			continue;
		if (f[1][0] == '\0') {
			/* Pure v2 is mounted at the root, a hybrid host's unified tree below it. */
			const char *base = access(CGROUP_ROOT "/cgroup.controllers", F_OK) == 0 ? CGROUP_ROOT
												: CGROUP_ROOT
						   "/unified";
			g_free(d->v2);
			d->v2 = g_build_filename(base, f[2], NULL);
			continue;
		}
		g_auto(GStrv) ctrls = g_strsplit(f[1], ",", -1);
		g_autofree char *dir = g_build_filename(CGROUP_ROOT, f[1], f[2], NULL);
		for (char **c = ctrls; *c; c++)
			g_hash_table_replace(d->v1, g_strdup(*c), g_strdup(dir));
	}
	return 0;
}

static bool read_text(const char *dir, const char *file, char **text)
{
	g_autofree char *path = dir ? g_build_filename(dir, file, NULL) : NULL;

	return path && g_file_get_contents(path, text, NULL, NULL);
}

/* A file holding one number; "max" reads as G_MAXUINT64. */
static bool read_u64(const char *dir, const char *file, guint64 *out)
{
	g_autofree char *text = NULL;

	if (!read_text(dir, file, &text))
		return false;
	g_strstrip(text);
	if (strcmp(text, "max") == 0) {
		*out = G_MAXUINT64;
		return true;
	}
	return g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT64, out, NULL);
}

/* "KEY VALUE" lines (memory.stat, cpu.stat): the value of key, 0 if absent. */
static guint64 keyed(const char *text, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, n) == 0 && p[n] == ' ')
			return g_ascii_strtoull(p + n + 1, NULL, 10);
	return 0;
}

static guint64 host_memory(void)
{
	g_autofree char *text = NULL;
	const char *p;

	if (!g_file_get_contents("/proc/meminfo", &text, NULL, NULL) || !(p = strstr(text, "MemTotal:")))
		return 0;
	return g_ascii_strtoull(p + strlen("MemTotal:"), NULL, 10) * 1024;
}

static void read_cpu(const struct cg_dirs *d, struct ctr_usage *u)
{
	const char *v1 = g_hash_table_lookup(d->v1, "cpuacct");
	g_autofree char *stat = NULL;

	if (v1 && read_u64(v1, "cpuacct.usage", &u->cpu_ns))
		return;
	if (read_text(d->v2, "cpu.stat", &stat))
		u->cpu_ns = keyed(stat, "usage_usec") * 1000;
}

static void read_memory(const struct cg_dirs *d, struct ctr_usage *u)
{
	const char *v1 = g_hash_table_lookup(d->v1, "memory");
	g_autofree char *stat = NULL;
	guint64 inactive = 0, host = host_memory();

	if (v1) {
		read_u64(v1, "memory.usage_in_bytes", &u->mem_usage);
		read_u64(v1, "memory.limit_in_bytes", &u->mem_limit);
		if (read_text(v1, "memory.stat", &stat))
			inactive = keyed(stat, "total_inactive_file");
	} else {
		read_u64(d->v2, "memory.current", &u->mem_usage);
		read_u64(d->v2, "memory.max", &u->mem_limit);
		if (read_text(d->v2, "memory.stat", &stat))
			inactive = keyed(stat, "inactive_file");
	}
	u->mem_usage = inactive < u->mem_usage ? u->mem_usage - inactive : u->mem_usage;
	/* v1 writes "no limit" as a huge page-rounded number. */
	if (host && (u->mem_limit == 0 || u->mem_limit > host))
		u->mem_limit = host;
}

static void read_pids(const struct cg_dirs *d, struct ctr_usage *u)
{
	const char *v1 = g_hash_table_lookup(d->v1, "pids");

	if (!read_u64(v1 ? v1 : d->v2, "pids.current", &u->pids))
		u->pids = 0;
}

static void read_blkio(const struct cg_dirs *d, struct ctr_usage *u)
{
	const char *v1 = g_hash_table_lookup(d->v1, "blkio");
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	if (v1) {
		if (!read_text(v1, "blkio.throttle.io_service_bytes_recursive", &text) &&
		    !read_text(v1, "blkio.throttle.io_service_bytes", &text))
			return;
		/* "MAJ:MIN Read N" / "MAJ:MIN Write N" per device. */
		lines = g_strsplit(text, "\n", -1);
		for (char **l = lines; *l; l++) {
			g_auto(GStrv) f = g_strsplit(*l, " ", -1);
			if (g_strv_length(f) != 3)
				continue;
			if (strcmp(f[1], "Read") == 0)
				u->blk_read += g_ascii_strtoull(f[2], NULL, 10);
			else if (strcmp(f[1], "Write") == 0)
				u->blk_write += g_ascii_strtoull(f[2], NULL, 10);
		}
		return;
	}
	if (!read_text(d->v2, "io.stat", &text))
		return;
	/* "MAJ:MIN rbytes=N wbytes=N rios=N ..." per device. */
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		g_auto(GStrv) f = g_strsplit(*l, " ", -1);
		for (char **kv = f; *kv; kv++) {
			if (g_str_has_prefix(*kv, "rbytes="))
				u->blk_read += g_ascii_strtoull(*kv + 7, NULL, 10);
			else if (g_str_has_prefix(*kv, "wbytes="))
				u->blk_write += g_ascii_strtoull(*kv + 7, NULL, 10);
		}
	}
}

static void read_net(pid_t pid, struct ctr_usage *u)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/net/dev", (int)pid);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return;
	/* "  eth0: RXBYTES packets errs drop fifo frame compressed multicast TXBYTES ..." after two headers. */
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		char *colon = strchr(*l, ':');
		guint64 v[9];

		if (!colon)
			continue;
		*colon = '\0';
		if (strcmp(g_strstrip(*l), "lo") == 0)
			continue;
		if (sscanf(colon + 1,
			   "%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
			   " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
			   " %" G_GUINT64_FORMAT,
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]) != 9)
			continue;
		u->net_rx += v[0];
		u->net_tx += v[8];
	}
}

int cgroup_usage_read(pid_t pid, struct ctr_usage *u, GError **err)
{
	struct cg_dirs d = { 0 };

	memset(u, 0, sizeof(*u));
	if (pid <= 0)
		return cm_set_error(err, ESRCH, "no process");
	if (cg_dirs_read(pid, &d, err) < 0)
		return -1;
	read_cpu(&d, u);
	read_memory(&d, u);
	read_pids(&d, u);
	read_blkio(&d, u);
	read_net(pid, u);
	cg_dirs_clear(&d);
	return 0;
}
