/* SPDX-License-Identifier: MIT */
/* The model behind `mace top`, driven with synthetic records (no terminal). */
#include <math.h>
#include <stdlib.h>

#include "t.h"
#include "../../cli/top_model.c"

static struct mace_record rec(uint32_t netns, int dir, uint64_t lat)
{
	struct mace_record r = { .netns = netns, .dir = dir, .latency_ns = lat };

	return r;
}

static const char *names(uint32_t netns, char *buf, size_t size)
{
	if (netns == 1) {
		snprintf(buf, size, "alpha");
		return buf;
	}
	return NULL;	/* falls back to netns:N */
}

/* Interval stats, totals, packets/s and history after one tick. */
TEST(aggregates_per_netns_and_interval)
{
	struct top_model m;
	const struct top_row *r;
	int i;

	top_model_init(&m, names);
	for (i = 1; i <= 100; i++)
		top_model_add(&m, &(struct mace_record){ .netns = 1, .dir = MACE_EGRESS,
							 .latency_ns = i * 1000 });
	for (i = 0; i < 10; i++) {
		struct mace_record x = rec(2, MACE_INGRESS, 5000);

		top_model_add(&m, &x);
	}
	CHECK_EQ_U64(m.n, 2);
	top_model_tick(&m, 2000000000ull);	/* first tick: 1 s interval assumed */
	top_model_set_sort(&m, TOP_COL_NAME, false);
	r = top_model_row(&m, 0);
	CHECK_STR(r->name, "alpha");
	CHECK_EQ_U64(r->last[0].count, 100);
	/* 1% relative error allowed by the histogram */
	CHECK(r->last[0].p50 >= 49500 && r->last[0].p50 <= 51500);
	CHECK(r->last[0].p99 >= 98000 && r->last[0].p99 <= 101000);
	CHECK(r->last[0].mean > 50400 && r->last[0].mean < 50600);
	CHECK_EQ_U64(r->last[1].count, 0);
	CHECK(top_row_value(&m, r, TOP_COL_IN_P50) < 0);
	CHECK((uint64_t)r->pps == 100);
	CHECK_EQ_U64(r->nhist, 1);
	CHECK(r->p50_hist[1][0] == TOP_NO_VALUE);
	r = top_model_row(&m, 1);
	CHECK_STR(r->name, "netns:2");
	CHECK((uint64_t)r->pps == 10);

	/* Second interval, 2 s long, only netns 2: netns 1 keeps its total. */
	for (i = 0; i < 40; i++) {
		struct mace_record x = rec(2, MACE_INGRESS, 9000);

		top_model_add(&m, &x);
	}
	top_model_tick(&m, 4000000000ull);
	r = top_model_row(&m, 0);
	CHECK_EQ_U64(r->last[0].count, 0);
	CHECK_EQ_U64(r->total[0].count, 100);
	CHECK((uint64_t)r->pps == 0);
	r = top_model_row(&m, 1);
	CHECK((uint64_t)r->pps == 20);
	CHECK_EQ_U64(r->total[1].count, 50);
	CHECK(r->last[1].p50 >= 8900 && r->last[1].p50 <= 9100);
	CHECK_EQ_U64(r->nhist, 2);
	CHECK(r->p50_hist[1][1] >= 8900 && r->p50_hist[1][1] <= 9100);
	m.show_total = true;
	CHECK(top_row_value(&m, r, TOP_COL_IN_MEAN) > 8000 &&
	      top_row_value(&m, r, TOP_COL_IN_MEAN) < 8300);
	top_model_fini(&m);
}

