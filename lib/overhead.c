/* SPDX-License-Identifier: MIT */
/*
 * RTT correction: a ring of the last n records and the matcher that finds
 * the egress record of a probe and the ingress record of its reply, for
 * mace_session_overhead, the server's rings and mace adjust alike.
 *
 * Records that carry a probe key (proto != 0: ICMP id and seq, ports, TCP
 * seq) are matched by that key only: when a keyed backend saw no record for
 * this probe, a time window would pick some other packet.  Keyless records
 * (ftrace backend) are matched by time window, and only when exactly one
 * candidate exists.  Nothing is ever guessed.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "mace_int.h"

/* A key match may start up to this long before the probe was sent. */
#define KEY_LOOKBACK_NS 1000000000ull
/* Window match: how far a record may sit outside [sent, recv].  Egress may
 * start a little before the send clock was read (syscall entry), ingress may
 * end after the socket's receive timestamp (backlog after netif_rx). */
#define WINDOW_SLACK_NS 1000000ull

struct mace_keep {
	unsigned int n;		/* capacity */
	unsigned int head;	/* next slot to write */
	unsigned int count;	/* valid records, <= n */
	struct mace_record rec[];
};

struct mace_keep *mace__keep_new(unsigned int n)
{
	struct mace_keep *k;

	if (!n || n > (1u << 24)) {
		errno = EINVAL;
		return NULL;
	}
	k = calloc(1, sizeof(*k) + (size_t)n * sizeof(k->rec[0]));
	if (!k)
		return NULL;
	k->n = n;
	return k;
}

void mace__keep_add(struct mace_keep *k, const struct mace_record *rec)
{
	k->rec[k->head] = *rec;
	k->head = (k->head + 1) % k->n;
	if (k->count < k->n)
		k->count++;
}

void mace__keep_free(struct mace_keep *k)
{
	free(k);
}

/* Result of one direction's search. */
struct found {
	const struct mace_record *rec;
	unsigned int n;		/* distinct candidates */
};

static void consider(struct found *f, const struct mace_record *r)
{
	/* The same record kept twice is one candidate, not two. */
	if (f->rec && f->rec->ts_ns == r->ts_ns && f->rec->latency_ns == r->latency_ns)
		return;
	if (!f->rec)
		f->rec = r;
	f->n++;
}

static bool ports_match(const struct mace_record *r, uint16_t sport, uint16_t dport)
{
	return r->sport == sport && r->dport == dport;
}

/* Does a keyed record of direction dir belong to this probe (or its reply)? */
static bool probe_key_match(const struct mace_record *r, const struct mace_probe *p, int dir)
{
	if (r->proto != p->proto)
		return false;
	switch (p->proto) {
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* Ingress id is the outer one, which NAT may have rewritten:
		 * the caller narrows by id when one of the candidates has it. */
		if (r->seq != p->seq)
			return false;
		return dir == MACE_INGRESS || !p->id || r->id == p->id;
	case IPPROTO_UDP:
		return dir == MACE_EGRESS ? ports_match(r, p->sport, p->dport)
					  : ports_match(r, p->dport, p->sport);
	case IPPROTO_TCP:
		/* The reply's seq is the peer's: only the request carries ours. */
		if (dir == MACE_EGRESS)
			return ports_match(r, p->sport, p->dport) && r->seq == p->seq;
		return ports_match(r, p->dport, p->sport);
	default:
		return false;
	}
}

static bool netns_match(const struct mace_record *r, const struct mace_probe *p)
{
	return !p->netns || r->netns == p->netns;
}

static struct found search_by_probe_key(const struct mace_record *rec, size_t n,
			       const struct mace_probe *p, int dir, const struct mace__span *sp)
{
	struct found all = { 0 }, same_id = { 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		const struct mace_record *r = &rec[i];

		if (r->dir != dir || !r->proto || !netns_match(r, p))
			continue;
		if (r->ts_ns < sp->key_lo || r->ts_ns > sp->key_hi)
			continue;
		if (!probe_key_match(r, p, dir))
			continue;
		consider(&all, r);
		if (p->id && r->id == p->id)
			consider(&same_id, r);
	}
	/* ICMP ingress: prefer the reply whose id survived NAT unchanged. */
	if (dir == MACE_INGRESS && same_id.n)
		return same_id;
	return all;
}

