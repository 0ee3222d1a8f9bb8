/* SPDX-License-Identifier: MIT */
/*
 * The correlator: turns a stream of classified trace events into one record
 * per packet and direction.
 *
 * Rules (the contract they keep: docs/DESIGN.md, Correlation):
 *  - An event is at point k of direction d when (1u << ev->tp) & pt[k].tp_mask
 *    and ev->role == pt[k].role.  Events at no point are ignored entirely and
 *    not counted (backends filter them out before us anyway).
 *  - Events may arrive up to reorder_ns out of order (several CPUs).  They wait
 *    in a ring kept sorted by timestamp and are processed in time order.  An
 *    event older than one already processed ("late") is processed at once.
 *  - Packet points match by skb address and/or content key (path->match), only
 *    forward in time and forward along the path.  An entry ends at the end
 *    point, expires expire_ns after its start, and the oldest is evicted (as
 *    expired) when max_pending entries are in flight: memory is bounded.
 *  - An skb match whose content key differs from the pending packet's (both
 *    known) is address reuse too: the pending packet left the path, its
 *    events count as replaced, and the event matches by key or not at all.
 *  - A start for an skb already pending at a later point is address reuse: the
 *    old entry's events count as replaced.  A start for an entry still at point
 *    0 is a duplicate if it is another alternative tracepoint (first wins), or
 *    replaces it if it is the same tracepoint again.
 *  - A free of an skb (mace_event_is_free) ends the packet pending with that
 *    address in either direction, as expired: it left the path (a frame
 *    that ended at the host), and a later packet given the same address
 *    must not carry its start on.
 *  - Two pending packets with one content key: counted in collisions, matched
 *    in FIFO order.
 *  - Egress syscall start (sys_enter_send*): a pending "task start" for the tid;
 *    the first event of that tid at point 1 binds to it, and from then on the
 *    skb/key identify the packet.  A newer sys_enter of the same tid before
 *    binding replaces the old one.
 *  - Ingress syscall end (sys_exit_recv*): a packet reaching the point before
 *    the end waits in a FIFO of its container netns; the sys_exit of a task in
 *    that netns takes the oldest waiting packet with the event's key if the
 *    event has one, else the oldest waiting packet (time-window fallback;
 *    with recv_window_ns, one that waited longer with a younger one behind
 *    it expires rather than being paired with the wrong receive).
 *  - Syscall points are supported as egress start and ingress end only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mace_int.h"

#define NIL UINT32_MAX
#define NQ_SLOTS 1024		/* netns FIFOs; far more than MACE_MAX_BOUND */
#define NS_SLOTS 1024		/* per-container counters; likewise */

enum { IN_SKB = 1, IN_KEY = 2, IN_TID = 4, QUEUED = 8 };

struct pend {
	__u64 t[MACE_MAX_POINTS];
	__u64 skb, key, serial;
	__u32 prev, next;	/* age list, oldest first */
	__u32 qprev, qnext;	/* netns FIFO (ingress syscall end) */
	__u32 tid, nevents, netns, len, seq;
	__u16 id, sport, dport, cpu_start, cpu_end, qslot;
	__u8 dir, last_k, seen, start_tp, flags, proto, family, role_netns;
	__u8 src[16], dst[16];
};

/* Open addressing with linear probing and backward-shift deletion; several
 * slots may hold the same key (content-key collisions). */
struct idx_slot {
	__u64 key;
	__u32 ent;		/* NIL: empty */
	__u32 pad;
};
struct idx {
	struct idx_slot *s;
	__u32 mask, used, max;	/* grows up to max slots, so it stays cache-hot */
};

struct netq {
	__u32 netns;		/* 0: empty slot */
	__u32 head, tail;
};

/* Counters of one container netns: events of packets seen at a container
 * point (the only place the correlator learns whose packet it is). */
struct nscnt {
	__u32 netns;		/* 0: empty slot */
	struct mace_counters c;
};

struct mace_correlator {
	struct mace_corr_opts o;
	struct mace_dirpath dp[2];
	__u8 lut[MACE_TP_COUNT][MACE_ROLE_COUNT]; /* (dir << 4 | k) + 1, 0: no point */
	__u8 kind[2][MACE_MAX_POINTS];		   /* enum mace_tp_kind */

