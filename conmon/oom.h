/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Detecting that the kernel OOM-killed something in the container's cgroup:
 * cgroup v1 (eventfd on memory.oom_control) or v2 (inotify on
 * memory.events; poll() on the file itself when root's inotify instances
 * are used up). When it happens an empty file named "oom" is created in
 * every directory given (the bundle, the persist dir) — before the exit file.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

struct oom_watch;

/*
 * Find pid's memory cgroup and watch it. NULL with err when there is nothing to watch.
 * oom_dirs is NULL-terminated (a NULL entry ends it); directories that do not exist are skipped.
 */
struct oom_watch *oom_watch_new(pid_t pid, const char *const *oom_dirs, GError **err);

/* Same on an explicit cgroup directory (tests build a v2-like directory by hand). */
struct oom_watch *oom_watch_new_at(const char *cgroup_dir, bool v2, const char *const *oom_dirs, GError **err);

/* After the container exited: one last look (the event may not have been delivered yet). */
void oom_watch_final_check(struct oom_watch *w);

bool oom_watch_triggered(const struct oom_watch *w);

void oom_watch_free(struct oom_watch *w);

/* Exposed for unit tests: the cgroup directory for the text of /proc/<pid>/cgroup, or NULL. */
char *oom_cgroup_dir(const char *proc_cgroup, bool v2);