/* Sorting by any column, reverse, unknowns last either way. */
/* Histograms of an aggregating session count as their records would. */
TEST(histograms_count_as_records)
{
	struct top_model by_rec, by_hist;
	struct mace_hist *h = mace_hist_new();
	const struct top_row *a, *b;
	int i;

	top_model_init(&by_rec, names);
	top_model_init(&by_hist, names);
	for (i = 1; i <= 300; i++) {
		struct mace_record x = rec(1, i % 2, i * 777);

		top_model_add(&by_rec, &x);
		if (i % 2 == MACE_INGRESS)
			mace_hist_add(h, i * 777);
	}
	top_model_add_hist(&by_hist, 1, MACE_INGRESS, h);
	mace_hist_reset(h);
	for (i = 2; i <= 300; i += 2)
		mace_hist_add(h, i * 777);
	top_model_add_hist(&by_hist, 1, MACE_EGRESS, h);
	top_model_add_hist(&by_hist, 1, 7, h);	/* no such direction */
	CHECK_EQ_U64(by_hist.dropped, 150);
	top_model_tick(&by_rec, 2000000000ull);
	top_model_tick(&by_hist, 2000000000ull);
	a = top_model_row(&by_rec, 0);
	b = top_model_row(&by_hist, 0);
	CHECK(a && b && by_hist.n == 1);
	for (int d = 0; a && b && d < 2; d++) {
		CHECK_EQ_U64(b->last[d].count, a->last[d].count);
		CHECK_EQ_U64(b->last[d].p50, a->last[d].p50);
		CHECK_EQ_U64(b->last[d].p99, a->last[d].p99);
		CHECK(fabs(b->last[d].mean - a->last[d].mean) <= 1e-9 * a->last[d].mean);
	}
	CHECK(a && b && b->pps == a->pps && b->pps == 300);
	mace_hist_free(h);
	top_model_fini(&by_rec);
	top_model_fini(&by_hist);
}

TEST(sorts_by_column)
{
	const struct top_row *r;
	struct top_model m;
	uint32_t ns;

	top_model_init(&m, NULL);
	for (ns = 10; ns < 13; ns++) {
		/* netns 10: egress 30 us, 11: 10 us, 12: ingress only */
		struct mace_record e = rec(ns, MACE_EGRESS, ns == 10 ? 30000 : 10000);
		struct mace_record in = rec(ns, MACE_INGRESS, 1000 * ns);
		int k;

		for (k = 0; k < (int)ns - 9; k++) {
			if (ns != 12)
				top_model_add(&m, &e);
			top_model_add(&m, &in);
		}
	}
	top_model_tick(&m, 1000000000ull);
	top_model_set_sort(&m, TOP_COL_EG_P50, false);
	CHECK_EQ_U64(top_model_row(&m, 0)->netns, 10);
	CHECK_EQ_U64(top_model_row(&m, 1)->netns, 11);
	CHECK_EQ_U64(top_model_row(&m, 2)->netns, 12);	/* unknown last */
	top_model_set_sort(&m, TOP_COL_EG_P50, true);
	CHECK_EQ_U64(top_model_row(&m, 0)->netns, 11);
	CHECK_EQ_U64(top_model_row(&m, 1)->netns, 10);
	CHECK_EQ_U64(top_model_row(&m, 2)->netns, 12);	/* still last */
	top_model_set_sort(&m, TOP_COL_PPS, false);
	CHECK_EQ_U64(top_model_row(&m, 0)->netns, 11);	/* 4 records/s */
	CHECK_EQ_U64(top_model_row(&m, 1)->netns, 12);	/* 3 */
	CHECK_EQ_U64(top_model_row(&m, 2)->netns, 10);	/* 2 */
	top_model_set_sort(&m, TOP_COL_IN_MEAN, false);
	CHECK_EQ_U64(top_model_row(&m, 0)->netns, 12);
	top_model_set_sort(&m, TOP_COL_NAME, false);
	r = top_model_row(&m, 0);
	CHECK_STR(r ? r->name : NULL, "netns:10");
	top_model_set_sort(&m, TOP_COL_NAME, true);
	r = top_model_row(&m, 0);
	CHECK_STR(r ? r->name : NULL, "netns:12");
	CHECK(top_model_row(&m, 3) == NULL);
	CHECK_STR(top_col_name(TOP_COL_MATCH), "MATCH%");
	top_model_fini(&m);
}

