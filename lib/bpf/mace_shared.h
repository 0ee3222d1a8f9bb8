/* SPDX-License-Identifier: MIT */
/*
 * Structures shared by the BPF programs (mace.bpf.c) and user space.
 * Plain fixed-width types only: included from vmlinux.h (BPF) and
 * <linux/types.h> (user space).
 */
#ifndef MACE_SHARED_H
#define MACE_SHARED_H

/* Tracepoints a path may name.  Order is ABI: it is stored in raw-event files. */
enum mace_tp {
	MACE_TP_NONE = 0,
	MACE_TP_NET_DEV_QUEUE,
	MACE_TP_NET_DEV_START_XMIT,
	MACE_TP_NET_DEV_XMIT,
	MACE_TP_NETIF_RECEIVE_SKB,
	MACE_TP_NETIF_RECEIVE_SKB_ENTRY,
	MACE_TP_NETIF_RECEIVE_SKB_LIST_ENTRY,
	MACE_TP_NETIF_RX,
	MACE_TP_NETIF_RX_ENTRY,
	MACE_TP_NAPI_GRO_RECEIVE_ENTRY,
	MACE_TP_NAPI_GRO_FRAGS_ENTRY,
	MACE_TP_SYS_ENTER_SENDTO,
	MACE_TP_SYS_ENTER_SENDMSG,
	MACE_TP_SYS_ENTER_SENDMMSG,
	MACE_TP_SYS_ENTER_WRITE,
	MACE_TP_SYS_EXIT_RECVFROM,
	MACE_TP_SYS_EXIT_RECVMSG,
	MACE_TP_SYS_EXIT_RECVMMSG,
	MACE_TP_SYS_EXIT_READ,
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

/* ---- BPF backend only: kernel-side correlation --------------------------- */

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
 * One packet in one direction.  The value of the pending map (keyed by skb
 * address) while in flight, and the ring-buffer item when its end point is
 * reached in kernel-correlation mode.  A finished entry may stay in the map
 * as done (next == 0, nev == 0, holding no event), to be overwritten in place
 * when its skb address starts again: skb addresses repeat, and that saves
 * an insert and a delete per packet.
 *
 * Point i > 0 is at ts0 + dt[i] ns, 0 = not seen: 32-bit offsets keep the
 * record at 104 bytes, 24 less than absolute times in each of its two copies
 * per packet (map entry, ring item).  They span 4.29 s, so kernel
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
	__u8 pad;
};

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
	__u64 expired;		/* starts dropped because the pending map was full */
	__u64 map_full;		/* same, for the warning */
	__u64 lost;		/* ring buffer reservations that failed */
	__u64 since_wake;	/* items submitted since the last forced wakeup (not a count) */
	__u64 outside;		/* records left out of the histograms by the window */
};

/*
 * Aggregating mode: a histogram per (slot, direction) instead of a record
 * per packet, for callers that only want latency distributions (mace top,
 * mace stat).  The buckets are struct mace_hist's (lib/stats.c) below 2^32
 * ns, which is all a record can span: 128 exact ones, then every power of
 * two from 2^7 to 2^31 split into 128.  Per CPU and cumulative: user space
 * reads the differences, so it never has to reset what a program writes.
 */
#define MACE_BPF_HIST_SUB_BITS 7
#define MACE_BPF_HIST_BUCKETS ((1 << MACE_BPF_HIST_SUB_BITS) * (32 - MACE_BPF_HIST_SUB_BITS + 1))
struct mace_bpf_hist {
	__u64 sum;		/* of the latencies, ns */
	__u64 sumsq_lo, sumsq_hi; /* of their squares, 128 bits */
	__u32 min, max;		/* 0: none yet (latencies are at least 1 ns) */
	__u32 b[MACE_BPF_HIST_BUCKETS];	/* counts; they wrap, differences do not */
};

/* The bucket of v: struct mace_hist's bucket_of() for 32-bit values, written
 * without clz, which BPF lacks. */
