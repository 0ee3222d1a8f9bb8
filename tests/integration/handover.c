/* SPDX-License-Identifier: MIT */
/*
 * handover NETNS SECONDS: two aggregating sessions hand over at a cut time,
 * as mace top does when it binds again.  Session A traces from the start;
 * after a third of the run B starts, the cut splits their windows, and A
 * stops a while later, so for that while both see every packet.  Prints
 *	a_counted A_HIST a_outside N a_records N b_counted N b_outside N b_records N
 * where *_counted are the latencies in the histograms: A's plus B's must be
 * each packet once.  Written against include/mace.h only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mace.h"

struct side {
	struct mace_session *s;
	uint64_t counted, outside;
};

static void on_hist(uint32_t netns, enum mace_dir dir, const struct mace_hist *h, void *ctx)
{
	struct side *sd = ctx;
	struct mace_summary s = { .sz = sizeof(s) };

	(void)netns;
	(void)dir;
	mace_hist_summary(h, &s);
	sd->counted += s.count;
}

static int take(struct side *sd)
{
	int64_t r = mace_session_hists(sd->s, on_hist, sd);

	if (r < 0) {
		fprintf(stderr, "handover: mace_session_hists: %s\n", strerror((int)-r));
		return -1;
	}
	sd->outside += (uint64_t)r;
	return 0;
}

/* Polls the sessions (both drain and sweep) until t. */
static int run_until(struct side *a, struct side *b, uint64_t t)
{
	while (mace_now_ns() < t) {
		if ((a && mace_session_poll(a->s, 20) < 0) || (b && mace_session_poll(b->s, 20) < 0))
			return -1;
		if ((a && take(a)) || (b && take(b)))
			return -1;
	}
	return 0;
}

static struct mace_session *open_session(const char *netns)
{
	struct mace_opts o = MACE_OPTS_INIT;
	struct mace_session *s;

	o.netns = netns;
	o.aggregate = true;
	s = mace_session_new(&o);
	if (!s)
		fprintf(stderr, "handover: session: %s\n", strerror(errno));
	return s;
}

int main(int argc, char **argv)
{
	struct side a = { 0 }, b = { 0 };
	struct mace_counters ca = { .sz = sizeof(ca) }, cb = { .sz = sizeof(cb) };
	uint64_t t0, cut, span;
	int rc = 1;

	if (argc != 3 || atof(argv[2]) <= 0) {
		fprintf(stderr, "usage: handover NETNS SECONDS\n");
		return 2;
	}
	span = (uint64_t)(atof(argv[2]) * 1e9 / 3);
	a.s = open_session(argv[1]);
	if (!a.s || mace_session_start(a.s))
		goto out;
	t0 = mace_now_ns();
	if (run_until(&a, NULL, t0 + span))
		goto out;
	b.s = open_session(argv[1]);
	/* nothing for B until the cut, which comes once it is attached */
	if (!b.s || mace_session_set_window(b.s, UINT64_MAX, UINT64_MAX) ||
	    mace_session_start(b.s))
		goto out;
	cut = mace_now_ns();
	if (mace_session_set_window(b.s, cut, UINT64_MAX) ||
	    mace_session_set_window(a.s, 0, cut))
		goto out;
	if (run_until(&a, &b, cut + span / 2) || mace_session_stop(a.s) || take(&a))
		goto out;
	if (run_until(NULL, &b, t0 + 3 * span) || mace_session_stop(b.s) || take(&b))
		goto out;
	mace_session_counters(a.s, &ca);
	mace_session_counters(b.s, &cb);
	printf("a_counted %" PRIu64 " a_outside %" PRIu64 " a_records %" PRIu64
	       " b_counted %" PRIu64 " b_outside %" PRIu64 " b_records %" PRIu64 "\n",
	       a.counted, a.outside, ca.records, b.counted, b.outside, cb.records);
	rc = 0;
out:
	mace_session_free(a.s);
	mace_session_free(b.s);
	return rc;
}
