/* SPDX-License-Identifier: MIT */
/*
 * mace plot: egress and ingress overhead per packet over time (like the MACE
 * poster's Fig. 6, docs/DESIGN.md) and their distributions, drawn by gnuplot.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

struct series {
	FILE *f[2];		/* data file per direction */
	uint64_t n[2];
	uint64_t t0;
	struct mace_hist *h;
	char path[64];
};

static int read_records(const char *file, struct series *se)
{
	struct mace_record rec = { .sz = sizeof(rec) };
	char *line = NULL;
	size_t cap = 0;
	unsigned long lineno = 0;
	ssize_t len;
	FILE *in;
	int rc = 0;

	in = fopen(file, "r");
	if (!in) {
		fprintf(stderr, "mace: plot: cannot read '%s': %s\n", file, strerror(errno));
		return EXIT_RUNTIME;
	}
	while ((len = getline(&line, &cap, in)) > 0) {
		enum mace_format fmt = line[0] == '{' ? MACE_FORMAT_JSON : MACE_FORMAT_CSV;

		lineno++;
		if (lineno == 1 && (!strcmp(line, mace_csv_header()) ||
				    !strcmp(line, mace_csv_header_container())))
			continue;
		if (mace_record_parse(line, fmt, &rec, se->path, sizeof(se->path))) {
			fprintf(stderr, "mace: plot: %s:%lu:1: not a mace record\n", file, lineno);
			rc = EXIT_RUNTIME;
			break;
		}
		if (rec.dir > MACE_INGRESS)
			continue;
		if (!se->n[0] && !se->n[1])
			se->t0 = rec.ts_ns;
		fprintf(se->f[rec.dir], "%.6f %.3f\n",
			rec.ts_ns >= se->t0 ? (rec.ts_ns - se->t0) / 1e9 : -((se->t0 - rec.ts_ns) / 1e9),
			rec.latency_ns / 1e3);
		mace_hist_add(se->h, rec.latency_ns);
		se->n[rec.dir]++;
	}
	if (!rc && ferror(in)) {
		fprintf(stderr, "mace: plot: reading '%s': %s\n", file, strerror(errno));
		rc = EXIT_RUNTIME;
	}
	free(line);
	fclose(in);
	return rc;
}

static const char *terminal_for(const char *out)
{
	const char *dot = strrchr(out, '.');

	if (dot && !strcmp(dot, ".svg"))
		return "svg size 1000,750 dynamic background rgb 'white'";
	if (dot && !strcmp(dot, ".png"))
		return "png size 1000,750";
	return NULL;
}

/* Single quotes delimit gnuplot strings; refuse names that would break out. */
static bool quotable(const char *s)
{
	return !strchr(s, '\'') && !strchr(s, '\n');
}

