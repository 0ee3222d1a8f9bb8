/* SPDX-License-Identifier: MIT */
/* The serve protocol (lib/serve_proto.c) and the record rings (lib/record_ring.c). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "mace_int.h"
#include "record_ring.h"
#include "serve_proto.h"
#include "t.h"

#define MS 1000000ull
#define T0 (5000 * MS)

static int parse(const uint8_t *b, size_t n, struct mace_sp_request *r, char *msg)
{
	return mace__sp_parse_request(b, n, r, msg, MACE_SP_MAX_MSG);
}

TEST(probe_round_trip)
{
	struct mace_sp_request q = { .type = MACE_SP_PROBE }, r;
	uint8_t b[MACE_SP_REQ_HDR + MACE_SP_MAX_REQ_BODY];
	char msg[MACE_SP_MAX_MSG];
	size_t n, i;

	q.probe.probe = (struct mace_probe){ .sz = sizeof(struct mace_probe), .proto = IPPROTO_UDP, .sport = 40000, .dport = 53,
					     .sent_ns = T0, .recv_ns = T0 + 5, .netns = 77 };
	q.probe.wait_ms = 250;
	n = mace__sp_encode_request(&q, b);
	CHECK_EQ_U64(n, MACE_SP_REQ_HDR + MACE_SP_PROBE_BODY);
	/* Every proper prefix asks for more bytes. */
	for (i = 0; i < n; i++)
		CHECK(parse(b, i, &r, msg) == 0);
	CHECK(parse(b, n, &r, msg) == (int)n);
	CHECK(r.type == MACE_SP_PROBE);
	CHECK(!memcmp(&r.probe.probe, &q.probe.probe, sizeof(q.probe.probe)));
	CHECK_EQ_U64(r.probe.wait_ms, 250);
	/* Two pipelined requests: the first is parsed alone. */
	memcpy(b + n, b, 4);
	CHECK(parse(b, n + 4, &r, msg) == (int)n);
}

TEST(window_round_trip)
{
	struct mace_sp_request q = { .type = MACE_SP_WINDOW }, r;
	uint8_t b[MACE_SP_REQ_HDR + MACE_SP_MAX_REQ_BODY];
	char msg[MACE_SP_MAX_MSG];
	size_t n;

	q.window = (struct mace_sp_window){ T0, T0 + 9, 5, 1024 };
	n = mace__sp_encode_request(&q, b);
	CHECK(parse(b, n, &r, msg) == (int)n);
	CHECK_EQ_U64(r.window.from_ns, T0);
	CHECK_EQ_U64(r.window.to_ns, T0 + 9);
	CHECK_EQ_U64(r.window.netns, 5);
	CHECK_EQ_U64(r.window.max, 1024);
}

/* Malformed requests are refused with a reason, as soon as the bytes show it. */
TEST(malformed)
{
	struct mace_sp_request q = { .type = MACE_SP_PROBE }, r;
	uint8_t b[MACE_SP_REQ_HDR + MACE_SP_MAX_REQ_BODY], c[sizeof(b)];
	char msg[MACE_SP_MAX_MSG];
	size_t n;

	q.probe.probe = (struct mace_probe){ .proto = IPPROTO_ICMP, .id = 1, .seq = 2,
					     .sent_ns = T0, .recv_ns = T0 };
	n = mace__sp_encode_request(&q, b);

	memcpy(c, b, n);
	c[0] = 2;	/* version */
	CHECK(parse(c, 1, &r, msg) == -EPROTO);
	CHECK(strstr(msg, "version 2") != NULL);
	memcpy(c, b, n);
	c[1] = 9;	/* type */
	CHECK(parse(c, 4, &r, msg) == -EPROTO);
	CHECK(strstr(msg, "type 9") != NULL);
	memcpy(c, b, n);
	mace__sp_put16(c + 2, 60000);	/* oversized body */
	CHECK(parse(c, 4, &r, msg) == -EPROTO);
	memcpy(c, b, n);
	c[4] = 200;	/* protocol */
	CHECK(parse(c, n, &r, msg) == -EPROTO);
	memcpy(c, b, n);
	c[5] = 1;	/* reserved */
	CHECK(parse(c, n, &r, msg) == -EPROTO);
	memcpy(c, b, n);
	mace__sp_put64(c + 4 + 20, T0 - 1);	/* received before sent */
	CHECK(parse(c, n, &r, msg) == -EPROTO);
	memcpy(c, b, n);
	mace__sp_put32(c + 4 + 32, MACE_SP_MAX_WAIT_MS + 1);
	CHECK(parse(c, n, &r, msg) == -EPROTO);
	CHECK(strstr(msg, "wait") != NULL);

	q.type = MACE_SP_WINDOW;
	q.window = (struct mace_sp_window){ 10, 9, 0, 1 };
	n = mace__sp_encode_request(&q, b);
	CHECK(parse(b, n, &r, msg) == -EPROTO);
	q.window = (struct mace_sp_window){ 1, 9, 0, MACE_SP_MAX_RECORDS + 1 };
	n = mace__sp_encode_request(&q, b);
	CHECK(parse(b, n, &r, msg) == -EPROTO);
}