static struct found search_by_window(const struct mace_record *rec, size_t n,
				  const struct mace_probe *p, int dir, const struct mace__span *sp)
{
	struct found f = { 0 };
	size_t i;

	for (i = 0; i < n; i++) {
		const struct mace_record *r = &rec[i];
		/* Egress is placed by its start, ingress by its end (see mace__span). */
		uint64_t t = dir == MACE_EGRESS ? r->ts_ns : r->ts_ns + r->latency_ns;

		/* A probe with a key falls back only onto records without one. */
		if (r->dir != dir || (p->proto && r->proto) || !netns_match(r, p))
			continue;
		if (t < sp->win_lo || t > sp->win_hi)
			continue;
		consider(&f, r);
	}
	return f;
}

struct mace__span mace__probe_span(const struct mace_probe *p, int dir)
{
	struct mace__span sp = {
		.key_lo = p->sent_ns > KEY_LOOKBACK_NS ? p->sent_ns - KEY_LOOKBACK_NS : 0,
		.key_hi = p->recv_ns,
	};

	if (dir == MACE_EGRESS) {
		sp.win_lo = p->sent_ns > WINDOW_SLACK_NS ? p->sent_ns - WINDOW_SLACK_NS : 0;
		sp.win_hi = p->recv_ns;
	} else {
		sp.win_lo = p->sent_ns;
		sp.win_hi = p->recv_ns + WINDOW_SLACK_NS;
	}
	return sp;
}

struct mace__match mace__match_dir(const struct mace_record *keyed, size_t nkeyed,
				   const struct mace_record *keyless, size_t nkeyless,
				   const struct mace_probe *p, int dir, const struct mace__span *sp)
{
	struct mace__match m = { .how = MACE_MATCH_KEY };
	struct found f = { 0 };

	if (p->proto)
		f = search_by_probe_key(keyed, nkeyed, p, dir, sp);
	if (!f.n) {
		f = search_by_window(keyless, nkeyless, p, dir, sp);
		m.how = MACE_MATCH_WINDOW;
	}
	if (f.n != 1)
		m.how = f.n ? MACE_MATCH_AMBIGUOUS : MACE_MATCH_NONE;
	else
		m.rec = f.rec;
	return m;
}

static const struct mace_record *lookup_dir(const struct mace_record *rec, unsigned int n,
					   const struct mace_probe *p, int dir, uint64_t *ns,
					   enum mace_match_how *how)
{
	struct mace__span sp = mace__probe_span(p, dir);
	struct mace__match m = mace__match_dir(rec, n, rec, n, p, dir, &sp);

	*how = m.how;
	*ns = m.rec ? m.rec->latency_ns : 0;
	return m.rec;
}

int mace__overhead_find(const struct mace_record *rec, unsigned int n,
			const struct mace_probe *probe, struct mace_overhead *out,
			const struct mace_record **egress, const struct mace_record **ingress)
{
	const struct mace_record *e, *i;

	memset(out, 0, sizeof(*out));
	out->sz = sizeof(*out);
	out->egress_how = out->ingress_how = MACE_MATCH_NONE;
	if (!probe || probe->recv_ns < probe->sent_ns)
		return -EINVAL;
	e = lookup_dir(rec, n, probe, MACE_EGRESS, &out->egress_ns, &out->egress_how);
	i = lookup_dir(rec, n, probe, MACE_INGRESS, &out->ingress_ns, &out->ingress_how);
	if (egress)
		*egress = e;
	if (ingress)
		*ingress = i;
	if (out->egress_how != MACE_MATCH_KEY && out->egress_how != MACE_MATCH_WINDOW)
		return -ENOENT;
	if (out->ingress_how != MACE_MATCH_KEY && out->ingress_how != MACE_MATCH_WINDOW)
		return -ENOENT;
	return 0;
}

int mace__keep_lookup(const struct mace_keep *k, const struct mace_probe *probe,
		      struct mace_overhead *out)
{
	if (!k) {
		memset(out, 0, sizeof(*out));
		out->sz = sizeof(*out);
		return -EINVAL;
	}
	return mace__overhead_find(k->rec, k->count, probe, out, NULL, NULL);
}
