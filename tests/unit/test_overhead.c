/* SPDX-License-Identifier: MIT */
/* RTT correction lookup (lib/overhead.c) on synthetic records. */
#include <errno.h>
#include <netinet/in.h>

#include "mace_int.h"
#include "t.h"

#define MS 1000000ull
#define T0 (5000 * MS)	/* a monotonic time well past the 1 s look-back */
#define NETNS 4026532001u

static struct mace_record rec(int dir, uint64_t ts, uint64_t lat, uint8_t proto, uint16_t id,
			      uint32_t seq)
{
	struct mace_record r = { .ts_ns = ts, .latency_ns = lat, .dir = dir, .proto = proto,
				 .id = id, .seq = seq, .netns = NETNS };
	return r;
}

static void add(struct mace_keep *k, struct mace_record r)
{
	mace__keep_add(k, &r);
}

static struct mace_probe icmp_probe(uint16_t id, uint32_t seq, uint64_t sent, uint64_t recv)
{
	struct mace_probe p = { .proto = IPPROTO_ICMP, .id = id, .seq = seq, .sent_ns = sent,
				.recv_ns = recv, .netns = NETNS };
	return p;
}

TEST(icmp_exact_key)
{
	struct mace_keep *k = mace__keep_new(16);
	struct mace_probe p = icmp_probe(7, 3, T0, T0 + 300000);
	struct mace_overhead o;

	add(k, rec(MACE_EGRESS, T0 - 1 * MS, 11000, IPPROTO_ICMP, 7, 2));
	add(k, rec(MACE_EGRESS, T0 + 5000, 12000, IPPROTO_ICMP, 7, 3));
	add(k, rec(MACE_INGRESS, T0 + 200000, 21000, IPPROTO_ICMP, 7, 3));
	add(k, rec(MACE_INGRESS, T0 + 1 * MS, 22000, IPPROTO_ICMP, 7, 4));
	CHECK(mace__keep_lookup(k, &p, &o) == 0);
	CHECK_EQ_U64(o.egress_ns, 12000);
	CHECK_EQ_U64(o.ingress_ns, 21000);
	CHECK(o.egress_how == MACE_MATCH_KEY);
	CHECK(o.ingress_how == MACE_MATCH_KEY);
	mace__keep_free(k);
}

/* The next probe's records (seq + 1) already in the ring, inside this
 * probe's window: only this probe's seq matches. */
TEST(next_seq_in_window_not_taken)
{
	struct mace_keep *k = mace__keep_new(16);
	struct mace_probe p = icmp_probe(7, 3, T0, T0 + 2 * MS);
	struct mace_overhead o;

	add(k, rec(MACE_EGRESS, T0 + 5000, 12000, IPPROTO_ICMP, 7, 3));
	add(k, rec(MACE_INGRESS, T0 + 200000, 21000, IPPROTO_ICMP, 7, 3));
	add(k, rec(MACE_EGRESS, T0 + 1 * MS, 13000, IPPROTO_ICMP, 7, 4));
	add(k, rec(MACE_INGRESS, T0 + 1 * MS + 200000, 23000, IPPROTO_ICMP, 7, 4));
	CHECK(mace__keep_lookup(k, &p, &o) == 0);
	CHECK_EQ_U64(o.egress_ns, 12000);
	CHECK_EQ_U64(o.ingress_ns, 21000);
	CHECK(o.egress_how == MACE_MATCH_KEY);
	CHECK(o.ingress_how == MACE_MATCH_KEY);
	mace__keep_free(k);
}

TEST(egress_wrong_id_ignored)
{
	struct mace_keep *k = mace__keep_new(16);
	struct mace_probe p = icmp_probe(7, 3, T0, T0 + 300000);
	struct mace_overhead o;

	/* Another pinger in the same netns with the same seq. */
	add(k, rec(MACE_EGRESS, T0 + 1000, 99000, IPPROTO_ICMP, 8, 3));
	add(k, rec(MACE_INGRESS, T0 + 200000, 21000, IPPROTO_ICMP, 7, 3));
	CHECK(mace__keep_lookup(k, &p, &o) == -ENOENT);
	CHECK(o.egress_how == MACE_MATCH_NONE);
	CHECK_EQ_U64(o.egress_ns, 0);
	CHECK(o.ingress_how == MACE_MATCH_KEY);

	add(k, rec(MACE_EGRESS, T0 + 2000, 13000, IPPROTO_ICMP, 7, 3));
	CHECK(mace__keep_lookup(k, &p, &o) == 0);
	CHECK_EQ_U64(o.egress_ns, 13000);
	mace__keep_free(k);
}