static inline __u32 mace_bpf_hist_bucket(__u32 v)
{
	__u32 e = 0, x = v;

	if (v < (1u << MACE_BPF_HIST_SUB_BITS))
		return v;
	if (x >> 16) { e += 16; x >>= 16; }
	if (x >> 8) { e += 8; x >>= 8; }
	if (x >> 4) { e += 4; x >>= 4; }
	if (x >> 2) { e += 2; x >>= 2; }
	if (x >> 1)
		e += 1;
	e -= MACE_BPF_HIST_SUB_BITS;
	return ((e + 1) << MACE_BPF_HIST_SUB_BITS) +
	       ((v >> e) & ((1u << MACE_BPF_HIST_SUB_BITS) - 1));
}

/* ---- content keys: the same function in BPF and in lib/key.c ------------- */

/* BPF calls cannot take more than five arguments: everything inlined. */
#define MACE_INLINE inline __attribute__((always_inline))

/*
 * The fields of a packet that neither NAT nor encapsulation rewrite, in a
 * fixed layout; the content key is a hash over it.  Never addresses, ports,
 * ICMP id (NAT rewrites them) or checksums (they follow the rewrites).
 * 8-aligned: hashed as four 64-bit words.
 */
struct mace_key_input {
	__u8 proto;		/* IPPROTO_ICMP/ICMPV6/UDP/TCP */
	__u8 kind;		/* ICMP type, TCP flags */
	__u16 pad;
	__u32 seq;		/* ICMP echo seq, TCP seq */
	__u32 ack;		/* TCP ack */
	__u32 plen;		/* UDP/TCP payload length */
	__u8 payload[16];	/* ICMP: 8 bytes after the header; UDP: 16; zero-filled */
} __attribute__((aligned(8)));

/* Word-at-a-time multiply-xorshift mixing: a handful of instructions per
 * 8 bytes in BPF, where a byte loop costs 32 rounds. */
