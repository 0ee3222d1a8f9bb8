/* SPDX-License-Identifier: MIT */
/* mace stat: latency summaries of a session, aggregated as it runs. */
#include "cli.h"

int cmd_stat(int argc, char **argv)
{
	struct cli_opts o;
	int rc;

	cli_block_signals();	/* before anything is set up: see loop.c */
	rc = cli_parse(argc, argv, CO_SEL | CO_JSON | CO_CMD, &o);

	if (!rc)
		rc = cli_no_args(&o);
	return rc ? rc : cli_run(&o, NULL, false, true);
}
