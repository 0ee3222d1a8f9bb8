/* SPDX-License-Identifier: MIT */
/*
 * mace adjust: corrects the RTTs an unmodified ping printed, probe by probe.
 *
 *	mace adjust [SELECTION] -- ip netns exec CTR ping -c 100 DEST
 *	mace adjust -i rec.csv ping.txt		(records from mace record)
 *
 * Run with a command, it traces the command's probes on the path whose ends
 * are where ping takes its stamps (mace_path_for_rx_stamp: SO_TIMESTAMP by
 * default, user space with ping -U), keeps its output and adjusts it when it
 * ends.  With -i it joins records taken earlier, and says when their path
 * does not match ping's stamps.
 *
 * A reply line "icmp_seq=N ... time=X ms" joins the egress record of echo
 * request N and the ingress record of its reply: adjusted = X - egress -
 * ingress.  The k-th line with seq N takes the k-th request record with seq N
 * (seq wraps at 65536); the reply record must start between the request's
 * start and the request's start + X.  Anything else is "unknown", never a
 * guess.  A keyed join whose overhead exceeds X is printed as the negative
 * number it is, with a note.  When only one direction carries the ICMP key,
 * the other is taken by time window anchored on the keyed one (a request
 * leaves the container at most time=X before its reply reaches the outer
 * device), and only if exactly one keyless record fits and the sum stays
 * below X.  With no key at all (ftrace backend) nothing joins.
 */
#include <errno.h>
#include <math.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct arec {
	uint64_t ts, lat;
	uint16_t seq, id;
	uint8_t dir;
};

struct adjust {
	struct arec *r;
	size_t n, cap;
	struct arec *kl[2];	/* records without a key, per direction, by time */
	size_t nkl[2], capkl[2];
	uint16_t ids[2];	/* distinct echo ids among requests (up to 2 seen) */
	unsigned int nids;
	int want_id;		/* -I, or -1 */
	char path[64];		/* the records' path ("" until one is read) */
	bool paths_differ;	/* records of more than one path */
	uint32_t occ[65536];	/* reply lines seen so far per seq */
};

/* A column of the summary: every value kept, signed, in microseconds. */
struct column {
	double *v;
	size_t n, cap;
};

static int cmp_arec(const void *a, const void *b)
{
	const struct arec *x = a, *y = b;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static int push(struct arec **v, size_t *n, size_t *cap, const struct mace_record *rec)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 1024;
		struct arec *r = realloc(*v, c * sizeof(*r));

		if (!r)
			return -ENOMEM;
		*v = r;
		*cap = c;
	}
	(*v)[(*n)++] = (struct arec){ .ts = rec->ts_ns, .lat = rec->latency_ns,
				      .seq = (uint16_t)rec->seq, .id = rec->id, .dir = rec->dir };
	return 0;
}

static int add_rec(struct adjust *a, const struct mace_record *rec, const char *path)
{
	if (!a->path[0])
		snprintf(a->path, sizeof(a->path), "%s", path);
	else if (strcmp(a->path, path))
		a->paths_differ = true;
	if (!rec->proto && rec->dir <= MACE_INGRESS)
		return push(&a->kl[rec->dir], &a->nkl[rec->dir], &a->capkl[rec->dir], rec);
	if (rec->proto != IPPROTO_ICMP)
		return 0;
	if (rec->dir == MACE_EGRESS && a->want_id >= 0 && rec->id != a->want_id)
		return 0;
	if (rec->dir == MACE_EGRESS && a->want_id < 0 && a->nids < 2 &&
	    !(a->nids == 1 && a->ids[0] == rec->id))
		a->ids[a->nids++] = rec->id;
	return push(&a->r, &a->n, &a->cap, rec);
}

/* The single keyless record of dir starting in [lo, hi], or NULL (none or several). */
static const struct arec *window(const struct adjust *a, uint8_t dir, uint64_t lo, uint64_t hi)
{
	const struct arec *v = a->kl[dir];
	size_t l = 0, h = a->nkl[dir];

	while (l < h) {
		size_t mid = l + (h - l) / 2;

		if (v[mid].ts < lo)
			l = mid + 1;
		else
			h = mid;
	}
	if (l >= a->nkl[dir] || v[l].ts > hi)
		return NULL;
	if (l + 1 < a->nkl[dir] && v[l + 1].ts <= hi)
		return NULL;
	return &v[l];
}

