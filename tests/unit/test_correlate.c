/* SPDX-License-Identifier: MIT */
/* The correlator on synthetic event streams. */
#include <stdlib.h>

#include "mace_int.h"
#include "t.h"
#include "corr.h"

#define NS_CTR 4026532001u

static struct mace_record recs[64];
static int nrecs;

static void collect(const struct mace_record *r, void *ctx)
{
	if (nrecs < (int)ARRAY_SIZE(recs))
		recs[nrecs] = *r;
	nrecs++;
}

static struct mace_correlator *corr(const struct mace_path *p, __u32 max_pending,
				    __u64 expire_ns, __u64 reorder_ns)
{
	struct mace_corr_opts o = {
		.path = p, .max_pending = max_pending, .expire_ns = expire_ns,
		.reorder_ns = reorder_ns, .path_id = 3, .emit = collect,
	};

	nrecs = 0;
	memset(recs, 0, sizeof(recs));
	return mace__corr_new(&o);
}

/* Like corr(), with a receive window (backends that miss receives). */
static struct mace_correlator *corr_window(const struct mace_path *p, __u64 recv_window_ns)
{
	struct mace_corr_opts o = {
		.path = p, .reorder_ns = 100, .recv_window_ns = recv_window_ns,
		.path_id = 3, .emit = collect,
	};

	nrecs = 0;
	memset(recs, 0, sizeof(recs));
	return mace__corr_new(&o);
}

static struct mace_event E(__u64 ts, int tp, int role, __u64 skb, __u64 key, int cpu)
{
	struct mace_event e = {
		.ts = ts, .tp = tp, .role = role, .skb = skb, .key = key, .cpu = cpu,
		.netns = role == C ? NS_CTR : NS_HOST, .len = 84, .tid = 100,
	};
	return e;
}

static void push(struct mace_correlator *c, struct mace_event e)
{
	mace__corr_push(c, &e);
}

static struct mace_counters counters(struct mace_correlator *c)
{
	struct mace_counters k;

	memset(&k, 0, sizeof(k));
	mace__corr_counters(c, &k);
	return k;
}

#define CHECK_INVARIANT(c)                                                                 \
	do {                                                                               \
		struct mace_counters k_ = counters(c);                                     \
		CHECK_SUM(&k_);                                                            \
	} while (0)