	/* reorder ring, sorted by ts */
	struct mace_event *ring;
	__u32 rhead, rcount, rcap, rmax;
	__u64 newest, released;

	struct pend *pend;
	__u32 free_head, npend, oldest, youngest;
	__u64 serial;
	struct idx skb_idx[2], key_idx[2], tid_idx;
	struct netq nq[NQ_SLOTS];

	struct mace_counters cnt;
	__u64 fired[2][MACE_MAX_POINTS];	/* packets seen at each point */
	struct nscnt *ns;	/* NS_SLOTS, allocated on first use */
	bool ns_full;		/* more containers than slots: rest unattributed */
};

static inline __u32 hash64(__u64 v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdULL;
	v ^= v >> 33;
	return (__u32)v;
}

static struct nscnt *ns_get(struct mace_correlator *c, __u32 netns, bool create_it)
{
	__u32 i = hash64(netns) & (NS_SLOTS - 1);

	if (!c->ns) {
		if (!create_it)
			return NULL;
		c->ns = calloc(NS_SLOTS, sizeof(*c->ns));
		if (!c->ns) {
			/* not fatal: the session-wide counters stay exact */
			mace_err("correlator: out of memory for per-netns counters");
			c->ns_full = true;
			return NULL;
		}
	}
	for (__u32 n = 0; n < NS_SLOTS; n++, i = (i + 1) & (NS_SLOTS - 1)) {
		if (c->ns[i].netns == netns)
			return &c->ns[i];
		if (!c->ns[i].netns) {
			if (!create_it)
				return NULL;
			c->ns[i].netns = netns;
			return &c->ns[i];
		}
	}
	c->ns_full = true;
	return NULL;
}

/* The counter of k that where (a field of the session counters) names. */
static uint64_t *same_field(struct mace_counters *k, const struct mace_counters *cnt,
			    const uint64_t *where)
{
	if (where == &cnt->matched)
		return &k->matched;
	if (where == &cnt->unmatched)
		return &k->unmatched;
	if (where == &cnt->expired)
		return &k->expired;
	if (where == &cnt->replaced)
		return &k->replaced;
	return &k->duplicates;
}

/* Adds n settled events, counted in *where of the session counters, to
 * netns's counters.  netns 0 (container unknown) stays session-wide only. */
static void ns_count(struct mace_correlator *c, __u32 netns, const uint64_t *where, uint64_t n)
{
	struct nscnt *x;

	if (!netns || c->ns_full)
		return;
	x = ns_get(c, netns, true);
	if (!x)
		return;
	x->c.events += n;
	*same_field(&x->c, &c->cnt, where) += n;
}

/* An event that settles on its own (unmatched, duplicate): a container's if
 * it happened at a container point. */
static void count_ev(struct mace_correlator *c, const struct mace_event *ev, uint64_t *where)
{
	(*where)++;
	ns_count(c, ev->role == MACE_ROLE_CONTAINER ? ev->netns : 0, where, 1);
}

/* Starts small: the live set is usually tiny and a hot table is much
 * faster than one sized for max_pending. */
static int idx_init(struct idx *x, __u32 entries)
{
	__u32 cap = 256;

	x->max = 16;
	while (x->max < entries * 2)
		x->max <<= 1;
	if (cap > x->max)
		cap = x->max;
	x->s = malloc(sizeof(*x->s) * cap);
	if (!x->s)
		return -ENOMEM;
	x->mask = cap - 1;
	x->used = 0;
	for (__u32 i = 0; i < cap; i++)
		x->s[i].ent = NIL;
	return 0;
}

static void idx_put(struct idx *x, __u64 key, __u32 ent)
{
	__u32 i = hash64(key) & x->mask;

	while (x->s[i].ent != NIL)
		i = (i + 1) & x->mask;
	x->s[i].key = key;
	x->s[i].ent = ent;
	x->used++;
}

/* Doubles the table; on allocation failure it stays (fuller) as it is. */
static void idx_grow(struct idx *x)
{
	struct idx_slot *old = x->s;
	__u32 ocap = x->mask + 1, ncap = ocap * 2;
	struct idx_slot *n = malloc(sizeof(*n) * ncap);

	if (!n)
		return;
	for (__u32 i = 0; i < ncap; i++)
		n[i].ent = NIL;
	x->s = n;
	x->mask = ncap - 1;
	x->used = 0;
	for (__u32 i = 0; i < ocap; i++)
		if (old[i].ent != NIL)
			idx_put(x, old[i].key, old[i].ent);
	free(old);
}

