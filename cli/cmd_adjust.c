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
 * ingress.  Ping prints no times, so the k-th line with seq N takes the k-th
 * request record with seq N (seq wraps at 65536), and that record stands for
 * the probe's send time: its reply is matched as mace_session_overhead
 * matches a probe sent then and received X later (mace__match_dir), except
 * that a keyed reply must start after the request.  Anything else is
 * "unknown", never a guess.  A keyed join whose overhead exceeds X is printed
 * as the negative number it is, with a note.  When only one direction carries
 * the ICMP key, the other is taken by time window anchored on the keyed one,
 * and only if exactly one keyless record fits and the sum stays below X.
 * With no key at all (ftrace backend) nothing joins.
 */
#include <errno.h>
#include <math.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "mace_int.h"

struct adjust {
	struct mace_record *r;	/* ICMP records, by direction, seq and time */
	size_t n, cap;
	struct mace_record *kl[2];	/* records without a key, per direction, by time */
	size_t nkl[2], capkl[2];
	uint64_t kl_lat[2];	/* their longest latency */
	uint16_t ids[2];	/* distinct echo ids among requests (up to 2 seen) */
	unsigned int nids;
	int want_id;		/* -I, or -1 */
	uint16_t id;		/* the probes' echo id once known (0: any) */
	char path[64];		/* the records' path ("" until one is read) */
	bool paths_differ;	/* records of more than one path */
	uint32_t occ[65536];	/* reply lines seen so far per seq */
};

/* A column of the summary: every value kept, signed, in microseconds. */
struct column {
	double *v;
	size_t n, cap;
};

static int cmp_rec(const void *a, const void *b)
{
	const struct mace_record *x = a, *y = b;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

static int push(struct mace_record **v, size_t *n, size_t *cap, const struct mace_record *rec)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 1024;
		struct mace_record *r = realloc(*v, c * sizeof(*r));

		if (!r)
			return -ENOMEM;
		*v = r;
		*cap = c;
	}
	(*v)[(*n)++] = *rec;
	return 0;
}

static int add_rec(struct adjust *a, const struct mace_record *rec, const char *path)
{
	if (!a->path[0])
		snprintf(a->path, sizeof(a->path), "%s", path);
	else if (strcmp(a->path, path))
		a->paths_differ = true;
	if (!rec->proto && rec->dir <= MACE_INGRESS) {
		if (rec->latency_ns > a->kl_lat[rec->dir])
			a->kl_lat[rec->dir] = rec->latency_ns;
		return push(&a->kl[rec->dir], &a->nkl[rec->dir], &a->capkl[rec->dir], rec);
	}
	if (rec->proto != IPPROTO_ICMP)
		return 0;
	if (rec->dir == MACE_EGRESS && a->want_id >= 0 && rec->id != a->want_id)
		return 0;
	if (rec->dir == MACE_EGRESS && a->want_id < 0 && a->nids < 2 &&
	    !(a->nids == 1 && a->ids[0] == rec->id))
		a->ids[a->nids++] = rec->id;
	return push(&a->r, &a->n, &a->cap, rec);
}

/* How many of the n records v (by time) start before ts. */
static size_t starting_before(const struct mace_record *v, size_t n, uint64_t ts)
{
	size_t l = 0, h = n;

	while (l < h) {
		size_t mid = l + (h - l) / 2;

		if (v[mid].ts_ns < ts)
			l = mid + 1;
		else
			h = mid;
	}
	return l;
}

/* The keyless records of dir that may lie in sp's window (an ingress is
 * placed by its end: it starts at most the longest latency before). */