TEST(ingress_nat_rewritten_id)
{
	struct mace_keep *k = mace__keep_new(16);
	struct mace_probe p = icmp_probe(7, 3, T0, T0 + 300000);
	struct mace_overhead o;

	add(k, rec(MACE_EGRESS, T0 + 1000, 10000, IPPROTO_ICMP, 7, 3));
	/* The outer side saw the id NAT chose. */
	add(k, rec(MACE_INGRESS, T0 + 200000, 20000, IPPROTO_ICMP, 1234, 3));
	CHECK(mace__keep_lookup(k, &p, &o) == 0);
	CHECK_EQ_U64(o.ingress_ns, 20000);
	CHECK(o.ingress_how == MACE_MATCH_KEY);

	/* A reply with our own id wins over the rewritten one... */
	add(k, rec(MACE_INGRESS, T0 + 210000, 25000, IPPROTO_ICMP, 7, 3));
	CHECK(mace__keep_lookup(k, &p, &o) == 0);
	CHECK_EQ_U64(o.ingress_ns, 25000);

	/* ...but two rewritten candidates and none with our id are ambiguous. */
	mace__keep_free(k);
	k = mace__keep_new(16);
	add(k, rec(MACE_EGRESS, T0 + 1000, 10000, IPPROTO_ICMP, 7, 3));
	add(k, rec(MACE_INGRESS, T0 + 200000, 20000, IPPROTO_ICMP, 1234, 3));
	add(k, rec(MACE_INGRESS, T0 + 220000, 30000, IPPROTO_ICMP, 1235, 3));
	CHECK(mace__keep_lookup(k, &p, &o) == -ENOENT);
	CHECK(o.ingress_how == MACE_MATCH_AMBIGUOUS);
	mace__keep_free(k);
}

TEST(missing_ingress)
{
	struct mace_keep *k = mace__keep_new(16);
	struct mace_probe p = icmp_probe(7, 3, T0, T0 + 300000);
	struct mace_overhead o;

	add(k, rec(MACE_EGRESS, T0 + 1000, 10000, IPPROTO_ICMP, 7, 3));
	/* Keyed records of other packets are never taken by time window. */
	add(k, rec(MACE_INGRESS, T0 + 100000, 20000, IPPROTO_ICMP, 7, 2));
	CHECK(mace__keep_lookup(k, &p, &o) == -ENOENT);
	CHECK(o.egress_how == MACE_MATCH_KEY);
	CHECK_EQ_U64(o.egress_ns, 10000);
	CHECK(o.ingress_how == MACE_MATCH_NONE);
	CHECK_EQ_U64(o.ingress_ns, 0);
	mace__keep_free(k);
}

TEST(key_outside_time_window)
{
	struct mace_keep *k = mace__keep_new(16);
	struct mace_probe p = icmp_probe(7, 3, T0, T0 + 300000);
	struct mace_overhead o;

	/* Same key, but 1.5 s before the send (an earlier wrap of seq) and after recv. */
	add(k, rec(MACE_EGRESS, T0 - 1500 * MS, 10000, IPPROTO_ICMP, 7, 3));
	add(k, rec(MACE_INGRESS, T0 + 400000, 20000, IPPROTO_ICMP, 7, 3));
	CHECK(mace__keep_lookup(k, &p, &o) == -ENOENT);
	CHECK(o.egress_how == MACE_MATCH_NONE);
	CHECK(o.ingress_how == MACE_MATCH_NONE);
	mace__keep_free(k);
}

TEST(udp_ports_swapped_on_reply)
{
	struct mace_keep *k = mace__keep_new(16);
	struct mace_probe p = { .proto = IPPROTO_UDP, .sport = 40000, .dport = 53,
				.sent_ns = T0, .recv_ns = T0 + 300000 };
	struct mace_record r;
	struct mace_overhead o;

	r = rec(MACE_EGRESS, T0 + 1000, 10000, IPPROTO_UDP, 0, 0);
	r.sport = 40000, r.dport = 53;
	add(k, r);
	r = rec(MACE_INGRESS, T0 + 100000, 20000, IPPROTO_UDP, 0, 0);
	r.sport = 40000, r.dport = 53;	/* not swapped: not our reply */
	add(k, r);
	CHECK(mace__keep_lookup(k, &p, &o) == -ENOENT);
	CHECK(o.egress_how == MACE_MATCH_KEY);
	r.sport = 53, r.dport = 40000;
	r.latency_ns = 30000;
	add(k, r);
	CHECK(mace__keep_lookup(k, &p, &o) == 0);
	CHECK_EQ_U64(o.ingress_ns, 30000);
	mace__keep_free(k);
}