/* At most half full once grown to max (entries <= max_pending <= max / 2).
 * Fails only when growing failed and the table is full: the entry then
 * cannot be found and will expire (it stays counted). */
static bool idx_add(struct idx *x, __u64 key, __u32 ent)
{
	if (x->used * 2 >= x->mask + 1 && x->mask + 1 < x->max)
		idx_grow(x);
	if (x->used + 1 >= x->mask + 1) {
		mace_err("correlator: out of memory for the match index");
		return false;
	}
	idx_put(x, key, ent);
	return true;
}

static bool idx_has(const struct idx *x, __u64 key)
{
	for (__u32 i = hash64(key) & x->mask; x->s[i].ent != NIL; i = (i + 1) & x->mask)
		if (x->s[i].key == key)
			return true;
	return false;
}

static void idx_del(struct idx *x, __u64 key, __u32 ent)
{
	__u32 i = hash64(key) & x->mask, j, h;

	while (x->s[i].ent != NIL && !(x->s[i].key == key && x->s[i].ent == ent))
		i = (i + 1) & x->mask;
	if (x->s[i].ent == NIL)
		return;
	x->used--;
	/* backward shift: pull later slots of the cluster into the hole */
	for (j = i;;) {
		x->s[i].ent = NIL;
		for (;;) {
			j = (j + 1) & x->mask;
			if (x->s[j].ent == NIL)
				return;
			h = hash64(x->s[j].key) & x->mask;
			/* stay if h lies cyclically in (i, j] */
			if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
				continue;
			break;
		}
		x->s[i] = x->s[j];
		i = j;
	}
}

static struct mace_event *ring_at(struct mace_correlator *c, __u32 i)
{
	return &c->ring[(c->rhead + i) & (c->rcap - 1)];
}

/* ---- entries ------------------------------------------------------------ */

static void unindex(struct mace_correlator *c, struct pend *p, __u32 e)
{
	if (p->flags & IN_SKB)
		idx_del(&c->skb_idx[p->dir], p->skb, e);
	if (p->flags & IN_KEY)
		idx_del(&c->key_idx[p->dir], p->key, e);
	if (p->flags & IN_TID)
		idx_del(&c->tid_idx, p->tid, e);
	if (p->flags & QUEUED) {
		struct netq *q = &c->nq[p->qslot];

		if (p->qprev != NIL)
			c->pend[p->qprev].qnext = p->qnext;
		else
			q->head = p->qnext;
		if (p->qnext != NIL)
			c->pend[p->qnext].qprev = p->qprev;
		else
			q->tail = p->qprev;
	}
	p->flags = 0;
}

/* Removes entry e; its events move from pending to *where. */
static void drop(struct mace_correlator *c, __u32 e, uint64_t *where)
{
	struct pend *p = &c->pend[e];

	unindex(c, p, e);
	if (p->prev != NIL)
		c->pend[p->prev].next = p->next;
	else
		c->oldest = p->next;
	if (p->next != NIL)
		c->pend[p->next].prev = p->prev;
	else
		c->youngest = p->prev;
	c->cnt.pending -= p->nevents;
	*where += p->nevents;
	ns_count(c, p->role_netns ? p->netns : 0, where, p->nevents);
	p->next = c->free_head;
	c->free_head = e;
	c->npend--;
}

static void expire_until(struct mace_correlator *c, __u64 now)
{
	__u64 exp = c->o.expire_ns;

	while (c->oldest != NIL && c->pend[c->oldest].t[0] + exp < now)
		drop(c, c->oldest, &c->cnt.expired);
}

static void take_fields(struct pend *p, const struct mace_event *ev)
{
	if (ev->role == MACE_ROLE_CONTAINER && !p->role_netns) {
		p->netns = ev->netns;
		p->role_netns = 1;
	}
	if (!p->proto && ev->proto) {
		p->proto = ev->proto;
		p->family = ev->family;
		memcpy(p->src, ev->src, 16);
		memcpy(p->dst, ev->dst, 16);
		p->id = ev->id;
		p->sport = ev->sport;
		p->dport = ev->dport;
		p->seq = ev->seq;
	}
}

