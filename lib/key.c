/* SPDX-License-Identifier: MIT */
/*
 * Content keys in user space: the same parser and hash the BPF programs run
 * (lib/bpf/mace_parse.h), reading a buffer instead of kernel memory.  Used
 * for replay, tests, and to key probes a tool sent.
 */
#include <string.h>

#include <linux/types.h>

#include "mace_int.h"
#include "bpf/mace_parse.h"

__u64 mace__content_key(const void *ip_hdr, size_t len)
{
	struct mace_flow f = {};

	if (!ip_hdr || !len)
		return 0;
	/* The parser never looks further than MACE_PARSE_MAX bytes. */
	mace_parse(ip_hdr, len > MACE_PARSE_MAX ? MACE_PARSE_MAX : (__u32)len, &f, true);
	return f.key;
}
