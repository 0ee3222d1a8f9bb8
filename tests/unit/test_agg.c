/* SPDX-License-Identifier: MIT */
/*
 * Aggregation: the kernel's histogram buckets are struct mace_hist's, a
 * histogram rebuilt from buckets and moments summarises like one built value
 * by value, and per-CPU cumulative maps read as differences (a real per-CPU
 * BPF map, written the way the programs would).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "mace_int.h"
#include "t.h"

/* The bucket v falls in, by the user-space histogram's own bounds. */
static int bucket_holds(uint32_t v)
{
	uint64_t b[MACE_BPF_HIST_BUCKETS] = { 0 }, lo, hi, cnt;
	struct mace_hist *h = mace_hist_new();
	unsigned int it = 0;
	int ok;

	b[mace_bpf_hist_bucket(v)] = 1;
	mace__hist_set(h, b, MACE_BPF_HIST_BUCKETS, v, (long double)v * v, 0, UINT64_MAX);
	ok = mace_hist_bucket(h, &it, &lo, &hi, &cnt) && cnt == 1 && lo <= v && v <= hi;
	mace_hist_free(h);
	return ok;
}

TEST(kernel_buckets_are_the_hists)
{
	uint32_t v;

	for (v = 0; v < 1024; v++)
		CHECK(bucket_holds(v));
	for (unsigned int e = 7; e < 32; e++) {
		v = 1u << e;
		CHECK(bucket_holds(v - 1));
		CHECK(bucket_holds(v));
		CHECK(bucket_holds(v + 1));
		CHECK(bucket_holds(v | (v >> 1)));
	}
	CHECK(bucket_holds(UINT32_MAX));
	CHECK(mace_bpf_hist_bucket(UINT32_MAX) == MACE_BPF_HIST_BUCKETS - 1);
	srandom(7);
	for (int i = 0; i < 100000; i++)
		CHECK(bucket_holds((uint32_t)random() ^ ((uint32_t)random() << 16)));
}

/* Latency-like values: mostly microseconds, a tail to milliseconds. */
static uint32_t sample(void)
{
	double u = (random() + 1.0) / (RAND_MAX + 2.0);

	return (uint32_t)(3000 + 20000 * -log(u) + (random() % 100 == 0 ? random() % 5000000 : 0));
}

static void fill(struct mace_hist *by_value, uint64_t *b, uint64_t *sum, long double *sumsq,
		 uint64_t *min, uint64_t *max, int n)
{
	for (int i = 0; i < n; i++) {
		uint32_t v = sample();

		mace_hist_add(by_value, v);
		b[mace_bpf_hist_bucket(v)]++;
		*sum += v;
		*sumsq += (long double)v * v;
		if (v < *min)
			*min = v;
		if (v > *max)
			*max = v;
	}
}

TEST(set_summarises_as_added)
{
	static uint64_t b[MACE_BPF_HIST_BUCKETS];
	struct mace_hist *h1 = mace_hist_new(), *h2 = mace_hist_new();
	uint64_t sum = 0, min = UINT64_MAX, max = 0;
	struct mace_summary s1 = { .sz = sizeof(s1) }, s2 = { .sz = sizeof(s2) };
	long double sumsq = 0;

	srandom(11);
	fill(h1, b, &sum, &sumsq, &min, &max, 200000);
	mace__hist_set(h2, b, MACE_BPF_HIST_BUCKETS, sum, sumsq, min, max);
	mace_hist_summary(h1, &s1);
	mace_hist_summary(h2, &s2);
	CHECK_EQ_U64(s2.count, s1.count);
	CHECK(fabs(s2.mean - s1.mean) <= 1e-9 * s1.mean);
	CHECK(fabs(s2.stddev - s1.stddev) <= 1e-6 * s1.stddev);
	CHECK_EQ_U64(s2.min, s1.min);
	CHECK_EQ_U64(s2.max, s1.max);
	CHECK_EQ_U64(s2.p50, s1.p50);
	CHECK_EQ_U64(s2.p99, s1.p99);
	CHECK_EQ_U64(s2.mode, s1.mode);
	/* Not knowing the extremes: the outer buckets' bounds, within 1%. */
	mace__hist_set(h2, b, MACE_BPF_HIST_BUCKETS, sum, sumsq, 0, UINT64_MAX);
	mace_hist_summary(h2, &s2);
	CHECK(s2.min <= s1.min && s2.min >= s1.min * 0.99);
	CHECK(s2.max >= s1.max && s2.max <= s1.max * 1.01);
	mace_hist_free(h1);
	mace_hist_free(h2);
}

struct seen {
	uint32_t netns;
	unsigned int dir, calls;
	struct mace_summary s;
};

