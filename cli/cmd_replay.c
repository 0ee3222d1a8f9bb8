/* SPDX-License-Identifier: MIT */
/* mace replay: a raw-event file correlated again, into records or a summary. */
#include "cli.h"

int cmd_replay(int argc, char **argv)
{
	struct cli_opts o;
	int rc = cli_parse(argc, argv, CO_PATH | CO_OUT | CO_STAT | CO_JSON, &o);

	if (rc)
		return rc;
	if (o.nargs != 1) {
		if (o.nargs)
			fprintf(stderr, "mace: replay: unexpected argument '%s'\n", o.args[1]);
		else
			fprintf(stderr, "mace: replay: missing FILE\n");
		return EXIT_USAGE;
	}
	if (o.json && !o.stat) {
		fprintf(stderr, "mace: replay: '-j' needs '--stat'\n");
		return EXIT_USAGE;
	}
	/* With --stat the summary replaces the records unless -o asks for both. */
	return cli_run(&o, o.args[0], !o.stat || o.output, o.stat);
}
