/* SPDX-License-Identifier: MIT */
/* The histogram against exact computations on sorted data. */
#include <math.h>
#include <stdlib.h>

#include "mace.h"
#include "t.h"

#define ARRAY_SIZE_T(a) (sizeof(a) / sizeof((a)[0]))

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* nearest rank, as the histogram defines it */
static uint64_t exact_q(const uint64_t *v, size_t n, double q)
{
	size_t rank = (size_t)ceil(q * n);

	return v[(rank ? rank : 1) - 1];
}

static double rel(uint64_t got, uint64_t want)
{
	return want ? fabs((double)got - (double)want) / (double)want : (double)got;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void check_against_exact(uint64_t *v, size_t n)
{
	static const double qs[] = { 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999 };
	struct mace_hist *h = mace_hist_new();
	struct mace_summary s = { .sz = sizeof(s) };
	double mean = 0, m2 = 0, worst = 0;

	CHECK(h != NULL);
	for (size_t i = 0; i < n; i++)
		mace_hist_add(h, v[i]);
	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < ARRAY_SIZE_T(qs); i++) {
		double r = rel(mace_hist_quantile(h, qs[i]), exact_q(v, n, qs[i]));

		if (r > worst)
			worst = r;
	}
	CHECK(worst <= 0.01);
	for (size_t i = 0; i < n; i++)
		mean += v[i];
	mean /= n;
	for (size_t i = 0; i < n; i++)
		m2 += (v[i] - mean) * (v[i] - mean);
	mace_hist_summary(h, &s);
	CHECK_EQ_U64(s.count, n);
	CHECK_EQ_U64(s.min, v[0]);
	CHECK_EQ_U64(s.max, v[n - 1]);
	CHECK(fabs(s.mean - mean) <= 1e-9 * mean + 1e-9);
	CHECK(fabs(s.stddev - sqrt(m2 / (n - 1))) <= 1e-6 * sqrt(m2 / (n - 1)) + 1e-9);
	CHECK(rel(s.p50, exact_q(v, n, 0.5)) <= 0.01);
	CHECK(rel(s.p90, exact_q(v, n, 0.9)) <= 0.01);
	CHECK(rel(s.p99, exact_q(v, n, 0.99)) <= 0.01);
	CHECK(rel(s.p999, exact_q(v, n, 0.999)) <= 0.01);
	mace_hist_free(h);
}


#define N 200000

TEST(uniform_random_accuracy)
{
	static uint64_t v[N];

	for (size_t i = 0; i < N; i++)
		v[i] = 1000 + rnd() % 1000000;
	check_against_exact(v, N);
}

TEST(heavy_tailed_accuracy)
{
	static uint64_t v[N];

	/* Pareto-like: most near 10 us, a tail out to seconds */
	for (size_t i = 0; i < N; i++) {
		double u = ((rnd() >> 11) + 1) * (1.0 / 9007199254740993.0);

		v[i] = (uint64_t)(10000.0 / pow(u, 1 / 1.2));
	}
	check_against_exact(v, N);
}

TEST(small_values_exact)
{
	static uint64_t v[1000];
	struct mace_hist *h = mace_hist_new();

	for (size_t i = 0; i < 1000; i++) {
		v[i] = rnd() % 128;
		mace_hist_add(h, v[i]);
	}
	qsort(v, 1000, sizeof(*v), cmp_u64);
	for (double q = 0.01; q < 1; q += 0.01)
		CHECK_EQ_U64(mace_hist_quantile(h, q), exact_q(v, 1000, q));
	mace_hist_free(h);
}

/* Values of 128 and more: every quantile lies in the bucket of the exact
 * answer (lower bound v with its low e - 7 bits cleared, e = floor(log2 v)),
 * a check narrower than a bucket, which a neighbouring bucket fails. */
