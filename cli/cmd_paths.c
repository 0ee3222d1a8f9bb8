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

static void print_note(const char *note, void *ctx)
{
	printf("%s: %s\n", (const char *)ctx, note);
}

/* The points of path name that the bound topology lets no packet fire:
 * a check that finds one fails (exit 1), as for a bad file. */
static int check(const struct cli_opts *o, const char *name)
{
	struct mace_opts mo;
	int n;

	cli_fill_mace_opts(o, &mo);
	mo.path = name;
	n = mace_path_check(&mo, print_note, (void *)name);
	if (n < 0) {
		fprintf(stderr, "mace: paths: %s: cannot check against the topology: %s\n", name,
			strerror(-n));
		return EXIT_RUNTIME;
	}
	if (!n)
		printf("%s: every point can fire on this topology\n", name);
	return n ? EXIT_RUNTIME : EXIT_OK;
}

int cmd_paths(int argc, char **argv)
{
	char *args[argc + 1];
	bool checking = false;
	struct cli_opts o;
	struct mace_path *p;
	char err[512];
	int i, n = 0, rc;

	/* --check is ours alone; the selection options come with it */
	for (i = 0; i < argc; i++) {
		if (i && !strcmp(argv[i], "--check"))
			checking = true;
		else
			args[n++] = argv[i];
	}
	args[n] = NULL;
	rc = cli_parse(n, args, checking ? CO_SEL : 0, &o);
	if (rc)
		return rc;
	if (o.path || o.save_file || o.duration || o.user_corr || o.backend != MACE_BACKEND_AUTO) {
		fprintf(stderr, "mace: paths: --check takes --netns and --outer only\n");
		return EXIT_USAGE;
	}
	if (!o.nargs && !checking)
		return list();
	if (!o.nargs) {
		o.args = (char *[]){ "inner-dev" };
		o.nargs = 1;
	}
	for (i = 0; i < o.nargs; i++) {
		err[0] = 0;
		p = mace_path_load(o.args[i], err, sizeof(err));
		if (p) {
			printf("%s: ok\n", o.args[i]);
			mace_path_free(p);
			if (checking && check(&o, o.args[i]))
				rc = EXIT_RUNTIME;
		} else {
			fprintf(stderr, "%s\n", *err ? err : strerror(errno));
			rc = EXIT_RUNTIME;
		}
	}
	return rc;
}
