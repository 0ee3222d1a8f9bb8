/* SPDX-License-Identifier: MIT */
/*
 * Log-linear latency histogram, buckets as in bpf/mace_hist_buckets.h (at
 * most 0.4% from any value to its bucket's centre).  Mean and deviation are
 * exact (Welford), min and max too.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mace_int.h"

#define NBUCKETS MACE_HIST_BUCKETS(64)

struct mace_hist {
	uint64_t count, min, max;
	double mean, m2;
	uint64_t b[NBUCKETS];
};

static inline unsigned int bucket_of(uint64_t v)
{
	return v < MACE_HIST_SUB ? v : MACE_HIST_BUCKET_E(v, 63u - __builtin_clzll(v));
}

/* Inclusive bounds of bucket i (the last ends at UINT64_MAX). */
static void bucket_bounds(unsigned int i, uint64_t *lo, uint64_t *hi)
{
	*lo = mace_hist_bucket_lo(i);
	*hi = *lo + (mace_hist_bucket_width(i) - 1);
}

static uint64_t bucket_mid(unsigned int i)
{
	uint64_t lo, hi;

	bucket_bounds(i, &lo, &hi);
	return lo + (hi - lo) / 2;
}

MACE_EXPORT struct mace_hist *mace_hist_new(void)
{
	struct mace_hist *h = calloc(1, sizeof(*h));

	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	h->min = UINT64_MAX;
	return h;
}

MACE_EXPORT void mace_hist_reset(struct mace_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

MACE_EXPORT void mace_hist_free(struct mace_hist *h)
{
	free(h);
}

MACE_EXPORT void mace_hist_add(struct mace_hist *h, uint64_t v)
{
	double d;

	h->b[bucket_of(v)]++;
	h->count++;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	d = (double)v - h->mean;
	h->mean += d / (double)h->count;
	h->m2 += d * ((double)v - h->mean);
}

MACE_EXPORT void mace_hist_merge(struct mace_hist *into, const struct mace_hist *from)
{
	double n1 = into->count, n2 = from->count, d;

	if (!from->count)
		return;
	for (unsigned int i = 0; i < NBUCKETS; i++)
		into->b[i] += from->b[i];
	/* Chan et al. parallel combination of Welford states */
	d = from->mean - into->mean;
	into->mean += d * n2 / (n1 + n2);
	into->m2 += from->m2 + d * d * n1 * n2 / (n1 + n2);
	into->count += from->count;
	if (from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
}

/* Nearest rank: the value at rank ceil(q * n) of the sorted values. */
MACE_EXPORT uint64_t mace_hist_quantile(const struct mace_hist *h, double q)
{
	uint64_t rank, seen = 0, v;

	if (!h->count)
		return 0;
	if (!(q > 0))
		return h->min;
	if (q >= 1)
		return h->max;
	rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	for (unsigned int i = 0; i < NBUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			v = bucket_mid(i);
			/* the extremes are known exactly */
			return v < h->min ? h->min : v > h->max ? h->max : v;
		}
	}
	return h->max;
}

MACE_EXPORT int mace_hist_summary(const struct mace_hist *h, struct mace_summary *out)
{
	struct mace_summary s = { .sz = sizeof(s) };
	unsigned int best = 0;

	if (!h || !out)
		return -EINVAL;
	if (h->count) {
		s.count = h->count;
		s.mean = h->mean;
		s.stddev = h->count > 1 ? sqrt(h->m2 / (double)(h->count - 1)) : 0;
		s.min = h->min;
		s.max = h->max;
		for (unsigned int i = 1; i < NBUCKETS; i++)
			if (h->b[i] > h->b[best])
				best = i;
		s.mode = bucket_mid(best);
		s.p50 = mace_hist_quantile(h, 0.5);
		s.p90 = mace_hist_quantile(h, 0.9);
		s.p99 = mace_hist_quantile(h, 0.99);
		s.p999 = mace_hist_quantile(h, 0.999);
	}
	return MACE_ABI_OUT(mace_summary, out, &s);
}

/* hi is inclusive, so the last bucket can end at UINT64_MAX. */
MACE_EXPORT bool mace_hist_bucket(const struct mace_hist *h, unsigned int *iter, uint64_t *lo,
				  uint64_t *hi, uint64_t *count)
{
	for (unsigned int i = *iter; i < NBUCKETS; i++) {
		if (!h->b[i])
			continue;
		bucket_bounds(i, lo, hi);
		*count = h->b[i];
		*iter = i + 1;
		return true;
	}
	*iter = NBUCKETS;
	return false;
}

/*
 * h from counts of its first nb buckets and the moments of their values (a
 * kernel histogram, whose buckets are these).  Mean and deviation are exact;
 * min and max are the bounds of the outer buckets, narrowed to floor/ceil
 * when the caller knows a bound (exact when the values include it).
 */
void mace__hist_set(struct mace_hist *h, const uint64_t *b, unsigned int nb, uint64_t sum,
		    long double sumsq, uint64_t floor, uint64_t ceil)
{
	unsigned int first = NBUCKETS, last = 0;
	uint64_t lo, hi;
	long double m2;

	mace_hist_reset(h);
	if (nb > NBUCKETS)
		nb = NBUCKETS;
	for (unsigned int i = 0; i < nb; i++) {
		if (!b[i])
			continue;
		h->b[i] = b[i];
		h->count += b[i];
		if (first == NBUCKETS)
			first = i;
		last = i;
	}
	if (!h->count)
		return;
	bucket_bounds(first, &lo, &hi);
	h->min = lo > floor ? lo : floor;
	bucket_bounds(last, &lo, &hi);
	h->max = hi < ceil ? hi : ceil;
	h->mean = (double)sum / (double)h->count;
	m2 = sumsq - (long double)sum * (long double)sum / (long double)h->count;
	h->m2 = m2 > 0 ? (double)m2 : 0;
}

uint64_t mace__hist_count(const struct mace_hist *h)
{
	return h->count;
}
