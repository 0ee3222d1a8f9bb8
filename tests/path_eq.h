/* SPDX-License-Identifier: MIT */
/* Path equality for the path tests and fuzzer: same points, roles, names and
 * matching; line numbers and file may differ. */
#ifndef MACE_PATH_EQ_H
#define MACE_PATH_EQ_H

#include <stdbool.h>
#include <string.h>

#include "mace_int.h"

static inline bool same_path(const struct mace_path *a, const struct mace_path *b)
{
	if (strcmp(a->name, b->name) || strcmp(a->description, b->description) ||
	    a->match != b->match)
		return false;
	for (int d = 0; d < 2; d++) {
		if (a->dir[d].npoints != b->dir[d].npoints)
			return false;
		for (unsigned int i = 0; i < a->dir[d].npoints; i++)
			if (a->dir[d].pt[i].tp_mask != b->dir[d].pt[i].tp_mask ||
			    a->dir[d].pt[i].role != b->dir[d].pt[i].role)
				return false;
	}
	return true;
}

#endif
