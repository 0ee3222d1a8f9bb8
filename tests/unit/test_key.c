/* SPDX-License-Identifier: MIT */
/* Content keys: what NAT and encapsulation rewrite must not change the key. */
#include <stdlib.h>

#include "mace_int.h"
#include "t.h"

static size_t ip4(unsigned char *b, unsigned char proto, size_t l4len, const char *src,
		  const char *dst)
{
	size_t tot = 20 + l4len;

	memset(b, 0, 20);
	b[0] = 0x45;
	b[2] = tot >> 8;
	b[3] = tot & 0xff;
	b[8] = 64;
	b[9] = proto;
	memcpy(b + 12, src, 4);
	memcpy(b + 16, dst, 4);
	b[10] = 0xab;	/* checksum: not part of the key anyway */
	return 20;
}

/* IPv4 ICMP echo request with a 56-byte payload; returns the length. */
static size_t icmp4(unsigned char *b, unsigned short id, unsigned short seq, unsigned char fill)
{
	size_t h = ip4(b, 1, 64, "\x0a\x00\x00\x02", "\x0a\x01\x00\x02");
	unsigned char *i = b + h;

	i[0] = 8;
	i[1] = 0;
	i[2] = 0x12;
	i[3] = 0x34;
	i[4] = id >> 8;
	i[5] = id & 0xff;
	i[6] = seq >> 8;
	i[7] = seq & 0xff;
	for (int k = 0; k < 56; k++)
		i[8 + k] = fill + k;
	return h + 64;
}

static size_t udp4(unsigned char *b, unsigned short sport, unsigned short dport,
		   const unsigned char *payload, size_t plen)
{
	size_t h = ip4(b, 17, 8 + plen, "\x0a\x00\x00\x02", "\x0a\x01\x00\x02");
	unsigned char *u = b + h;

	u[0] = sport >> 8;
	u[1] = sport & 0xff;
	u[2] = dport >> 8;
	u[3] = dport & 0xff;
	u[4] = (8 + plen) >> 8;
	u[5] = (8 + plen) & 0xff;
	u[6] = 0x55;
	u[7] = 0x66;
	memcpy(u + 8, payload, plen);
	return h + 8 + plen;
}

static size_t tcp4(unsigned char *b, unsigned short sport, unsigned int seq, size_t plen)
{
	size_t h = ip4(b, 6, 20 + plen, "\x0a\x00\x00\x02", "\x0a\x01\x00\x02");
	unsigned char *t = b + h;

	memset(t, 0, 20 + plen);
	t[0] = sport >> 8;
	t[1] = sport & 0xff;
	t[3] = 80;
	t[4] = seq >> 24;
	t[5] = seq >> 16;
	t[6] = seq >> 8;
	t[7] = seq;
	t[11] = 7;	/* ack */
	t[12] = 5 << 4;
	t[13] = 0x18;	/* PSH|ACK */
	return h + 20 + plen;
}

/* Key of an exactly-sized heap copy, so ASan sees any read past the end. */
static __u64 key_of(const unsigned char *b, size_t len)
{
	unsigned char *copy = malloc(len ? len : 1);
	__u64 k;

	memcpy(copy, b, len);
	k = mace__content_key(copy, len);
	free(copy);
	return k;
}

TEST(icmp_nat_invariant)
{
	unsigned char a[128], b[128];
	size_t la = icmp4(a, 100, 7, 1), lb;
	__u64 k = key_of(a, la);

	CHECK(k != 0);
	lb = icmp4(b, 4242, 7, 1);	/* NAT rewrote the echo id ... */
	memcpy(b + 12, "\xc0\xa8\x01\x01", 4);	/* ... and the source address */
	b[20 + 2] = 0x99;	/* ... and the checksums */
	b[10] = 0x11;
	b[8] = 63;		/* a router decremented the TTL */
	CHECK_EQ_U64(key_of(b, lb), k);
	lb = icmp4(b, 100, 8, 1);
	CHECK(key_of(b, lb) != k);	/* another seq: another packet */
	lb = icmp4(b, 100, 7, 1);
	b[20 + 8 + 3] ^= 1;	/* first 8 payload bytes (ping's timestamp) */
	CHECK(key_of(b, lb) != k);
	lb = icmp4(b, 100, 7, 1);
	b[20] = 0;		/* the echo reply is another packet */
	CHECK(key_of(b, lb) != k);
}

TEST(udp_nat_invariant)
{
	unsigned char a[128], b[128], pl[32];
	size_t la, lb;
	__u64 k;

	for (int i = 0; i < 32; i++)
		pl[i] = i * 7;
	la = udp4(a, 5000, 6000, pl, sizeof(pl));
	k = key_of(a, la);
	CHECK(k != 0);
	lb = udp4(b, 40000, 6001, pl, sizeof(pl));	/* SNAT/DNAT moved the ports */
	b[20 + 6] = 0;	/* and the checksum changed with them */
	memcpy(b + 16, "\x08\x08\x08\x08", 4);
	CHECK_EQ_U64(key_of(b, lb), k);
	pl[3] ^= 0x80;
	lb = udp4(b, 5000, 6000, pl, sizeof(pl));
	CHECK(key_of(b, lb) != k);
	pl[3] ^= 0x80;
	lb = udp4(b, 5000, 6000, pl, sizeof(pl) - 1);	/* length differs */
	CHECK(key_of(b, lb) != k);
}