TEST(tcp_seq_on_request)
{
	struct mace_keep *k = mace__keep_new(16);
	struct mace_probe p = { .proto = IPPROTO_TCP, .sport = 40000, .dport = 80, .seq = 1000,
				.sent_ns = T0, .recv_ns = T0 + 300000 };
	struct mace_record r;
	struct mace_overhead o;

	r = rec(MACE_EGRESS, T0 + 1000, 10000, IPPROTO_TCP, 0, 999);
	r.sport = 40000, r.dport = 80;
	add(k, r);
	r = rec(MACE_INGRESS, T0 + 100000, 20000, IPPROTO_TCP, 0, 777777);
	r.sport = 80, r.dport = 40000;
	add(k, r);
	CHECK(mace__keep_lookup(k, &p, &o) == -ENOENT);
	CHECK(o.egress_how == MACE_MATCH_NONE);
	CHECK(o.ingress_how == MACE_MATCH_KEY);
	r = rec(MACE_EGRESS, T0 + 2000, 15000, IPPROTO_TCP, 0, 1000);
	r.sport = 40000, r.dport = 80;
	add(k, r);
	CHECK(mace__keep_lookup(k, &p, &o) == 0);
	CHECK_EQ_U64(o.egress_ns, 15000);
	mace__keep_free(k);
}

TEST(window_single_candidate)
{
	struct mace_keep *k = mace__keep_new(16);
	struct mace_probe p = icmp_probe(7, 3, T0, T0 + 300000);
	struct mace_overhead o;

	/* ftrace: no key.  Egress starts after send, ingress ends near recv. */
	add(k, rec(MACE_EGRESS, T0 - 200 * MS, 10000, 0, 0, 0));	/* previous probe */
	add(k, rec(MACE_EGRESS, T0 + 3000, 11000, 0, 0, 0));
	add(k, rec(MACE_INGRESS, T0 - 100 * MS, 20000, 0, 0, 0));	/* previous reply */
	add(k, rec(MACE_INGRESS, T0 + 250000, 50500, 0, 0, 0));	/* ends 500 ns after recv */
	CHECK(mace__keep_lookup(k, &p, &o) == 0);
	CHECK(o.egress_how == MACE_MATCH_WINDOW);
	CHECK(o.ingress_how == MACE_MATCH_WINDOW);
	CHECK_EQ_U64(o.egress_ns, 11000);
	CHECK_EQ_U64(o.ingress_ns, 50500);

	/* A probe without a key also uses the window, on any record. */
	p.proto = 0;
	CHECK(mace__keep_lookup(k, &p, &o) == 0);
	CHECK(o.egress_how == MACE_MATCH_WINDOW);
	mace__keep_free(k);
}

TEST(window_ambiguous)
{
	struct mace_keep *k = mace__keep_new(16);
	struct mace_probe p = icmp_probe(7, 3, T0, T0 + 300000);
	struct mace_overhead o;

	add(k, rec(MACE_EGRESS, T0 + 3000, 11000, 0, 0, 0));
	add(k, rec(MACE_EGRESS, T0 + 9000, 12000, 0, 0, 0));	/* other traffic */
	add(k, rec(MACE_INGRESS, T0 + 250000, 20000, 0, 0, 0));
	CHECK(mace__keep_lookup(k, &p, &o) == -ENOENT);
	CHECK(o.egress_how == MACE_MATCH_AMBIGUOUS);
	CHECK_EQ_U64(o.egress_ns, 0);
	CHECK(o.ingress_how == MACE_MATCH_WINDOW);
	mace__keep_free(k);
}

TEST(window_other_netns_ignored)
{
	struct mace_keep *k = mace__keep_new(16);
	struct mace_probe p = icmp_probe(7, 3, T0, T0 + 300000);
	struct mace_record r;
	struct mace_overhead o;

	add(k, rec(MACE_EGRESS, T0 + 3000, 11000, 0, 0, 0));
	add(k, rec(MACE_INGRESS, T0 + 250000, 20000, 0, 0, 0));
	r = rec(MACE_EGRESS, T0 + 9000, 12000, 0, 0, 0);
	r.netns = NETNS + 1;	/* another container */
	add(k, r);
	CHECK(mace__keep_lookup(k, &p, &o) == 0);
	CHECK_EQ_U64(o.egress_ns, 11000);
	p.netns = 0;		/* any netns: now two candidates */
	CHECK(mace__keep_lookup(k, &p, &o) == -ENOENT);
	CHECK(o.egress_how == MACE_MATCH_AMBIGUOUS);
	mace__keep_free(k);
}

