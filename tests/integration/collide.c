/* SPDX-License-Identifier: MIT */
/*
 * collide NETNS CMD: two kernel-correlating sessions on the same packets,
 * one with the default pending table, one with a single set of slots
 * (max_pending 2, expiry 20 ms), where most skb addresses collide,
 * while sh -c CMD runs (started once both are attached).  Every record of the
 * small session must be one the large one also made (same direction,
 * protocol, ports, ICMP id and seq) with the same start and end CPUs, length
 * and latency: a record joined to another packet's event would be off by that
 * packet's distance.  Prints
 *	records N ref_records N paired N unpaired N off N max_off_ns N slot_collisions N
 *	pending_running N sum_ok 0|1
 * where off counts pairs that differ in CPUs or length, whose latencies
 * differ by more than OFF_NS, or where the small session saw the start or
 * the end before the reference did: at each point the programs run in the
 * order they were attached, the reference's first, so the small session's
 * times are later by a program's run (or an interrupt between the two).
 * pending_running: what the small session still held 300 ms after the
 * command, before it stopped (its entries expire within 120 ms, packets that
 * never end included).  sum_ok: its counters add up, its dropped starts
 * among the expired.  Written against include/mace.h only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mace.h"

#define OFF_NS 50000
#define SMALL_PENDING 2	/* max_pending of the small session: one set */
/* Its expiry: packets that never reach their end (pings to the host) hold
 * their slot until then; a short one lets others through now and then. */
#define SMALL_EXPIRE_NS 20000000ull
#define MAX_RECS 200000

struct recs {
	struct mace_record *r;
	size_t n;
	int err;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void on_record(const struct mace_record *r, void *ctx)
{
	struct recs *rs = ctx;

	if (r->proto != 1)
		return;		/* ICMP echoes: their (id, seq) name the packet */
	if (rs->n == MAX_RECS) {
		rs->err = ENOSPC;
		return;
	}
	rs->r[rs->n++] = *r;
}

static struct mace_session *open_session(const char *netns, uint32_t max_pending,
					 uint64_t expire_ns, struct recs *rs)
{
	struct mace_opts o = MACE_OPTS_INIT;
	struct mace_session *s;

	o.netns = netns;
	o.max_pending = max_pending;
	o.expire_ns = expire_ns;
	o.on_record = on_record;
	o.ctx = rs;
	s = mace_session_new(&o);
	if (!s)
		fprintf(stderr, "collide: session: %s\n", strerror(errno));
	return s;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct mace_record *x = a, *y = b;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->sport != y->sport)
		return x->sport < y->sport ? -1 : 1;
	if (x->dport != y->dport)
		return x->dport < y->dport ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

/* The reference record of the same packet as r: same direction, protocol,
 * ports, id and seq, started within OFF_NS (a seq may repeat). */
static const struct mace_record *ref_of(const struct recs *ref, const struct mace_record *r)
{
	size_t lo = 0, hi = ref->n;

	while (lo < hi) {
		size_t m = (lo + hi) / 2;

		if (cmp_rec(&ref->r[m], r) < 0)
			lo = m + 1;
		else
			hi = m;
	}
	for (size_t i = lo ? lo - 1 : 0; i < ref->n && i <= lo + 1; i++) {
		const struct mace_record *c = &ref->r[i];
		uint64_t d = c->ts_ns > r->ts_ns ? c->ts_ns - r->ts_ns : r->ts_ns - c->ts_ns;

		if (c->dir == r->dir && c->proto == r->proto && c->sport == r->sport &&
		    c->dport == r->dport && c->id == r->id && c->seq == r->seq && d <= OFF_NS)
			return c;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct recs big = { 0 }, small = { 0 };
	struct mace_session *sb = NULL, *ss = NULL;
	struct mace_counters c = { .sz = sizeof(c) };
	uint64_t end = 0, max_off = 0, unpaired = 0, off = 0, paired = 0, pending_running;
	int rc = 1, status;

	pid_t child;

	if (argc != 3) {
		fprintf(stderr, "usage: collide NETNS CMD\n");
		return 2;
	}
	big.r = calloc(MAX_RECS, sizeof(*big.r));
	small.r = calloc(MAX_RECS, sizeof(*small.r));
	if (!big.r || !small.r) {
		fprintf(stderr, "collide: out of memory\n");
		goto out;
	}
	sb = open_session(argv[1], 0, 0, &big);
	ss = open_session(argv[1], SMALL_PENDING, SMALL_EXPIRE_NS, &small);
	if (!sb || !ss || mace_session_start(sb) || mace_session_start(ss))
		goto out;
	child = fork();
	if (child < 0) {
		fprintf(stderr, "collide: fork: %s\n", strerror(errno));
		goto out;
	}
	if (!child) {
		execl("/bin/sh", "sh", "-c", argv[2], (char *)NULL);
		_exit(127);
	}
	/* Until the command is done, then a while for its last packets. */
	while (!end || now_ns() < end) {
		if (mace_session_poll(sb, 20) < 0 || mace_session_poll(ss, 20) < 0)
			goto out;
		if (!end && waitpid(child, &status, WNOHANG) == child) {
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				fprintf(stderr, "collide: the command failed\n");
				goto out;
			}
			end = now_ns() + 300000000ull;	/* > 2 sweeps past the expiry */
		}
	}
	/* Still running, the small session has expired what it held. */
	if (mace_session_counters(ss, &c)) {
		fprintf(stderr, "collide: mace_session_counters failed\n");
		goto out;
	}
	pending_running = c.pending;
	if (mace_session_stop(sb) || mace_session_stop(ss))
		goto out;
	if (big.err || small.err) {
		fprintf(stderr, "collide: more than %d records\n", MAX_RECS);
		goto out;
	}
	qsort(big.r, big.n, sizeof(*big.r), cmp_rec);
	for (size_t i = 0; i < small.n; i++) {
		const struct mace_record *r = &small.r[i], *b = ref_of(&big, r);
		int64_t ds, de;
		uint64_t d;

		if (!b) {
			unpaired++;
			continue;
		}
		ds = (int64_t)(r->ts_ns - b->ts_ns);
		de = (int64_t)(r->ts_ns + r->latency_ns - b->ts_ns - b->latency_ns);
		paired++;
		d = b->latency_ns > r->latency_ns ? b->latency_ns - r->latency_ns :
						    r->latency_ns - b->latency_ns;
		if (d > max_off)
			max_off = d;
		if (d > OFF_NS || ds < 0 || de < 0 || b->cpu_start != r->cpu_start ||
		    b->cpu_end != r->cpu_end || b->len != r->len)
			off++;
	}
	if (mace_session_counters(ss, &c)) {
		fprintf(stderr, "collide: mace_session_counters failed\n");
		goto out;
	}
	printf("records %zu ref_records %zu paired %" PRIu64 " unpaired %" PRIu64 " off %" PRIu64
	       " max_off_ns %" PRIu64 " slot_collisions %" PRIu64 " pending_running %" PRIu64
	       " sum_ok %d\n",
	       small.n, big.n, paired, unpaired, off, max_off, c.slot_collisions, pending_running,
	       c.events == c.matched + c.unmatched + c.expired + c.replaced + c.duplicates +
			   c.pending && c.expired >= c.slot_collisions);
	rc = 0;
out:
	mace_session_free(sb);
	mace_session_free(ss);
	free(big.r);
	free(small.r);
	return rc;
}
