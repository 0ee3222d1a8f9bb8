/* SPDX-License-Identifier: MIT */
/* Latency histograms per (container netns, direction), for aggregating sessions. */
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
};

struct mace_agg *mace__agg_new(void)
{
	return calloc(1, sizeof(struct mace_agg));
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

void mace__agg_take(struct mace_agg *a, mace_hist_fn fn, void *ctx)
{
	for (unsigned int i = 0; i < a->n; i++) {
		if (!mace__hist_count(a->e[i].h))
			continue;
		fn(a->e[i].netns, a->e[i].dir, a->e[i].h, ctx);
		mace_hist_reset(a->e[i].h);
	}
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
