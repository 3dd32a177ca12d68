/* SPDX-License-Identifier: Apache-2.0 */
/* ctr-wrap: global options and the subcommand table live in commands.c. */
#include "wrapper/commands.h"

int main(int argc, char **argv)
{
	return wrap_main(argc, argv);
}
