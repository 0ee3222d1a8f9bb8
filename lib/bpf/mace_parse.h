/* SPDX-License-Identifier: MIT */
/*
 * The packet parser and content key, one source for the BPF programs
 * (mace.bpf.c, reading a scratch copy of the packet) and user space
 * (lib/key.c, reading a buffer).  Include after vmlinux.h (BPF) or
 * <linux/types.h> and <stdbool.h> (user space).  A BPF includer may define
 * MACE_PARSE_OFF first to bound offsets for the verifier.
 */
#ifndef MACE_PARSE_H
#define MACE_PARSE_H

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
 * Fills f; its content key only if want_key (kernel correlation has no
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

#endif /* MACE_PARSE_H */
