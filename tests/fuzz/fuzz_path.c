/* SPDX-License-Identifier: MIT */
/*
 * Path-file parser fuzzer: any input is parsed or rejected with a
 * "file:line:col: message"; whatever parses must survive write + reparse
 * unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mace_int.h"
#include "../path_eq.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char err[256], err2[256];
	struct mace_path *p, *q;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	p = mace_path_parse((const char *)data, size, "f.path", err, sizeof(err));
	if (!p) {
		/* Rejections always say where. */
		if (strncmp(err, "f.path:", 7) || !strchr(err + 7, ':'))
			abort();
		return 0;
	}
	if (err[0] || !p->name[0])
		abort();
	for (int d = 0; d < 2; d++) {
		const struct mace_dirpath *dp = &p->dir[d];

		if (dp->npoints == 1 || dp->npoints > MACE_MAX_POINTS)
			abort();
		for (unsigned int i = 0; i < dp->npoints; i++)
			if (!dp->pt[i].tp_mask || (dp->pt[i].tp_mask & 1) ||
			    dp->pt[i].tp_mask >> MACE_TP_COUNT || !dp->pt[i].role ||
			    dp->pt[i].role >= MACE_ROLE_COUNT)
				abort();
	}
	if (!p->dir[0].npoints && !p->dir[1].npoints)
		abort();
	(void)mace__path_tp_mask(p);
	(void)mace__path_role_mask(p);
	(void)mace__path_allows_kernel_corr(p);

	f = open_memstream(&text, &len);
	if (!f)
		abort();
	if (mace_path_write(p, f))
		abort();
	fclose(f);
	q = mace_path_parse(text, len, "w.path", err2, sizeof(err2));
	if (!q) {
		fprintf(stderr, "rewritten path does not parse: %s\n%s", err2, text);
		abort();
	}
	if (!same_path(p, q)) {
		fprintf(stderr, "rewritten path differs:\n%s", text);
		abort();
	}
	free(text);
	mace_path_free(q);
	mace_path_free(p);
	return 0;
}
