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
	__u8 pad[3];
};

/*
 * One packet in one direction.  The value of the pending map (keyed by skb
 * address) while in flight, and the ring-buffer item when its end point is
 * reached in kernel-correlation mode.
 */
struct mace_bpf_record {
	__u64 ts[MACE_BPF_MAX_POINTS];	/* per point, 0 = not seen */
	__u32 netns;		/* container netns inode, 0 until a container device is seen */
	__u32 len;		/* skb->len at the start point */
	__u32 seq;
	__u16 id, sport, dport;
	__u16 cpu_start, cpu_end, pad16;
	__u8 dir;		/* enum mace_dir */
	__u8 npoints;
	__u8 next;		/* index of the next point expected */
	__u8 first_tp;		/* start alternative that opened the entry */
	__u8 nev;		/* events held by this entry */
	__u8 proto, family;
	__u8 pad;
	__u8 src[16], dst[16];
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
};

/* ---- content keys: the same function in BPF and in lib/key.c ------------- */

/*
 * The fields of a packet that neither NAT nor encapsulation rewrite, in a
 * fixed layout; the content key is FNV-1a over it.  Never addresses, ports,
 * ICMP id (NAT rewrites them) or checksums (they follow the rewrites).
 */
struct mace_key_input {
	__u8 proto;		/* IPPROTO_ICMP/ICMPV6/UDP/TCP */
	__u8 kind;		/* ICMP type, TCP flags */
	__u16 pad;
	__u32 seq;		/* ICMP echo seq, TCP seq */
	__u32 ack;		/* TCP ack */
	__u32 plen;		/* UDP/TCP payload length */
	__u8 payload[16];	/* ICMP: 8 bytes after the header; UDP: 16; zero-filled */
};

static inline __u64 mace_key_hash(const struct mace_key_input *in)
{
	const __u8 *p = (const __u8 *)in;
	__u64 h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < (int)sizeof(*in); i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;	/* 0 means "no key" */
}

/*
 * The packet parser, shared word for word by the BPF programs and lib/key.c
 * so both compute the same key.  The includer defines MACE_PARSE_READ(dst, n,
 * addr) (copy n bytes from address addr; 0 on success) before including this
 * header; addresses are integers so the same code reads kernel or user memory.
 */
#define MACE_VXLAN_PORT 4789

struct mace_flow {
	__u64 key;		/* 0 if the packet could not be parsed far enough */
	__u32 seq;
	__u16 id, sport, dport;
	__u8 proto, family;	/* IPPROTO_*, AF_INET(6) */
	__u8 src[16], dst[16];
};

#ifdef MACE_PARSE_READ

static inline __u16 mace_be16(const __u8 *b)
{
	return (__u16)(b[0] << 8 | b[1]);
}

static inline __u32 mace_be32(const __u8 *b)
{
	return (__u32)b[0] << 24 | (__u32)b[1] << 16 | (__u32)b[2] << 8 | b[3];
}

/* Copies min(max, want, end - src) bytes; the rest of dst stays zero. */
static inline void mace_parse_payload(__u8 *dst, __u64 max, __u64 src, __u64 want, __u64 end)
{
	__u64 n = want < max ? want : max;

	if (src >= end)
		return;
	if (n > end - src)
		n = end - src;
	if (n > 0 && n <= 16)
		MACE_PARSE_READ(dst, n, src);
}

/*
 * Parses the packet whose IP header is at p; end is where readable data
 * ends.  Fills f.  Returns the address of the inner IP header when the packet
 * is VXLAN-encapsulated (the caller parses that instead), else 0.
 */
static inline __u64 mace_parse_ip(__u64 p, __u64 end, struct mace_flow *f)
{
	struct mace_key_input k = {};
	__u8 h[40], l4[20];
	__u32 hl, plen, ulen, doff;
	__u8 proto;

	if (p >= end || end - p < 20 || MACE_PARSE_READ(h, 20, p))
		return 0;
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
		if (end - p < 40 || MACE_PARSE_READ(h, 40, p))
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
	p += hl;
	if (p >= end)
		return 0;
	switch (proto) {
	case 1:		/* ICMP */
	case 58:	/* ICMPv6 */
		if (plen < 8 || end - p < 8 || MACE_PARSE_READ(l4, 8, p))
			return 0;
		k.kind = l4[0];
		if (l4[0] == 8 || l4[0] == 0 || l4[0] == 128 || l4[0] == 129) {
			f->id = mace_be16(l4 + 4);
			f->seq = mace_be16(l4 + 6);
		}
		k.seq = mace_be16(l4 + 6);
		mace_parse_payload(k.payload, 8, p + 8, plen - 8, end);
		break;
	case 17:	/* UDP */
		if (plen < 8 || end - p < 8 || MACE_PARSE_READ(l4, 8, p))
			return 0;
		f->sport = mace_be16(l4);
		f->dport = mace_be16(l4 + 2);
		ulen = mace_be16(l4 + 4);
		if (ulen < 8)
			return 0;
		if (f->dport == MACE_VXLAN_PORT && ulen >= 8 + 8 + 14 + 20 &&
		    end - p >= 8 + 8 + 14 + 20) {
			/* UDP, VXLAN (8), inner Ethernet (14), then the inner IP header */
			__u8 eth[14];

			if (!MACE_PARSE_READ(eth, 14, p + 16) &&
			    (mace_be16(eth + 12) == 0x0800 || mace_be16(eth + 12) == 0x86dd))
				return p + 8 + 8 + 14;
		}
		k.plen = ulen - 8;
		mace_parse_payload(k.payload, 16, p + 8, ulen - 8, end);
		break;
	case 6:		/* TCP */
		if (plen < 20 || end - p < 20 || MACE_PARSE_READ(l4, 20, p))
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
	f->key = mace_key_hash(&k);
	return 0;
}

/* The packet at p, or the packet inside it when it is VXLAN-encapsulated. */
static inline void mace_parse(__u64 p, __u64 end, struct mace_flow *f)
{
	__u64 inner = mace_parse_ip(p, end, f);

	if (inner) {
		__builtin_memset(f, 0, sizeof(*f));
		mace_parse_ip(inner, end, f);
	}
}

#endif /* MACE_PARSE_READ */

#endif /* MACE_SHARED_H */
