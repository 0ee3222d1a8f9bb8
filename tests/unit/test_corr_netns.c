/* SPDX-License-Identifier: MIT */
/* Per-container counters of the correlator (mace_session_counters_netns). */
#include <stdlib.h>
#include <string.h>

#include "mace_int.h"
#include "t.h"
#include "corr.h"

#define NS_A 4026532001u
#define NS_B 4026532002u

static int nrecs;

static void collect(const struct mace_record *r, void *ctx)
{
	(void)r;
	(void)ctx;
	nrecs++;
}

static struct mace_path path;

static struct mace_correlator *corr(void)
{
	struct mace_corr_opts o = {
		.path = &path, .max_pending = 64, .expire_ns = 1000000, .reorder_ns = 1000,
		.emit = collect,
	};

	inner_dev(&path, MACE_PATH_MATCH_SKB);
	nrecs = 0;
	return mace__corr_new(&o);
}

static void push(struct mace_correlator *c, __u64 ts, int tp, int role, __u32 netns, __u64 skb)
{
	struct mace_event e = {
		.ts = ts, .tp = tp, .role = role, .skb = skb, .netns = netns, .len = 84,
	};

	mace__corr_push(c, &e);
}

static struct mace_counters ns(struct mace_correlator *c, __u32 netns)
{
	struct mace_counters k;

	memset(&k, 0, sizeof(k));
	CHECK(mace__corr_netns_counters(c, netns, &k) == 0);
	return k;
}

/* Two containers and host-only traffic: each container gets its own packets,
 * the packets never seen in a container stay unattributed, and the parts add
 * up to the session's counters at every moment. */
TEST(split_by_container)
{
	struct mace_correlator *c = corr();
	struct mace_counters a, b, u, all = { 0 };
	const __u32 xmit = MACE_TP_NET_DEV_XMIT, recv = MACE_TP_NETIF_RECEIVE_SKB;

	/* A: two egress matched, one egress expires; B: one ingress matched */
	push(c, 1000, xmit, C, NS_A, 0x10);
	push(c, 2000, xmit, O, NS_HOST, 0x10);
	push(c, 3000, xmit, C, NS_A, 0x20);
	push(c, 4000, xmit, O, NS_HOST, 0x20);
	push(c, 5000, xmit, C, NS_A, 0x30);
	push(c, 6000, recv, O, NS_HOST, 0x40);
	push(c, 7000, recv, C, NS_B, 0x40);
	/* host's own: an ingress packet never reaching a container, an
	 * unmatched outer transmit; a container event nothing matches */
	push(c, 8000, recv, O, NS_HOST, 0x50);
	push(c, 9000, xmit, O, NS_HOST, 0x60);
	push(c, 10000, recv, C, NS_B, 0x70);
	mace__corr_tick(c, 20000);

	a = ns(c, NS_A);
	b = ns(c, NS_B);
	u = ns(c, 0);
	CHECK_EQ_U64(a.matched, 4);
	CHECK_EQ_U64(a.records, 2);
	CHECK_EQ_U64(a.pending, 1);	/* 0x30 still in flight */
	CHECK_EQ_U64(b.matched, 2);
	CHECK_EQ_U64(b.unmatched, 1);
	CHECK_EQ_U64(u.unmatched, 1);
	CHECK_EQ_U64(u.pending, 1);	/* 0x50 at the outer device only */
	CHECK_SUM(&a);
	CHECK_SUM(&b);
	CHECK_SUM(&u);
	mace__corr_counters(c, &all);
	CHECK_EQ_U64(a.events + b.events + u.events, all.events);
	CHECK_EQ_U64(a.pending + b.pending + u.pending, all.pending);

	/* time passes: 0x30 expires as A's, 0x50 as nobody's */
	mace__corr_tick(c, 5000000);
	a = ns(c, NS_A);
	u = ns(c, 0);
	CHECK_EQ_U64(a.expired, 1);
	CHECK_EQ_U64(a.pending, 0);
	CHECK_EQ_U64(u.expired, 1);
	CHECK_EQ_U64(u.pending, 0);
	CHECK_SUM(&a);
	CHECK_SUM(&u);
	CHECK_EQ_U64(ns(c, NS_B).events, 3);
	memset(&all, 0, sizeof(all));
	mace__corr_counters(c, &all);
	CHECK_EQ_U64(a.events + ns(c, NS_B).events + u.events, all.events);
	CHECK_EQ_U64(nrecs, 3);
	mace__corr_free(c);
}

/* A container never seen reads as zeros, not as an error. */
TEST(unknown_container_is_zero)
{
	struct mace_correlator *c = corr();
	struct mace_counters k = ns(c, NS_A);

	CHECK_EQ_U64(k.events, 0);
	CHECK_EQ_U64(ns(c, 0).events, 0);
	mace__corr_free(c);
}

/* Random streams over three containers: the parts always add up. */
TEST(random_parts_add_up)
{
	struct mace_correlator *c = corr();
	static const __u32 nss[] = { NS_A, NS_B, NS_A + 7 };
	__u64 ts = 1000;

	srand(7);
	for (int i = 0; i < 20000; i++) {
		int dir = rand() & 1, outer = rand() & 1;
		__u32 tp = dir ? MACE_TP_NETIF_RECEIVE_SKB : MACE_TP_NET_DEV_XMIT;

		ts += rand() % 3000;
		push(c, ts, tp, outer ? O : C, outer ? NS_HOST : nss[rand() % 3],
		     0x100 + rand() % 50);
		if (i % 997 == 0) {
			struct mace_counters all = { 0 }, sum = { 0 };

			for (unsigned int n = 0; n < 3; n++) {
				struct mace_counters k = ns(c, nss[n]);

				CHECK_SUM(&k);
				sum.events += k.events;
				sum.matched += k.matched;
			}
			struct mace_counters u = ns(c, 0);

			CHECK_SUM(&u);
			mace__corr_counters(c, &all);
			CHECK_EQ_U64(sum.events + u.events, all.events);
			CHECK_EQ_U64(sum.matched + u.matched, all.matched);
		}
	}
	mace__corr_flush(c);
	CHECK_EQ_U64(ns(c, NS_A).pending + ns(c, NS_B).pending + ns(c, 0).pending, 0);
	mace__corr_free(c);
}

int main(void)
{
	RUN(split_by_container);
	RUN(unknown_container_is_zero);
	RUN(random_parts_add_up);
	return t_done();
}