TEST(large_values_in_their_bucket)
{
	static const double qs[] = { 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99 };
	struct mace_hist *h = mace_hist_new();
	uint64_t v[200];

	for (size_t i = 0; i < ARRAY_SIZE_T(v); i++) {
		v[i] = 130 + 977 * i * i;	/* 130 .. ~38.6 ms, uneven gaps */
		mace_hist_add(h, v[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE_T(qs); i++) {
		uint64_t want = exact_q(v, ARRAY_SIZE_T(v), qs[i]);
		uint64_t got = mace_hist_quantile(h, qs[i]);
		unsigned int e = 63 - __builtin_clzll(want);
		uint64_t w = 1ull << (e - 7), lo = want & ~(w - 1);

		if (got < lo || got > lo + w - 1)
			printf("# q %.2f: %" PRIu64 " outside [%" PRIu64 ", %" PRIu64 "] of %" PRIu64 "\n",
			       qs[i], got, lo, lo + w - 1, want);
		CHECK(got >= lo && got <= lo + w - 1);
		CHECK_EQ_U64(got, lo + (w - 1) / 2);	/* the bucket's centre */
	}
	mace_hist_free(h);
}

TEST(extremes_and_buckets)
{
	struct mace_hist *h = mace_hist_new();
	uint64_t lo, hi, cnt, total = 0, prev_hi = 0;
	unsigned int it = 0;
	int nb = 0;
	struct mace_summary s = { .sz = sizeof(s) };

	mace_hist_summary(h, &s);
	CHECK_EQ_U64(s.count, 0);
	CHECK_EQ_U64(mace_hist_quantile(h, 0.5), 0);
	mace_hist_add(h, 0);
	mace_hist_add(h, UINT64_MAX);
	mace_hist_add(h, 5000);
	mace_hist_add(h, 5001);
	mace_hist_add(h, 5002);
	while (mace_hist_bucket(h, &it, &lo, &hi, &cnt)) {
		CHECK(lo <= hi);
		CHECK(nb == 0 || lo > prev_hi);
		CHECK((double)(hi - lo) <= lo / 128.0);
		prev_hi = hi;
		total += cnt;
		nb++;
	}
	CHECK_EQ_U64(total, 5);
	CHECK_EQ_U64(nb, 3);	/* 5000..5002 share a 32-wide bucket */
	CHECK_EQ_U64(mace_hist_quantile(h, 0), 0);
	CHECK_EQ_U64(mace_hist_quantile(h, 1), UINT64_MAX);
	mace_hist_summary(h, &s);
	CHECK(s.mode >= 5000 && s.mode <= 5002 + 32);
	CHECK_EQ_U64(s.max, UINT64_MAX);
	mace_hist_reset(h);
	mace_hist_summary(h, &s);
	CHECK_EQ_U64(s.count, 0);
	mace_hist_free(h);
	mace_hist_free(NULL);
}

TEST(merge_equals_single)
{
	struct mace_hist *a = mace_hist_new(), *b = mace_hist_new(), *all = mace_hist_new();
	struct mace_summary sa = { .sz = sizeof(sa) }, sall = { .sz = sizeof(sall) };

	for (int i = 0; i < 50000; i++) {
		uint64_t v = rnd() % 5000000;

		mace_hist_add(i % 3 ? a : b, v);
		mace_hist_add(all, v);
	}
	mace_hist_merge(a, b);
	mace_hist_summary(a, &sa);
	mace_hist_summary(all, &sall);
	CHECK_EQ_U64(sa.count, sall.count);
	CHECK_EQ_U64(sa.p99, sall.p99);
	CHECK_EQ_U64(sa.min, sall.min);
	CHECK_EQ_U64(sa.max, sall.max);
	CHECK(fabs(sa.mean - sall.mean) < 1e-6 * sall.mean);
	CHECK(fabs(sa.stddev - sall.stddev) < 1e-6 * sall.stddev);
	mace_hist_free(a);
	mace_hist_free(b);
	mace_hist_free(all);
}

TEST(mode_is_fullest_bucket)
{
	struct mace_hist *h = mace_hist_new();
	struct mace_summary s = { .sz = sizeof(s) };

	for (int i = 0; i < 100; i++)
		mace_hist_add(h, 1000 + rnd() % 100000);
	for (int i = 0; i < 300; i++)
		mace_hist_add(h, 42000);
	mace_hist_summary(h, &s);
	CHECK(rel(s.mode, 42000) <= 0.005);
	mace_hist_free(h);
}

int main(void)
{
	RUN(uniform_random_accuracy);
	RUN(heavy_tailed_accuracy);
	RUN(small_values_exact);
	RUN(large_values_in_their_bucket);
	RUN(extremes_and_buckets);
	RUN(merge_equals_single);
	RUN(mode_is_fullest_bucket);
	return t_done();
}
