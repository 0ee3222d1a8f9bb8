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

#endif /* MACE_SHARED_H */
