// SPDX-License-Identifier: GPL-2.0
/*
 * mace.bpf.c - kernel side of the eBPF backend.
 *
 * One program per tracepoint a path may name; user space loads only those the
 * path uses.  Every program filters first on (netns, ifindex) of the skb's
 * device (syscall programs: the task's netns), then either emits a struct
 * mace_event (user-space correlation) or, with kernel correlation, follows
 * the packet by skb address through the path's points and emits one record
 * at its end (aggregating: adds its latency to a histogram instead); two
 * more programs, on skb frees, tell it when a packet left the path.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

/* Offsets into the scratch copy, bounded for the verifier (they are below
 * MACE_PARSE_MAX once the parser's length checks passed). */
#define MACE_PARSE_OFF(off) ((off) & 0xff)
#include "mace_shared.h"
#include "mace_parse.h"

char LICENSE[] SEC("license") = "GPL";

/* ---- read-only configuration, set by user space between open and load ---- */

/* Point index + 1 of (tracepoint, role) in each direction; 0: not a point. */
const volatile __u8 pt_idx[MACE_TP_COUNT][MACE_ROLE_COUNT][2];
const volatile __u8 npoints[2];
const volatile bool kernel_corr;
/* Kernel correlation into histograms (struct mace_bpf_hist), no records. */
const volatile bool kernel_agg;
/* Wake user space after this many items per CPU; below, the timer drains. */
const volatile __u32 wake_items = 2048;

/* User space expires pending entries older than this (see kept()). */
const volatile __u64 expire_ns = 1000000000;
/* Sets in the pending table, minus one (a power of two minus one). */
const volatile __u32 pend_mask = 0;

/* Bound devices by ifindex (see struct mace_bpf_devset), filled by user space. */
struct mace_bpf_devset devtab[MACE_BPF_DEVTAB_SETS];

/* Aggregating: only packets that started in [win_lo, win_hi) go into the
 * histograms (a session replacing another takes over at a cut time). */
__u64 win_lo, win_hi;

/* ---- maps ------------------------------------------------------------------ */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct mace_bpf_dev_key);
	__type(value, struct mace_bpf_dev_val);
} devs SEC(".maps");

/* Container netns inodes, for syscall points. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u8);
} ctr_netns SEC(".maps");

/* Packets in flight (see struct mace_bpf_pend_set); mapped by user space,
 * whose sweep expires old entries. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, 1U << 10);	/* BPF_F_MMAPABLE (not in vmlinux.h) */
	__uint(max_entries, 1);		/* pend_mask + 1 */
	__type(key, __u32);
	__type(value, struct mace_bpf_pend_set);
} pending SEC(".maps");

/* Aggregating: slot * 2 + direction; sized by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct mace_bpf_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);	/* cfg->buffer_kb */
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mace_bpf_counters);
} counters SEC(".maps");

/*
 * The first MACE_PARSE_MAX bytes of the packet, copied with one helper call
 * and parsed from there.  Sized for the largest masked offset (0xff) plus the
 * largest access at it (40 bytes of IPv6 header).
 */
struct scratch {
	__u8 b[256 + 64];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

static __always_inline struct mace_bpf_counters *ctrs(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&counters, &zero);
}

/* No wakeup per item: user space drains on a timer.  Wake it early every
 * wake_items items per CPU (a quarter of the ring over all CPUs), so a burst
 * cannot overflow it between two timer ticks; counting is cheaper than
 * asking the ring how full it is on every submit. */
static __always_inline void submit(void *item, struct mace_bpf_counters *c)
{
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (++c->since_wake >= wake_items) {
		c->since_wake = 0;
		flags = BPF_RB_FORCE_WAKEUP;
	}
	bpf_ringbuf_submit(item, flags);
}

/* Bytes read first: IPv6 + TCP, or IPv6 + UDP + the 16 payload bytes of a
 * content key.  Only a VXLAN packet needs the rest, up to MACE_PARSE_MAX. */
#define MACE_PARSE_FIRST 64

/* Whether the packet in b (at least MACE_PARSE_FIRST bytes) is UDP to the
 * VXLAN port, whose inner headers lie past the first read. */