static int run_gnuplot(const char *script)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		fprintf(stderr, "mace: plot: fork: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	if (pid == 0) {
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		if (errno == ENOENT)
			fprintf(stderr, "mace: plot: gnuplot not found; install the gnuplot-nox "
				"package\n");
		else
			fprintf(stderr, "mace: plot: cannot run gnuplot: %s\n", strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		fprintf(stderr, "mace: plot: gnuplot failed\n");
		return EXIT_RUNTIME;
	}
	if (WEXITSTATUS(status) == 127)
		return EXIT_RUNTIME;
	if (WEXITSTATUS(status)) {
		fprintf(stderr, "mace: plot: gnuplot exited with status %d\n",
			WEXITSTATUS(status));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

static void write_script(FILE *sc, const char *dir, const char *term, const char *out,
			 const struct series *se)
{
	static const char *const names[2] = { "egress", "ingress" };
	double lo = mace_hist_quantile(se->h, 0) / 1e3;
	double hi = mace_hist_quantile(se->h, 0.99) / 1e3;
	double bin = (hi - lo) / 60;
	bool first = true;
	int d;

	if (bin < 0.05)
		bin = 0.05;
	fprintf(sc, "set terminal %s\nset output '%s'\n", term, out);
	fprintf(sc, "set multiplot layout 2,1 title 'mace: added container latency per packet "
		"(path %s)'\n", se->path);
	fprintf(sc, "set grid\nset key top right\n");
	fprintf(sc, "set xlabel 'time (s)'\nset ylabel 'overhead (us)'\nplot ");
	for (d = 0; d < 2; d++) {
		if (!se->n[d])
			continue;
		fprintf(sc, "%s'%s/%s.dat' using 1:2 with points pt 7 ps 0.4 title '%s'",
			first ? "" : ", ", dir, names[d], names[d]);
		first = false;
	}
	fprintf(sc, "\nbin(x) = %g * floor(x / %g) + %g / 2\n", bin, bin, bin);
	fprintf(sc, "set xlabel 'overhead (us), 99%% of packets'\nset ylabel 'packets'\n");
	fprintf(sc, "set xrange [%g:%g]\nset style fill transparent solid 0.5\nplot ",
		lo - bin, hi + bin);
	first = true;
	for (d = 0; d < 2; d++) {
		if (!se->n[d])
			continue;
		fprintf(sc, "%s'%s/%s.dat' using (bin($2)):(1) smooth freq with boxes title '%s'",
			first ? "" : ", ", dir, names[d], names[d]);
		first = false;
	}
	fprintf(sc, "\nunset multiplot\n");
}

int cmd_plot(int argc, char **argv)
{
	struct series se = { 0 };
	struct cli_opts o;
	char dir[] = "/tmp/mace-plot.XXXXXX", p[3][64];
	const char *term;
	FILE *sc = NULL;
	int rc, d;

	rc = cli_parse(argc, argv, CO_OUTFILE, &o);
	if (rc)
		return rc;
	if (o.nargs != 1) {
		if (o.nargs)
			fprintf(stderr, "mace: plot: unexpected argument '%s'\n", o.args[1]);
		else
			fprintf(stderr, "mace: plot: missing FILE.csv\n");
		return EXIT_USAGE;
	}
	if (!o.output) {
		fprintf(stderr, "mace: plot: missing '-o OUT.svg|OUT.png'\n");
		return EXIT_USAGE;
	}
	term = terminal_for(o.output);
	if (!term) {
		fprintf(stderr, "mace: plot: bad output '%s' (want .svg or .png)\n", o.output);
		return EXIT_USAGE;
	}
	if (!quotable(o.output)) {
		fprintf(stderr, "mace: plot: bad output '%s' (quote or newline)\n", o.output);
		return EXIT_USAGE;
	}
	if (!mkdtemp(dir)) {
		fprintf(stderr, "mace: plot: mkdtemp: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	snprintf(p[0], sizeof(p[0]), "%s/egress.dat", dir);
	snprintf(p[1], sizeof(p[1]), "%s/ingress.dat", dir);
	snprintf(p[2], sizeof(p[2]), "%s/plot.gp", dir);
	se.h = mace_hist_new();
	se.f[0] = fopen(p[0], "w");
	se.f[1] = fopen(p[1], "w");
	if (!se.h || !se.f[0] || !se.f[1]) {
		fprintf(stderr, "mace: plot: %s\n", strerror(errno ? errno : ENOMEM));
		rc = EXIT_RUNTIME;
		goto out;
	}
	rc = read_records(o.args[0], &se);
	for (d = 0; d < 2; d++) {
		if (fclose(se.f[d]) && !rc) {
			fprintf(stderr, "mace: plot: writing %s: %s\n", p[d], strerror(errno));
			rc = EXIT_RUNTIME;
		}
		se.f[d] = NULL;
	}
	if (rc)
		goto out;
	if (!se.n[0] && !se.n[1]) {
		fprintf(stderr, "mace: plot: '%s' has no records\n", o.args[0]);
		rc = EXIT_RUNTIME;
		goto out;
	}
	if (!quotable(se.path))
		strcpy(se.path, "?");
	sc = fopen(p[2], "w");
	if (!sc) {
		fprintf(stderr, "mace: plot: %s: %s\n", p[2], strerror(errno));
		rc = EXIT_RUNTIME;
		goto out;
	}
	write_script(sc, dir, term, o.output, &se);
	if (fclose(sc)) {
		fprintf(stderr, "mace: plot: writing %s: %s\n", p[2], strerror(errno));
		rc = EXIT_RUNTIME;
		goto out;
	}
	rc = run_gnuplot(p[2]);
	if (!rc)
		fprintf(stderr, "mace: plot: %llu egress and %llu ingress records -> %s\n",
			(unsigned long long)se.n[0], (unsigned long long)se.n[1], o.output);
out:
	for (d = 0; d < 2; d++)
		if (se.f[d])
			fclose(se.f[d]);
	mace_hist_free(se.h);
	for (d = 0; d < 3; d++)
		unlink(p[d]);
	rmdir(dir);
	return rc;
}