static const struct mace_record *keyless(const struct adjust *a, int dir,
					 const struct mace__span *sp, size_t *n)
{
	uint64_t lo = sp->win_lo > a->kl_lat[dir] ? sp->win_lo - a->kl_lat[dir] : 0;
	size_t first;

	*n = 0;
	if (!a->nkl[dir])
		return NULL;
	first = starting_before(a->kl[dir], a->nkl[dir], lo);

	*n = starting_before(a->kl[dir], a->nkl[dir], sp->win_hi + 1) - first;
	return a->kl[dir] + first;
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
static const struct mace_record *find_seq(const struct adjust *a, uint8_t dir, uint16_t seq,
					   size_t *n)
{
	size_t lo = 0, hi = a->n, i;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct mace_record *m = &a->r[mid];

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

/* Egress and ingress of the reply line, and when its request started; false
 * if either is unknown.  Their sum may exceed rtt when both were joined by
 * key. */
static bool join(struct adjust *a, uint16_t seq, uint64_t rtt, uint64_t *eg, uint64_t *in,
		 uint64_t *start)
{
	struct mace_probe p = { .proto = IPPROTO_ICMP, .id = a->id, .seq = seq };
	const struct mace_record *e, *i, *kl;
	uint32_t k = a->occ[seq]++;
	struct mace__match m;
	struct mace__span sp;
	size_t ne, ni, nkl;
	int dir;

	if (a->nids > 1)
		return false;	/* two pingers in the records: their seqs collide */
	e = find_seq(a, MACE_EGRESS, seq, &ne);
	i = find_seq(a, MACE_INGRESS, seq, &ni);
	if (k < ne) {
		/* The k-th request: its reply comes after it, within rtt. */
		e += k;
		p.sent_ns = e->ts_ns;
		p.recv_ns = e->ts_ns + rtt;
		dir = MACE_INGRESS;
	} else if (!ne && k < ni) {
		/* Keyless requests: anchor on the k-th keyed reply. */
		i += k;
		p.sent_ns = i->ts_ns > rtt ? i->ts_ns - rtt : 0;
		p.recv_ns = i->ts_ns;
		dir = MACE_EGRESS;
	} else {
		return false;
	}
	sp = mace__probe_span(&p, dir);
	if (dir == MACE_INGRESS)
		sp.key_lo = p.sent_ns;
	kl = keyless(a, dir, &sp, &nkl);
	m = mace__match_dir(i, dir == MACE_INGRESS ? ni : 0, kl, nkl, &p, dir, &sp);
	if (!m.rec)
		return false;
	if (dir == MACE_INGRESS)
		i = m.rec;
	else
		e = m.rec;
	/* A window join is a guess checked by the RTT; a keyed one is not. */
	if (m.how == MACE_MATCH_WINDOW && e->latency_ns + i->latency_ns >= rtt)
		return false;
	*eg = e->latency_ns;
	*in = i->latency_ns;
	*start = e->ts_ns;
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

/* Probes further apart than this find the machine idle (cold caches). */
#define IDLE_GAP_US 10000.0

/*
 * Says when the probes came so far apart (median gap between the starts of
 * their requests, in us) that the host idled between them: the correction
 * then also takes away time the native path would have spent too (mace(8),
 * FIDELITY), and the adjusted RTTs may lie below the native ones.  Sorts
 * starts.
 */
static int idle_note(FILE *out, struct column *starts)
{
	struct column gaps = { 0 };
	double median;

	if (starts->n < 3)
		return 0;
	qsort(starts->v, starts->n, sizeof(*starts->v), cmp_double);
	for (size_t i = 1; i < starts->n; i++)
		if (column_add(&gaps, starts->v[i] - starts->v[i - 1])) {
			free(gaps.v);
			return -ENOMEM;
		}
	qsort(gaps.v, gaps.n, sizeof(*gaps.v), cmp_double);
	median = gaps.v[gaps.n / 2];
	free(gaps.v);
	if (median < IDLE_GAP_US)
		return 0;
	fprintf(out, "note: probes %.0f ms apart: the host idles between them, and cold "
		     "caches slow stages that a native probe also runs, some inside the path's "
		     "intervals; the adjusted RTTs may be below native ones by part of that "
		     "(see FIDELITY in mace(8))\n", median / 1e3);
	return 0;
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
	struct column raw = { 0 }, adj = { 0 }, starts = { 0 };
	unsigned long replies = 0, negative = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int ret = EXIT_OK;

	while ((len = getline(&line, &cap, in)) > 0) {
		uint64_t rtt, eg, ig, start;
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
		if (!join(a, seq, rtt, &eg, &ig, &start)) {
			fprintf(out, "%s adjusted=unknown\n", line);
			continue;
		}
		d = (int64_t)rtt - (int64_t)(eg + ig);
		if (column_add(&adj, d / 1e3) || column_add(&starts, start / 1e3))
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
	if (idle_note(out, &starts))
		goto oom;
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
	free(starts.v);
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

	qsort(a->r, a->n, sizeof(a->r[0]), cmp_rec);
	qsort(a->kl[0], a->nkl[0], sizeof(a->kl[0][0]), cmp_rec);
	qsort(a->kl[1], a->nkl[1], sizeof(a->kl[1][0]), cmp_rec);
	if (a->want_id >= 0)
		a->id = a->want_id;
	else if (a->nids == 1)
		a->id = a->ids[0];
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
	l.h.o = o;
	l.h.on_record = on_record;
	l.h.record_ctx = &lv;
	rc = cli_handover_open(&l.h, NULL, false);
	if (rc)
		goto out;
	snprintf(a->path, sizeof(a->path), "%s", mace_session_path_name(l.h.s));
	l.o = o;
	fflush(stdout);
	if (dup2(fileno(tool), STDOUT_FILENO) < 0) {
		fprintf(stderr, "mace: adjust: keeping the command's output: %s\n", strerror(errno));
		cli_handover_free(&l.h);
		rc = EXIT_RUNTIME;
		goto out;
	}
	rc = cli_loop_run(&l);
	fflush(stdout);
	if (dup2(saved, STDOUT_FILENO) < 0) {
		fprintf(stderr, "mace: adjust: restoring standard output: %s\n", strerror(errno));
		rc = EXIT_RUNTIME;
	}
	cli_handover_counters(&l.h, &c);
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
	cli_handover_free(&l.h);
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
	if (o.path || o.netns || o.outer || o.save_file || o.duration > 0 || o.user_corr) {
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
