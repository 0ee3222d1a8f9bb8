/* SPDX-License-Identifier: MIT */
/* The serve protocol's encoder and parser (layout in serve_proto.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "serve_proto.h"

static int __attribute__((format(printf, 3, 4)))
bad(char *msg, size_t msglen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return -EPROTO;
}

static size_t body_size(uint8_t type)
{
	switch (type) {
	case MACE_SP_INFO:
		return MACE_SP_INFO_BODY;
	case MACE_SP_PROBE:
		return MACE_SP_PROBE_BODY;
	case MACE_SP_WINDOW:
		return MACE_SP_WINDOW_BODY;
	}
	return SIZE_MAX;
}

static int parse_probe(const uint8_t *b, struct mace_sp_probe *q, char *msg, size_t msglen)
{
	struct mace_probe *p = &q->probe;

	memset(q, 0, sizeof(*q));
	p->sz = sizeof(*p);
	p->proto = b[0];
	if (b[1])
		return bad(msg, msglen, "probe: reserved byte is %u, not 0", b[1]);
	p->id = mace__sp_get16(b + 2);
	p->seq = mace__sp_get32(b + 4);
	p->sport = mace__sp_get16(b + 8);
	p->dport = mace__sp_get16(b + 10);
	p->sent_ns = mace__sp_get64(b + 12);
	p->recv_ns = mace__sp_get64(b + 20);
	p->netns = mace__sp_get32(b + 28);
	q->wait_ms = mace__sp_get32(b + 32);
	switch (p->proto) {
	case 0:	/* time window only */
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
	case IPPROTO_UDP:
	case IPPROTO_TCP:
		break;
	default:
		return bad(msg, msglen, "probe: protocol %u is not icmp, udp or tcp", p->proto);
	}
	if (p->recv_ns < p->sent_ns)
		return bad(msg, msglen, "probe: received before it was sent");
	if (q->wait_ms > MACE_SP_MAX_WAIT_MS)
		return bad(msg, msglen, "probe: wait of %u ms is over the limit", q->wait_ms);
	return 0;
}

static int parse_window(const uint8_t *b, struct mace_sp_window *w, char *msg, size_t msglen)
{
	w->from_ns = mace__sp_get64(b);
	w->to_ns = mace__sp_get64(b + 8);
	w->netns = mace__sp_get32(b + 16);
	w->max = mace__sp_get32(b + 20);
	if (w->to_ns < w->from_ns)
		return bad(msg, msglen, "window: ends before it starts");
	if (!w->max || w->max > MACE_SP_MAX_RECORDS)
		return bad(msg, msglen, "window: max of %u records is not in 1..%u", w->max,
			   MACE_SP_MAX_RECORDS);
	return 0;
}

int mace__sp_parse_request(const uint8_t *buf, size_t len, struct mace_sp_request *req,
			  char *msg, size_t msglen)
{
	size_t want, blen;

	msg[0] = '\0';
	if (len >= 1 && buf[0] != MACE_SP_VERSION)
		return bad(msg, msglen, "protocol version %u; this server speaks 1", buf[0]);
	if (len < MACE_SP_REQ_HDR)
		return 0;
	want = body_size(buf[1]);
	if (want == SIZE_MAX)
		return bad(msg, msglen, "unknown request type %u", buf[1]);
	blen = mace__sp_get16(buf + 2);
	if (blen != want)
		return bad(msg, msglen, "request body of %u bytes; its type has another size",
			   (unsigned int)blen);
	if (len < MACE_SP_REQ_HDR + blen)
		return 0;
	memset(req, 0, sizeof(*req));
	req->type = buf[1];
	buf += MACE_SP_REQ_HDR;
	if (req->type == MACE_SP_PROBE && parse_probe(buf, &req->probe, msg, msglen))
		return -EPROTO;
	if (req->type == MACE_SP_WINDOW && parse_window(buf, &req->window, msg, msglen))
		return -EPROTO;
	return MACE_SP_REQ_HDR + blen;
}