/* Match rate and lost: per row only when they can be attributed. */
TEST(counters_per_row_only_when_known)
{
	struct mace_counters c = { .events = 200, .matched = 150, .lost = 3 };
	struct top_model m;
	struct mace_record a = rec(1, MACE_EGRESS, 1000), b = rec(2, MACE_EGRESS, 1000);
	const struct top_row *r;

	top_model_init(&m, NULL);
	top_model_add(&m, &a);
	top_model_set_counters(&m, 0, &c);
	r = top_model_row(&m, 0);
	CHECK(top_row_value(&m, r, TOP_COL_MATCH) == 75.0);
	CHECK(top_row_value(&m, r, TOP_COL_LOST) == 3.0);
	CHECK_EQ_U64(m.counters.events, 200);

	top_model_add(&m, &b);
	top_model_set_counters(&m, 0, &c);
	r = top_model_row(&m, 1);
	CHECK(top_row_value(&m, r, TOP_COL_MATCH) < 0);	/* cannot split a shared session */
	top_model_set_counters(&m, 2, &c);
	CHECK(top_row_value(&m, r, TOP_COL_MATCH) == 75.0);
	/* lost is the kernel's, for the whole session: not split */
	CHECK(top_row_value(&m, r, TOP_COL_LOST) < 0);
	top_model_fini(&m);
}

/* A session replaced by a new one: a row's counters continue, not reset. */
TEST(counters_survive_session_change)
{
	struct mace_counters c1 = { .events = 100, .matched = 100 };
	struct mace_counters c2 = { .events = 100, .matched = 0 };
	struct top_model m;
	struct mace_record a = rec(1, MACE_EGRESS, 1000), b = rec(2, MACE_EGRESS, 1000);
	const struct top_row *r;

	top_model_init(&m, NULL);
	top_model_add(&m, &a);
	top_model_add(&m, &b);
	top_model_set_counters(&m, 1, &c1);
	top_model_retire_counters(&m);
	top_model_set_counters(&m, 1, &c2);
	top_model_set_sort(&m, TOP_COL_NAME, false);
	r = top_model_row(&m, 0);
	CHECK_EQ_U64(r->netns, 1);
	CHECK(top_row_value(&m, r, TOP_COL_MATCH) == 50.0);
	top_model_fini(&m);
}

/* A vanished container's row stays marked, then goes; a returning one stays. */
TEST(gone_rows_drop_after_a_while)
{
	struct top_model m;
	struct mace_record a = rec(1, MACE_EGRESS, 1000), b = rec(2, MACE_EGRESS, 1000);
	uint64_t t0 = 5000000000ull;

	top_model_init(&m, NULL);
	top_model_add(&m, &a);
	top_model_add(&m, &b);
	top_model_set_gone(&m, 1, true, t0);
	top_model_set_gone(&m, 2, true, t0);
	top_model_set_gone(&m, 2, false, t0 + 1);
	top_model_tick(&m, t0 + 1000000000ull);
	CHECK_EQ_U64(m.n, 2);
	top_model_set_sort(&m, TOP_COL_NAME, false);
	CHECK(top_model_row(&m, 0)->gone_ns == t0);
	CHECK(top_model_row(&m, 1)->gone_ns == 0);
	top_model_tick(&m, t0 + TOP_GONE_NS);
	CHECK_EQ_U64(m.n, 1);
	CHECK_EQ_U64(top_model_row(&m, 0)->netns, 2);
	/* its data went with it: a record of the old netns starts afresh */
	top_model_add(&m, &a);
	CHECK_EQ_U64(m.n, 2);
	top_model_fini(&m);
}

/* A live row told it is still there stays live, tick after tick (a row that
 * read "gone" every other second flickered). */
TEST(live_row_stays_live)
{
	struct top_model m;
	struct mace_record a = rec(1, MACE_EGRESS, 1000);
	uint64_t t;

	top_model_init(&m, names);
	top_model_add(&m, &a);
	for (t = 1; t <= 3; t++) {
		top_model_set_gone(&m, 1, false, t * 1000000000ull);
		top_model_tick(&m, t * 1000000000ull);
		CHECK_EQ_U64(m.n, 1);
		CHECK_EQ_U64(top_model_row(&m, 0)->gone_ns, 0);
	}
	CHECK_STR(top_model_row(&m, 0)->name, "alpha");
	top_model_fini(&m);
}