static __always_inline bool maybe_vxlan(const __u8 *b)
{
	__u32 l4;

	if (b[0] >> 4 == 4) {
		if (b[9] != 17)
			return false;
		l4 = (b[0] & 0xf) * 4;	/* at most 60: the port is within the first read */
	} else if (b[0] >> 4 == 6) {
		if (b[6] != 17)
			return false;
		l4 = 40;
	} else {
		return false;
	}
	return mace_be16(b + (l4 & 0x3f) + 2) == MACE_VXLAN_PORT;
}

/* Parses the packet headers of skb, from its network header. */
static __always_inline void parse_skb(struct sk_buff *skb, struct mace_flow *f)
{
	/* tp_btf: direct (BTF-checked) loads, no helper calls. */
	__u64 head = (__u64)skb->head;
	__u16 nh = skb->network_header;
	__u32 tail = skb->tail;
	struct scratch *s;
	__u32 zero = 0;
	__u64 p, n, first;

	/* Receive tracepoints may fire before the stack resets the network
	 * header; eth_type_trans() has then left data at the IP header. */
	if (nh == (__u16)~0U || nh >= tail)
		p = (__u64)skb->data;
	else
		p = head + nh;
	if (p >= head + tail)
		return;
	n = head + tail - p;
	if (n > MACE_PARSE_MAX)
		n = MACE_PARSE_MAX;
	first = n < MACE_PARSE_FIRST ? n : MACE_PARSE_FIRST;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s || bpf_probe_read_kernel(s->b, first, (const void *)p))
		return;
	if (n > MACE_PARSE_FIRST && maybe_vxlan(s->b)) {
		/* The mask, a no-op below MACE_PARSE_MAX, bounds it for the verifier. */
		__u32 rest = (n - MACE_PARSE_FIRST) & 0xff;

		if (bpf_probe_read_kernel(s->b + MACE_PARSE_FIRST, rest,
					  (const void *)(p + MACE_PARSE_FIRST)))
			return;
		first = n;
	}
	mace_parse(s->b, first, f, !kernel_corr);
}

static __always_inline void copy_flow(struct mace_bpf_record *r, const struct mace_flow *f)
{
	r->seq = f->seq;
	r->id = f->id;
	r->sport = f->sport;
	r->dport = f->dport;
	r->proto = f->proto;
	r->family = f->family;
	__builtin_memcpy(r->src, f->src, 16);
	__builtin_memcpy(r->dst, f->dst, 16);
}

/* The headers of skb at this event; none when it is gone (freed). */
static __always_inline void flow_of(struct sk_buff *skb, bool gone, struct mace_flow *f)
{
	if (!gone)
		parse_skb(skb, f);
}

