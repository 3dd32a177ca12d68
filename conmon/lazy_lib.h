/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Libraries the monitor needs only for some containers (libsystemd for the
 * journald driver, libseccomp for seccomp notify) are loaded on first use
 * instead of linked: every linked library costs each idle monitor its
 * relocated data pages, about 120 KiB of private dirty memory for libsystemd
 * and what it pulls in.
 */
#pragma once

#include <glib.h>
#include <stddef.h>

struct lazy_sym {
	const char *name;
	void **fn; /* where the resolved address goes */
};

/*
 * Open soname (once per process; later calls are cheap) and resolve every
 * symbol. On failure nothing is resolved and err names the library and why.
 */
int lazy_lib_load(const char *soname, const struct lazy_sym *syms, size_t n, GError **err);