/* Each column shows its own direction and quantile, exactly as the
 * histogram summarises the same values (egress and ingress far apart, p99
 * and p99.9 different). */
TEST(per_direction_values_exact)
{
	struct mace_hist *h[2] = { mace_hist_new(), mace_hist_new() };
	struct mace_summary s[2] = { { .sz = sizeof(s[0]) }, { .sz = sizeof(s[1]) } };
	struct top_model m;
	const struct top_row *r;
	int i, d;

	top_model_init(&m, NULL);
	for (i = 1; i <= 2000; i++) {
		struct mace_record e = rec(3, MACE_EGRESS, 40000 + 37 * i);
		struct mace_record in = rec(3, MACE_INGRESS, 3000 + 11 * i);

		top_model_add(&m, &e);
		top_model_add(&m, &in);
		mace_hist_add(h[0], e.latency_ns);
		mace_hist_add(h[1], in.latency_ns);
	}
	top_model_tick(&m, 1000000000ull);
	r = top_model_row(&m, 0);
	for (d = 0; d < 2; d++) {
		mace_hist_summary(h[d], &s[d]);
		CHECK(s[d].p99 != s[d].p999);
		CHECK_EQ_U64(r->last[d].p50, s[d].p50);
		CHECK_EQ_U64(r->last[d].p99, s[d].p99);
	}
	CHECK(top_row_value(&m, r, TOP_COL_EG_P50) == (double)s[0].p50);
	CHECK(top_row_value(&m, r, TOP_COL_EG_P99) == (double)s[0].p99);
	CHECK(fabs(top_row_value(&m, r, TOP_COL_EG_MEAN) - s[0].mean) < 1e-6);
	CHECK(top_row_value(&m, r, TOP_COL_IN_P50) == (double)s[1].p50);
	CHECK(top_row_value(&m, r, TOP_COL_IN_P99) == (double)s[1].p99);
	CHECK(fabs(top_row_value(&m, r, TOP_COL_IN_MEAN) - s[1].mean) < 1e-6);
	CHECK(top_row_value(&m, r, TOP_COL_PPS) == 4000.0);
	m.show_total = true;
	CHECK(top_row_value(&m, r, TOP_COL_IN_P99) == (double)s[1].p99);
	CHECK(top_row_value(&m, r, TOP_COL_EG_P99) == (double)s[0].p99);
	mace_hist_free(h[0]);
	mace_hist_free(h[1]);
	top_model_fini(&m);
}

/* 60 s of history: the oldest second falls off. */
TEST(history_keeps_last_60_seconds)
{
	struct top_model m;
	const struct top_row *r;
	uint64_t t;

	top_model_init(&m, NULL);
	for (t = 1; t <= 70; t++) {
		struct mace_record x = rec(5, MACE_EGRESS, t * 1000);

		top_model_add(&m, &x);
		top_model_tick(&m, t * 1000000000ull);
	}
	r = top_model_row(&m, 0);
	CHECK_EQ_U64(r->nhist, TOP_HISTORY);
	CHECK(r->p50_hist[0][0] >= 10800 && r->p50_hist[0][0] <= 11200);	/* second 11 */
	CHECK(r->p50_hist[0][59] >= 69300 && r->p50_hist[0][59] <= 70700);	/* second 70 */
	CHECK_EQ_U64(r->total[0].count, 70);
	top_model_fini(&m);
}

int main(void)
{
	RUN(aggregates_per_netns_and_interval);
	RUN(histograms_count_as_records);
	RUN(sorts_by_column);
	RUN(counters_per_row_only_when_known);
	RUN(history_keeps_last_60_seconds);
	RUN(counters_survive_session_change);
	RUN(gone_rows_drop_after_a_while);
	RUN(live_row_stays_live);
	RUN(per_direction_values_exact);
	return t_done();
}