static __always_inline int emit_event(struct sk_buff *skb, __u32 netns, __u32 ifindex, __u8 role,
				    __u8 tp, __u32 len, bool gone, struct mace_bpf_counters *c)
{
	struct mace_event *ev = bpf_ringbuf_reserve(&ring, sizeof(*ev), 0);
	struct mace_flow f = {};

	if (!ev) {
		c->lost++;
		return 0;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts = bpf_ktime_get_ns();
	ev->skb = (__u64)skb;
	ev->netns = netns;
	ev->ifindex = ifindex;
	ev->tid = (__u32)bpf_get_current_pid_tgid();
	ev->len = len;
	ev->cpu = bpf_get_smp_processor_id();
	ev->tp = tp;
	ev->role = role;
	flow_of(skb, gone, &f);
	ev->key = f.key;
	ev->seq = f.seq;
	ev->id = f.id;
	ev->sport = f.sport;
	ev->dport = f.dport;
	ev->proto = f.proto;
	ev->family = f.family;
	__builtin_memcpy(ev->src, f.src, 16);
	__builtin_memcpy(ev->dst, f.dst, 16);
	submit(ev, c);
	return 0;
}

/* A done entry is kept for its skb address this long after its start, then
 * any start may claim it: hot addresses come back well within it. */
#define DONE_KEEP_NS 2000000ULL

/* Whether no other packet's start (nor user space's sweep, which expires
 * pending entries past expire_ns) may claim the entry e now. */
static __always_inline bool kept(const struct mace_bpf_record *e, __u64 now)
{
	return now - e->ts0 < (e->next ? expire_ns : DONE_KEEP_NS);
}

/* Whether e's own packet's events may change it in place, without a claim:
 * in the first half of its keep, a margin no program run comes near. */
static __always_inline bool own(const struct mace_bpf_record *e, __u64 now)
{
	return now - e->ts0 < (e->next ? expire_ns : DONE_KEEP_NS) / 2;
}

/* Takes the slot of owner word o from owner from (0: free) for skb, marked
 * busy; false if it changed hands meanwhile. */
static __always_inline bool claim(__u64 *o, __u64 from, __u64 skb)
{
	return __sync_val_compare_and_swap(o, from, skb | MACE_BPF_PEND_BUSY) == from;
}

/* Ends a claim by skb, handing the slot to owner to (skb, or 0: free), so
 * that whoever sees the new owner sees what was written before. */
static __always_inline void unclaim(__u64 *o, __u64 skb, __u64 to)
{
#ifdef __TARGET_ARCH_x86
	/* x86 keeps stores in order: a plain store, after the compiler's. */
	asm volatile("" ::: "memory");
	*(volatile __u64 *)o = to;
#else
	__sync_val_compare_and_swap(o, skb | MACE_BPF_PEND_BUSY, to);
#endif
}

/* Writes r as a new entry at point 0 of direction dir, of the packet f. */
static __always_inline void fill_start(struct mace_bpf_record *r, const struct mace_flow *f,
				       __u8 dir, __u8 tp, const struct mace_bpf_dev_val *dv,
				       __u32 len, __u64 now)
{
	__builtin_memset(r, 0, sizeof(*r));
	r->ts0 = now;
	r->netns = dv->container_netns;
	r->slot = dv->slot;
	r->len = len;
	r->cpu_start = bpf_get_smp_processor_id();
	r->dir = dir;
	r->npoints = npoints[dir & 1];
	r->next = 1;
	r->first_tp = tp;
	r->nev = 1;
	if (!kernel_agg)	/* a histogram keeps no headers */
		copy_flow(r, f);
}

/*
 * Opens an entry for skb at point 0 of direction dir.  w: the way of set s
 * holding skb's entry, done or superseded by this start (in this direction:
 * a recycled skb; in the other: a reply in it), or -1; else a free way, or
 * one past its keep (a pending one's events expire).  None: the start is
 * dropped.
 */
static __always_inline void start(struct sk_buff *skb, __u64 key, struct mace_bpf_pend_set *s,
				  int w, __u8 dir, __u8 tp, const struct mace_bpf_dev_val *dv,
				  __u32 len, bool gone, __u64 now, struct mace_bpf_counters *c)
{
	struct mace_bpf_record *e;
	struct mace_flow f = {};
	__u64 o;
	__u8 nev;

	/* A histogram needs no headers: no copy, no parse. */
	if (!kernel_agg)
		flow_of(skb, gone, &f);
	if (w >= 0) {
		w &= MACE_BPF_PEND_WAYS - 1;
		e = &s->r[w];
		if (own(e, now)) {
			c->replaced += e->nev;
			c->pending -= e->nev;
			fill_start(e, &f, dir, tp, dv, len, now);
			c->pending++;
			return;
		}
		if (claim(&s->owner[w], key, key)) {
			c->replaced += e->nev;
			c->pending -= e->nev;
			goto fill;
		}
		/* (Lost to the sweep, which counts its events as expired.) */
	}
	for (w = 0; w < MACE_BPF_PEND_WAYS; w++) {
		e = &s->r[w];
		o = s->owner[w];
		if (o & MACE_BPF_PEND_BUSY || (o && kept(e, now)) || !claim(&s->owner[w], o, key))
			continue;
		if (o) {
			/* Claimed from another packet: its events (if pending) expire. */
			nev = e->nev;
			c->expired += nev;
			c->pending -= nev;
		}
		goto fill;
	}
	/* Every way kept for another packet: dropped, evicted at once. */
	c->collisions++;
	c->expired++;
	return;
fill:
	w &= MACE_BPF_PEND_WAYS - 1;
	fill_start(&s->r[w], &f, dir, tp, dv, len, now);
	c->pending++;
	unclaim(&s->owner[w], key, key);
}

/* The latency lat of a packet that started at ts0 into the histogram of its
 * (slot, dir) (aggregating); false if there is none. */
static __always_inline bool aggregate(__u64 ts0, __u16 slot, __u8 dir, __u32 lat,
				      struct mace_bpf_counters *c)
{
	__u32 idx = (__u32)slot * 2 + (dir & 1);
	struct mace_bpf_hist *h;
	__u64 sq, i;

	if (ts0 < win_lo || ts0 >= win_hi) {
		c->outside++;
		return true;
	}
	h = bpf_map_lookup_elem(&hists, &idx);
	i = mace_bpf_hist_bucket(lat);
	if (!h || i >= MACE_BPF_HIST_BUCKETS)
		return false;	/* no slot: user space sized the map for every one */
	h->sum += lat;
	sq = (__u64)lat * lat;
	h->sumsq_lo += sq;
	if (h->sumsq_lo < sq)
		h->sumsq_hi++;
	if (!h->min || lat < h->min)
		h->min = lat;
	if (lat > h->max)
		h->max = lat;
	barrier_var(i);	/* index with the register the check bounded */
	h->b[i]++;
	return true;
}

/* Point i > 0 of skb's live entry e, owner word o: its end point emits the
 * record (or, aggregating, adds its latency to a histogram). */
static __always_inline void advance(__u64 key, __u64 *o, struct mace_bpf_record *e, __u8 i,
				    const struct mace_bpf_dev_val *dv, __u64 now,
				    struct mace_bpf_counters *c)
{
	struct mace_bpf_record *r;
	__u64 dt = now - e->ts0;
	bool held = false;
	__u64 ts0;
	__u16 slot;
	__u8 n, dir;

	if (i < e->next) {
		/* An alternative of a point already passed. */
		c->duplicates++;
		return;
	}
	/* An old entry may be the sweep's or another start's any moment: claimed
	 * first.  Lost: its events (not this one) are counted there. */
	if (!own(e, now)) {
		if (!claim(o, key, key)) {
			c->unmatched++;
			return;
		}
		held = true;
	}
	if (dt > 0xffffffffULL) {
		/* Past what the record can hold (user space expires the entry
		 * before, unless it is stalled). */
		c->unmatched++;
		if (held)
			unclaim(o, key, key);
		return;
	}
	e->dt[i & (MACE_BPF_MAX_POINTS - 1)] = dt ? dt : 1;	/* 0 means not seen */
	c->fired[e->dir & 1][i & (MACE_BPF_MAX_POINTS - 1)]++;
	e->next = i + 1;
	e->nev++;
	if (!e->netns) {
		e->netns = dv->container_netns;
		e->slot = dv->slot;
	}
	n = e->npoints;
	if (i + 1 < n) {
		c->pending++;
		if (held)
			unclaim(o, key, key);
		return;
	}
	/* End point: copy out, then mark the entry done. */
	r = NULL;
	if (!kernel_agg) {
		r = bpf_ringbuf_reserve(&ring, sizeof(*r), 0);
		if (r) {
			__builtin_memcpy(r, e, sizeof(*r));
			r->cpu_end = bpf_get_smp_processor_id();
		}
	}
	ts0 = e->ts0;
	slot = e->slot;
	dir = e->dir;
	n = e->nev;
	/* Done: it holds no event, and stays this skb's for a while, to be
	 * written over in place when the address starts again (it soon does):
	 * no claim per packet.  next last: from then on another start may
	 * claim it. */
	e->nev = 0;
	asm volatile("" ::: "memory");
	e->next = 0;
	if (held)
		unclaim(o, key, key);
	c->pending -= n - 1;
	c->matched += n;
	if (kernel_agg ? !aggregate(ts0, slot, dir, (__u32)dt, c) : !r) {
		c->lost++;
		return;
	}
	c->records++;
	if (r)
		submit(r, c);
}

/*
 * The skb's identity in the pending table: its address as a number the
 * verifier lets us hash (it refuses arithmetic on the pointer, but a pointer
 * minus another is a number to tracing programs, which may see addresses).
 * Any fixed, 8-aligned base keeps identity and leaves bit 0 clear.
 */
static __always_inline __u64 skb_id(struct sk_buff *skb)
{
	return (__u64)skb - (__u64)&win_lo;
}

/* The way of set s holding skb's live entry, or -1. */
static __always_inline int way_of(const struct mace_bpf_pend_set *s, __u64 key)
{
	for (int w = 0; w < MACE_BPF_PEND_WAYS; w++)
		if (s->owner[w] == key)
			return w;
	return -1;
}

/*
 * Ends the pending entry e, owner word o, of a packet whose skb was freed:
 * the event at hand is another packet's, given the same address.  The freed
 * packet's events expire.  False if the entry was lost to the sweep (which
 * counts them) or another claim meanwhile.
 */
static __always_inline bool retire(__u64 key, __u64 *o, struct mace_bpf_record *e, __u64 now,
				   struct mace_bpf_counters *c)
{
	bool held = !own(e, now);
	__u8 n;

	if (held && !claim(o, key, key))
		return false;
	n = e->nev;
	c->expired += n;
	c->pending -= n;
	e->nev = 0;
	asm volatile("" ::: "memory");
	e->next = 0;
	if (held)
		unclaim(o, key, key);
	return true;
}

/* Kernel correlation: one event at (tp, role) of skb. */
static __always_inline void correlate(struct sk_buff *skb, __u8 tp,
				      const struct mace_bpf_dev_val *dv, __u32 len, bool gone,
				      struct mace_bpf_counters *c)
{
	__u8 role = dv->role;
	__u8 i0 = pt_idx[tp][role][0], i1 = pt_idx[tp][role][1];
	__u64 key = skb_id(skb), now = bpf_ktime_get_ns();
	__u32 set = mace_bpf_pend_set_of(key, pend_mask);
	struct mace_bpf_pend_set *s;
	struct mace_bpf_record *e;
	__u8 i, dir;
	int w;

	c->events++;
	s = bpf_map_lookup_elem(&pending, &set);
	if (!s) {
		c->unmatched++;	/* (the table has every set) */
		return;
	}
	w = way_of(s, key);
	e = w >= 0 ? &s->r[w & (MACE_BPF_PEND_WAYS - 1)] : NULL;
	if (e && e->next && e->freed &&
	    !retire(key, &s->owner[w & (MACE_BPF_PEND_WAYS - 1)], e, now, c)) {
		c->unmatched++;
		return;
	}
	if (e && e->next && (e->dir ? i1 : i0)) {
		i = (e->dir ? i1 : i0) - 1;
		if (i > 0) {
			advance(key, &s->owner[w & (MACE_BPF_PEND_WAYS - 1)], e, i, dv, now, c);
			return;
		}
		/* Another start alternative while nothing else was seen: the
		 * first one wins.  Same start again, or a start after the packet
		 * moved on: a new packet in a recycled skb. */
		if (tp != e->first_tp && e->next == 1) {
			c->duplicates++;
			return;
		}
		dir = e->dir;
	} else if (i0 == 1 || i1 == 1) {
		dir = i0 == 1 ? 0 : 1;
	} else {
		c->unmatched++;
		return;
	}
	c->fired[dir & 1][0]++;	/* per point: user space names one that never fires */
	start(skb, key, s, e ? w : -1, dir, tp, dv, len, gone, now, c);
}

/*
 * The bound device dev is, into dk/dv; false if none.  The set-associative
 * table first (no hashing, and most events stop at its first, empty way),
 * the hash map only for a device of a full set.  The device's netns is read
 * only once its ifindex matched.
 */
static __always_inline bool bound(struct net_device *dev, struct mace_bpf_dev_key *dk,
				  struct mace_bpf_dev_val *dv)
{
	struct mace_bpf_devset *set;
	struct mace_bpf_dev_val *v;
	__u32 ifindex;

	if (!dev)
		return false;
	ifindex = dev->ifindex;
	dk->ifindex = ifindex;
	dk->netns = 0;
	set = &devtab[ifindex & (MACE_BPF_DEVTAB_SETS - 1)];
	for (int w = 0; w < MACE_BPF_DEVTAB_WAYS; w++) {
		struct mace_bpf_devway *way = &set->way[w];

		if (!way->ifindex)
			return false;
		if (way->ifindex != ifindex)
			continue;
		if (!dk->netns)
			dk->netns = dev->nd_net.net->ns.inum;
		if (way->netns == dk->netns) {
			*dv = way->v;
			return true;
		}
	}
	if (!(set->way[0].v.flags & MACE_BPF_DEV_OVERFLOW))
		return false;
	if (!dk->netns)
		dk->netns = dev->nd_net.net->ns.inum;
	v = bpf_map_lookup_elem(&devs, dk);
	if (!v)
		return false;
	*dv = *v;
	return true;
}

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

/*
 * Only IP packets are measured.  An ARP (or other non-IP frame) can reuse the
 * address of an skb still pending after its packet left the path (a reply
 * for another container, seen at the shared outer device) and would carry
 * that stale entry on.  A gone skb cannot tell: it is measured, headerless.
 */
static __always_inline bool not_ip(struct sk_buff *skb, bool gone)
{
	__u16 proto;

	if (gone)
		return false;
	proto = skb->protocol;
	return proto != bpf_htons(ETH_P_IP) && proto != bpf_htons(ETH_P_IPV6);
}

/*
 * An event at (tp, the role of bound device dk/dv).  gone: the skb was freed
 * before this event (net_dev_xmit after a driver dropped it): only its
 * address is used.
 */
static __always_inline int handle_dev(struct sk_buff *skb, const struct mace_bpf_dev_key *dk,
				      const struct mace_bpf_dev_val *dv, __u32 len, bool gone,
				      __u8 tp)
{
	struct mace_bpf_counters *c;
	__u8 role = dv->role;

	if (role >= MACE_ROLE_COUNT || tp >= MACE_TP_COUNT)
		return 0;
	if (!pt_idx[tp][role][0] && !pt_idx[tp][role][1])
		return 0;	/* a bound device, but not a point of this tracepoint */
	if (not_ip(skb, gone))
		return 0;
	c = ctrs();
	if (!c)
		return 0;
	if (!kernel_corr) {
		c->events++;
		return emit_event(skb, dk->netns, dk->ifindex, role, tp, len, gone, c);
	}
	correlate(skb, tp, dv, len, gone, c);
	return 0;
}

/* tp_btf programs read the skb and device with direct loads (no helpers).
 * dev: the device of the event (net_dev_xmit's own argument). */
static __always_inline int handle_skb(struct sk_buff *skb, struct net_device *dev, __u32 len,
				      bool gone, __u8 tp)
{
	struct mace_bpf_dev_key dk;
	struct mace_bpf_dev_val dv;

	return bound(dev, &dk, &dv) ? handle_dev(skb, &dk, &dv, len, gone, tp) : 0;
}

static __always_inline int skb_tp(struct sk_buff *skb, __u8 tp)
{
	return handle_skb(skb, skb->dev, skb->len, false, tp);
}

/*
 * The packet programs, one shape per argument layout (the args column of
 * mace_tracepoints.h).  tp_btf context: the tracepoint arguments as u64s;
 * the skb is always first.
 */
#define PROG_skb(ID, name, system)						\
	SEC("tp_btf/" #name)							\
	int MACE_TP_PROG(name)(__u64 *ctx)					\
	{									\
		return skb_tp((struct sk_buff *)ctx[0], MACE_TP_##ID);		\
	}

/* (skb, dev): net_dev_start_xmit. */
#define PROG_skb_dev(ID, name, system)						\
	SEC("tp_btf/" #name)							\
	int MACE_TP_PROG(name)(__u64 *ctx)					\
	{									\
		struct sk_buff *skb = (struct sk_buff *)ctx[0];			\
										\
		return handle_skb(skb, (struct net_device *)ctx[1], skb->len,	\
				  false, MACE_TP_##ID);				\
	}

/*
 * (skb, rc, dev, skb_len): net_dev_xmit.  The driver has taken the skb, but
 * softirqs stay off until the transmit returns, so what it queued on this
 * CPU (veth's backlog, a bridge port's transmit) has not run yet: the skb is
 * intact unless the driver dropped it, which leaves it without users.  A NIC
 * that completes the transmit on another CPU could free it in between; seen
 * freed, it is measured headerless.  Reading the headers here rather than at
 * net_dev_start_xmit keeps a third tracepoint off every packet's path.
 */
#define PROG_skb_rc_dev_len(ID, name, system)					\
	SEC("tp_btf/" #name)							\
	int MACE_TP_PROG(name)(__u64 *ctx)					\
	{									\
		struct sk_buff *skb = (struct sk_buff *)ctx[0];			\
										\
		return handle_skb(skb, (struct net_device *)ctx[2], (__u32)ctx[3], \
				  skb->users.refs.counter == 0, MACE_TP_##ID);	\
	}

/*
 * skb frees (kernel correlation only; no path point).  A packet pending with
 * the freed address left the path: a frame that ended at the host (ARP, ND,
 * multicast, a packet for the host itself) or one dropped.  Its entry is
 * marked, not ended, so that only events of the address decide its end, as
 * for any entry: the one pending right now may still be at a tracepoint on
 * another CPU (net_dev_xmit after a NIC completed the transmit).
 */
static __always_inline int skb_freed(struct sk_buff *skb)
{
	__u64 key = skb_id(skb);
	__u32 set = mace_bpf_pend_set_of(key, pend_mask);
	struct mace_bpf_pend_set *s;
	struct mace_bpf_record *e;
	__u64 *o;
	int w;

	s = bpf_map_lookup_elem(&pending, &set);
	if (!s)
		return 0;
	w = way_of(s, key);
	if (w < 0)
		return 0;
	w &= MACE_BPF_PEND_WAYS - 1;
	e = &s->r[w];
	if (!e->next)
		return 0;	/* done: its packet reached the end */
	if (own(e, bpf_ktime_get_ns())) {
		e->freed = 1;
		return 0;
	}
	o = &s->owner[w];
	if (claim(o, key, key)) {
		e->freed = 1;
		unclaim(o, key, key);
	}
	return 0;
}

SEC("tp_btf/kfree_skb")
int tp_kfree_skb(__u64 *ctx)
{
	return skb_freed((struct sk_buff *)ctx[0]);
}

SEC("tp_btf/consume_skb")
int tp_consume_skb(__u64 *ctx)
{
	return skb_freed((struct sk_buff *)ctx[0]);
}

/* ---- syscall points: a task in a bound container netns ------------------- */

static __always_inline int handle_sys(__u8 tp, __s64 len)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct mace_bpf_counters *c;
	struct mace_event *ev;
	__u32 netns;

	netns = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
	if (!bpf_map_lookup_elem(&ctr_netns, &netns))
		return 0;
	if (!pt_idx[tp][MACE_ROLE_CONTAINER][0] && !pt_idx[tp][MACE_ROLE_CONTAINER][1])
		return 0;
	if (len < 0)
		return 0;	/* a failed call moved no packet */
	c = ctrs();
	if (!c)
		return 0;
	c->events++;
	ev = bpf_ringbuf_reserve(&ring, sizeof(*ev), 0);
	if (!ev) {
		c->lost++;
		return 0;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts = bpf_ktime_get_ns();
	ev->netns = netns;
	ev->tid = (__u32)bpf_get_current_pid_tgid();
	ev->len = len > 0xffffffffLL ? 0xffffffffU : (__u32)len;
	ev->cpu = bpf_get_smp_processor_id();
	ev->tp = tp;
	ev->role = MACE_ROLE_CONTAINER;
	submit(ev, c);
	return 0;
}

/* Send calls: the byte count is an argument (sendto/write: args[2]); the
 * msghdr calls keep it in user memory, so they report 0. */
#define PROG_send_count(ID, name, system)					\
	SEC("tracepoint/" #system "/" #name)					\
	int MACE_TP_PROG(name)(struct trace_event_raw_sys_enter *ctx)		\
	{									\
		return handle_sys(MACE_TP_##ID, (__s64)ctx->args[2]);		\
	}

#define PROG_send(ID, name, system)						\
	SEC("tracepoint/" #system "/" #name)					\
	int MACE_TP_PROG(name)(struct trace_event_raw_sys_enter *ctx)		\
	{									\
		return handle_sys(MACE_TP_##ID, 0);				\
	}

/* Receive calls: the byte count is the return value (negative: failed). */
#define PROG_ret(ID, name, system)						\
	SEC("tracepoint/" #system "/" #name)					\
	int MACE_TP_PROG(name)(struct trace_event_raw_sys_exit *ctx)		\
	{									\
		return handle_sys(MACE_TP_##ID, ctx->ret);			\
	}

/* ---- one program per tracepoint, in the shape of its arguments ---------- */

#define X(ID, name, system, kind, side, args) PROG_##args(ID, name, system)
MACE_TRACEPOINTS(X)
#undef X
