/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ctl/winsz FIFO line protocol. Input byte 0 chooses the path: even
 * feeds the ctl parser directly, odd writes the rest to the real winsz
 * (bit 1 clear) or ctl FIFO and lets the main loop read it. A final newline
 * ends any partial line, so no state leaks into the next input.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "conmon/ctl_fifo.h"
#include "conmon/diag.h"
#include "tests/fuzz/fuzz.h"

#define DIM_MAX 1000

static char *tmpdir;
static struct ctl_fifo *fifo;
static int ctl_w = -1, winsz_w = -1;

static void on_resize(unsigned short rows, unsigned short cols, void *data)
{
	(void)data;
	FUZZ_CHECK(rows <= DIM_MAX && cols <= DIM_MAX, "resize to %u x %u passed the range check", rows, cols);
}

static void on_reopen(void *data)
{
	(void)data;
}

static void cleanup(void)
{
	if (ctl_w >= 0)
		close(ctl_w);
	if (winsz_w >= 0)
		close(winsz_w);
	ctl_fifo_free(fifo);
	if (tmpdir)
		fuzz_remove_tree(tmpdir);
}

static int open_writer(const char *name)
{
	g_autofree char *path = g_build_filename(tmpdir, name, NULL);
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	FUZZ_CHECK(fd >= 0, "open %s: %s", path, g_strerror(errno));
	return fd;
}

static void init(void)
{
	static const struct ctl_handlers h = { .resize = on_resize, .reopen_logs = on_reopen };
	g_autoptr(GError) err = NULL;

	diag_set_level("error");
	tmpdir = g_dir_make_tmp("fuzz-ctl-XXXXXX", &err);
	FUZZ_CHECK(tmpdir, "%s", err->message);
	fifo = ctl_fifo_new(tmpdir, &h, &err);
	FUZZ_CHECK(fifo, "%s", err->message);
	ctl_w = open_writer("ctl");
	winsz_w = open_writer("winsz");
	atexit(cleanup);
}

/* Write everything (the FIFO holds 64 KiB; inputs are far smaller), then let the main loop read it. */
static void through_fifo(int fd, const uint8_t *data, size_t size)
{
	while (size > 0) {
		ssize_t n = write(fd, data, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			g_main_context_iteration(NULL, FALSE);
			continue;
		}
		FUZZ_CHECK(n > 0, "write to FIFO: %s", g_strerror(errno));
		data += n;
		size -= (size_t)n;
	}
	while (g_main_context_iteration(NULL, FALSE))
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!fifo)
		init();
	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	if (mode & 1) {
		int fd = mode & 2 ? ctl_w : winsz_w;
		through_fifo(fd, data, size);
		through_fifo(fd, (const uint8_t *)"\n", 1);
	} else {
		ctl_fifo_feed(fifo, (const char *)data, size);
		ctl_fifo_feed(fifo, "\n", 1);
	}
	return 0;
}