/* A new entry for a start event; evicts the oldest when full. */
static __u32 create(struct mace_correlator *c, const struct mace_event *ev, int d)
{
	struct pend *p;
	__u32 e;

	if (c->npend == c->o.max_pending)
		drop(c, c->oldest, &c->cnt.expired);
	e = c->free_head;
	p = &c->pend[e];
	c->free_head = p->next;
	c->npend++;
	memset(p, 0, sizeof(*p));
	p->t[0] = ev->ts;
	c->fired[d][0]++;
	p->serial = c->serial++;
	p->seen = 1;
	p->nevents = 1;
	p->dir = d;
	p->start_tp = ev->tp;
	p->netns = ev->netns;
	p->len = ev->len;
	p->tid = ev->tid;
	p->cpu_start = p->cpu_end = ev->cpu;
	p->qprev = p->qnext = NIL;
	take_fields(p, ev);
	p->next = NIL;
	p->prev = c->youngest;
	if (c->youngest != NIL)
		c->pend[c->youngest].next = e;
	else
		c->oldest = e;
	c->youngest = e;
	c->cnt.pending++;
	return e;
}

static __u32 find_by_skb(struct mace_correlator *c, int d, __u64 skb);

static void index_skb(struct mace_correlator *c, struct pend *p, __u32 e, __u64 skb)
{
	__u32 old;

	if (!(c->o.path->match & MACE_PATH_MATCH_SKB) || !skb)
		return;
	if (p->flags & IN_SKB) {
		if (p->skb == skb)
			return;
		idx_del(&c->skb_idx[p->dir], p->skb, e);
	}
	/* another packet still holds this address: it was freed and reused */
	old = find_by_skb(c, p->dir, skb);
	if (old != NIL)
		drop(c, old, &c->cnt.replaced);
	p->skb = skb;
	p->flags &= ~IN_SKB;
	if (idx_add(&c->skb_idx[p->dir], skb, e))
		p->flags |= IN_SKB;
}

static void index_key(struct mace_correlator *c, struct pend *p, __u32 e, __u64 key)
{
	if (!(c->o.path->match & MACE_PATH_MATCH_KEY) || !key || (p->flags & IN_KEY))
		return;
	if (idx_has(&c->key_idx[p->dir], key))
		c->cnt.collisions++;
	p->key = key;
	if (idx_add(&c->key_idx[p->dir], key, e))
		p->flags |= IN_KEY;
}

static bool can_advance(const struct pend *p, int k, __u64 ts)
{
	return p->last_k < k && p->t[p->last_k] <= ts;
}

/* The oldest entry with this key that may move on to point k, or NIL. */
static __u32 find_by_content_key(struct mace_correlator *c, int d, int k, const struct mace_event *ev)
{
	struct idx *x = &c->key_idx[d];
	__u32 best = NIL;

	for (__u32 i = hash64(ev->key) & x->mask; x->s[i].ent != NIL; i = (i + 1) & x->mask) {
		const struct pend *p = &c->pend[x->s[i].ent];

		if (x->s[i].key != ev->key || !can_advance(p, k, ev->ts))
			continue;
		if (best == NIL || p->serial < c->pend[best].serial)
			best = x->s[i].ent;
	}
	return best;
}

static __u32 find_by_skb(struct mace_correlator *c, int d, __u64 skb)
{
	struct idx *x = &c->skb_idx[d];

	for (__u32 i = hash64(skb) & x->mask; x->s[i].ent != NIL; i = (i + 1) & x->mask)
		if (x->s[i].key == skb)
			return x->s[i].ent;
	return NIL;
}

static struct netq *netq_get(struct mace_correlator *c, __u32 netns, bool create_it)
{
	__u32 i = hash64(netns) & (NQ_SLOTS - 1);

	for (__u32 n = 0; n < NQ_SLOTS; n++, i = (i + 1) & (NQ_SLOTS - 1)) {
		if (c->nq[i].netns == netns)
			return &c->nq[i];
		if (!c->nq[i].netns) {
			if (!create_it)
				return NULL;
			c->nq[i].netns = netns;
			c->nq[i].head = c->nq[i].tail = NIL;
			return &c->nq[i];
		}
	}
	return NULL;
}

