/* SPDX-License-Identifier: MIT */
/*
 * mace adjust: corrects the RTTs an unmodified ping printed with the records
 * mace record wrote while it ran:
 *
 *	mace record -o rec.csv -- ip netns exec CTR ping -c 100 DEST > ping.txt
 *	mace adjust -i rec.csv ping.txt
 *
 * A reply line "icmp_seq=N ... time=X ms" joins the egress record of echo
 * request N and the ingress record of its reply: adjusted = X - egress -
 * ingress.  The k-th line with seq N takes the k-th request record with seq N
 * (seq wraps at 65536); the reply record must start between the request's
 * start and the request's start + X.  Anything else is "unknown", never a guess.
 * When only one direction carries the ICMP key, the other is taken by time
 * window anchored on the keyed one (a request leaves the container at most
 * time=X before its reply reaches the outer device), and only if exactly one
 * keyless record fits.  With no key at all (ftrace backend) nothing joins.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

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
	uint32_t occ[65536];	/* reply lines seen so far per seq */
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

static int add_rec(struct adjust *a, const struct mace_record *rec)
{
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
		if (add_rec(a, &rec)) {
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

/* Egress and ingress of the reply line; false if either is unknown. */
static bool join(struct adjust *a, uint16_t seq, uint64_t rtt, uint64_t *eg, uint64_t *in)
{
	uint32_t k = a->occ[seq]++;
	const struct arec *e, *i, *hit = NULL;
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
	if (!hit || e->lat + hit->lat >= rtt)
		return false;
	*eg = e->lat;
	*in = hit->lat;
	return true;
}

static void summary_line(FILE *out, const char *what, const struct mace_hist *h)
{
	struct mace_summary s = { .sz = sizeof(s) };

	mace_hist_summary(h, &s);
	if (s.count < 2) {
		fprintf(out, "%-10s %6" PRIu64 " %10s %10s %10s\n", what, s.count, "-", "-", "-");
		return;
	}
	fprintf(out, "%-10s %6" PRIu64 " %10.3f %10.3f %10.3f\n", what, s.count, s.mean / 1e3,
		s.mode / 1e3, s.stddev / 1e3);
}

static int adjust_ping(struct adjust *a, const char *file, FILE *in, FILE *out)
{
	struct mace_hist *h_raw = mace_hist_new(), *h_adj = mace_hist_new();
	unsigned long replies = 0, adjusted = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int ret = EXIT_OK;

	if (!h_raw || !h_adj) {
		fprintf(stderr, "mace: adjust: out of memory\n");
		ret = EXIT_RUNTIME;
		goto out;
	}
	while ((len = getline(&line, &cap, in)) > 0) {
		uint64_t rtt, eg, ig;
		uint16_t seq;
		double ms;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (!parse_ping_line(line, &seq, &ms)) {
			fprintf(out, "%s\n", line);
			continue;
		}
		replies++;
		rtt = (uint64_t)(ms * 1e6 + 0.5);
		mace_hist_add(h_raw, rtt);
		if (join(a, seq, rtt, &eg, &ig)) {
			adjusted++;
			mace_hist_add(h_adj, rtt - eg - ig);
			fprintf(out, "%s adjusted=%.3f ms (egress=%.3f ingress=%.3f ms)\n", line,
				(rtt - eg - ig) / 1e6, eg / 1e6, ig / 1e6);
		} else {
			fprintf(out, "%s adjusted=unknown\n", line);
		}
	}
	if (ferror(in)) {
		fprintf(stderr, "mace: adjust: reading %s: %s\n", file, strerror(errno));
		ret = EXIT_RUNTIME;
		goto out;
	}
	fprintf(out, "--- mace adjust: %lu replies, %lu adjusted, %lu unknown ---\n", replies,
		adjusted, replies - adjusted);
	fprintf(out, "%-10s %6s %10s %10s %10s\n", "us", "count", "mean", "mode", "sdev");
	summary_line(out, "raw", h_raw);
	summary_line(out, "adjusted", h_adj);
	if (fflush(out)) {
		fprintf(stderr, "mace: adjust: writing output: %s\n", strerror(errno));
		ret = EXIT_RUNTIME;
	}
out:
	free(line);
	mace_hist_free(h_raw);
	mace_hist_free(h_adj);
	return ret;
}

int cmd_adjust(int argc, char **argv)
{
	const char *rec_file = NULL, *ping_file = NULL;
	FILE *rf = NULL, *pf = NULL;
	struct adjust *a;
	int opt, ret;
	char *end;

	a = calloc(1, sizeof(*a));
	if (!a) {
		fprintf(stderr, "mace: adjust: out of memory\n");
		return EXIT_RUNTIME;
	}
	a->want_id = -1;
	optind = 1;
	while ((opt = getopt(argc, argv, "+i:I:h")) != -1) {
		switch (opt) {
		case 'i':
			rec_file = optarg;
			break;
		case 'I':
			a->want_id = (int)strtol(optarg, &end, 0);
			if (*end || a->want_id < 0 || a->want_id > 0xffff) {
				fprintf(stderr, "mace: adjust: bad echo id '%s' (0..65535)\n", optarg);
				ret = EXIT_USAGE;
				goto out;
			}
			break;
		case 'h':
			cli_usage(stdout, "adjust");
			ret = EXIT_OK;
			goto out;
		default:
			cli_usage(stderr, "adjust");
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "mace: adjust: unexpected argument '%s'\n", argv[optind + 1]);
		ret = EXIT_USAGE;
		goto out;
	}
	ping_file = optind < argc ? argv[optind] : "-";
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
