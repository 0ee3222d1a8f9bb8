// SPDX-License-Identifier: GPL-2.0
/*
 * noop.bpf.c - the benchmarks' floor: programs that do nothing, one per
 * packet tracepoint mace can attach.  What they add to a round trip is the
 * kernel's cost of dispatching a tracepoint to BPF at all, which no program
 * attached there can avoid (tests/bench/noop.c attaches them).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define NOOP(tp)                      \
	SEC("tp_btf/" #tp)            \
	int noop_##tp(__u64 *ctx)     \
	{                             \
		return 0;             \
	}

NOOP(net_dev_queue)
NOOP(net_dev_start_xmit)
NOOP(net_dev_xmit)
NOOP(netif_receive_skb)
NOOP(netif_receive_skb_entry)
NOOP(netif_rx)
NOOP(netif_rx_entry)
NOOP(napi_gro_receive_entry)
/* skb frees: the kernel correlator's programs there */
NOOP(kfree_skb)
NOOP(consume_skb)