static void emit(struct mace_correlator *c, __u32 e)
{
	struct pend *p = &c->pend[e];
	unsigned int n = c->dp[p->dir].npoints;
	struct mace_record r;

	memset(&r, 0, sizeof(r));
	r.sz = sizeof(r);
	r.ts_ns = p->t[0];
	r.latency_ns = p->t[n - 1] - p->t[0];
	for (unsigned int i = 0; i < MACE_MAX_SEGMENTS; i++)
		r.seg_ns[i] = MACE_SEG_UNKNOWN;
	for (unsigned int i = 0; i + 1 < n; i++)
		if ((p->seen >> i & 3) == 3)
			r.seg_ns[i] = p->t[i + 1] - p->t[i];
	r.netns = p->netns;
	r.len = p->len;
	r.seq = p->seq;
	r.id = p->id;
	r.sport = p->sport;
	r.dport = p->dport;
	r.cpu_start = p->cpu_start;
	r.cpu_end = p->cpu_end;
	r.dir = p->dir;
	r.nseg = n - 1;
	r.proto = p->proto;
	r.family = p->family;
	memcpy(r.src, p->src, 16);
	memcpy(r.dst, p->dst, 16);
	r.path_id = c->o.path_id;
	c->cnt.records++;
	if (p->role_netns && !c->ns_full) {
		struct nscnt *x = ns_get(c, p->netns, true);

		if (x)
			x->c.records++;
	}
	drop(c, e, &c->cnt.matched);
	if (c->o.emit)
		c->o.emit(&r, c->o.ctx);
}

/* Entry e reached point k with event ev. */
static void advance(struct mace_correlator *c, __u32 e, int k, const struct mace_event *ev)
{
	struct pend *p = &c->pend[e];
	int d = p->dir;
	unsigned int n = c->dp[d].npoints;

	if (p->flags & IN_TID) {	/* bound to its packet now */
		idx_del(&c->tid_idx, p->tid, e);
		p->flags &= ~IN_TID;
	}
	p->t[k] = ev->ts;
	c->fired[d][k]++;
	p->seen |= 1u << k;
	p->last_k = k;
	p->nevents++;
	p->cpu_end = ev->cpu;
	c->cnt.pending++;
	take_fields(p, ev);
	if ((unsigned int)k == n - 1) {
		emit(c, e);
		return;
	}
	if (ev->tp != MACE_TP_NONE && c->kind[d][k] == MACE_TPK_PACKET) {
		index_skb(c, p, e, ev->skb);
		index_key(c, p, e, ev->key);
	}
	if ((unsigned int)k == n - 2 && c->kind[d][n - 1] == MACE_TPK_SYS_EXIT) {
		/* only the task's syscall can end it now: wait in the netns FIFO */
		struct netq *q = netq_get(c, p->netns, true);

		unindex(c, p, e);
		if (!q) {
			drop(c, e, &c->cnt.expired);
			return;
		}
		p->flags = QUEUED;
		p->qslot = q - c->nq;
		p->qnext = NIL;
		p->qprev = q->tail;
		if (q->tail != NIL)
			c->pend[q->tail].qnext = e;
		else
			q->head = e;
		q->tail = e;
		/* keep the key so the syscall can pick by key */
		p->key = ev->key ? ev->key : p->key;
	}
}

static void start_packet(struct mace_correlator *c, int d, const struct mace_event *ev)
{
	bool by_skb = (c->o.path->match & MACE_PATH_MATCH_SKB) && ev->skb;
	bool by_key = (c->o.path->match & MACE_PATH_MATCH_KEY) && ev->key;
	__u32 e;

	if (!by_skb && !by_key) {
		/* no identity: nothing could ever match it */
		count_ev(c, ev, &c->cnt.unmatched);
		return;
	}
	if (by_skb && (e = find_by_skb(c, d, ev->skb)) != NIL) {
		struct pend *p = &c->pend[e];

		if (p->last_k == 0 && p->start_tp != ev->tp) {
			count_ev(c, ev, &c->cnt.duplicates);
			return;
		}
		/* same start again, or the address was reused */
		drop(c, e, &c->cnt.replaced);
	}
	e = create(c, ev, d);
	index_skb(c, &c->pend[e], e, ev->skb);
	index_key(c, &c->pend[e], e, ev->key);
}

