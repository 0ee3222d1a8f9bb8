/* SPDX-License-Identifier: MIT */
/* struct mace_counters field by field, from the one list in mace.h. */
#include "mace_int.h"

#define ONE(x) + 1
_Static_assert(sizeof(struct mace_counters) ==
	       sizeof(size_t) + sizeof(uint64_t) * (0 MACE_COUNTER_FIELDS(ONE)),
	       "MACE_COUNTER_FIELDS lists every counter of struct mace_counters");
#undef ONE

void mace__counters_add(struct mace_counters *into, const struct mace_counters *c)
{
#define ADD(x) into->x += c->x;
	MACE_COUNTER_FIELDS(ADD)
#undef ADD
}

void mace__counters_sub(struct mace_counters *from, const struct mace_counters *c)
{
#define SUB(x) from->x -= c->x;
	MACE_COUNTER_FIELDS(SUB)
#undef SUB
}