static void on_hist(uint32_t netns, enum mace_dir dir, const struct mace_hist *h, void *ctx)
{
	struct seen *w = ctx;

	w->netns = netns;
	w->dir = dir;
	w->calls++;
	w->s.sz = sizeof(w->s);
	mace_hist_summary(h, &w->s);
}

/* Adds v on CPU slot c of a value array, as the program does. */
static void put(struct mace_bpf_hist *cpu, uint32_t v)
{
	unsigned __int128 sq = (unsigned __int128)cpu->sumsq_hi << 64 | cpu->sumsq_lo;

	sq += (uint64_t)v * v;
	cpu->sumsq_lo = (uint64_t)sq;
	cpu->sumsq_hi = (uint64_t)(sq >> 64);
	cpu->sum += v;
	if (!cpu->min || v < cpu->min)
		cpu->min = v;
	if (v > cpu->max)
		cpu->max = v;
	cpu->b[mace_bpf_hist_bucket(v)]++;
}

TEST(per_cpu_map_read_as_differences)
{
	__u32 netns[2] = { 0, 4026530001u }, idx = 1 * 2 + MACE_INGRESS;
	int ncpu = libbpf_num_possible_cpus(), fd;
	struct mace_bpf_hists *hs;
	struct mace_bpf_hist *vals;
	struct mace_hist *want = mace_hist_new();
	struct mace_summary ws = { .sz = sizeof(ws) };
	struct seen w = { 0 };

	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "test_hists", sizeof(__u32),
			    sizeof(struct mace_bpf_hist), 4, NULL);
	if (fd < 0 && (errno == EPERM || errno == EACCES)) {
		mace_hist_free(want);
		SKIP("creating a BPF map needs CAP_BPF");
	}
	CHECK(fd >= 0 && ncpu > 0);
	if (fd < 0 || ncpu <= 0)
		return;
	vals = calloc(ncpu, sizeof(*vals));
	hs = mace__bpf_hists_new(netns, 2, ncpu);
	CHECK(vals && hs);
	if (!vals || !hs)
		goto out;
	/* First read: a bucket about to wrap on CPU 0 (its count only), and
	 * values of 7000 ns on every CPU: their sum is the first read's, not
	 * the second's. */
	vals[0].b[mace_bpf_hist_bucket(5000)] = 0xfffffff0u;
	for (int c = 0; c < 2 * ncpu; c++)
		put(&vals[c % ncpu], 7000);
	CHECK(!bpf_map_update_elem(fd, &idx, vals, 0));
	CHECK(!mace__bpf_hists_read(hs, fd));
	mace__bpf_hists_take(hs, on_hist, &w);
	CHECK_EQ_U64(w.calls, 1);
	CHECK_EQ_U64(w.s.count, 0xfffffff0ull + 2 * ncpu);
	CHECK(fabs(w.s.mean - 14000.0 * ncpu / (0xfffffff0ull + 2 * ncpu)) < 1e-9);
	/* Second read: only what came since, the wrap included. */
	w.calls = 0;
	srandom(3);
	for (int i = 0; i < 1000; i++) {
		uint32_t v = i < 32 ? 5000 : sample();

		put(&vals[i % ncpu], v);
		mace_hist_add(want, v);
	}
	CHECK(!bpf_map_update_elem(fd, &idx, vals, 0));
	CHECK(!mace__bpf_hists_read(hs, fd));
	mace__bpf_hists_take(hs, on_hist, &w);
	mace_hist_summary(want, &ws);
	CHECK_EQ_U64(w.calls, 1);
	CHECK_EQ_U64(w.netns, netns[1]);
	CHECK_EQ_U64(w.dir, MACE_INGRESS);
	CHECK_EQ_U64(w.s.count, 1000);
	CHECK(fabs(w.s.mean - ws.mean) <= 1e-9 * ws.mean);
	CHECK(fabs(w.s.stddev - ws.stddev) <= 1e-6 * ws.stddev);
	CHECK_EQ_U64(w.s.p50, ws.p50);
	CHECK_EQ_U64(w.s.p99, ws.p99);
	CHECK_EQ_U64(w.s.min, ws.min);
	CHECK_EQ_U64(w.s.max, ws.max);
	/* Nothing new: nothing handed out. */
	w.calls = 0;
	CHECK(!mace__bpf_hists_read(hs, fd));
	mace__bpf_hists_take(hs, on_hist, &w);
	CHECK_EQ_U64(w.calls, 0);
out:
	mace__bpf_hists_free(hs);
	free(vals);
	mace_hist_free(want);
	close(fd);
}

#define CTR_NETNS 4026532001u
#define HOST_NETNS 4026531840u

/* A raw file of n inner-dev packets, one egress and one ingress each: packet
 * i starts at (i + 1) ms and takes (i + 1) us. */