static void start_task(struct mace_correlator *c, int d, const struct mace_event *ev)
{
	__u32 e = NIL;
	struct idx *x = &c->tid_idx;

	for (__u32 i = hash64(ev->tid) & x->mask; x->s[i].ent != NIL; i = (i + 1) & x->mask)
		if (x->s[i].key == ev->tid) {
			e = x->s[i].ent;
			break;
		}
	if (e != NIL)
		drop(c, e, &c->cnt.replaced);
	e = create(c, ev, d);
	if (idx_add(x, ev->tid, e))
		c->pend[e].flags |= IN_TID;
	/* a key read from the user buffer also identifies it */
	index_key(c, &c->pend[e], e, ev->key);
}

/* Without a key, a receive takes the oldest waiting packet.  Where a
 * backend can miss a packet's own receive (ftrace learns new tasks late),
 * that packet would be paired with every later probe, one probe off: with
 * recv_window_ns set, a packet that waited longer while a younger one waits
 * behind it is expired instead of paired. */
static __u32 oldest_fresh(struct mace_correlator *c, struct netq *q, __u64 now)
{
	__u64 window = c->o.recv_window_ns;
	__u32 e = q->head;

	while (window && e != NIL && c->pend[e].qnext != NIL &&
	       c->pend[e].t[c->pend[e].last_k] + window < now) {
		__u32 stale = e;

		e = c->pend[e].qnext;
		drop(c, stale, &c->cnt.expired);
	}
	return e;
}

static void end_task(struct mace_correlator *c, int k, const struct mace_event *ev)
{
	struct netq *q = netq_get(c, ev->netns, false);
	__u32 e = q ? (ev->key ? q->head : oldest_fresh(c, q, ev->ts)) : NIL;

	while (e != NIL && ev->key && c->pend[e].key != ev->key)
		e = c->pend[e].qnext;
	if (e == NIL || c->pend[e].t[c->pend[e].last_k] > ev->ts) {
		count_ev(c, ev, &c->cnt.unmatched);
		return;
	}
	advance(c, e, k, ev);
}

static void freed(struct mace_correlator *c, const struct mace_event *ev)
{
	if (!(c->o.path->match & MACE_PATH_MATCH_SKB))
		return;
	for (int d = 0; d < 2; d++) {
		__u32 e = find_by_skb(c, d, ev->skb);

		if (e != NIL && c->pend[e].t[c->pend[e].last_k] <= ev->ts)
			drop(c, e, &c->cnt.expired);
	}
}

static void process(struct mace_correlator *c, const struct mace_event *ev)
{
	int v = c->lut[ev->tp][ev->role] - 1;
	int d = v >> 4, k = v & 15;
	__u32 e = NIL;

	expire_until(c, ev->ts);
	if (mace_event_is_free(ev)) {
		freed(c, ev);
		return;
	}
	c->cnt.pending--;	/* it left the reorder ring; counted again below */
	if (k == 0) {
		if (c->kind[d][0] == MACE_TPK_SYS_ENTER)
			start_task(c, d, ev);
		else
			start_packet(c, d, ev);
		return;
	}
	if (c->kind[d][k] == MACE_TPK_SYS_EXIT) {
		end_task(c, k, ev);
		return;
	}
	if (k == 1 && c->kind[d][0] == MACE_TPK_SYS_ENTER) {
		struct idx *x = &c->tid_idx;

		for (__u32 i = hash64(ev->tid) & x->mask; x->s[i].ent != NIL;
		     i = (i + 1) & x->mask)
			if (x->s[i].key == ev->tid) {
				e = x->s[i].ent;
				break;
			}
		if (e != NIL && can_advance(&c->pend[e], k, ev->ts)) {
			idx_del(x, ev->tid, e);
			c->pend[e].flags &= ~IN_TID;
		} else {
			e = NIL;
		}
	}
	if (e == NIL && (c->o.path->match & MACE_PATH_MATCH_SKB) && ev->skb) {
		e = find_by_skb(c, d, ev->skb);
		if (e != NIL && ev->key && c->pend[e].key && c->pend[e].key != ev->key) {
			/* another packet has the address: the pending one left the
			 * path (freed, or went to a netns we do not trace) */
			drop(c, e, &c->cnt.replaced);
			e = NIL;
		}
		if (e != NIL && !can_advance(&c->pend[e], k, ev->ts))
			e = NIL;
	}
	if (e == NIL && (c->o.path->match & MACE_PATH_MATCH_KEY) && ev->key)
		e = find_by_content_key(c, d, k, ev);
	if (e == NIL) {
		count_ev(c, ev, &c->cnt.unmatched);
		return;
	}
	advance(c, e, k, ev);
}