static int read_records(struct adjust *a, const char *file, FILE *f)
{
	const char *header = mace_csv_header();
	size_t hlen = strcspn(header, "\n"), cap = 0;
	struct mace_record rec = { .sz = sizeof(rec) };
	char *line = NULL, path[64];
	unsigned long lineno = 0;
	ssize_t len;
	int ret = 0;

	while ((len = getline(&line, &cap, f)) > 0) {
		enum mace_format fmt = line[0] == '{' ? MACE_FORMAT_JSON : MACE_FORMAT_CSV;

		lineno++;
		if (!strncmp(line, header, hlen) || line[0] == '\n')
			continue;
		if (mace_record_parse(line, fmt, &rec, path, sizeof(path))) {
			fprintf(stderr, "mace: adjust: %s:%lu: not a mace record (CSV or JSON)\n",
				file, lineno);
			ret = EXIT_RUNTIME;
			break;
		}
		if (add_rec(a, &rec, path)) {
			fprintf(stderr, "mace: adjust: %s: out of memory\n", file);
			ret = EXIT_RUNTIME;
			break;
		}
	}
	if (!ret && ferror(f)) {
		fprintf(stderr, "mace: adjust: reading %s: %s\n", file, strerror(errno));
		ret = EXIT_RUNTIME;
	}
	free(line);
	return ret;
}

/* First record of (dir, seq) in the sorted array, and how many there are. */
static const struct arec *find_seq(const struct adjust *a, uint8_t dir, uint16_t seq, size_t *n)
{
	size_t lo = 0, hi = a->n, i;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct arec *m = &a->r[mid];

		if (m->dir < dir || (m->dir == dir && m->seq < seq))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < a->n && a->r[i].dir == dir && a->r[i].seq == seq; i++)
		;
	*n = i - lo;
	return *n ? &a->r[lo] : NULL;
}

/* Parses "icmp_seq=N" and "time=X ms" out of a ping reply line. */
static bool parse_ping_line(const char *line, uint16_t *seq, double *ms)
{
	const char *s = strstr(line, "icmp_seq="), *t = strstr(line, " time=");
	char *end;
	unsigned long v;

	if (!s || !t || !strstr(line, " bytes from "))
		return false;
	v = strtoul(s + 9, &end, 10);
	if (end == s + 9)
		return false;
	*seq = (uint16_t)v;	/* the wire field is 16 bits */
	*ms = strtod(t + 6, &end);
	return end != t + 6 && !strncmp(end, " ms", 3) && *ms >= 0;
}

/* Egress and ingress of the reply line; false if either is unknown.  Their
 * sum may exceed rtt when both were joined by key. */
static bool join(struct adjust *a, uint16_t seq, uint64_t rtt, uint64_t *eg, uint64_t *in)
{
	uint32_t k = a->occ[seq]++;
	const struct arec *e, *i, *hit = NULL;
	bool keyless = false;
	size_t ne, ni, j;

	if (a->nids > 1)
		return false;	/* two pingers in the records: their seqs collide */
	e = find_seq(a, MACE_EGRESS, seq, &ne);
	i = find_seq(a, MACE_INGRESS, seq, &ni);
	if (!ne && ni) {
		/* Keyless requests: anchor on the k-th keyed reply. */
		if (k >= ni)
			return false;
		hit = &i[k];
		e = window(a, MACE_EGRESS, hit->ts > rtt ? hit->ts - rtt : 0, hit->ts);
		if (!e || e->lat + hit->lat >= rtt)
			return false;
		*eg = e->lat;
		*in = hit->lat;
		return true;
	}
	if (k >= ne)
		return false;
	e += k;
	if (!ni) {
		keyless = true;
		hit = window(a, MACE_INGRESS, e->ts, e->ts + rtt);
		ni = 1;
		i = hit;
		hit = NULL;
		if (!i)
			return false;
	}
	for (j = 0; j < ni; j++) {
		if (i[j].ts < e[0].ts || i[j].ts > e[0].ts + rtt)
			continue;
		if (hit)
			return false;	/* two replies fit: ambiguous */
		hit = &i[j];
	}
	/* A window join is a guess checked by the RTT; a keyed one is not. */
	if (!hit || (keyless && e->lat + hit->lat >= rtt))
		return false;
	*eg = e->lat;
	*in = hit->lat;
	return true;
}

