/* SPDX-License-Identifier: MIT */
/*
 * Content keys in user space: the same parser and hash the BPF programs run
 * (lib/bpf/mace_shared.h), reading a buffer instead of kernel memory.  Used
 * for replay, tests, and to key probes a tool sent.
 */
#include <string.h>

#include <linux/types.h>

/* The parser checks every read against the end of the buffer first. */
static inline int mace_user_read(void *dst, __u64 n, __u64 addr)
{
	memcpy(dst, (const void *)(unsigned long)addr, n);
	return 0;
}
#define MACE_PARSE_READ(dst, n, addr) mace_user_read(dst, n, addr)

#include "mace_int.h"

__u64 mace_content_key(const void *ip_hdr, size_t len)
{
	struct mace_flow f = {};
	__u64 p = (__u64)(unsigned long)ip_hdr;

	if (!ip_hdr || !len)
		return 0;
	mace_parse(p, p + len, &f);
	return f.key;
}
