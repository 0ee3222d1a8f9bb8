/* SPDX-License-Identifier: MIT */
/* mace serve's metrics model and exposition, without a kernel or a server. */
#include <stdlib.h>

#include "t.h"
#include "../../cli/serve_metrics.c"

/* Names the tests choose: netns 7 has characters that need escaping, netns 8
 * is a pod, netns 9 is named only from the second time it is asked. */
static unsigned int asked9;
bool serve_container_labels(uint32_t netns, struct serve_labels *out)
{
	memset(out, 0, sizeof(*out));
	if (netns == 9 && !asked9++) {
		snprintf(out->container, sizeof(out->container), "netns:9");
		return false;
	}
	if (netns == 7) {
		snprintf(out->container, sizeof(out->container), "a\"b\\c\nd");
	} else if (netns == 8) {
		snprintf(out->container, sizeof(out->container), "web");
		snprintf(out->pod, sizeof(out->pod), "web-5d8f");
		snprintf(out->namespace, sizeof(out->namespace), "shop");
	} else {
		snprintf(out->container, sizeof(out->container), "ctr%u", netns);
	}
	return true;
}

static void add(struct serve_metrics *m, uint32_t netns, enum mace_dir dir, const uint64_t *v,
		unsigned int n)
{
	struct mace_hist *h = mace_hist_new();

	for (unsigned int i = 0; i < n; i++)
		mace_hist_add(h, v[i]);
	serve_metrics_add_hist(netns, dir, h, m);
	mace_hist_free(h);
}

static char *render(const struct serve_metrics *m)
{
	char *buf = NULL;
	size_t len;

	CHECK(serve_metrics_render(m, &buf, &len) == 0);
	CHECK(buf && strlen(buf) == len);
	return buf;
}