TEST(ring_wraps_around)
{
	struct mace_keep *k = mace__keep_new(4);
	struct mace_probe p;
	struct mace_overhead o;
	uint32_t seq;

	/* Six probes, each an egress and an ingress record: only the last two remain. */
	for (seq = 1; seq <= 6; seq++) {
		add(k, rec(MACE_EGRESS, T0 + seq * MS, 1000 + seq, IPPROTO_ICMP, 7, seq));
		add(k, rec(MACE_INGRESS, T0 + seq * MS + 300000, 2000 + seq, IPPROTO_ICMP, 7,
			   seq));
	}
	for (seq = 1; seq <= 6; seq++) {
		p = icmp_probe(7, seq, T0 + seq * MS, T0 + seq * MS + 400000);
		if (seq <= 4) {
			CHECK(mace__keep_lookup(k, &p, &o) == -ENOENT);
			CHECK(o.egress_how == MACE_MATCH_NONE);
		} else {
			CHECK(mace__keep_lookup(k, &p, &o) == 0);
			CHECK_EQ_U64(o.egress_ns, 1000 + seq);
			CHECK_EQ_U64(o.ingress_ns, 2000 + seq);
		}
	}
	mace__keep_free(k);
}

/* mace adjust's use: keyed and keyless candidates in separate arrays, and a
 * span narrower than a probe's (a reply cannot start before its request). */
TEST(match_dir_span_and_arrays)
{
	struct mace_probe p = icmp_probe(7, 3, T0, T0 + 300000);
	struct mace_record keyed[2], keyless[2];
	struct mace__span sp = mace__probe_span(&p, MACE_INGRESS);
	struct mace__match m;

	keyed[0] = rec(MACE_INGRESS, T0 - 500 * MS, 10000, IPPROTO_ICMP, 7, 3);	/* seq reused */
	keyed[1] = rec(MACE_INGRESS, T0 + 200000, 20000, IPPROTO_ICMP, 7, 3);
	m = mace__match_dir(keyed, 2, NULL, 0, &p, MACE_INGRESS, &sp);
	CHECK(m.how == MACE_MATCH_AMBIGUOUS && !m.rec);	/* the probe's 1 s look-back */
	sp.key_lo = p.sent_ns;
	m = mace__match_dir(keyed, 2, NULL, 0, &p, MACE_INGRESS, &sp);
	CHECK(m.how == MACE_MATCH_KEY && m.rec == &keyed[1]);

	/* No keyed candidate: the keyless array only, placed by the end. */
	keyless[0] = rec(MACE_INGRESS, T0 - 100000, 150000, 0, 0, 0);	/* ends after send */
	keyless[1] = rec(MACE_INGRESS, T0 - 100000, 50000, 0, 0, 0);	/* ends before send */
	m = mace__match_dir(keyed, 1, keyless, 2, &p, MACE_INGRESS, &sp);
	CHECK(m.how == MACE_MATCH_WINDOW && m.rec == &keyless[0]);
	/* Keyed records in the keyless array are never taken by window. */
	m = mace__match_dir(NULL, 0, keyed, 2, &p, MACE_INGRESS, &sp);
	CHECK(m.how == MACE_MATCH_NONE && !m.rec);
}

TEST(bad_arguments)
{
	struct mace_keep *k = mace__keep_new(4);
	struct mace_probe p = icmp_probe(7, 3, T0 + 10, T0);	/* received before sent */
	struct mace_overhead o;

	errno = 0;
	CHECK(mace__keep_new(0) == NULL && errno == EINVAL);
	CHECK(mace__keep_lookup(k, &p, &o) == -EINVAL);
	CHECK(mace__keep_lookup(NULL, &p, &o) == -EINVAL);
	mace__keep_free(k);
	mace__keep_free(NULL);
}

int main(void)
{
	RUN(icmp_exact_key);
	RUN(next_seq_in_window_not_taken);
	RUN(egress_wrong_id_ignored);
	RUN(ingress_nat_rewritten_id);
	RUN(missing_ingress);
	RUN(key_outside_time_window);
	RUN(udp_ports_swapped_on_reply);
	RUN(tcp_seq_on_request);
	RUN(window_single_candidate);
	RUN(window_ambiguous);
	RUN(window_other_netns_ignored);
	RUN(ring_wraps_around);
	RUN(match_dir_span_and_arrays);
	RUN(bad_arguments);
	return t_done();
}
