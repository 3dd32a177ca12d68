/* SPDX-License-Identifier: Apache-2.0 */
/* cli_parse over an argv made of the input's NUL-separated pieces. */
#include "conmon/cli.h"
#include "conmon/diag.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GPtrArray) args = fuzz_split_nul(data, size);
	g_ptr_array_insert(args, 0, g_strdup("conmon"));
	if (fuzz_argv_asks_help(args, 1))
		return 0;

	/* GOption reorders and drops entries of argv: parse a copy of the pointer array. */
	int argc = (int)args->len;
	g_autofree char **argv = g_new0(char *, args->len + 1);
	memcpy(argv, args->pdata, args->len * sizeof(char *));

	struct cli_opts opts;
	g_autoptr(GError) err = NULL;
	bool ok = cli_parse(argc, argv, &opts, &err) == 0;

	FUZZ_CHECK(ok || err != NULL, "failure without an error");
	FUZZ_CHECK(!ok || err == NULL, "success with an error: %s", err->message);
	if (ok && !opts.version) {
		/* Legacy (api 0) exec sessions have no UUID. */
		FUZZ_CHECK(opts.cid && opts.runtime && opts.log_paths && opts.log_paths[0],
			   "validated options miss a required field");
		FUZZ_CHECK(opts.cuuid || (opts.exec && opts.api_version < 1), "no --cuuid accepted");
		FUZZ_CHECK(opts.log_max_files >= 1 && opts.exit_delay >= 0, "range checks not applied");
	}
	cli_opts_clear(&opts);
	/* --log-level changes the global level: keep the fuzzer quiet. */
	diag_set_level("error");
	return 0;
}