TEST(record_round_trip)
{
	struct mace_record a = { .sz = sizeof(a), .ts_ns = T0, .latency_ns = 12345, .netns = 4026532001u,
				 .len = 98, .seq = 0xdeadbeef, .id = 7, .sport = 1, .dport = 2,
				 .cpu_start = 1, .cpu_end = 0, .dir = MACE_INGRESS, .nseg = 2,
				 .proto = IPPROTO_ICMP, .family = 2, .path_id = 3 }, b;
	uint8_t w[MACE_SP_RECORD_SIZE];
	unsigned int i;

	for (i = 0; i < MACE_MAX_SEGMENTS; i++)
		a.seg_ns[i] = i < 2 ? 1000 * (i + 1) : MACE_SEG_UNKNOWN;
	for (i = 0; i < 16; i++) {
		a.src[i] = i;
		a.dst[i] = 255 - i;
	}
	mace__sp_put_record(w, &a);
	CHECK(mace__sp_get_record(w, &b) == 0);
	CHECK(!memcmp(&a, &b, sizeof(a)));
	w[72 + 22] = 5;	/* dir */
	CHECK(mace__sp_get_record(w, &b) == -EPROTO);
}

static struct mace_record rec(uint32_t netns, int dir, uint64_t ts, uint64_t lat, uint32_t seq)
{
	struct mace_record r = { .ts_ns = ts, .latency_ns = lat, .dir = dir,
				 .proto = IPPROTO_ICMP, .id = 7, .seq = seq, .netns = netns };
	return r;
}

static struct mace_probe icmp(uint32_t seq, uint64_t sent)
{
	struct mace_probe p = { .proto = IPPROTO_ICMP, .id = 7, .seq = seq, .sent_ns = sent,
				.recv_ns = sent + MS };
	return p;
}

/* A netns sees its own records only, whatever the probe says. */
TEST(ring_scoped_by_netns)
{
	struct mace_rings *rs = mace__rings_new(16, 4, 60000 * MS);
	const struct mace_record *e, *i;
	struct mace_probe p = icmp(3, T0);
	struct mace_overhead o;
	struct mace_record r;

	r = rec(100, MACE_EGRESS, T0 + 10, 1000, 3);
	CHECK(mace__rings_add(rs, &r) == 0);
	r = rec(100, MACE_INGRESS, T0 + 500, 2000, 3);
	CHECK(mace__rings_add(rs, &r) == 0);
	CHECK(mace__rings_probe(rs, 100, &p, &o, &e, &i) == 0);
	CHECK_EQ_U64(o.egress_ns, 1000);
	CHECK_EQ_U64(o.ingress_ns, 2000);
	CHECK(e && e->ts_ns == T0 + 10 && i && i->latency_ns == 2000);
	p.netns = 100;	/* naming A does not widen B's scope */
	CHECK(mace__rings_probe(rs, 200, &p, &o, &e, &i) == -ENOENT);
	CHECK(o.egress_how == MACE_MATCH_NONE && o.ingress_how == MACE_MATCH_NONE);
	CHECK(!e && !i);
	r = rec(0, MACE_EGRESS, T0, 1, 3);
	CHECK(mace__rings_add(rs, &r) == -EINVAL);
	mace__rings_free(rs);
}

/* Two candidates for a direction: ambiguous, never a pick. */
TEST(ring_ambiguous)
{
	struct mace_rings *rs = mace__rings_new(16, 4, 60000 * MS);
	struct mace_probe p = icmp(3, T0);
	struct mace_overhead o;
	struct mace_record r;

	r = rec(100, MACE_EGRESS, T0 + 10, 1000, 3);
	mace__rings_add(rs, &r);
	r = rec(100, MACE_EGRESS, T0 + 20, 1100, 3);
	mace__rings_add(rs, &r);
	r = rec(100, MACE_INGRESS, T0 + 500, 2000, 3);
	mace__rings_add(rs, &r);
	CHECK(mace__rings_probe(rs, 100, &p, &o, NULL, NULL) == -ENOENT);
	CHECK(o.egress_how == MACE_MATCH_AMBIGUOUS);
	CHECK_EQ_U64(o.egress_ns, 0);
	mace__rings_free(rs);
}

