/* SPDX-License-Identifier: Apache-2.0 */
/* The built-in seccomp profile: data, and the profile made from it. */
#include <errno.h>

#include "wrapper/seccomp_profile.h"

/*
 * The built-in profile. Policy: anything not listed fails with ENOSYS, so
 * programs probing new syscalls fall back; what we forbid on purpose fails
 * with EPERM, so the refusal reads as one. Namespace and mount syscalls are
 * allowed and left to capabilities, as podman does. Syscalls that need a
 * capability are allowed with it and EPERM without it.
 */

#define NAMES(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define ALLOW "SCMP_ACT_ALLOW"
#define ERRNO "SCMP_ACT_ERRNO"

struct builtin_rule {
	const char *const *names;
	const char *action;
	int errno_ret; /* 0: none */
	const char *inc_caps[3];
	const char *exc_caps[3];
	const char *inc_arches[4];
	struct seccomp_arg args[2];
	unsigned int n_args;
	const char *comment;
};

#define ARG(i, v, o)                                  \
	{                                             \
		.index = (i), .value = (v), .op = (o) \
	}
/* personality(2) personas a container may switch to, and 0xffffffff, the query. */
#define PERSONALITY(v)                                                                                          \
	{                                                                                                       \
		.names = NAMES("personality"), .action = ALLOW, .args = { ARG(0, v, SCMP_CMP_EQ) }, .n_args = 1 \
	}
/* The same names, allowed with cap and refused with EPERM without it. */
#define GATED(cap, ...)                                                                               \
	{ .names = NAMES(__VA_ARGS__), .action = ALLOW, .inc_caps = { cap } },                        \
	{                                                                                             \
		.names = NAMES(__VA_ARGS__), .action = ERRNO, .errno_ret = EPERM, .exc_caps = { cap } \
	}

#define AF_NETLINK_NR 16
#define NETLINK_AUDIT_NR 9