static int column_add(struct column *c, double us)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		double *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = us;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* count, mean, median, mode (the centre of the fullest 1 us bin), sample
 * deviation: the statistics of the MACE poster's RTT table, signed. */
static void summary_line(FILE *out, const char *what, struct column *c)
{
	double sum = 0, ss = 0, mean, median, mode = 0;
	size_t i, run = 0, best = 0;

	if (c->n < 2) {
		fprintf(out, "%-10s %6zu %10s %10s %10s %10s\n", what, c->n, "-", "-", "-", "-");
		return;
	}
	qsort(c->v, c->n, sizeof(c->v[0]), cmp_double);
	for (i = 0; i < c->n; i++) {
		sum += c->v[i];
		run = i && floor(c->v[i]) == floor(c->v[i - 1]) ? run + 1 : 1;
		if (run > best) {
			best = run;
			mode = floor(c->v[i]) + 0.5;
		}
	}
	mean = sum / c->n;
	for (i = 0; i < c->n; i++)
		ss += (c->v[i] - mean) * (c->v[i] - mean);
	median = c->n % 2 ? c->v[c->n / 2] : (c->v[c->n / 2 - 1] + c->v[c->n / 2]) / 2;
	fprintf(out, "%-10s %6zu %10.3f %10.3f %10.3f %10.3f\n", what, c->n, mean, median, mode,
		sqrt(ss / (c->n - 1)));
}

static int adjust_ping(struct adjust *a, const char *file, FILE *in, FILE *out)
{
	struct column raw = { 0 }, adj = { 0 };
	unsigned long replies = 0, negative = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int ret = EXIT_OK;

	while ((len = getline(&line, &cap, in)) > 0) {
		uint64_t rtt, eg, ig;
		uint16_t seq;
		double ms;
		int64_t d;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (!parse_ping_line(line, &seq, &ms)) {
			fprintf(out, "%s\n", line);
			continue;
		}
		replies++;
		rtt = (uint64_t)(ms * 1e6 + 0.5);
		if (column_add(&raw, rtt / 1e3))
			goto oom;
		if (!join(a, seq, rtt, &eg, &ig)) {
			fprintf(out, "%s adjusted=unknown\n", line);
			continue;
		}
		d = (int64_t)rtt - (int64_t)(eg + ig);
		if (column_add(&adj, d / 1e3))
			goto oom;
		fprintf(out, "%s adjusted=%.3f ms (egress=%.3f ingress=%.3f ms%s)\n", line, d / 1e6,
			eg / 1e6, ig / 1e6, d < 0 ? "; negative: the path measured more than the "
						    "RTT, see FIDELITY in mace(8)" : "");
		negative += d < 0;
	}
	if (ferror(in)) {
		fprintf(stderr, "mace: adjust: reading %s: %s\n", file, strerror(errno));
		ret = EXIT_RUNTIME;
		goto out;
	}
	fprintf(out, "--- mace adjust: %lu replies, %zu adjusted, %lu unknown ---\n", replies,
		adj.n, replies - adj.n);
	if (negative)
		fprintf(out, "%lu adjusted RTTs are negative: the path's ends lie outside ping's "
			     "stamps (see FIDELITY in mace(8))\n", negative);
	fprintf(out, "%-10s %6s %10s %10s %10s %10s\n", "us", "count", "mean", "median", "mode",
		"sdev");
	summary_line(out, "raw", &raw);
	summary_line(out, "adjusted", &adj);
	if (fflush(out)) {
		fprintf(stderr, "mace: adjust: writing output: %s\n", strerror(errno));
		ret = EXIT_RUNTIME;
	}
	goto out;
oom:
	fprintf(stderr, "mace: adjust: out of memory\n");
	ret = EXIT_RUNTIME;
out:
	free(line);
	free(raw.v);
	free(adj.v);
	return ret;
}