/* The value of the sample line that starts with prefix, or -1. */
static double sample(const char *text, const char *prefix)
{
	const char *p = text;
	size_t n = strlen(prefix);

	while (p && *p) {
		if (!strncmp(p, prefix, n))
			return strtod(p + n, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/* Every bucket of the library's histogram falls under one le: its lowest
 * and highest values give the same le, so re-bucketing moves nothing. */
TEST(library_buckets_never_straddle_an_le)
{
	struct mace_hist *h = mace_hist_new();
	uint64_t lo, hi, cnt, v;
	unsigned int it;

	for (v = 1; v < (1ull << 34); v += v / 97 + 1) {
		mace_hist_reset(h);
		mace_hist_add(h, v);
		it = 0;
		CHECK(mace_hist_bucket(h, &it, &lo, &hi, &cnt));
		CHECK(lo <= v && v <= hi);
		CHECK_EQ_U64(le_index(lo), le_index(hi));
		CHECK_EQ_U64(le_index(v), le_index(lo));
	}
	mace_hist_free(h);
}

TEST(edges_are_powers_of_two_ns)
{
	CHECK_EQ_U64(le_index(0), 0);
	CHECK_EQ_U64(le_index(1023), 0);		/* < 1.024 us */
	CHECK_EQ_U64(le_index(1024), 1);		/* exactly 2^10: the next */
	CHECK_EQ_U64(le_index((1ull << 20) - 1), 10);
	CHECK_EQ_U64(le_index((1ull << 30) - 1), SERVE_NLE - 1);
	CHECK_EQ_U64(le_index(1ull << 30), SERVE_NLE);	/* above the top le */
	CHECK_EQ_U64(le_index(UINT64_MAX - 1), SERVE_NLE);
}

TEST(histogram_lines)
{
	static const uint64_t eg[] = { 5, 1000, 1500, 40000, 2000000000ull };
	static const uint64_t in[] = { 3000 };
	struct serve_metrics m;
	char *t;

	serve_metrics_init(&m, 1000);
	m.path = "inner-dev";
	add(&m, 1, MACE_EGRESS, eg, 5);
	add(&m, 1, MACE_EGRESS, eg, 2);		/* cumulative across takes */
	add(&m, 1, MACE_INGRESS, in, 1);
	t = render(&m);
#define EG "mace_overhead_seconds_bucket{container=\"ctr1\",direction=\"egress\",path=\"inner-dev\","
	CHECK(sample(t, EG "le=\"1.024e-06\"} ") == 4);	/* 5, 1000 twice */
	CHECK(sample(t, EG "le=\"2.048e-06\"} ") == 5);
	CHECK(sample(t, EG "le=\"3.2768e-05\"} ") == 5);
	CHECK(sample(t, EG "le=\"6.5536e-05\"} ") == 6);
	CHECK(sample(t, EG "le=\"1.073741824\"} ") == 6);	/* 2 s is above the top */
	CHECK(sample(t, EG "le=\"+Inf\"} ") == 7);
	CHECK(sample(t, "mace_overhead_seconds_count{container=\"ctr1\",direction=\"egress\","
			"path=\"inner-dev\"} ") == 7);
	/* exact: 2 * (5 + 1000) + 1500 + 40000 + 2e9 ns */
	CHECK(sample(t, "mace_overhead_seconds_sum{container=\"ctr1\",direction=\"egress\","
			"path=\"inner-dev\"} ") == 2.00004351e+00);
	CHECK(sample(t, "mace_overhead_seconds_sum{container=\"ctr1\",direction=\"ingress\","
			"path=\"inner-dev\"} ") == 3e-06);
	CHECK(strstr(t, "# TYPE mace_overhead_seconds histogram\n"));
	/* one # TYPE per family */
	CHECK(!strstr(strstr(t, "# TYPE mace_overhead_seconds ") + 1, "# TYPE mace_overhead_seconds "));
	/* a direction never seen has no series */
	serve_metrics_fini(&m);
	free(t);
	serve_metrics_init(&m, 1000);
	m.path = "inner-dev";
	add(&m, 2, MACE_INGRESS, in, 1);
	t = render(&m);
	CHECK(!strstr(t, "direction=\"egress\""));
	CHECK(strstr(t, "direction=\"ingress\""));
	serve_metrics_fini(&m);
	free(t);
}

TEST(labels_escaped_and_pod_when_known)
{
	static const uint64_t v[] = { 2000 };
	struct serve_metrics m;
	char *t;

	serve_metrics_init(&m, 1000);
	m.path = "p\"q";
	add(&m, 7, MACE_EGRESS, v, 1);
	add(&m, 8, MACE_EGRESS, v, 1);
	t = render(&m);
	CHECK(strstr(t, "_count{container=\"a\\\"b\\\\c\\nd\",direction=\"egress\",path=\"p\\\"q\"} 1\n"));
	CHECK(strstr(t, "_count{container=\"web\",pod=\"web-5d8f\",namespace=\"shop\","
			"direction=\"egress\",path=\"p\\\"q\"} 1\n"));
	serve_metrics_fini(&m);
	free(t);
}

static bool all_bound(uint32_t netns, void *ctx)
{
	return true;
}

TEST(late_name_replaces_placeholder)
{
	static const uint64_t v[] = { 2000 };
	struct serve_metrics m;
	char *t;

	serve_metrics_init(&m, 1000);
	m.path = "x";
	add(&m, 9, MACE_EGRESS, v, 1);
	t = render(&m);
	CHECK(strstr(t, "container=\"netns:9\""));
	free(t);
	serve_metrics_update(&m, 1, all_bound, NULL);
	add(&m, 9, MACE_EGRESS, v, 1);
	t = render(&m);
	CHECK(!strstr(t, "netns:9"));
	CHECK(sample(t, "mace_overhead_seconds_count{container=\"ctr9\",direction=\"egress\","
			"path=\"x\"} ") == 2);
	free(t);
	serve_metrics_fini(&m);
}

static uint32_t bound_netns;
static bool only_bound(uint32_t netns, void *ctx)
{
	return netns == bound_netns;
}

TEST(removed_container_goes_after_grace)
{
	static const uint64_t v[] = { 2000 };
	struct serve_metrics m;
	char *t;

	serve_metrics_init(&m, 2000000000ull);
	m.path = "x";
	add(&m, 1, MACE_EGRESS, v, 1);
	add(&m, 2, MACE_EGRESS, v, 1);
	bound_netns = 1;
	serve_metrics_update(&m, 1000000000ull, only_bound, NULL);	/* 2 gone at 1 s */
	CHECK_EQ_U64(m.n, 2);
	CHECK_EQ_U64(serve_metrics_bound(&m), 1);
	serve_metrics_update(&m, 2999999999ull, only_bound, NULL);
	CHECK_EQ_U64(m.n, 2);
	t = render(&m);
	CHECK(strstr(t, "container=\"ctr2\""));
	CHECK(sample(t, "mace_containers ") == 1);
	free(t);
	serve_metrics_update(&m, 3000000000ull, only_bound, NULL);
	CHECK_EQ_U64(m.n, 1);
	t = render(&m);
	CHECK(!strstr(t, "container=\"ctr2\""));
	CHECK(strstr(t, "container=\"ctr1\""));
	CHECK(sample(t, "mace_removed_records_total ") == 1);
	free(t);
	/* back before the grace ends: it stays, with its counts */
	add(&m, 2, MACE_EGRESS, v, 1);
	bound_netns = 0;
	serve_metrics_update(&m, 4000000000ull, only_bound, NULL);
	bound_netns = 2;
	serve_metrics_update(&m, 5000000000ull, only_bound, NULL);
	serve_metrics_update(&m, 9000000000ull, only_bound, NULL);
	CHECK_EQ_U64(m.n, 1);
	CHECK_EQ_U64(m.c[0].netns, 2);
	serve_metrics_fini(&m);
}

TEST(counters_and_info)
{
	struct serve_metrics m;
	char *t;

	serve_metrics_init(&m, 1000);
	m.counters = (struct mace_counters){ .events = 21, .records = 9, .matched = 18,
					     .unmatched = 1, .expired = 1, .pending = 1,
					     .lost = 4, .user_drops = 2 };
	m.dropped = 3;
	m.window_skipped = 5;
	t = render(&m);
	CHECK(sample(t, "mace_events_total{outcome=\"matched\"} ") == 18);
	CHECK(sample(t, "mace_events_total{outcome=\"unmatched\"} ") == 1);
	CHECK(sample(t, "mace_events_total{outcome=\"duplicate\"} ") == 0);
	CHECK(sample(t, "mace_pending_events ") == 1);
	CHECK(sample(t, "mace_lost_events_total ") == 4);
	CHECK(sample(t, "mace_dropped_events_total ") == 5);
	CHECK(sample(t, "mace_records_total ") == 9);
	CHECK(sample(t, "mace_handover_skipped_records_total ") == 5);
	CHECK(sample(t, "mace_containers ") == 0);
	{
		char want[64];

		snprintf(want, sizeof(want), "mace_build_info{version=\"%s\",", mace_version());
		CHECK(strstr(t, want));
	}
	CHECK(sample(t, "process_cpu_seconds_total ") >= 0);
	CHECK(sample(t, "process_open_fds ") > 0);
	CHECK(t[strlen(t) - 1] == '\n');
	serve_metrics_fini(&m);
	free(t);
}

TEST(index_page_escapes)
{
	static const uint64_t v[] = { 2000 };
	struct serve_metrics m;
	char *t = NULL;
	size_t len;

	serve_metrics_init(&m, 1000);
	m.path = "<p>";
	add(&m, 7, MACE_EGRESS, v, 1);
	CHECK(serve_index_render(&m, "outer <eth0> & co\n", &t, &len) == 0);
	CHECK(strstr(t, "<a href=\"/metrics\">"));
	CHECK(strstr(t, "path &lt;p&gt;"));
	CHECK(strstr(t, "outer &lt;eth0&gt; &amp; co"));
	CHECK(strstr(t, "a&quot;b"));
	serve_metrics_fini(&m);
	free(t);
}

int main(void)
{
	RUN(library_buckets_never_straddle_an_le);
	RUN(edges_are_powers_of_two_ns);
	RUN(histogram_lines);
	RUN(labels_escaped_and_pod_when_known);
	RUN(late_name_replaces_placeholder);
	RUN(removed_container_goes_after_grace);
	RUN(counters_and_info);
	RUN(index_page_escapes);
	return t_done();
}