/* ---- reorder ring ---------------------------------------------------------- */

static void release_until(struct mace_correlator *c, __u64 limit)
{
	while (c->rcount) {
		struct mace_event *ev = ring_at(c, 0);

		if (ev->ts > limit)
			break;
		c->released = ev->ts;
		c->rhead = (c->rhead + 1) & (c->rcap - 1);
		c->rcount--;
		process(c, ev);
	}
}

static int ring_grow(struct mace_correlator *c)
{
	__u32 ncap = c->rcap * 2;
	struct mace_event *n = malloc(sizeof(*n) * ncap);

	if (!n)
		return -ENOMEM;
	for (__u32 i = 0; i < c->rcount; i++)
		n[i] = *ring_at(c, i);
	free(c->ring);
	c->ring = n;
	c->rcap = ncap;
	c->rhead = 0;
	return 0;
}

void mace__corr_push(struct mace_correlator *c, const struct mace_event *ev)
{
	bool is_free = mace_event_is_free(ev);
	__u32 mask, i;

	if (ev->tp >= MACE_TP_COUNT || ev->role >= MACE_ROLE_COUNT ||
	    (!c->lut[ev->tp][ev->role] && !is_free))
		return;
	/* a free is no event of the path: it only settles one */
	if (!is_free) {
		c->cnt.events++;
		c->cnt.pending++;
	}
	if (ev->ts < c->released) {
		/* later than the window allows: take it now, matching stays forward */
		process(c, ev);
		return;
	}
	if (c->rcount == c->rcap && (c->rcap >= c->rmax || ring_grow(c)))
		release_until(c, ring_at(c, 0)->ts);	/* full: the oldest go early */
	/* insert keeping the ring sorted; ties keep arrival order */
	mask = c->rcap - 1;
	i = c->rcount;
	while (i && c->ring[(c->rhead + i - 1) & mask].ts > ev->ts) {
		c->ring[(c->rhead + i) & mask] = c->ring[(c->rhead + i - 1) & mask];
		i--;
	}
	c->ring[(c->rhead + i) & mask] = *ev;
	c->rcount++;
	if (ev->ts > c->newest)
		c->newest = ev->ts;
	if (c->newest >= c->o.reorder_ns)
		release_until(c, c->newest - c->o.reorder_ns);
}

void mace__corr_tick(struct mace_correlator *c, __u64 now_ns)
{
	if (now_ns > c->newest)
		c->newest = now_ns;
	if (c->newest >= c->o.reorder_ns)
		release_until(c, c->newest - c->o.reorder_ns);
	/* not past an event still waiting in the ring */
	expire_until(c, c->rcount && ring_at(c, 0)->ts < now_ns ? ring_at(c, 0)->ts : now_ns);
}

void mace__corr_flush(struct mace_correlator *c)
{
	release_until(c, UINT64_MAX);
	while (c->oldest != NIL)
		drop(c, c->oldest, &c->cnt.expired);
}

void mace__corr_point_counts(const struct mace_correlator *c, __u64 fired[2][MACE_MAX_POINTS])
{
	for (int d = 0; d < 2; d++)
		for (int k = 0; k < MACE_MAX_POINTS; k++)
			fired[d][k] += c->fired[d][k];
}

void mace__corr_counters(const struct mace_correlator *c, struct mace_counters *out)
{
	mace__counters_add(out, &c->cnt);	/* its lost and user_drops stay 0 */
}

/* Settled events from the table; pending ones by walking the packets in
 * flight (bounded by max_pending, and only asked for about once a second). */
int mace__corr_netns_counters(const struct mace_correlator *c, __u32 netns,
			      struct mace_counters *out)
{
	struct mace_counters sum = { 0 }, pend = { 0 };

