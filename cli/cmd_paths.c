/* SPDX-License-Identifier: MIT */
/* mace paths: list the shipped paths, or validate path files. */
#include <errno.h>
#include <string.h>

#include "cli.h"

static int list(void)
{
	struct mace_path *p;
	const char *name;
	char err[512];
	unsigned int i;
	int rc = EXIT_OK;

	for (i = 0; (name = mace_path_builtin_name(i)); i++) {
		p = mace_path_load(name, err, sizeof(err));
		if (!p) {
			/* A shipped path that does not parse is our bug: say so. */
			fprintf(stderr, "mace: paths: %s\n", err);
			rc = EXIT_RUNTIME;
			continue;
		}
		printf("%-20s %s\n", mace_path_name(p), mace_path_description(p));
		mace_path_free(p);
	}
	return rc;
}

int cmd_paths(int argc, char **argv)
{
	struct cli_opts o;
	struct mace_path *p;
	char err[512];
	int i, rc;

	rc = cli_parse(argc, argv, 0, &o);
	if (rc)
		return rc;
	if (!o.nargs)
		return list();
	for (i = 0; i < o.nargs; i++) {
		err[0] = 0;
		p = mace_path_load(o.args[i], err, sizeof(err));
		if (p) {
			printf("%s: ok\n", o.args[i]);
			mace_path_free(p);
		} else {
			fprintf(stderr, "%s\n", *err ? err : strerror(errno));
			rc = EXIT_RUNTIME;
		}
	}
	return rc;
}