size_t mace__sp_encode_request(const struct mace_sp_request *req, uint8_t *buf)
{
	size_t blen = body_size(req->type);
	uint8_t *b = buf + MACE_SP_REQ_HDR;

	if (blen == SIZE_MAX)
		return 0;
	buf[0] = MACE_SP_VERSION;
	buf[1] = req->type;
	mace__sp_put16(buf + 2, blen);
	memset(b, 0, blen);
	if (req->type == MACE_SP_PROBE) {
		const struct mace_probe *p = &req->probe.probe;

		b[0] = p->proto;
		mace__sp_put16(b + 2, p->id);
		mace__sp_put32(b + 4, p->seq);
		mace__sp_put16(b + 8, p->sport);
		mace__sp_put16(b + 10, p->dport);
		mace__sp_put64(b + 12, p->sent_ns);
		mace__sp_put64(b + 20, p->recv_ns);
		mace__sp_put32(b + 28, p->netns);
		mace__sp_put32(b + 32, req->probe.wait_ms);
	} else if (req->type == MACE_SP_WINDOW) {
		const struct mace_sp_window *w = &req->window;

		mace__sp_put64(b, w->from_ns);
		mace__sp_put64(b + 8, w->to_ns);
		mace__sp_put32(b + 16, w->netns);
		mace__sp_put32(b + 20, w->max);
	}
	return MACE_SP_REQ_HDR + blen;
}

void mace__sp_encode_reply_hdr(uint8_t *buf, uint8_t type, uint8_t status, uint32_t body_len)
{
	buf[0] = MACE_SP_VERSION;
	buf[1] = type;
	buf[2] = status;
	buf[3] = 0;
	mace__sp_put32(buf + 4, body_len);
}

int mace__sp_parse_reply_hdr(const uint8_t *buf, uint8_t *type, uint8_t *status,
			    uint32_t *body_len)
{
	if (buf[0] != MACE_SP_VERSION || buf[2] > MACE_SP_ERROR || buf[3])
		return -EPROTO;
	*type = buf[1];
	*status = buf[2];
	*body_len = mace__sp_get32(buf + 4);
	return *body_len > MACE_SP_MAX_REP_BODY ? -EPROTO : 0;
}

void mace__sp_put_record(uint8_t *b, const struct mace_record *r)
{
	unsigned int i;

	memset(b, 0, MACE_SP_RECORD_SIZE);
	mace__sp_put64(b, r->ts_ns);
	mace__sp_put64(b + 8, r->latency_ns);
	for (i = 0; i < MACE_MAX_SEGMENTS; i++)
		mace__sp_put64(b + 16 + 8 * i, r->seg_ns[i]);
	b += 16 + 8 * MACE_MAX_SEGMENTS;	/* 72 */
	mace__sp_put32(b, r->netns);
	mace__sp_put32(b + 4, r->len);
	mace__sp_put32(b + 8, r->seq);
	mace__sp_put16(b + 12, r->id);
	mace__sp_put16(b + 14, r->sport);
	mace__sp_put16(b + 16, r->dport);
	mace__sp_put16(b + 18, r->cpu_start);
	mace__sp_put16(b + 20, r->cpu_end);
	b[22] = r->dir;
	b[23] = r->nseg;
	b[24] = r->proto;
	b[25] = r->family;
	memcpy(b + 26, r->src, 16);
	memcpy(b + 42, r->dst, 16);
	mace__sp_put16(b + 58, r->path_id);	/* 72 + 60 = 132; 4 bytes left zero */
}

int mace__sp_get_record(const uint8_t *b, struct mace_record *r)
{
	unsigned int i;

	memset(r, 0, sizeof(*r));
	r->sz = sizeof(*r);
	r->ts_ns = mace__sp_get64(b);
	r->latency_ns = mace__sp_get64(b + 8);
	for (i = 0; i < MACE_MAX_SEGMENTS; i++)
		r->seg_ns[i] = mace__sp_get64(b + 16 + 8 * i);
	b += 16 + 8 * MACE_MAX_SEGMENTS;
	r->netns = mace__sp_get32(b);
	r->len = mace__sp_get32(b + 4);
	r->seq = mace__sp_get32(b + 8);
	r->id = mace__sp_get16(b + 12);
	r->sport = mace__sp_get16(b + 14);
	r->dport = mace__sp_get16(b + 16);
	r->cpu_start = mace__sp_get16(b + 18);
	r->cpu_end = mace__sp_get16(b + 20);
	r->dir = b[22];
	r->nseg = b[23];
	r->proto = b[24];
	r->family = b[25];
	memcpy(r->src, b + 26, 16);
	memcpy(r->dst, b + 42, 16);
	r->path_id = mace__sp_get16(b + 58);
	return r->dir > MACE_INGRESS || r->nseg > MACE_MAX_SEGMENTS ? -EPROTO : 0;
}