/* The count bound drops the oldest; the age bound drops old ones and frees
 * quiet rings; the netns bound refuses new netns and counts them. */
TEST(ring_bounds)
{
	struct mace_rings *rs = mace__rings_new(100, 2, 1000 * MS);
	struct mace_rings_stats st;
	struct mace_record r, out[200];
	struct mace_probe p;
	struct mace_overhead o;
	bool more;
	unsigned int s;

	for (s = 1; s <= 150; s++) {
		r = rec(100, MACE_EGRESS, T0 + s * MS, s, s);
		CHECK(mace__rings_add(rs, &r) == 0);
	}
	mace__rings_stats(rs, &st);
	CHECK_EQ_U64(st.added, 150);
	CHECK_EQ_U64(st.evicted, 50);
	CHECK_EQ_U64(st.bytes, 100 * sizeof(struct mace_record));
	CHECK(mace__rings_window(rs, 100, 0, UINT64_MAX, out, 200, &more) == 100);
	CHECK(!more);
	CHECK_EQ_U64(out[0].seq, 51);
	CHECK_EQ_U64(out[99].seq, 150);
	/* Seq 50 went with the count bound; seq 51 is still there. */
	p = icmp(50, T0 + 50 * MS - 10);
	mace__rings_probe(rs, 100, &p, &o, NULL, NULL);
	CHECK(o.egress_how == MACE_MATCH_NONE);
	p = icmp(51, T0 + 51 * MS - 10);
	mace__rings_probe(rs, 100, &p, &o, NULL, NULL);
	CHECK(o.egress_how == MACE_MATCH_KEY);

	r = rec(200, MACE_EGRESS, T0, 1, 1);
	CHECK(mace__rings_add(rs, &r) == 0);
	r = rec(300, MACE_EGRESS, T0, 1, 1);
	CHECK(mace__rings_add(rs, &r) == -ENOSPC);

	/* Age: at T0 + 1100 ms, starts before T0 + 100 ms go. */
	mace__rings_expire(rs, T0 + 1100 * MS);
	CHECK(mace__rings_window(rs, 100, 0, UINT64_MAX, out, 200, &more) == 51);
	CHECK_EQ_U64(out[0].seq, 100);
	p = icmp(99, T0 + 99 * MS - 10);
	mace__rings_probe(rs, 100, &p, &o, NULL, NULL);
	CHECK(o.egress_how == MACE_MATCH_NONE);
	mace__rings_stats(rs, &st);
	CHECK_EQ_U64(st.expired, 49 + 1);
	CHECK_EQ_U64(st.dropped, 1);
	CHECK_EQ_U64(st.rings, 1);	/* netns 200's ring was emptied and freed */
	r = rec(300, MACE_EGRESS, T0 + 2000 * MS, 1, 1);
	CHECK(mace__rings_add(rs, &r) == 0);
	mace__rings_free(rs);
}

/* A window query returns records by start time and says when it left some out. */
TEST(ring_window_order)
{
	struct mace_rings *rs = mace__rings_new(64, 1, 60000 * MS);
	struct mace_record r, out[8];
	bool more;
	int n;

	/* Delivered out of start order (egress and ingress interleave). */
	r = rec(100, MACE_INGRESS, T0 + 30, 1, 1);
	mace__rings_add(rs, &r);
	r = rec(100, MACE_EGRESS, T0 + 10, 1, 2);
	mace__rings_add(rs, &r);
	r = rec(100, MACE_EGRESS, T0 + 20, 1, 3);
	mace__rings_add(rs, &r);
	r = rec(100, MACE_EGRESS, T0 + 40, 1, 4);
	mace__rings_add(rs, &r);
	n = mace__rings_window(rs, 100, T0 + 10, T0 + 30, out, 8, &more);
	CHECK(n == 3 && !more);
	CHECK(out[0].ts_ns == T0 + 10 && out[1].ts_ns == T0 + 20 && out[2].ts_ns == T0 + 30);
	n = mace__rings_window(rs, 100, 0, UINT64_MAX, out, 2, &more);
	CHECK(n == 2 && more);
	CHECK(mace__rings_window(rs, 999, 0, UINT64_MAX, out, 2, &more) == 0);
	mace__rings_free(rs);
}

int main(void)
{
	RUN(probe_round_trip);
	RUN(window_round_trip);
	RUN(malformed);
	RUN(record_round_trip);
	RUN(ring_scoped_by_netns);
	RUN(ring_ambiguous);
	RUN(ring_bounds);
	RUN(ring_window_order);
	return t_done();
}
