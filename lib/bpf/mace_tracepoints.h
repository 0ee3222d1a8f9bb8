/* SPDX-License-Identifier: MIT */
/*
 * The tracepoints a path may name: the one list everything else is made
 * from.  Each user expands MACE_TRACEPOINTS(X) with its own X:
 *
 *	enum mace_tp                    mace_shared.h
 *	names, systems and kinds        tracepoints.c (struct mace_tp_info; the
 *	                                ftrace backend reads fields by kind)
 *	one BPF program per tracepoint  mace.bpf.c, and bpf_backend.c finds it
 *	                                in the skeleton by MACE_TP_PROG(name)
 *	the floor's no-op programs      tests/bench/noop.bpf.c
 *
 * tests/static/tracepoints.sh holds to this list what cannot be made from
 * it: the numbers already released and the manual page (mace-paths(5)).
 *
 * X(ID, name, system, kind, side, args), one per tracepoint, in the order of
 * enum mace_tp.  That order is ABI (raw-event files store the number): add
 * new tracepoints at the end.
 *	ID      MACE_TP_<ID>: the name in capitals
 *	name    the tracepoint's name; its BPF program is MACE_TP_PROG(name)
 *	system  its tracefs system ("net:name" on a path line)
 *	kind    PACKET, SYS_ENTER or SYS_EXIT (enum mace_tp_kind MACE_TPK_<kind>)
 *	side    tx: it fires as a device transmits (or a task sends), rx: as
 *	        one receives
 *	args    the tracepoint arguments its BPF program reads, one shape per
 *	        PROG_<args> in mace.bpf.c:
 *	        skb             (skb, ...): the device and length are the skb's
 *	        skb_dev         (skb, dev)
 *	        skb_rc_dev_len  (skb, rc, dev, skb_len)
 *	        send_count      a send whose byte count is args[2]
 *	        send            a send whose byte count is in user memory (0)
 *	        ret             a receive returning its byte count
 */
#ifndef MACE_TRACEPOINTS_H
#define MACE_TRACEPOINTS_H

#define MACE_TRACEPOINTS(X)                                                                                    \
	X(NET_DEV_QUEUE,                net_dev_queue,                net,      PACKET,    tx, skb)            \
	X(NET_DEV_START_XMIT,           net_dev_start_xmit,           net,      PACKET,    tx, skb_dev)        \
	X(NET_DEV_XMIT,                 net_dev_xmit,                 net,      PACKET,    tx, skb_rc_dev_len) \
	X(NETIF_RECEIVE_SKB,            netif_receive_skb,            net,      PACKET,    rx, skb)            \
	X(NETIF_RECEIVE_SKB_ENTRY,      netif_receive_skb_entry,      net,      PACKET,    rx, skb)            \
	X(NETIF_RECEIVE_SKB_LIST_ENTRY, netif_receive_skb_list_entry, net,      PACKET,    rx, skb)            \
	X(NETIF_RX,                     netif_rx,                     net,      PACKET,    rx, skb)            \
	X(NETIF_RX_ENTRY,               netif_rx_entry,               net,      PACKET,    rx, skb)            \
	X(NAPI_GRO_RECEIVE_ENTRY,       napi_gro_receive_entry,       net,      PACKET,    rx, skb)            \
	X(NAPI_GRO_FRAGS_ENTRY,         napi_gro_frags_entry,         net,      PACKET,    rx, skb)            \
	X(SYS_ENTER_SENDTO,             sys_enter_sendto,             syscalls, SYS_ENTER, tx, send_count)     \
	X(SYS_ENTER_SENDMSG,            sys_enter_sendmsg,            syscalls, SYS_ENTER, tx, send)           \
	X(SYS_ENTER_SENDMMSG,           sys_enter_sendmmsg,           syscalls, SYS_ENTER, tx, send)           \
	X(SYS_ENTER_WRITE,              sys_enter_write,              syscalls, SYS_ENTER, tx, send_count)     \
	X(SYS_EXIT_RECVFROM,            sys_exit_recvfrom,            syscalls, SYS_EXIT,  rx, ret)            \
	X(SYS_EXIT_RECVMSG,             sys_exit_recvmsg,             syscalls, SYS_EXIT,  rx, ret)            \
	X(SYS_EXIT_RECVMMSG,            sys_exit_recvmmsg,            syscalls, SYS_EXIT,  rx, ret)            \
	X(SYS_EXIT_READ,                sys_exit_read,                syscalls, SYS_EXIT,  rx, ret)

/* The BPF program of tracepoint name: its function, its member of the
 * skeleton's progs and its name in bpftool's listing. */
#define MACE_TP_PROG(name) tp_##name

#endif /* MACE_TRACEPOINTS_H */