static const struct builtin_rule builtin_rules[] = {
	{
		.comment = "Refused on purpose: host-wide or obsolete interfaces",
		.action = ERRNO,
		.errno_ret = EPERM,
		.names = NAMES("_sysctl", "afs_syscall", "bdflush", "create_module", "get_kernel_syms",
			       "kexec_file_load", "kexec_load", "lookup_dcookie", "migrate_pages", "move_pages",
			       "nfsservctl", "oldfstat", "oldlstat", "oldolduname", "olduname", "oldstat",
			       "pciconfig_iobase", "pciconfig_read", "pciconfig_write", "query_module", "swapoff",
			       "swapon", "sysfs", "uselib", "userfaultfd", "ustat", "vm86", "vm86old", "vmsplice"),
	},
	{
		.comment = "Ordinary process, file, memory, IPC, network and namespace calls",
		.action = ALLOW,
		.names = NAMES(
			"_llseek", "_newselect", "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk",
			"cachestat", "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_getres",
			"clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
			"clock_nanosleep_time64", "clone", "clone3", "close", "close_range", "connect",
			"copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
			"epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd",
			"eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64",
			"fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2",
			"fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "file_getattr",
			"file_setattr", "flistxattr", "flock", "fork", "fremovexattr", "fsconfig", "fsetxattr",
			"fsmount", "fsopen", "fspick", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync",
			"ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait",
			"futex_waitv", "futex_wake", "futimesat", "get_mempolicy", "get_robust_list", "get_thread_area",
			"getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid", "geteuid32",
			"getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid",
			"getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresgid32",
			"getresuid", "getresuid32", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt",
			"gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat", "inotify_add_watch",
			"inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents",
			"io_pgetevents", "io_pgetevents_time64", "io_setup", "io_submit", "ioctl", "ioprio_get",
			"ioprio_set", "ipc", "keyctl", "kill", "landlock_add_rule", "landlock_create_ruleset",
			"landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
			"listmount", "listxattr", "listxattrat", "llistxattr", "lremovexattr", "lseek", "lsetxattr",
			"lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "lstat", "lstat64", "madvise",
			"map_shadow_stack", "mbind", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir",
			"mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mount",
			"mount_setattr", "move_mount", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
			"mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink",
			"mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall",
			"munmap", "name_to_handle_at", "nanosleep", "newfstatat", "nice", "open", "open_tree", "openat",
			"openat2", "pause", "pidfd_getfd", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
			"pivot_root", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64",
			"prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
			"pselect6_time64", "ptrace", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
			"readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
			"remap_file_pages", "removexattr", "removexattrat", "rename", "renameat", "renameat2",
			"restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
			"rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
			"rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
			"sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
			"sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
			"sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
			"semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
			"sendto", "set_mempolicy", "set_mempolicy_home_node", "set_robust_list", "set_thread_area",
			"set_tid_address", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
			"setgroups", "setgroups32", "setitimer", "setns", "setpgid", "setpriority", "setregid",
			"setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32",
			"setrlimit", "setsid", "setsockopt", "setuid", "setuid32", "setxattr", "setxattrat", "shmat",
			"shmctl", "shmdt", "shmget", "shutdown", "sigaction", "sigaltstack", "signal", "signalfd",
			"signalfd4", "sigpending", "sigprocmask", "sigreturn", "sigsuspend", "socketcall", "socketpair",
			"splice", "stat", "stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat",
			"sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
			"timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
			"timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
			"timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask",
			"umount", "umount2", "uname", "unlink", "unlinkat", "unshare", "uretprobe", "utime",
			"utimensat", "utimensat_time64", "utimes", "vfork", "wait4", "waitid", "waitpid", "write",
			"writev"),
	},
	PERSONALITY(0x0),
	PERSONALITY(0x0008),
	PERSONALITY(0x20000),
	PERSONALITY(0x20008),
	PERSONALITY(0xffffffff),
	/*
	 * socket(): everything except an audit netlink socket, which without
	 * CAP_AUDIT_WRITE gets EINVAL so that login tools carry on without audit.
	 */
	{ .names = NAMES("socket"),
	  .action = ALLOW,
	  .exc_caps = { "CAP_AUDIT_WRITE" },
	  .args = { ARG(0, AF_NETLINK_NR, SCMP_CMP_NE) },
	  .n_args = 1 },
	{ .names = NAMES("socket"),
	  .action = ALLOW,
	  .exc_caps = { "CAP_AUDIT_WRITE" },
	  .args = { ARG(0, AF_NETLINK_NR, SCMP_CMP_EQ), ARG(2, NETLINK_AUDIT_NR, SCMP_CMP_NE) },
	  .n_args = 2 },
	{ .names = NAMES("socket"),
	  .action = ERRNO,
	  .errno_ret = EINVAL,
	  .exc_caps = { "CAP_AUDIT_WRITE" },
	  .args = { ARG(0, AF_NETLINK_NR, SCMP_CMP_EQ), ARG(2, NETLINK_AUDIT_NR, SCMP_CMP_EQ) },
	  .n_args = 2 },
	{ .names = NAMES("socket"), .action = ALLOW, .inc_caps = { "CAP_AUDIT_WRITE" } },
	/* Architecture-specific calls. */
	{ .names = NAMES("arch_prctl"), .action = ALLOW, .inc_arches = { "amd64", "x32" } },
	{ .names = NAMES("modify_ldt"), .action = ALLOW, .inc_arches = { "amd64", "x32", "386" } },
	{ .names = NAMES("arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cacheflush", "set_tls",
			 "sync_file_range2"),
	  .action = ALLOW,
	  .inc_arches = { "arm", "arm64" } },
	{ .names = NAMES("swapcontext", "sync_file_range2"), .action = ALLOW, .inc_arches = { "ppc64le" } },
	{ .names = NAMES("s390_guarded_storage", "s390_runtime_instr", "s390_sthyi"),
	  .action = ALLOW,
	  .inc_arches = { "s390", "s390x" } },
	{ .names = NAMES("s390_pci_mmio_read", "s390_pci_mmio_write"),
	  .action = ALLOW,
	  .inc_caps = { "CAP_SYS_RAWIO" },
	  .inc_arches = { "s390", "s390x" } },
	{ .names = NAMES("riscv_flush_icache", "riscv_hwprobe"), .action = ALLOW, .inc_arches = { "riscv64" } },
	/* Calls that only do something useful with a capability. */
	GATED("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
	GATED("CAP_SYS_ADMIN", "fanotify_init", "quotactl", "quotactl_fd", "setdomainname", "sethostname"),
	GATED("CAP_SYS_BOOT", "reboot"),
	GATED("CAP_SYS_CHROOT", "chroot"),
	GATED("CAP_SYS_MODULE", "delete_module", "finit_module", "init_module"),
	GATED("CAP_SYS_PACCT", "acct"),
	GATED("CAP_SYS_PTRACE", "kcmp", "process_madvise", "process_vm_readv", "process_vm_writev"),
	GATED("CAP_SYS_RAWIO", "ioperm", "iopl"),
	GATED("CAP_SYS_TIME", "clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64", "settimeofday",
	      "stime"),
	GATED("CAP_SYS_TTY_CONFIG", "vhangup"),
	GATED("CAP_SYSLOG", "syslog"),
	/* bpf and perf_event_open: their own capabilities, or CAP_SYS_ADMIN as before kernel 5.8. */
	{ .names = NAMES("bpf"), .action = ALLOW, .inc_caps = { "CAP_BPF" } },
	{ .names = NAMES("bpf"), .action = ALLOW, .inc_caps = { "CAP_SYS_ADMIN" }, .exc_caps = { "CAP_BPF" } },
	{ .names = NAMES("bpf"), .action = ERRNO, .errno_ret = EPERM, .exc_caps = { "CAP_BPF", "CAP_SYS_ADMIN" } },
	{ .names = NAMES("perf_event_open"), .action = ALLOW, .inc_caps = { "CAP_PERFMON" } },
	{ .names = NAMES("perf_event_open"),
	  .action = ALLOW,
	  .inc_caps = { "CAP_SYS_ADMIN" },
	  .exc_caps = { "CAP_PERFMON" } },
	{ .names = NAMES("perf_event_open"),
	  .action = ERRNO,
	  .errno_ret = EPERM,
	  .exc_caps = { "CAP_PERFMON", "CAP_SYS_ADMIN" } },
};

static const struct {
	const char *arch;
	const char *sub[3];
} builtin_arch_map[] = {
	{ "SCMP_ARCH_X86_64", { "SCMP_ARCH_X86", "SCMP_ARCH_X32" } },
	{ "SCMP_ARCH_AARCH64", { "SCMP_ARCH_ARM" } },
	{ "SCMP_ARCH_PPC64LE", { NULL } },
	{ "SCMP_ARCH_S390X", { "SCMP_ARCH_S390" } },
	{ "SCMP_ARCH_RISCV64", { NULL } },
	{ "SCMP_ARCH_MIPS64", { "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32" } },
	{ "SCMP_ARCH_MIPSEL64", { "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32" } },
};

/* Copy a NULL-terminated list, or the first n entries of a fixed array (stopping at NULL). */
static char **strv_from(const char *const *v, gsize n)
{
	GPtrArray *a = g_ptr_array_new();

	for (gsize i = 0; v && i < n && v[i]; i++)
		g_ptr_array_add(a, g_strdup(v[i]));
	g_ptr_array_add(a, NULL);
	return (char **)g_ptr_array_free(a, FALSE);
}

struct seccomp_profile *seccomp_profile_default(void)
{
	struct seccomp_profile *p = seccomp_profile_new("default profile");

	p->builtin = true;
	p->default_action = g_strdup(ERRNO);
	p->has_default_errno = true;
	p->default_errno = ENOSYS;
	p->architectures = g_new0(char *, 1);
	p->flags = g_new0(char *, 1);
	for (gsize i = 0; i < G_N_ELEMENTS(builtin_arch_map); i++) {
		struct seccomp_arch_map *m = g_new0(struct seccomp_arch_map, 1);

		m->arch = g_strdup(builtin_arch_map[i].arch);
		m->sub_arches = strv_from(builtin_arch_map[i].sub, G_N_ELEMENTS(builtin_arch_map[i].sub));
		g_ptr_array_add(p->arch_map, m);
	}
	for (gsize i = 0; i < G_N_ELEMENTS(builtin_rules); i++) {
		const struct builtin_rule *b = &builtin_rules[i];
		struct seccomp_rule *r = g_new0(struct seccomp_rule, 1);

		r->names = strv_from(b->names, G_MAXSIZE);
		r->action = g_strdup(b->action);
		r->has_errno = b->errno_ret != 0;
		r->errno_ret = (guint)b->errno_ret;
		r->args = g_array_new(FALSE, FALSE, sizeof(struct seccomp_arg));
		g_array_append_vals(r->args, b->args, b->n_args);
		r->includes.caps = strv_from(b->inc_caps, G_N_ELEMENTS(b->inc_caps));
		r->includes.arches = strv_from(b->inc_arches, G_N_ELEMENTS(b->inc_arches));
		r->excludes.caps = strv_from(b->exc_caps, G_N_ELEMENTS(b->exc_caps));
		r->excludes.arches = g_new0(char *, 1);
		r->comment = g_strdup(b->comment);
		r->source_index = (guint)i;
		g_ptr_array_add(p->rules, r);
	}
	return p;
}
