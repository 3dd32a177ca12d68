/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libarchive, loaded on first use. Linked in, it and what it pulls in (libxml2, ICU, libstdc++, the
 * compressors) cost every ctr-wrap start about 2 ms; only unpacking an image layer needs it.
 */
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <glib.h>

/* The functions image_layer.c calls, each with libarchive's own prototype. */
#define ARCHIVE_LIB_FUNCS(X)                \
	X(archive_entry_hardlink)           \
	X(archive_entry_pathname)           \
	X(archive_entry_set_hardlink)       \
	X(archive_entry_set_pathname)       \
	X(archive_entry_size)               \
	X(archive_entry_xattr_add_entry)    \
	X(archive_entry_xattr_clear)        \
	X(archive_entry_xattr_count)        \
	X(archive_entry_xattr_next)         \
	X(archive_entry_xattr_reset)        \
	X(archive_errno)                    \
	X(archive_error_string)             \
	X(archive_read_data)                \
	X(archive_read_data_block)          \
	X(archive_read_free)                \
	X(archive_read_new)                 \
	X(archive_read_next_header)         \
	X(archive_read_open)                \
	X(archive_read_support_filter_gzip) \
	X(archive_read_support_filter_zstd) \
	X(archive_read_support_format_raw)  \
	X(archive_read_support_format_tar)  \
	X(archive_set_error)                \
	X(archive_write_close)              \
	X(archive_write_data_block)         \
	X(archive_write_disk_new)           \
	X(archive_write_disk_set_options)   \
	X(archive_write_finish_entry)       \
	X(archive_write_free)               \
	X(archive_write_header)

#define ARCHIVE_LIB_FIELD(name) __typeof__(name) *name;
struct archive_lib {
	ARCHIVE_LIB_FUNCS(ARCHIVE_LIB_FIELD)
};
#undef ARCHIVE_LIB_FIELD

/* The loaded library (loaded once, kept for the process's life); NULL with err when it cannot be. */
const struct archive_lib *archive_lib_load(GError **err);