TEST(tcp_fields)
{
	unsigned char a[128], b[128];
	size_t la = tcp4(a, 1234, 1000, 10), lb;
	__u64 k = key_of(a, la);

	CHECK(k != 0);
	lb = tcp4(b, 33333, 1000, 10);
	memcpy(b + 12, "\x01\x02\x03\x04", 4);
	CHECK_EQ_U64(key_of(b, lb), k);
	lb = tcp4(b, 1234, 1001, 10);
	CHECK(key_of(b, lb) != k);
	lb = tcp4(b, 1234, 1000, 11);
	CHECK(key_of(b, lb) != k);
	lb = tcp4(b, 1234, 1000, 10);
	b[20 + 13] = 0x10;	/* flags */
	CHECK(key_of(b, lb) != k);
}

/* outer IPv4 + UDP to 4789 + VXLAN + Ethernet + the inner packet */
static size_t vxlan_wrap(unsigned char *out, const unsigned char *inner, size_t ilen,
			 unsigned short sport)
{
	size_t h = ip4(out, 17, 8 + 8 + 14 + ilen, "\xc0\xa8\x00\x01", "\xc0\xa8\x00\x02");
	unsigned char *u = out + h, *v = u + 8, *e = v + 8;
	size_t ulen = 8 + 8 + 14 + ilen;

	u[0] = sport >> 8;
	u[1] = sport & 0xff;
	u[2] = 4789 >> 8;
	u[3] = 4789 & 0xff;
	u[4] = ulen >> 8;
	u[5] = ulen & 0xff;
	u[6] = u[7] = 0;
	memset(v, 0, 8);
	v[0] = 0x08;
	v[6] = 42;	/* VNI */
	memset(e, 0xee, 12);
	e[12] = 0x08;
	e[13] = 0x00;
	memcpy(e + 14, inner, ilen);
	return h + ulen;
}

TEST(vxlan_same_as_inner)
{
	unsigned char in[128], out[256], pl[20] = "hello, vxlan payload";
	size_t li, lo;
	__u64 k;

	li = icmp4(in, 1, 2, 3);
	k = key_of(in, li);
	lo = vxlan_wrap(out, in, li, 51000);
	CHECK_EQ_U64(key_of(out, lo), k);
	li = udp4(in, 1111, 2222, pl, sizeof(pl));
	k = key_of(in, li);
	lo = vxlan_wrap(out, in, li, 52000);	/* another flow-hash source port */
	CHECK_EQ_U64(key_of(out, lo), k);
}

TEST(ipv6_icmp)
{
	unsigned char a[128];
	size_t len = 40 + 8 + 16;
	__u64 k, k2;

	memset(a, 0, sizeof(a));
	a[0] = 0x60;
	a[5] = 8 + 16;
	a[6] = 58;
	a[7] = 64;
	a[8] = 0xfd;
	a[23] = 1;
	a[24] = 0xfd;
	a[39] = 2;
	a[40] = 128;
	a[44] = 0;
	a[45] = 9;	/* id */
	a[47] = 5;	/* seq */
	for (int i = 0; i < 16; i++)
		a[48 + i] = i;
	k = key_of(a, len);
	CHECK(k != 0);
	a[45] = 10;
	a[23] = 7;
	CHECK_EQ_U64(key_of(a, len), k);
	a[47] = 6;
	k2 = key_of(a, len);
	CHECK(k2 != k && k2 != 0);
	a[0] = 0x70;	/* not IP */
	CHECK_EQ_U64(key_of(a, len), 0);
}

TEST(truncated_never_crash)
{
	unsigned char pkts[4][256], pl[40] = { 1, 2, 3 };
	size_t lens[4];
	unsigned char inner[128];

	lens[0] = icmp4(pkts[0], 1, 1, 1);
	lens[1] = udp4(pkts[1], 1, 2, pl, sizeof(pl));
	lens[2] = tcp4(pkts[2], 1, 2, 30);
	lens[3] = vxlan_wrap(pkts[3], inner, icmp4(inner, 5, 6, 7), 1);
	for (int p = 0; p < 4; p++)
		for (size_t l = 0; l <= lens[p]; l++)
			key_of(pkts[p], l);
	/* Header present, payload cut: the missing bytes hash as zeros. */
	CHECK(key_of(pkts[1], 20 + 8 + 4) != 0);
	CHECK_EQ_U64(key_of(pkts[0], 10), 0);
	/* Random garbage, including headers whose lengths lie. */
	srand(1);
	for (int i = 0; i < 20000; i++) {
		unsigned char g[96];
		size_t l = rand() % sizeof(g);

		for (size_t j = 0; j < l; j++)
			g[j] = rand();
		if (l)
			g[0] = (rand() & 1 ? 0x40 : 0x60) | (g[0] & 0xf);
		key_of(g, l);
	}
	CHECK_EQ_U64(mace__content_key(NULL, 10), 0);
}

int main(void)
{
	RUN(icmp_nat_invariant);
	RUN(udp_nat_invariant);
	RUN(tcp_fields);
	RUN(vxlan_same_as_inner);
	RUN(ipv6_icmp);
	RUN(truncated_never_crash);
	return t_done();
}