static const char *rx_how(enum mace_rx_stamp rx)
{
	return rx == MACE_RX_USER ? "in user space (-U)" : "by SO_TIMESTAMP";
}

/* Sorts the records for joining and says what the join cannot do. */
static void prepare(struct adjust *a, const char *rec_file, enum mace_rx_stamp rx)
{
	const char *want = mace_path_for_rx_stamp(rx);

	qsort(a->r, a->n, sizeof(a->r[0]), cmp_arec);
	qsort(a->kl[0], a->nkl[0], sizeof(struct arec), cmp_arec);
	qsort(a->kl[1], a->nkl[1], sizeof(struct arec), cmp_arec);
	if (a->nkl[0] + a->nkl[1])
		fprintf(stderr, "mace: adjust: %s: %zu egress and %zu ingress records carry no "
				"ICMP key: joined by time window to the keyed direction only\n",
			rec_file, a->nkl[0], a->nkl[1]);
	if (a->nids > 1)
		fprintf(stderr, "mace: adjust: %s: echo requests from more than one id (%u, %u, "
				"...): pick the ping's with -I ID\n", rec_file, a->ids[0], a->ids[1]);
	if (a->paths_differ)
		fprintf(stderr, "mace: adjust: %s: records of more than one path\n", rec_file);
	else if (a->path[0] && strcmp(a->path, want))
		fprintf(stderr, "mace: adjust: %s: records of path %s; ping times replies %s, "
				"which path %s matches (record with -p %s, or give -U if ping "
				"ran with it)\n", rec_file, a->path, rx_how(rx), want, want);
}

/* Does the command run ping with -U (receive time taken in user space)? */
static bool pings_user_rx(char **argv)
{
	/* ping's options that take a value: the rest of such a word is it. */
	static const char valued[] = "cilmIMpQsStTwWF";
	bool ping = false;

	for (; *argv; argv++) {
		const char *base = strrchr(*argv, '/'), *c;

		base = base ? base + 1 : *argv;
		if (!ping) {
			ping = !strcmp(base, "ping") || !strcmp(base, "ping4");
			continue;
		}
		if ((*argv)[0] != '-' || (*argv)[1] == '-')
			continue;
		for (c = *argv + 1; *c && !strchr(valued, *c); c++)
			if (*c == 'U')
				return true;
	}
	return false;
}

struct live {
	struct adjust *a;
	int err;
};

static void on_record(const struct mace_record *rec, void *ctx)
{
	struct live *lv = ctx;

	if (!lv->err)
		lv->err = add_rec(lv->a, rec, lv->a->path);
}

/* Runs the command under a session, its output kept in a temporary file;
 * then adjusts that output with the session's records. */
static int adjust_live(struct adjust *a, struct cli_opts *o, enum mace_rx_stamp rx)
{
	struct live lv = { .a = a };
	struct cli_loop l = { 0 };
	struct mace_counters c = { .sz = sizeof(c) };
	FILE *tool = tmpfile();
	int saved = -1, rc;

	if (!tool || (saved = dup(STDOUT_FILENO)) < 0) {
		fprintf(stderr, "mace: adjust: temporary file: %s\n", strerror(errno));
		rc = EXIT_RUNTIME;
		goto out;
	}
	l.s = cli_session_open(o, NULL, on_record, &lv);
	if (!l.s) {
		rc = EXIT_RUNTIME;
		goto out;
	}
	snprintf(a->path, sizeof(a->path), "%s", mace_session_path_name(l.s));
	l.o = o;
	fflush(stdout);
	if (dup2(fileno(tool), STDOUT_FILENO) < 0) {
		fprintf(stderr, "mace: adjust: keeping the command's output: %s\n", strerror(errno));
		mace_session_free(l.s);
		rc = EXIT_RUNTIME;
		goto out;
	}
	rc = cli_loop_run(&l);
	fflush(stdout);
	if (dup2(saved, STDOUT_FILENO) < 0) {
		fprintf(stderr, "mace: adjust: restoring standard output: %s\n", strerror(errno));
		rc = EXIT_RUNTIME;
	}
	mace_session_counters(l.s, &c);
	cli_print_counters(stderr, &c);
	if (lv.err) {
		fprintf(stderr, "mace: adjust: out of memory\n");
		rc = EXIT_RUNTIME;
	}
	if (!rc) {
		prepare(a, "records", rx);
		rewind(tool);
		rc = adjust_ping(a, "the command's output", tool, stdout);
	}
	if (!rc && l.child_status > 0)
		rc = l.child_status;
	mace_session_free(l.s);
out:
	if (saved >= 0)
		close(saved);
	if (tool)
		fclose(tool);
	return rc;
}

