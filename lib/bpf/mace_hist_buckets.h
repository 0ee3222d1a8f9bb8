/* SPDX-License-Identifier: MIT */
/*
 * The buckets of a latency histogram, one definition for struct mace_hist
 * (lib/stats.c) and the BPF programs' per-CPU histograms.  Values below
 * 2^MACE_HIST_SUB_BITS have a bucket each; above, every power of two is split
 * into 2^MACE_HIST_SUB_BITS linear sub-buckets, so a bucket is at most 1/128
 * of its lower bound wide and its centre is within 0.4% of any value in it.
 * Only the highest set bit is found differently: with clz in user space,
 * with shifts in BPF, which lacks it.
 */
#ifndef MACE_HIST_BUCKETS_H
#define MACE_HIST_BUCKETS_H

#define MACE_HIST_SUB_BITS 7
#define MACE_HIST_SUB (1u << MACE_HIST_SUB_BITS)
/* Buckets of values below 2^bits: the exact ones, then SUB per power of two. */
#define MACE_HIST_BUCKETS(bits) (MACE_HIST_SUB * ((bits) - MACE_HIST_SUB_BITS + 1))
/* The kernel's histograms: latencies below 2^32 ns, all a record can span. */
#define MACE_BPF_HIST_BUCKETS MACE_HIST_BUCKETS(32)

/* The bucket of v >= MACE_HIST_SUB whose highest set bit is e.  A macro, so
 * it computes in v's width (32 bits in BPF, 64 in user space). */
#define MACE_HIST_BUCKET_E(v, e)                                                 \
	((((e) - MACE_HIST_SUB_BITS + 1) << MACE_HIST_SUB_BITS) +                 \
	 (((v) >> ((e) - MACE_HIST_SUB_BITS)) & (MACE_HIST_SUB - 1)))

/* The lowest value of bucket i, and how many values it holds. */
static inline __u64 mace_hist_bucket_lo(__u32 i)
{
	return i < MACE_HIST_SUB ? i :
	       (__u64)(MACE_HIST_SUB + i % MACE_HIST_SUB) << (i / MACE_HIST_SUB - 1);
}

static inline __u64 mace_hist_bucket_width(__u32 i)
{
	return i < MACE_HIST_SUB ? 1 : 1ULL << (i / MACE_HIST_SUB - 1);
}

/* The bucket of a 32-bit v, without clz. */
static inline __u32 mace_bpf_hist_bucket(__u32 v)
{
	__u32 e = 0, x = v;

	if (v < MACE_HIST_SUB)
		return v;
	if (x >> 16) { e += 16; x >>= 16; }
	if (x >> 8) { e += 8; x >>= 8; }
	if (x >> 4) { e += 4; x >>= 4; }
	if (x >> 2) { e += 2; x >>= 2; }
	if (x >> 1)
		e += 1;
	return MACE_HIST_BUCKET_E(v, e);
}

#endif /* MACE_HIST_BUCKETS_H */