static MACE_INLINE __u64 mace_key_hash(const struct mace_key_input *in)
{
	__u64 w[4], h = 0x9e3779b97f4a7c15ULL;

	__builtin_memcpy(w, in, sizeof(w));
	for (int i = 0; i < 4; i++) {
		h = (h ^ w[i]) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 32;
	return h ? h : 1;	/* 0 means "no key" */
}

/*
 * The packet parser, shared word for word by the BPF programs and lib/key.c
 * so both compute the same key.  It parses a buffer holding the first bytes
 * of the packet from its IP header (the BPF programs copy it from the skb
 * with one read).  Every access is checked against the buffer length first;
 * the includer may define MACE_PARSE_OFF(off) to bound offsets for the BPF
 * verifier (a no-op on offsets that passed those checks).
 */
#define MACE_VXLAN_PORT 4789
/* Bytes of headers the parser may look at: outer IPv6 (40), UDP, VXLAN,
 * Ethernet (30), inner IPv6 (40), UDP (8) and 16 bytes of payload = 134. */
#define MACE_PARSE_MAX 160

#ifndef MACE_PARSE_OFF
#define MACE_PARSE_OFF(off) (off)
#endif

struct mace_flow {
	__u64 key;		/* 0 if the packet could not be parsed far enough */
	__u32 seq;
	__u16 id, sport, dport;
	__u8 proto, family;	/* IPPROTO_*, AF_INET(6) */
	__u8 src[16], dst[16];
};

static MACE_INLINE __u16 mace_be16(const __u8 *b)
{
	return (__u16)(b[0] << 8 | b[1]);
}

static MACE_INLINE __u32 mace_be32(const __u8 *b)
{
	return (__u32)b[0] << 24 | (__u32)b[1] << 16 | (__u32)b[2] << 8 | b[3];
}

/* Copies min(max, want, len - off) bytes at off; the rest of dst stays zero. */
static MACE_INLINE void mace_parse_payload(__u8 *dst, __u32 max, const __u8 *b, __u32 off,
				      __u32 want, __u32 len)
{
	__u32 n = want < max ? want : max;
	const __u8 *s;

	if (off >= len)
		return;
	if (n > len - off)
		n = len - off;
	s = b + MACE_PARSE_OFF(off);
	for (int i = 0; i < 16; i++)
		if ((__u32)i < n)
			dst[i] = s[i];
}

/*
 * Parses the packet whose IP header is at offset off of b (len bytes).
 * Fills f; its content key only if want_key (kernel-side correlation has no
 * use for it and skips the payload copy and the hash).  Returns the offset
 * of the inner IP header when the packet is VXLAN-encapsulated (the caller
 * parses that instead), else 0.
 */
static MACE_INLINE __u32 mace_parse_ip(const __u8 *b, __u32 off, __u32 len, struct mace_flow *f,
				       bool want_key)
{
	struct mace_key_input k = {};
	const __u8 *h, *l4;
	__u32 hl, plen, ulen, doff;
	__u8 proto;

	if (off >= len || len - off < 20)
		return 0;
	h = b + MACE_PARSE_OFF(off);
	if (h[0] >> 4 == 4) {
		hl = (h[0] & 0xf) * 4;
		plen = mace_be16(h + 2);
		if (hl < 20 || plen < hl)
			return 0;
		plen -= hl;
		proto = h[9];
		f->family = 2;
		__builtin_memcpy(f->src, h + 12, 4);
		__builtin_memcpy(f->dst, h + 16, 4);
		f->proto = proto;
		if (mace_be16(h + 6) & 0x1fff)	/* a later fragment: no L4 header */
			return 0;
	} else if (h[0] >> 4 == 6) {
		if (len - off < 40)
			return 0;
		hl = 40;
		plen = mace_be16(h + 4);
		proto = h[6];	/* extension headers are not followed */
		f->family = 10;
		__builtin_memcpy(f->src, h + 8, 16);
		__builtin_memcpy(f->dst, h + 24, 16);
		f->proto = proto;
	} else {
		return 0;
	}
	off += hl;
	if (off >= len)
		return 0;
	l4 = b + MACE_PARSE_OFF(off);
	switch (proto) {
	case 1:		/* ICMP */
	case 58:	/* ICMPv6 */
		if (plen < 8 || len - off < 8)
			return 0;
		k.kind = l4[0];
		if (l4[0] == 8 || l4[0] == 0 || l4[0] == 128 || l4[0] == 129) {
			f->id = mace_be16(l4 + 4);
			f->seq = mace_be16(l4 + 6);
		}
		k.seq = mace_be16(l4 + 6);
		if (want_key)
			mace_parse_payload(k.payload, 8, b, off + 8, plen - 8, len);
		break;
	case 17:	/* UDP */
		if (plen < 8 || len - off < 8)
			return 0;
		f->sport = mace_be16(l4);
		f->dport = mace_be16(l4 + 2);
		ulen = mace_be16(l4 + 4);
		if (ulen < 8)
			return 0;
		if (f->dport == MACE_VXLAN_PORT && ulen >= 8 + 8 + 14 + 20 &&
		    len - off >= 8 + 8 + 14 + 20) {
			/* UDP, VXLAN (8), inner Ethernet (14), then the inner IP header */
			const __u8 *eth = b + MACE_PARSE_OFF(off + 16);

			if (mace_be16(eth + 12) == 0x0800 || mace_be16(eth + 12) == 0x86dd)
				return off + 8 + 8 + 14;
		}
		k.plen = ulen - 8;
		if (want_key)
			mace_parse_payload(k.payload, 16, b, off + 8, ulen - 8, len);
		break;
	case 6:		/* TCP */
		if (plen < 20 || len - off < 20)
			return 0;
		f->sport = mace_be16(l4);
		f->dport = mace_be16(l4 + 2);
		f->seq = mace_be32(l4 + 4);
		doff = (l4[12] >> 4) * 4;
		if (doff < 20 || doff > plen)
			return 0;
		k.kind = l4[13];
		k.seq = f->seq;
		k.ack = mace_be32(l4 + 8);
		k.plen = plen - doff;
		break;
	default:
		return 0;
	}
	k.proto = proto;
	if (want_key)
		f->key = mace_key_hash(&k);
	return 0;
}

/* The packet in b (len bytes from its IP header), or the packet inside it
 * when it is VXLAN-encapsulated. */
static MACE_INLINE void mace_parse(const __u8 *b, __u32 len, struct mace_flow *f, bool want_key)
{
	__u32 inner = mace_parse_ip(b, 0, len, f, want_key);

	if (inner) {
		__builtin_memset(f, 0, sizeof(*f));
		mace_parse_ip(b, inner, len, f, want_key);
	}
}

#endif /* MACE_SHARED_H */