int cmd_adjust(int argc, char **argv)
{
	const char *rec_file, *ping_file;
	FILE *rf = NULL, *pf = NULL;
	enum mace_rx_stamp rx;
	struct cli_opts o;
	struct adjust *a;
	int ret;

	ret = cli_parse(argc, argv, CO_SEL | CO_CMD | CO_ADJUST, &o);
	if (ret)
		return ret;
	if (o.nargs > (o.child_argv ? 0 : 1)) {
		fprintf(stderr, "mace: adjust: unexpected argument '%s'\n",
			o.args[o.child_argv ? 0 : 1]);
		return EXIT_USAGE;
	}
	if (o.child_argv && o.records) {
		fprintf(stderr, "mace: adjust: records (-i) come from the command's run; "
				"give one or the other\n");
		return EXIT_USAGE;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		fprintf(stderr, "mace: adjust: out of memory\n");
		return EXIT_RUNTIME;
	}
	a->want_id = o.echo_id;
	rx = o.user_rx || (o.child_argv && pings_user_rx(o.child_argv)) ? MACE_RX_USER :
									 MACE_RX_KERNEL;
	if (o.child_argv) {
		const char *want = mace_path_for_rx_stamp(rx);

		if (!o.path)
			o.path = want;
		if (!strcmp(o.path, want))
			fprintf(stderr, "mace: adjust: path %s: ping times replies %s (-p "
					"overrides)\n", want, rx_how(rx));
		else
			fprintf(stderr, "mace: adjust: path %s (-p); ping times replies %s, "
					"which path %s matches\n", o.path, rx_how(rx), want);
		ret = cli_check_path(&o);
		if (!ret)
			ret = adjust_live(a, &o, rx);
		goto out;
	}
	if (o.path || o.netns || o.outer || o.save_file || o.duration > 0 || o.raw) {
		fprintf(stderr, "mace: adjust: selection options need a command (-- CMD ...)\n");
		ret = EXIT_USAGE;
		goto out;
	}
	rec_file = o.records;
	ping_file = o.nargs ? o.args[0] : "-";
	if (!rec_file || !strcmp(rec_file, "-")) {
		if (!strcmp(ping_file, "-")) {
			fprintf(stderr, "mace: adjust: records (-i) and ping output cannot both be "
					"stdin\n");
			ret = EXIT_USAGE;
			goto out;
		}
		rec_file = "-";
	}
	rf = strcmp(rec_file, "-") ? fopen(rec_file, "r") : stdin;
	if (!rf) {
		fprintf(stderr, "mace: adjust: %s: %s\n", rec_file, strerror(errno));
		ret = EXIT_RUNTIME;
		goto out;
	}
	ret = read_records(a, rec_file, rf);
	if (ret)
		goto out;
	prepare(a, rec_file, rx);
	pf = strcmp(ping_file, "-") ? fopen(ping_file, "r") : stdin;
	if (!pf) {
		fprintf(stderr, "mace: adjust: %s: %s\n", ping_file, strerror(errno));
		ret = EXIT_RUNTIME;
		goto out;
	}
	ret = adjust_ping(a, ping_file, pf, stdout);
out:
	if (rf && rf != stdin)
		fclose(rf);
	if (pf && pf != stdin)
		fclose(pf);
	free(a->r);
	free(a->kl[0]);
	free(a->kl[1]);
	free(a);
	return ret;
}
