/* SPDX-License-Identifier: MIT */
/*
 * Latency histograms per (container netns, direction), for sessions that
 * aggregate records in user space (the kernel's are in bpf_hists.c), and
 * the window of start times that go into them.
 */
#include <errno.h>
#include <stdlib.h>

#include "mace_int.h"

struct agg_entry {
	__u32 netns;
	__u8 dir;
	struct mace_hist *h;
};

struct mace_agg {
	struct agg_entry *e;
	unsigned int n, cap;
	uint64_t lo, hi;	/* window of start times */
	uint64_t outside;	/* records the window left out, not yet taken */
};

struct mace_agg *mace__agg_new(void)
{
	struct mace_agg *a = calloc(1, sizeof(struct mace_agg));

	if (a)
		a->hi = UINT64_MAX;
	return a;
}

struct mace_hist *mace__agg_hist(struct mace_agg *a, __u32 netns, __u8 dir)
{
	struct agg_entry *e;

	for (unsigned int i = 0; i < a->n; i++)
		if (a->e[i].netns == netns && a->e[i].dir == dir)
			return a->e[i].h;
	if (a->n == a->cap) {
		unsigned int cap = a->cap ? a->cap * 2 : 8;

		e = realloc(a->e, cap * sizeof(*e));
		if (!e) {
			errno = ENOMEM;
			return NULL;
		}
		a->e = e;
		a->cap = cap;
	}
	e = &a->e[a->n];
	e->h = mace_hist_new();
	if (!e->h)
		return NULL;
	e->netns = netns;
	e->dir = dir;
	a->n++;
	return e->h;
}

int mace__agg_add(struct mace_agg *a, const struct mace_record *rec)
{
	struct mace_hist *h;

	if (rec->ts_ns < a->lo || rec->ts_ns >= a->hi) {
		a->outside++;
		return 0;
	}
	h = mace__agg_hist(a, rec->netns, rec->dir & 1);
	if (!h)
		return -ENOMEM;
	mace_hist_add(h, rec->latency_ns);
	return 0;
}

void mace__agg_set_window(struct mace_agg *a, uint64_t lo_ns, uint64_t hi_ns)
{
	a->lo = lo_ns;
	a->hi = hi_ns;
}

uint64_t mace__agg_take(struct mace_agg *a, mace_hist_fn fn, void *ctx)
{
	uint64_t outside = a->outside;

	for (unsigned int i = 0; i < a->n; i++) {
		if (!mace__hist_count(a->e[i].h))
			continue;
		fn(a->e[i].netns, a->e[i].dir, a->e[i].h, ctx);
		mace_hist_reset(a->e[i].h);
	}
	a->outside = 0;
	return outside;
}

void mace__agg_free(struct mace_agg *a)
{
	if (!a)
		return;
	for (unsigned int i = 0; i < a->n; i++)
		mace_hist_free(a->e[i].h);
	free(a->e);
	free(a);
}
