/* SPDX-License-Identifier: MIT */
/*
 * Structures shared by the BPF programs (mace.bpf.c) and user space: the
 * layouts both sides read and write.  The code both run is beside it: the
 * packet parser and content key in mace_parse.h, the histogram buckets in
 * mace_hist_buckets.h.  Plain fixed-width types only: included after
 * vmlinux.h (BPF) and <linux/types.h> (user space).
 */
#ifndef MACE_SHARED_H
#define MACE_SHARED_H

#include "mace_hist_buckets.h"	/* MACE_BPF_HIST_BUCKETS */
#include "mace_tracepoints.h"	/* MACE_TRACEPOINTS */

/* Tracepoints a path may name (see mace_tracepoints.h).  Order is ABI: it is
 * stored in raw-event files. */
enum mace_tp {
	MACE_TP_NONE = 0,
#define MACE_TP_ENUM(ID, name, system, kind, side, args) MACE_TP_##ID,
	MACE_TRACEPOINTS(MACE_TP_ENUM)
#undef MACE_TP_ENUM
	MACE_TP_COUNT
};

/* Device roles.  Order is ABI (raw-event files). */
enum mace_role {
	MACE_ROLE_NONE = 0,
	MACE_ROLE_CONTAINER,	/* container-side veth, in the container netns;
				 * for syscall points: a task in that netns */
	MACE_ROLE_HOST_VETH,	/* its peer, in the host netns */
	MACE_ROLE_BRIDGE,
	MACE_ROLE_TUNNEL,	/* vxlan */
	MACE_ROLE_TUN,		/* tun/tap of a userspace encapsulator */
	MACE_ROLE_OUTER,	/* the host's physical NIC */
	MACE_ROLE_COUNT
};

/*
 * One normalized trace event.  Both backends produce these; the correlator
 * and raw-event files consume them.  96 bytes, no padding holes.
 */
struct mace_event {
	__u64 ts;		/* CLOCK_MONOTONIC ns */
	__u64 skb;		/* skb address; 0 for syscall points */
	__u64 key;		/* content key (hash of rewrite-proof header fields); 0 = none */
	__u32 netns;		/* netns inode of the device, or of the task for syscalls */
	__u32 ifindex;		/* 0 for syscall points */
	__u32 tid;		/* task (thread) id at the event */
	__u32 len;		/* skb->len, or the syscall's byte count */
	__u32 seq;		/* ICMP echo seq / TCP seq */
	__u16 cpu;
	__u16 id;		/* ICMP echo id */
	__u16 sport, dport;	/* UDP/TCP ports, host order */
	__u8 tp;		/* enum mace_tp */
	__u8 role;		/* enum mace_role */
	__u8 proto;		/* IPPROTO_* of the (inner) packet */
	__u8 family;		/* AF_INET (2) / AF_INET6 (10) / 0 */
	__u8 src[16], dst[16];	/* IPv4 in the first 4 bytes */
	__u32 reserved[2];	/* zero */
};

/* ---- BPF backend only: kernel correlation -------------------------------- */

/* Same as MACE_MAX_POINTS (mace.h is not visible to BPF programs). */
#define MACE_BPF_MAX_POINTS 8
/* pt_idx[][][] value for "this (tracepoint, role) is no point of that direction". */
#define MACE_BPF_NO_POINT 0xff

/* Key of the bound-device map: a device is (netns inode, ifindex). */
struct mace_bpf_dev_key {
	__u32 netns;
	__u32 ifindex;
};
struct mace_bpf_dev_val {
	__u32 container_netns;	/* 0 for shared devices (outer) */
	__u8 role;		/* enum mace_role */
	__u8 flags;		/* MACE_BPF_DEV_* (devtab, first way of a set only) */
	__u16 slot;		/* histogram slot of container_netns (aggregating); 0: none */
};

/*
 * Set-associative device table, indexed by ifindex: most events are on
 * devices we do not trace and stop at an empty way, and a bound one is found
 * without hashing.  ifindexes are per netns (every container's veth may be
 * ifindex 2), so a set holds up to MACE_BPF_DEVTAB_WAYS devices of its
 * ifindexes; the devices past that are only in the devs hash map, which the
 * OVERFLOW flag of the set's first way sends a lookup to.
 */
#define MACE_BPF_DEVTAB_SETS 1024
#define MACE_BPF_DEVTAB_WAYS 4
#define MACE_BPF_DEV_OVERFLOW 1	/* the set is full: look in the hash map too */
struct mace_bpf_devway {
	__u32 ifindex;		/* 0: free, and so are the later ways */
	__u32 netns;
	struct mace_bpf_dev_val v;
};
struct mace_bpf_devset {
	struct mace_bpf_devway way[MACE_BPF_DEVTAB_WAYS];
};

/*
 * One packet in one direction.  Held in a slot of the pending table while in
 * flight, and the ring-buffer item when its end point is reached in
 * kernel correlation.
 *
 * Point i > 0 is at ts0 + dt[i] ns, 0 = not seen: 32-bit offsets keep the
 * record at 104 bytes, 24 less than absolute times in each of its two copies
 * per packet (table slot, ring item).  They span 4.29 s, so kernel
 * correlation needs expire_ns of at most MACE_BPF_MAX_SPAN_NS; an event later
 * than that after its start is not recorded (counted as unmatched).
 */
