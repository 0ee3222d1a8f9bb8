/* SPDX-License-Identifier: MIT */
/*
 * Structs that cross the ABI begin with size_t sz, set by the caller to the
 * size its mace.h knows (libbpf's rule).  A caller built against an older
 * header passes a smaller struct, a newer one a larger struct; both work.
 */
#include <errno.h>
#include <string.h>

#include "mace_int.h"

/* Offset of the first non-zero byte in [from, to) of p, or to if none. */
static size_t first_nonzero(const void *p, size_t from, size_t to)
{
	const unsigned char *b = p;

	for (size_t i = from; i < to; i++)
		if (b[i])
			return i;
	return to;
}

int mace__abi_in(void *dst, size_t dst_sz, const void *src, const char *type)
{
	size_t sz, bad;

	memset(dst, 0, dst_sz);
	if (!src)
		return 0;
	sz = *(const size_t *)src;
	if (sz < sizeof(size_t)) {
		mace_err("%s: sz is %zu: set it to sizeof(%s)", type, sz, type);
		return -EINVAL;
	}
	bad = first_nonzero(src, dst_sz, sz);
	if (bad < sz) {
		mace_err("%s: byte %zu is set, but this libmace %s knows %zu bytes of it "
			 "(sz %zu): a field newer than the library", type, bad, mace_version(),
			 dst_sz, sz);
		return -EINVAL;
	}
	memcpy(dst, src, sz < dst_sz ? sz : dst_sz);
	*(size_t *)dst = dst_sz;
	return 0;
}

int mace__abi_out(void *dst, const void *src, size_t src_sz, const char *type)
{
	size_t sz = *(const size_t *)dst;
	size_t n = sz < src_sz ? sz : src_sz;

	if (sz < sizeof(size_t)) {
		mace_err("%s: sz is %zu: set it to sizeof(%s)", type, sz, type);
		return -EINVAL;
	}
	memcpy((char *)dst + sizeof(size_t), (const char *)src + sizeof(size_t),
	       n - sizeof(size_t));
	memset((char *)dst + n, 0, sz - n);
	return 0;
}