	if (c->ns_full)
		return -ENOSPC;
	if (netns) {
		const struct nscnt *x = ns_get((struct mace_correlator *)c, netns, false);

		if (x)
			sum = x->c;
	} else {
		/* everything no container can claim: the rest of the totals */
		mace__corr_counters(c, &sum);
		for (__u32 i = 0; c->ns && i < NS_SLOTS; i++) {
			/* a container's table holds settled events only;
			 * its pending ones are counted below */
			if (c->ns[i].netns)
				mace__counters_sub(&sum, &c->ns[i].c);
		}
	}
	for (__u32 e = c->oldest; e != NIL; e = c->pend[e].next) {
		const struct pend *p = &c->pend[e];

		if (p->role_netns && (!netns || p->netns == netns))
			pend.pending += p->nevents;
	}
	if (netns) {
		sum.pending = pend.pending;
		sum.events += pend.pending;
	} else {
		/* session pending (ring included) minus the containers' */
		sum.pending -= pend.pending;
		sum.events -= pend.pending;
	}
	out->events += sum.events;
	out->records += sum.records;
	out->matched += sum.matched;
	out->unmatched += sum.unmatched;
	out->expired += sum.expired;
	out->replaced += sum.replaced;
	out->duplicates += sum.duplicates;
	out->pending += sum.pending;
	out->collisions += sum.collisions;
	return 0;
}

static int build_lut(struct mace_correlator *c)
{
	for (int d = 0; d < 2; d++) {
		const struct mace_dirpath *dp = &c->dp[d];

		if (dp->npoints == 1 || dp->npoints > MACE_MAX_POINTS)
			return -EINVAL;
		for (unsigned int k = 0; k < dp->npoints; k++) {
			const struct mace_point *pt = &dp->pt[k];

			if (pt->role >= MACE_ROLE_COUNT || !pt->tp_mask)
				return -EINVAL;
			for (int tp = 1; tp < MACE_TP_COUNT; tp++) {
				if (!(pt->tp_mask & (1u << tp)))
					continue;
				if (c->lut[tp][pt->role])
					return -EINVAL;	/* tp+role twice in the path */
				c->lut[tp][pt->role] = (d << 4 | k) + 1;
				/* alternatives of one point share a kind */
				c->kind[d][k] = mace__tp_info(tp)->kind;
			}
			if (c->kind[d][k] == MACE_TPK_SYS_ENTER && !(k == 0 && d == MACE_EGRESS))
				return -EINVAL;
			if (c->kind[d][k] == MACE_TPK_SYS_EXIT &&
			    !(k == dp->npoints - 1 && d == MACE_INGRESS))
				return -EINVAL;
		}
	}
	return 0;
}

struct mace_correlator *mace__corr_new(const struct mace_corr_opts *opts)
{
	struct mace_correlator *c;
	int err = -EINVAL;

	if (!opts || !opts->path) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->o = *opts;
	if (!c->o.max_pending)
		c->o.max_pending = MACE_DEFAULT_MAX_PENDING;
	if (!c->o.expire_ns)
		c->o.expire_ns = MACE_DEFAULT_EXPIRE_NS;
	if (!c->o.reorder_ns)
		c->o.reorder_ns = 1000000ULL;
	memcpy(c->dp, opts->path->dir, sizeof(c->dp));
	if (build_lut(c)) {
		mace_err("correlator: path '%s' has an invalid point list", opts->path->name);
		goto fail;
	}
	err = -ENOMEM;
	c->pend = malloc(sizeof(*c->pend) * c->o.max_pending);
	c->rcap = 1024;
	c->rmax = 1024;
	while (c->rmax < 4 * c->o.max_pending && c->rmax < (1u << 20))
		c->rmax <<= 1;
	c->ring = malloc(sizeof(*c->ring) * c->rcap);
	if (!c->pend || !c->ring || idx_init(&c->skb_idx[0], c->o.max_pending) ||
	    idx_init(&c->skb_idx[1], c->o.max_pending) ||
	    idx_init(&c->key_idx[0], c->o.max_pending) ||
	    idx_init(&c->key_idx[1], c->o.max_pending) || idx_init(&c->tid_idx, c->o.max_pending))
		goto fail;
	for (__u32 i = 0; i < c->o.max_pending; i++)
		c->pend[i].next = i + 1 < c->o.max_pending ? i + 1 : NIL;
	c->free_head = 0;
	c->oldest = c->youngest = NIL;
	return c;
fail:
	mace__corr_free(c);
	errno = -err;
	return NULL;
}

void mace__corr_free(struct mace_correlator *c)
{
	if (!c)
		return;
	free(c->pend);
	free(c->ring);
	for (int d = 0; d < 2; d++) {
		free(c->skb_idx[d].s);
		free(c->key_idx[d].s);
	}
	free(c->tid_idx.s);
	free(c->ns);
	free(c);
}