#define MACE_BPF_MAX_SPAN_NS 4000000000ULL
struct mace_bpf_record {
	__u64 ts0;		/* point 0, CLOCK_MONOTONIC ns */
	__u32 dt[MACE_BPF_MAX_POINTS];	/* point i: ns after ts0; dt[0] unused */
	__u32 netns;		/* container netns inode, 0 until a container device is seen */
	__u32 len;		/* skb->len at the start point */
	__u32 seq;
	__u16 id, sport, dport;
	__u16 cpu_start, cpu_end;
	__u16 slot;		/* histogram slot of netns (aggregating), 0 until known */
	__u8 dir;		/* enum mace_dir */
	__u8 npoints;
	__u8 next;		/* index of the next point expected; 0: done */
	__u8 first_tp;		/* start alternative that opened the entry */
	__u8 nev;		/* events held by this entry */
	__u8 proto, family;
	__u8 src[16], dst[16];
	__u8 freed;		/* the skb was freed while the entry was pending */
};

/*
 * The pending table: an array of sets of MACE_BPF_PEND_WAYS slots, the set
 * chosen by bits of the skb's address; no hashing of keys, no allocation.  A
 * slot's owner is the packet's full skb address (as an offset from a fixed
 * one: the verifier's terms), so an event only ever meets its own packet's
 * entry.  An entry is pending, or done (next == 0, nev == 0: it holds no
 * event) and kept a short while for its skb address, which soon starts
 * another packet.  Ownership changes by compare-and-swap on owner, which
 * holds MACE_BPF_PEND_BUSY while the claimer writes the slot: a start claims
 * a free slot, a done one past its keep, or a pending one past the expiry
 * (its events expire); user space's sweep expires pending ones too.  In the
 * first half of its keep an entry is changed in place, by the events of its
 * own skb only.  A start that finds every way kept for another packet is
 * dropped: counted in collisions and as expired.  A free of the skb marks a
 * pending entry freed: its packet left the path (a frame that ended at the
 * host), and the next event with its address, a new packet's, retires it
 * (its events expire) instead of carrying it on.
 */
#define MACE_BPF_PEND_WAYS 2
#define MACE_BPF_PEND_BUSY 1ULL	/* the addresses are 8-aligned: bit 0 is free */
struct mace_bpf_pend_set {
	/* Way w's packet (skb address), | MACE_BPF_PEND_BUSY while claimed; 0: free.
	 * Together, so a lookup or the sweep reads one cache line. */
	__u64 owner[MACE_BPF_PEND_WAYS];
	struct mace_bpf_record r[MACE_BPF_PEND_WAYS];
};

/* The set of packet a among mask + 1 (a power of two): skb heads are slab
 * objects, whose low bits repeat; a multiply mixes the high ones in. */
static inline __u32 mace_bpf_pend_set_of(__u64 a, __u32 mask)
{
	return (__u32)((a * 0x9e3779b97f4a7c15ULL) >> 32) & mask;
}

/*
 * Per-CPU counters kept by the programs; user space sums the CPUs.  Kept as
 * signed deltas where an entry moves between states on different CPUs
 * (pending), so only the sum is meaningful.
 */
struct mace_bpf_counters {
	__u64 events;		/* filtered events at a path point */
	__u64 records;		/* records submitted */
	__u64 matched;
	__u64 unmatched;
	__u64 replaced;
	__u64 duplicates;
	__u64 pending;		/* sum over CPUs = events held in the pending map */
	__u64 expired;		/* starts dropped at once or old entries taken over (the
				 * sweep counts the rest in user space) */
	__u64 collisions;	/* starts dropped: every way of their set kept for another packet */
	__u64 lost;		/* ring buffer reservations that failed */
	__u64 since_wake;	/* items submitted since the last forced wakeup (not a count) */
	__u64 outside;		/* records left out of the histograms by the window */
	/* packets seen at each path point (dir, index): starts, and events
	 * that moved a pending packet on */
	__u64 fired[2][MACE_BPF_MAX_POINTS];
};

/*
 * Aggregating mode: a histogram per (slot, direction) instead of a record
 * per packet, for callers that only want latency distributions (mace top,
 * mace stat).  The buckets are struct mace_hist's (lib/stats.c) below 2^32
 * ns, which is all a record can span: 128 exact ones, then every power of
 * two from 2^7 to 2^31 split into 128.  Per CPU and cumulative: user space
 * reads the differences, so it never has to reset what a program writes.
 */
struct mace_bpf_hist {
	__u64 sum;		/* of the latencies, ns */
	__u64 sumsq_lo, sumsq_hi; /* of their squares, 128 bits */
	__u32 min, max;		/* 0: none yet (latencies are at least 1 ns) */
	__u32 b[MACE_BPF_HIST_BUCKETS];	/* counts; they wrap, differences do not */
};

#endif /* MACE_SHARED_H */
