/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's resource use, read where the kernel keeps it: the cgroups its process is in
 * (/proc/PID/cgroup, v1 controllers and the v2 unified tree, so hybrid hosts work) and its network
 * namespace (/proc/PID/net/dev). A v1 controller wins over the unified tree where both exist.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

struct ctr_usage {
	guint64 cpu_ns;	   /* CPU time used by the cgroup */
	guint64 mem_usage; /* bytes, less the inactive page cache (as podman and docker count it) */
	guint64 mem_limit; /* bytes; the host's memory when unlimited */
	guint64 pids;
	guint64 blk_read, blk_write; /* bytes */
	guint64 net_rx, net_tx;	     /* bytes on every interface but lo */
};

/* Read pid's usage; fails when the process or its cgroup is gone. */
int cgroup_usage_read(pid_t pid, struct ctr_usage *u, GError **err);
