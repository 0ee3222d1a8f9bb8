/* SPDX-License-Identifier: MIT */
/*
 * The aggregating BPF programs' histograms (struct mace_bpf_hist): per CPU,
 * cumulative, counts that wrap at 32 bits.  Each read keeps what every CPU
 * held and adds the differences since the previous read, so the programs'
 * values are never reset under them and nothing is counted twice.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "mace_int.h"

struct mace_bpf_hists {
	unsigned int nslots;
	int ncpu;
	__u32 *slot_netns;
	struct mace_bpf_hist *prev;	/* [entry][cpu], as of the last read */
	struct mace_bpf_hist *cur;	/* [cpu]: one entry being read */
	uint64_t *diff;			/* MACE_BPF_HIST_BUCKETS */
	struct mace_hist *tmp;
	struct mace_agg *agg;		/* what the reads gained, until taken */
};

struct mace_bpf_hists *mace__bpf_hists_new(const __u32 *slot_netns, unsigned int nslots, int ncpu)
{
	struct mace_bpf_hists *hs = calloc(1, sizeof(*hs));
	size_t entries = (size_t)nslots * 2;

	if (!hs)
		return NULL;
	hs->nslots = nslots;
	hs->ncpu = ncpu;
	hs->slot_netns = calloc(nslots, sizeof(*hs->slot_netns));
	hs->prev = calloc(entries * ncpu, sizeof(*hs->prev));
	hs->cur = calloc(ncpu, sizeof(*hs->cur));
	hs->diff = calloc(MACE_BPF_HIST_BUCKETS, sizeof(*hs->diff));
	hs->tmp = mace_hist_new();
	hs->agg = mace__agg_new();
	if (!hs->slot_netns || !hs->prev || !hs->cur || !hs->diff || !hs->tmp || !hs->agg) {
		mace__bpf_hists_free(hs);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(hs->slot_netns, slot_netns, nslots * sizeof(*slot_netns));
	return hs;
}

/* Entry idx's differences into its histogram. */
static int read_entry(struct mace_bpf_hists *hs, int map_fd, __u32 idx)
{
	struct mace_bpf_hist *prev = &hs->prev[(size_t)idx * hs->ncpu];
	unsigned __int128 sumsq = 0;
	uint64_t sum = 0, n = 0, floor = UINT64_MAX, ceil = 0;
	struct mace_hist *h;

	if (bpf_map_lookup_elem(map_fd, &idx, hs->cur))
		return -errno;
	memset(hs->diff, 0, MACE_BPF_HIST_BUCKETS * sizeof(*hs->diff));
	for (int c = 0; c < hs->ncpu; c++) {
		const struct mace_bpf_hist *now = &hs->cur[c], *was = &prev[c];
		unsigned __int128 sq_now = (unsigned __int128)now->sumsq_hi << 64 | now->sumsq_lo;
		unsigned __int128 sq_was = (unsigned __int128)was->sumsq_hi << 64 | was->sumsq_lo;

		for (unsigned int i = 0; i < MACE_BPF_HIST_BUCKETS; i++) {
			__u32 d = now->b[i] - was->b[i];	/* modulo 2^32: wraps cancel */

			hs->diff[i] += d;
			n += d;
		}
		sum += now->sum - was->sum;
		sumsq += sq_now - sq_was;
		/* The CPUs' extremes since the start bound this interval's. */
		if (now->min && now->min < floor)
			floor = now->min;
		if (now->max > ceil)
			ceil = now->max;
	}
	memcpy(prev, hs->cur, hs->ncpu * sizeof(*prev));
	if (!n)
		return 0;
	h = mace__agg_hist(hs->agg, hs->slot_netns[idx / 2], idx % 2);
	if (!h)
		return -ENOMEM;
	mace__hist_set(hs->tmp, hs->diff, MACE_BPF_HIST_BUCKETS, sum, (long double)sumsq,
		       floor == UINT64_MAX ? 0 : floor, ceil ? ceil : UINT64_MAX);
	mace_hist_merge(h, hs->tmp);
	return 0;
}

int mace__bpf_hists_read(struct mace_bpf_hists *hs, int map_fd)
{
	for (__u32 idx = 0; idx < hs->nslots * 2; idx++) {
		int ret = read_entry(hs, map_fd, idx);

		if (ret)
			return ret;
	}
	return 0;
}

void mace__bpf_hists_take(struct mace_bpf_hists *hs, mace_hist_fn fn, void *ctx)
{
	mace__agg_take(hs->agg, fn, ctx);
}

void mace__bpf_hists_free(struct mace_bpf_hists *hs)
{
	if (!hs)
		return;
	free(hs->slot_netns);
	free(hs->prev);
	free(hs->cur);
	free(hs->diff);
	mace_hist_free(hs->tmp);
	mace__agg_free(hs->agg);
	free(hs);
}
