/* SPDX-License-Identifier: MIT */
/* mace record: a session's records to a file (CSV or JSON lines). */
#include "cli.h"

int cmd_record(int argc, char **argv)
{
	struct cli_opts o;
	int rc;

	cli_block_signals();	/* before anything is set up: see loop.c */
	rc = cli_parse(argc, argv, CO_SEL | CO_OUT | CO_CMD, &o);

	if (!rc)
		rc = cli_no_args(&o);
	return rc ? rc : cli_run(&o, NULL, true, false);
}