static int write_packets(const char *file, int n)
{
	struct mace_raw_header h = { .version = 1, .clock = 1 };
	struct mace_raw_writer *w;
	int err = 0;

	strcpy(h.path, "inner-dev");
	strcpy(h.backend, "bpf");
	h.binding.ndev = 2;
	h.binding.dev[0] = (struct mace_bound_dev){ .role = MACE_ROLE_CONTAINER,
		.netns = CTR_NETNS, .ifindex = 2, .container_netns = CTR_NETNS, .name = "c0" };
	h.binding.dev[1] = (struct mace_bound_dev){ .role = MACE_ROLE_OUTER,
		.netns = HOST_NETNS, .ifindex = 3, .name = "o0" };
	w = mace__raw_create(file, &h);
	if (!w)
		return -errno;
	for (int i = 0; i < n && !err; i++) {
		uint64_t t = (uint64_t)(i + 1) * 1000000, lat = (uint64_t)(i + 1) * 1000;
		struct mace_event e[4] = {
			{ .ts = t, .skb = 0x1000 + i, .netns = CTR_NETNS, .ifindex = 2,
			  .tp = MACE_TP_NET_DEV_XMIT, .role = MACE_ROLE_CONTAINER },
			{ .ts = t + lat, .skb = 0x1000 + i, .netns = HOST_NETNS, .ifindex = 3,
			  .tp = MACE_TP_NET_DEV_XMIT, .role = MACE_ROLE_OUTER },
			{ .ts = t + 2 * lat, .skb = 0x9000 + i, .netns = HOST_NETNS, .ifindex = 3,
			  .tp = MACE_TP_NETIF_RECEIVE_SKB, .role = MACE_ROLE_OUTER },
			{ .ts = t + 3 * lat, .skb = 0x9000 + i, .netns = CTR_NETNS, .ifindex = 2,
			  .tp = MACE_TP_NETIF_RECEIVE_SKB, .role = MACE_ROLE_CONTAINER },
		};

		for (int k = 0; k < 4 && !err; k++)
			err = mace__raw_write(w, &e[k]);
	}
	if (err) {
		mace__raw_close(w);
		return err;
	}
	return mace__raw_close(w);
}

static void count_hist(uint32_t netns, enum mace_dir dir, const struct mace_hist *h, void *ctx)
{
	struct seen *w = ctx;

	if (netns != CTR_NETNS)
		return;
	w->calls++;
	w->s.sz = sizeof(w->s);
	mace_hist_summary(h, &w->s);
	w->dir = dir;
}

/* Without the kernel, the session aggregates its records itself: the window
 * [11 ms, 31 ms) keeps the 20 packets that started at 11..30 ms and counts
 * the other 20. */
TEST(session_aggregates_records_in_a_window)
{
	char file[] = "/tmp/mace-test-agg.XXXXXX";
	struct mace_opts o = MACE_OPTS_INIT;
	struct mace_session *s;
	struct mace_counters c = { .sz = sizeof(c) };
	struct seen w = { 0 };
	int fd = mkstemp(file), r;
	int64_t outside;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	close(fd);
	CHECK(!write_packets(file, 40));
	o.aggregate = true;
	s = mace_session_replay(file, &o);
	CHECK(s != NULL);
	if (!s)
		goto out;
	CHECK(mace_session_set_window(s, 11000000, 10000000) == -EINVAL);
	CHECK(!mace_session_set_window(s, 11000000, 31000000));
	CHECK(mace_session_keep(s, 16) == -EINVAL);
	while ((r = mace_session_poll(s, 0)) >= 0)
		;
	CHECK(r == -ENODATA);
	outside = mace_session_hists(s, count_hist, &w);
	CHECK_EQ_U64(outside, 2 * 20);
	CHECK_EQ_U64(w.calls, 2);
	CHECK_EQ_U64(w.s.count, 20);
	/* both directions of those packets took 11..30 us */
	CHECK_EQ_U64(w.s.min, 11000);
	CHECK_EQ_U64(w.s.max, 30000);
	CHECK(fabs(w.s.mean - 20500) < 1e-6);
	mace_session_counters(s, &c);
	CHECK_EQ_U64(c.records, 80);
	/* taken: nothing left for the next call */
	w.calls = 0;
	CHECK_EQ_U64(mace_session_hists(s, count_hist, &w), 0);
	CHECK_EQ_U64(w.calls, 0);
	mace_session_free(s);
	/* a session that does not aggregate has no histograms */
	o.aggregate = false;
	s = mace_session_replay(file, &o);
	CHECK(s && mace_session_hists(s, count_hist, &w) == -EINVAL);
	CHECK(s && mace_session_set_window(s, 0, 1) == -EINVAL);
	mace_session_free(s);
out:
	unlink(file);
}

int main(void)
{
	RUN(kernel_buckets_are_the_hists);
	RUN(set_summarises_as_added);
	RUN(per_cpu_map_read_as_differences);
	RUN(session_aggregates_records_in_a_window);
	return t_done();
}
