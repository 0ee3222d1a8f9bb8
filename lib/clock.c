/* SPDX-License-Identifier: MIT */
/* The clock of every timestamp in libmace. */
#include "mace_int.h"

uint64_t mace__clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

MACE_EXPORT uint64_t mace_now_ns(void)
{
	return mace__clock_ns(CLOCK_MONOTONIC);
}