TEST(simple_egress_ingress)
{
	struct mace_path p;
	struct mace_correlator *c;
	struct mace_event e;
	struct mace_counters k;

	inner_dev(&p, MACE_PATH_MATCH_SKB);
	c = corr(&p, 0, 0, 1000);
	CHECK(c != NULL);
	e = E(1000, MACE_TP_NET_DEV_XMIT, C, 0xa00, 0, 1);
	e.proto = 1;
	e.family = 2;
	e.src[0] = 10;
	e.dst[0] = 10;
	e.id = 7;
	e.seq = 9;
	mace__corr_push(c, &e);
	push(c, E(1000 + 25000, MACE_TP_NET_DEV_XMIT, O, 0xa00, 0, 2));
	push(c, E(50000, MACE_TP_NETIF_RECEIVE_SKB, O, 0xb00, 0, 0));
	push(c, E(50000 + 8000, MACE_TP_NETIF_RECEIVE_SKB, C, 0xb00, 0, 0));
	CHECK_INVARIANT(c);
	mace__corr_flush(c);
	CHECK_EQ_U64(nrecs, 2);
	CHECK_EQ_U64(recs[0].dir, MACE_EGRESS);
	CHECK_EQ_U64(recs[0].ts_ns, 1000);
	CHECK_EQ_U64(recs[0].latency_ns, 25000);
	CHECK_EQ_U64(recs[0].nseg, 1);
	CHECK_EQ_U64(recs[0].seg_ns[0], 25000);
	CHECK_EQ_U64(recs[0].netns, NS_CTR);
	CHECK_EQ_U64(recs[0].proto, 1);
	CHECK_EQ_U64(recs[0].id, 7);
	CHECK_EQ_U64(recs[0].seq, 9);
	CHECK_EQ_U64(recs[0].src[0], 10);
	CHECK_EQ_U64(recs[0].cpu_start, 1);
	CHECK_EQ_U64(recs[0].cpu_end, 2);
	CHECK_EQ_U64(recs[0].len, 84);
	CHECK_EQ_U64(recs[0].path_id, 3);
	CHECK_EQ_U64(recs[1].dir, MACE_INGRESS);
	CHECK_EQ_U64(recs[1].latency_ns, 8000);
	CHECK_EQ_U64(recs[1].netns, NS_CTR);
	k = counters(c);
	CHECK_EQ_U64(k.events, 4);
	CHECK_EQ_U64(k.matched, 4);
	CHECK_EQ_U64(k.records, 2);
	CHECK_EQ_U64(k.pending, 0);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

/* A frame that ended at the host (an ARP to the bridge) frees its skb; the
 * host's own reply reusing the address at the outer device is no record. */
TEST(freed_skb_ends_its_pending_packet)
{
	struct mace_path p;
	struct mace_correlator *c;
	struct mace_event fr = { .ts = 2000, .skb = 0xa00, .cpu = 1 };
	struct mace_counters k;

	inner_dev(&p, MACE_PATH_MATCH_SKB);
	c = corr(&p, 0, 0, 1000);
	push(c, E(1000, MACE_TP_NET_DEV_XMIT, C, 0xa00, 0, 0));
	CHECK(mace_event_is_free(&fr));
	mace__corr_push(c, &fr);
	push(c, E(900000, MACE_TP_NET_DEV_XMIT, O, 0xa00, 0, 0));
	/* a free before a packet's start does not touch it */
	fr.ts = 1000000;
	fr.skb = 0xb00;
	mace__corr_push(c, &fr);
	push(c, E(1000500, MACE_TP_NETIF_RECEIVE_SKB, O, 0xb00, 0, 0));
	push(c, E(1002000, MACE_TP_NETIF_RECEIVE_SKB, C, 0xb00, 0, 0));
	mace__corr_flush(c);
	k = counters(c);
	CHECK_EQ_U64(nrecs, 1);
	CHECK_EQ_U64(recs[0].dir, MACE_INGRESS);
	CHECK_EQ_U64(recs[0].latency_ns, 1500);
	CHECK_EQ_U64(k.events, 4);	/* frees are no events of the path */
	CHECK_EQ_U64(k.expired, 1);
	CHECK_EQ_U64(k.unmatched, 1);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

TEST(events_at_no_point_are_ignored)
{
	struct mace_path p;
	struct mace_correlator *c;
	struct mace_counters k;

	inner_dev(&p, MACE_PATH_MATCH_SKB);
	c = corr(&p, 0, 0, 1000);
	push(c, E(10, MACE_TP_NET_DEV_QUEUE, C, 0xa00, 0, 0));	/* tp not in path */
	push(c, E(20, MACE_TP_NET_DEV_XMIT, BR, 0xa00, 0, 0));	/* role not in path */
	push(c, E(30, 200, C, 0xa00, 0, 0));			/* impossible tp */
	push(c, E(40, MACE_TP_NET_DEV_XMIT, O, 0xa00, 0, 0));	/* end, no start */
	mace__corr_flush(c);
	k = counters(c);
	CHECK_EQ_U64(k.events, 1);
	CHECK_EQ_U64(k.unmatched, 1);
	CHECK_EQ_U64(nrecs, 0);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

TEST(skb_reuse_within_microseconds)
{
	struct mace_path p;
	struct mace_correlator *c;
	struct mace_counters k;

	inner_dev(&p, MACE_PATH_MATCH_SKB);
	/* waypoint via the bridge so a packet can be pending at a later point */
	p.dir[0].npoints = 0;
	set_point(&p.dir[0], 0, BIT(MACE_TP_NET_DEV_XMIT), C);
	set_point(&p.dir[0], 1, BIT(MACE_TP_NET_DEV_QUEUE), BR);
	set_point(&p.dir[0], 2, BIT(MACE_TP_NET_DEV_XMIT), O);
	c = corr(&p, 0, 0, 100);
	/* packet 1 ends, the address comes back 1 us later for packet 2 */
	push(c, E(1000, MACE_TP_NET_DEV_XMIT, C, 0xa00, 0, 0));
	push(c, E(2000, MACE_TP_NET_DEV_QUEUE, BR, 0xa00, 0, 0));
	push(c, E(3000, MACE_TP_NET_DEV_XMIT, O, 0xa00, 0, 0));
	push(c, E(4000, MACE_TP_NET_DEV_XMIT, C, 0xa00, 0, 0));
	/* packet 2 is lost after the bridge; packet 3 reuses the address */
	push(c, E(4500, MACE_TP_NET_DEV_QUEUE, BR, 0xa00, 0, 0));
	push(c, E(5000, MACE_TP_NET_DEV_XMIT, C, 0xa00, 0, 0));
	push(c, E(5200, MACE_TP_NET_DEV_QUEUE, BR, 0xa00, 0, 0));
	push(c, E(5300, MACE_TP_NET_DEV_XMIT, O, 0xa00, 0, 0));
	/* a stale end with no start left */
	push(c, E(5400, MACE_TP_NET_DEV_XMIT, O, 0xa00, 0, 0));
	mace__corr_flush(c);
	CHECK_EQ_U64(nrecs, 2);
	CHECK_EQ_U64(recs[0].latency_ns, 2000);
	CHECK_EQ_U64(recs[1].ts_ns, 5000);
	CHECK_EQ_U64(recs[1].latency_ns, 300);
	CHECK_EQ_U64(recs[1].seg_ns[0], 200);
	CHECK_EQ_U64(recs[1].seg_ns[1], 100);
	k = counters(c);
	CHECK_EQ_U64(k.replaced, 2);
	CHECK_EQ_U64(k.matched, 6);
	CHECK_EQ_U64(k.unmatched, 1);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

TEST(interleaved_cpus_within_reorder_window)
{
	struct mace_path p;
	struct mace_correlator *c;
	struct mace_counters k;

	inner_dev(&p, MACE_PATH_MATCH_SKB);
	c = corr(&p, 0, 0, 10000);
	/* ends arrive before their starts (other CPU's buffer drained first) */
	push(c, E(5000, MACE_TP_NET_DEV_XMIT, O, 0xa00, 0, 1));
	push(c, E(6000, MACE_TP_NET_DEV_XMIT, O, 0xb00, 0, 1));
	push(c, E(1000, MACE_TP_NET_DEV_XMIT, C, 0xa00, 0, 0));
	push(c, E(5500, MACE_TP_NET_DEV_XMIT, C, 0xb00, 0, 0));
	CHECK_EQ_U64(nrecs, 0);	/* still inside the window */
	CHECK_INVARIANT(c);
	k = counters(c);
	CHECK_EQ_U64(k.pending, 4);
	push(c, E(100000, MACE_TP_NET_DEV_QUEUE, BR, 0, 0, 0));	/* ignored: no point */
	mace__corr_tick(c, 20000);	/* time passes: window drains */
	CHECK_EQ_U64(nrecs, 2);
	CHECK_EQ_U64(recs[0].latency_ns, 4000);
	CHECK_EQ_U64(recs[1].latency_ns, 500);
	k = counters(c);
	CHECK_EQ_U64(k.matched, 4);
	CHECK_EQ_U64(k.unmatched, 0);
	CHECK_INVARIANT(c);
	/* an event later than the window is still taken, but only forward */
	push(c, E(30000, MACE_TP_NET_DEV_XMIT, C, 0xc00, 0, 0));
	mace__corr_tick(c, 50000);
	push(c, E(29000, MACE_TP_NET_DEV_XMIT, O, 0xc00, 0, 0));
	mace__corr_flush(c);
	k = counters(c);
	CHECK_EQ_U64(k.unmatched, 1);
	CHECK_EQ_U64(k.expired, 1);
	CHECK_EQ_U64(k.pending, 0);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

static void bridge_path(struct mace_path *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->name, "bridge");
	p->match = MACE_PATH_MATCH_SKB;
	set_point(&p->dir[0], 0, BIT(MACE_TP_NET_DEV_QUEUE), C);
	set_point(&p->dir[0], 1, BIT(MACE_TP_NET_DEV_QUEUE), MACE_ROLE_HOST_VETH);
	set_point(&p->dir[0], 2, BIT(MACE_TP_NET_DEV_QUEUE), BR);
	set_point(&p->dir[0], 3, BIT(MACE_TP_NET_DEV_XMIT), O);
}

TEST(waypoints_all_seen_and_one_missing)
{
	struct mace_path p;
	struct mace_correlator *c;

	bridge_path(&p);
	c = corr(&p, 0, 0, 100);
	push(c, E(1000, MACE_TP_NET_DEV_QUEUE, C, 0xa00, 0, 0));
	push(c, E(1100, MACE_TP_NET_DEV_QUEUE, MACE_ROLE_HOST_VETH, 0xa00, 0, 0));
	push(c, E(1300, MACE_TP_NET_DEV_QUEUE, BR, 0xa00, 0, 0));
	push(c, E(1700, MACE_TP_NET_DEV_XMIT, O, 0xa00, 0, 0));
	/* second packet: the host-veth waypoint is not seen */
	push(c, E(2000, MACE_TP_NET_DEV_QUEUE, C, 0xb00, 0, 0));
	push(c, E(2300, MACE_TP_NET_DEV_QUEUE, BR, 0xb00, 0, 0));
	push(c, E(2400, MACE_TP_NET_DEV_XMIT, O, 0xb00, 0, 0));
	mace__corr_flush(c);
	CHECK_EQ_U64(nrecs, 2);
	CHECK_EQ_U64(recs[0].nseg, 3);
	CHECK_EQ_U64(recs[0].seg_ns[0], 100);
	CHECK_EQ_U64(recs[0].seg_ns[1], 200);
	CHECK_EQ_U64(recs[0].seg_ns[2], 400);
	CHECK_EQ_U64(recs[0].seg_ns[3], MACE_SEG_UNKNOWN);
	CHECK_EQ_U64(recs[0].latency_ns, 700);
	CHECK_EQ_U64(recs[1].seg_ns[0], MACE_SEG_UNKNOWN);
	CHECK_EQ_U64(recs[1].seg_ns[1], MACE_SEG_UNKNOWN);
	CHECK_EQ_U64(recs[1].seg_ns[2], 100);
	CHECK_EQ_U64(recs[1].latency_ns, 400);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

TEST(alternatives_first_wins)
{
	struct mace_path p;
	struct mace_correlator *c;
	struct mace_counters k;

	inner_dev(&p, MACE_PATH_MATCH_SKB);
	p.dir[1].pt[0].tp_mask = BIT(MACE_TP_NAPI_GRO_RECEIVE_ENTRY) |
				 BIT(MACE_TP_NETIF_RECEIVE_SKB_ENTRY);
	c = corr(&p, 0, 0, 100);
	push(c, E(1000, MACE_TP_NAPI_GRO_RECEIVE_ENTRY, O, 0xa00, 0, 0));
	push(c, E(1200, MACE_TP_NETIF_RECEIVE_SKB_ENTRY, O, 0xa00, 0, 0));	/* duplicate */
	push(c, E(3000, MACE_TP_NETIF_RECEIVE_SKB, C, 0xa00, 0, 0));
	/* same alternative twice: the newer start replaces the old */
	push(c, E(4000, MACE_TP_NETIF_RECEIVE_SKB_ENTRY, O, 0xb00, 0, 0));
	push(c, E(4100, MACE_TP_NETIF_RECEIVE_SKB_ENTRY, O, 0xb00, 0, 0));
	push(c, E(4500, MACE_TP_NETIF_RECEIVE_SKB, C, 0xb00, 0, 0));
	mace__corr_flush(c);
	CHECK_EQ_U64(nrecs, 2);
	CHECK_EQ_U64(recs[0].ts_ns, 1000);
	CHECK_EQ_U64(recs[0].latency_ns, 2000);
	CHECK_EQ_U64(recs[1].ts_ns, 4100);
	k = counters(c);
	CHECK_EQ_U64(k.duplicates, 1);
	CHECK_EQ_U64(k.replaced, 1);
	CHECK_EQ_U64(k.matched, 4);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

TEST(content_key_when_skb_changes)
{
	struct mace_path p;
	struct mace_correlator *c;
	struct mace_counters k;

	bridge_path(&p);
	p.match = MACE_PATH_MATCH_SKB | MACE_PATH_MATCH_KEY;
	c = corr(&p, 0, 0, 100);
	/* cloned at the host veth: new skb, same key; later points use the clone */
	push(c, E(1000, MACE_TP_NET_DEV_QUEUE, C, 0xa00, 0x1111, 0));
	push(c, E(1100, MACE_TP_NET_DEV_QUEUE, MACE_ROLE_HOST_VETH, 0xb00, 0x1111, 0));
	push(c, E(1300, MACE_TP_NET_DEV_QUEUE, BR, 0xb00, 0, 0));
	push(c, E(1400, MACE_TP_NET_DEV_XMIT, O, 0xb00, 0, 0));
	/* skb-only matching cannot follow a clone */
	mace__corr_flush(c);
	CHECK_EQ_U64(nrecs, 1);
	CHECK_EQ_U64(recs[0].latency_ns, 400);
	CHECK_EQ_U64(recs[0].seg_ns[2], 100);
	k = counters(c);
	CHECK_EQ_U64(k.matched, 4);
	CHECK_INVARIANT(c);
	mace__corr_free(c);

	p.match = MACE_PATH_MATCH_SKB;
	c = corr(&p, 0, 0, 100);
	push(c, E(1000, MACE_TP_NET_DEV_QUEUE, C, 0xa00, 0x1111, 0));
	push(c, E(1100, MACE_TP_NET_DEV_QUEUE, MACE_ROLE_HOST_VETH, 0xb00, 0x1111, 0));
	mace__corr_flush(c);
	k = counters(c);
	CHECK_EQ_U64(nrecs, 0);
	CHECK_EQ_U64(k.unmatched, 1);
	CHECK_EQ_U64(k.expired, 1);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

TEST(key_collisions_fifo)
{
	struct mace_path p;
	struct mace_correlator *c;
	struct mace_counters k;

	inner_dev(&p, MACE_PATH_MATCH_KEY);
	c = corr(&p, 0, 0, 100);
	push(c, E(1000, MACE_TP_NET_DEV_XMIT, C, 0xa00, 0x77, 0));
	push(c, E(1010, MACE_TP_NET_DEV_XMIT, C, 0xb00, 0x77, 0));
	push(c, E(2000, MACE_TP_NET_DEV_XMIT, O, 0xc00, 0x77, 0));
	push(c, E(2500, MACE_TP_NET_DEV_XMIT, O, 0xd00, 0x77, 0));
	push(c, E(2600, MACE_TP_NET_DEV_XMIT, C, 0xe00, 0, 0));	/* no identity */
	mace__corr_flush(c);
	CHECK_EQ_U64(nrecs, 2);
	CHECK_EQ_U64(recs[0].ts_ns, 1000);
	CHECK_EQ_U64(recs[0].latency_ns, 1000);
	CHECK_EQ_U64(recs[1].ts_ns, 1010);
	k = counters(c);
	CHECK_EQ_U64(k.collisions, 1);
	CHECK_EQ_U64(k.unmatched, 1);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

TEST(syscall_egress_task_binding)
{
	struct mace_path p;
	struct mace_correlator *c;
	struct mace_counters k;
	struct mace_event e;

	memset(&p, 0, sizeof(p));
	p.match = MACE_PATH_MATCH_SKB;
	set_point(&p.dir[0], 0, BIT(MACE_TP_SYS_ENTER_SENDTO) | BIT(MACE_TP_SYS_ENTER_SENDMSG), C);
	set_point(&p.dir[0], 1, BIT(MACE_TP_NET_DEV_QUEUE), C);
	set_point(&p.dir[0], 2, BIT(MACE_TP_NET_DEV_XMIT), O);
	c = corr(&p, 0, 0, 100);
	/* tid 100 sends twice before its packet appears: the newer send wins */
	push(c, E(1000, MACE_TP_SYS_ENTER_SENDTO, C, 0, 0, 0));
	push(c, E(1500, MACE_TP_SYS_ENTER_SENDMSG, C, 0, 0, 0));
	e = E(1700, MACE_TP_SYS_ENTER_SENDTO, C, 0, 0, 1);
	e.tid = 200;
	mace__corr_push(c, &e);
	push(c, E(2000, MACE_TP_NET_DEV_QUEUE, C, 0xa00, 0, 0));
	e = E(2100, MACE_TP_NET_DEV_QUEUE, C, 0xb00, 0, 1);
	e.tid = 200;
	mace__corr_push(c, &e);
	e = E(2200, MACE_TP_NET_DEV_QUEUE, C, 0xc00, 0, 1);
	e.tid = 300;	/* a task that did not send */
	mace__corr_push(c, &e);
	/* the outer NIC transmits in softirq: another tid, matched by skb */
	e = E(3000, MACE_TP_NET_DEV_XMIT, O, 0xb00, 0, 1);
	e.tid = 0;
	mace__corr_push(c, &e);
	e = E(3500, MACE_TP_NET_DEV_XMIT, O, 0xa00, 0, 0);
	e.tid = 0;
	mace__corr_push(c, &e);
	mace__corr_flush(c);
	CHECK_EQ_U64(nrecs, 2);
	CHECK_EQ_U64(recs[0].ts_ns, 1700);
	CHECK_EQ_U64(recs[0].latency_ns, 1300);
	CHECK_EQ_U64(recs[1].ts_ns, 1500);
	CHECK_EQ_U64(recs[1].latency_ns, 2000);
	CHECK_EQ_U64(recs[1].seg_ns[0], 500);
	CHECK_EQ_U64(recs[1].seg_ns[1], 1500);
	k = counters(c);
	CHECK_EQ_U64(k.replaced, 1);
	CHECK_EQ_U64(k.unmatched, 1);
	CHECK_EQ_U64(k.matched, 6);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

TEST(syscall_ingress_netns_fifo)
{
	struct mace_path p;
	struct mace_correlator *c;
	struct mace_counters k;
	struct mace_event e;

	memset(&p, 0, sizeof(p));
	p.match = MACE_PATH_MATCH_SKB;
	set_point(&p.dir[1], 0, BIT(MACE_TP_NETIF_RECEIVE_SKB), O);
	set_point(&p.dir[1], 1, BIT(MACE_TP_NETIF_RECEIVE_SKB), C);
	set_point(&p.dir[1], 2, BIT(MACE_TP_SYS_EXIT_RECVFROM) | BIT(MACE_TP_SYS_EXIT_RECVMMSG), C);
	c = corr(&p, 0, 0, 100);
	push(c, E(1000, MACE_TP_NETIF_RECEIVE_SKB, O, 0xa00, 0x1, 0));
	push(c, E(1100, MACE_TP_NETIF_RECEIVE_SKB, O, 0xb00, 0x2, 0));
	push(c, E(1200, MACE_TP_NETIF_RECEIVE_SKB, C, 0xa00, 0x1, 0));
	push(c, E(1300, MACE_TP_NETIF_RECEIVE_SKB, C, 0xb00, 0x2, 0));
	/* the address is recycled while both wait for their reader */
	push(c, E(1350, MACE_TP_NETIF_RECEIVE_SKB, O, 0xa00, 0x3, 0));
	push(c, E(1360, MACE_TP_NETIF_RECEIVE_SKB, C, 0xa00, 0x3, 0));
	/* reader with a key takes that packet, out of FIFO order */
	push(c, E(2000, MACE_TP_SYS_EXIT_RECVFROM, C, 0, 0x2, 0));
	/* reader without a key takes the oldest */
	push(c, E(2500, MACE_TP_SYS_EXIT_RECVMMSG, C, 0, 0, 0));
	/* and the next one the packet that came after the keyed one */
	push(c, E(2550, MACE_TP_SYS_EXIT_RECVFROM, C, 0, 0, 0));
	/* a reader in another netns finds nothing */
	e = E(2600, MACE_TP_SYS_EXIT_RECVFROM, C, 0, 0, 0);
	e.netns = 12345;
	mace__corr_push(c, &e);
	/* a key nobody waits with */
	push(c, E(2700, MACE_TP_SYS_EXIT_RECVFROM, C, 0, 0x9, 0));
	mace__corr_flush(c);
	CHECK_EQ_U64(nrecs, 3);
	CHECK_EQ_U64(recs[0].ts_ns, 1100);
	CHECK_EQ_U64(recs[0].latency_ns, 900);
	CHECK_EQ_U64(recs[0].dir, MACE_INGRESS);
	CHECK_EQ_U64(recs[1].ts_ns, 1000);
	CHECK_EQ_U64(recs[1].latency_ns, 1500);
	CHECK_EQ_U64(recs[1].seg_ns[1], 1300);
	CHECK_EQ_U64(recs[2].ts_ns, 1350);
	CHECK_EQ_U64(recs[2].latency_ns, 1200);
	k = counters(c);
	CHECK_EQ_U64(k.matched, 9);
	CHECK_EQ_U64(k.unmatched, 2);
	CHECK_EQ_U64(k.expired, 0);
	CHECK_EQ_U64(k.pending, 0);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

/* A packet whose own receive was missed must not be paired with the next
 * probe's receive: once a younger packet waits behind it for longer than
 * the receive window, it expires instead. */
TEST(syscall_ingress_stale_packet_expires)
{
	const __u64 ms = 1000000;
	struct mace_path p;
	struct mace_correlator *c;
	struct mace_counters k;

	memset(&p, 0, sizeof(p));
	p.match = MACE_PATH_MATCH_SKB;
	set_point(&p.dir[1], 0, BIT(MACE_TP_NETIF_RECEIVE_SKB), O);
	set_point(&p.dir[1], 1, BIT(MACE_TP_NETIF_RECEIVE_SKB), C);
	set_point(&p.dir[1], 2, BIT(MACE_TP_SYS_EXIT_RECVMSG), C);
	c = corr_window(&p, 10 * ms);
	/* probe 1 arrives; its receive is never seen */
	push(c, E(1 * ms, MACE_TP_NETIF_RECEIVE_SKB, O, 0xa00, 0, 0));
	push(c, E(1 * ms + 5000, MACE_TP_NETIF_RECEIVE_SKB, C, 0xa00, 0, 0));
	/* probe 2, 20 ms later, and its receive */
	push(c, E(21 * ms, MACE_TP_NETIF_RECEIVE_SKB, O, 0xb00, 0, 0));
	push(c, E(21 * ms + 5000, MACE_TP_NETIF_RECEIVE_SKB, C, 0xb00, 0, 0));
	push(c, E(21 * ms + 9000, MACE_TP_SYS_EXIT_RECVMSG, C, 0, 0, 0));
	/* a lone old packet is still taken: nothing younger competes for it */
	push(c, E(40 * ms, MACE_TP_NETIF_RECEIVE_SKB, O, 0xc00, 0, 0));
	push(c, E(40 * ms + 5000, MACE_TP_NETIF_RECEIVE_SKB, C, 0xc00, 0, 0));
	push(c, E(90 * ms, MACE_TP_SYS_EXIT_RECVMSG, C, 0, 0, 0));
	mace__corr_flush(c);
	CHECK_EQ_U64(nrecs, 2);
	CHECK_EQ_U64(recs[0].ts_ns, 21 * ms);
	CHECK_EQ_U64(recs[0].latency_ns, 9000);
	CHECK_EQ_U64(recs[1].ts_ns, 40 * ms);
	k = counters(c);
	CHECK_EQ_U64(k.expired, 2);
	CHECK_EQ_U64(k.matched, 6);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

/* Without a window (eBPF sees every receive), a slow reader still gets its
 * packets in order, however late it reads. */
TEST(syscall_ingress_slow_reader_in_order)
{
	const __u64 ms = 1000000;
	struct mace_path p;
	struct mace_correlator *c;

	memset(&p, 0, sizeof(p));
	p.match = MACE_PATH_MATCH_SKB;
	set_point(&p.dir[1], 0, BIT(MACE_TP_NETIF_RECEIVE_SKB), O);
	set_point(&p.dir[1], 1, BIT(MACE_TP_NETIF_RECEIVE_SKB), C);
	set_point(&p.dir[1], 2, BIT(MACE_TP_SYS_EXIT_RECVMSG), C);
	c = corr(&p, 0, 0, 100);
	push(c, E(1 * ms, MACE_TP_NETIF_RECEIVE_SKB, O, 0xa00, 0, 0));
	push(c, E(1 * ms + 5000, MACE_TP_NETIF_RECEIVE_SKB, C, 0xa00, 0, 0));
	push(c, E(21 * ms, MACE_TP_NETIF_RECEIVE_SKB, O, 0xb00, 0, 0));
	push(c, E(21 * ms + 5000, MACE_TP_NETIF_RECEIVE_SKB, C, 0xb00, 0, 0));
	/* the reader wakes 30 ms late and reads both */
	push(c, E(31 * ms, MACE_TP_SYS_EXIT_RECVMSG, C, 0, 0, 0));
	push(c, E(31 * ms + 2000, MACE_TP_SYS_EXIT_RECVMSG, C, 0, 0, 0));
	mace__corr_flush(c);
	CHECK_EQ_U64(nrecs, 2);
	CHECK_EQ_U64(recs[0].ts_ns, 1 * ms);
	CHECK_EQ_U64(recs[1].ts_ns, 21 * ms);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

/* A packet that left the path (a reply for another container, seen at the
 * shared outer device) stays pending; a later packet with its skb address
 * and another content key must not carry it on. */
TEST(reused_skb_with_other_key_is_not_the_same_packet)
{
	struct mace_path p;
	struct mace_correlator *c;
	struct mace_counters k;

	inner_dev(&p, MACE_PATH_MATCH_SKB | MACE_PATH_MATCH_KEY);
	c = corr(&p, 0, 0, 100);
	/* another container's reply: starts at outer, never reaches ours */
	push(c, E(1000, MACE_TP_NETIF_RECEIVE_SKB, O, 0xa00, 0x11, 0));
	/* our reply, another skb */
	push(c, E(2000, MACE_TP_NETIF_RECEIVE_SKB, O, 0xb00, 0x22, 0));
	/* our reply reaches the container in the reused 0xa00 */
	push(c, E(2500, MACE_TP_NETIF_RECEIVE_SKB, C, 0xa00, 0x22, 0));
	mace__corr_flush(c);
	CHECK_EQ_U64(nrecs, 1);
	CHECK_EQ_U64(recs[0].ts_ns, 2000);
	CHECK_EQ_U64(recs[0].latency_ns, 500);
	k = counters(c);
	CHECK_EQ_U64(k.replaced, 1);
	CHECK_EQ_U64(k.matched, 2);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

TEST(expiry_by_time)
{
	struct mace_path p;
	struct mace_correlator *c;
	struct mace_counters k;

	inner_dev(&p, MACE_PATH_MATCH_SKB);
	c = corr(&p, 0, 1000000, 100);	/* expire after 1 ms */
	push(c, E(1000, MACE_TP_NET_DEV_XMIT, C, 0xa00, 0, 0));
	push(c, E(2000, MACE_TP_NET_DEV_XMIT, C, 0xb00, 0, 0));
	mace__corr_tick(c, 500000);
	k = counters(c);
	CHECK_EQ_U64(k.expired, 0);
	CHECK_EQ_U64(k.pending, 2);
	mace__corr_tick(c, 1001500);	/* a is older than 1 ms now, b not */
	k = counters(c);
	CHECK_EQ_U64(k.expired, 1);
	CHECK_EQ_U64(k.pending, 1);
	CHECK_INVARIANT(c);
	/* time advanced by an event: the late end for a cannot match */
	push(c, E(3000000, MACE_TP_NET_DEV_XMIT, O, 0xa00, 0, 0));
	push(c, E(3000000, MACE_TP_NET_DEV_XMIT, O, 0xb00, 0, 0));
	mace__corr_flush(c);
	k = counters(c);
	CHECK_EQ_U64(nrecs, 0);
	CHECK_EQ_U64(k.expired, 2);
	CHECK_EQ_U64(k.unmatched, 2);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

TEST(eviction_when_full)
{
	struct mace_path p;
	struct mace_correlator *c;
	struct mace_counters k;

	inner_dev(&p, MACE_PATH_MATCH_SKB);
	c = corr(&p, 4, 0, 10);
	for (int i = 0; i < 1000; i++)
		push(c, E(1000 + i * 100, MACE_TP_NET_DEV_XMIT, C, 0x1000 + i * 0x100, 0, 0));
	mace__corr_tick(c, 200000);
	k = counters(c);
	CHECK_EQ_U64(k.pending, 4);
	CHECK_EQ_U64(k.expired, 996);
	CHECK_INVARIANT(c);
	/* the 4 youngest survive and still match */
	for (int i = 996; i < 1000; i++)
		push(c, E(300000 + i, MACE_TP_NET_DEV_XMIT, O, 0x1000 + i * 0x100, 0, 0));
	push(c, E(300000, MACE_TP_NET_DEV_XMIT, O, 0x1000, 0, 0));	/* evicted */
	mace__corr_flush(c);
	k = counters(c);
	CHECK_EQ_U64(nrecs, 4);
	CHECK_EQ_U64(k.matched, 8);
	CHECK_EQ_U64(k.unmatched, 1);
	CHECK_INVARIANT(c);
	mace__corr_free(c);
}

TEST(flush_empties_everything)
{
	struct mace_path p;
	struct mace_correlator *c;
	struct mace_counters k;

	bridge_path(&p);
	c = corr(&p, 0, 0, 0);	/* default 1 ms window: all still buffered */
	push(c, E(1000, MACE_TP_NET_DEV_QUEUE, C, 0xa00, 0, 0));
	push(c, E(1100, MACE_TP_NET_DEV_QUEUE, MACE_ROLE_HOST_VETH, 0xa00, 0, 0));
	push(c, E(1200, MACE_TP_NET_DEV_QUEUE, C, 0xb00, 0, 0));
	k = counters(c);
	CHECK_EQ_U64(k.pending, 3);
	CHECK_INVARIANT(c);
	mace__corr_flush(c);
	k = counters(c);
	CHECK_EQ_U64(k.pending, 0);
	CHECK_EQ_U64(k.expired, 3);
	CHECK_INVARIANT(c);
	mace__corr_flush(c);	/* idempotent */
	CHECK_EQ_U64(counters(c).expired, 3);
	mace__corr_free(c);
	mace__corr_free(NULL);
}

TEST(rejects_bad_paths)
{
	struct mace_path p;
	struct mace_corr_opts o = { .path = &p };

	inner_dev(&p, MACE_PATH_MATCH_SKB);
	p.dir[1].pt[1] = p.dir[1].pt[0];	/* tp+role twice */
	mace_set_log(NULL, NULL);
	CHECK(mace__corr_new(&o) == NULL);
	inner_dev(&p, MACE_PATH_MATCH_SKB);
	p.dir[0].pt[1].tp_mask = BIT(MACE_TP_SYS_ENTER_SENDTO);	/* syscall mid-path */
	CHECK(mace__corr_new(&o) == NULL);
	o.path = NULL;
	CHECK(mace__corr_new(&o) == NULL);
}

/* Random streams: the invariant holds after every event, nothing crashes. */
TEST(random_streams_keep_invariant)
{
	struct mace_path p;
	struct mace_correlator *c;
	unsigned int seed = 42;
	static const int tps[] = { MACE_TP_NET_DEV_QUEUE, MACE_TP_NET_DEV_XMIT,
				   MACE_TP_NETIF_RECEIVE_SKB, MACE_TP_SYS_ENTER_SENDTO,
				   MACE_TP_SYS_EXIT_RECVFROM };
	static const int roles[] = { C, MACE_ROLE_HOST_VETH, BR, O };
	__u64 ts = 1000;

	memset(&p, 0, sizeof(p));
	p.match = MACE_PATH_MATCH_SKB | MACE_PATH_MATCH_KEY;
	set_point(&p.dir[0], 0, BIT(MACE_TP_SYS_ENTER_SENDTO), C);
	set_point(&p.dir[0], 1, BIT(MACE_TP_NET_DEV_QUEUE), C);
	set_point(&p.dir[0], 2, BIT(MACE_TP_NET_DEV_QUEUE), BR);
	set_point(&p.dir[0], 3, BIT(MACE_TP_NET_DEV_XMIT), O);
	set_point(&p.dir[1], 0, BIT(MACE_TP_NETIF_RECEIVE_SKB), O);
	set_point(&p.dir[1], 1, BIT(MACE_TP_NETIF_RECEIVE_SKB), C);
	set_point(&p.dir[1], 2, BIT(MACE_TP_SYS_EXIT_RECVFROM), C);
	c = corr(&p, 32, 50000, 2000);
	for (int i = 0; i < 200000; i++) {
		struct mace_event e = E(0, tps[rand_r(&seed) % 5], roles[rand_r(&seed) % 4],
					0x100 * (rand_r(&seed) % 40), rand_r(&seed) % 8, 0);

		ts += rand_r(&seed) % 300;
		e.ts = ts - rand_r(&seed) % 3000;	/* sometimes beyond the window */
		e.tid = rand_r(&seed) % 4;
		if (rand_r(&seed) % 4 == 0)
			e.netns = 99;
		mace__corr_push(c, &e);
		if (i % 1000 == 0)
			mace__corr_tick(c, ts);
		CHECK_INVARIANT(c);
		if (t_failures)
			break;
	}
	mace__corr_flush(c);
	CHECK_INVARIANT(c);
	CHECK_EQ_U64(counters(c).pending, 0);
	CHECK(counters(c).records > 100);
	CHECK_EQ_U64(counters(c).records, (__u64)nrecs);
	mace__corr_free(c);
}

int main(void)
{
	RUN(simple_egress_ingress);
	RUN(events_at_no_point_are_ignored);
	RUN(freed_skb_ends_its_pending_packet);
	RUN(skb_reuse_within_microseconds);
	RUN(interleaved_cpus_within_reorder_window);
	RUN(waypoints_all_seen_and_one_missing);
	RUN(alternatives_first_wins);
	RUN(content_key_when_skb_changes);
	RUN(key_collisions_fifo);
	RUN(syscall_egress_task_binding);
	RUN(syscall_ingress_netns_fifo);
	RUN(syscall_ingress_stale_packet_expires);
	RUN(syscall_ingress_slow_reader_in_order);
	RUN(reused_skb_with_other_key_is_not_the_same_packet);
	RUN(expiry_by_time);
	RUN(eviction_when_full);
	RUN(flush_empties_everything);
	RUN(rejects_bad_paths);
	RUN(random_streams_keep_invariant);
	return t_done();
}
