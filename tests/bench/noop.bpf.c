// SPDX-License-Identifier: GPL-2.0
/*
 * noop.bpf.c - the benchmarks' floor: programs that do nothing, one per
 * packet tracepoint mace can attach (the list in mace_tracepoints.h).  What
 * they add to a round trip is the kernel's cost of dispatching a tracepoint
 * to BPF at all, which no program attached there can avoid
 * (tests/bench/noop.c attaches them).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "mace_tracepoints.h"

char LICENSE[] SEC("license") = "GPL";

#define NOOP_PACKET(name)              \
	SEC("tp_btf/" #name)           \
	int noop_##name(__u64 *ctx)    \
	{                              \
		return 0;              \
	}
#define NOOP_SYS_ENTER(name)
#define NOOP_SYS_EXIT(name)

#define X(ID, name, system, kind, side, args) NOOP_##kind(name)
MACE_TRACEPOINTS(X)
#undef X

/* skb frees: the kernel correlator's programs there */
NOOP_PACKET(kfree_skb)
NOOP_PACKET(consume_skb)
