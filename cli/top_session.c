/* SPDX-License-Identifier: MIT */
/*
 * mace top's sessions, apart from the view: handed over as containers come
 * and go (handover.h), the latencies and counters of each fed into the
 * model, so no count resets and no packet counts twice.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "top_session.h"

static void on_hist(uint32_t netns, enum mace_dir dir, const struct mace_hist *h, void *ctx)
{
	struct top_session *t = ctx;

	top_model_add_hist(t->m, netns, dir, h);
}

/* A replaced session's final counters become the base the rows keep adding to. */
static void retiring(struct mace_session *old, void *ctx)
{
	struct mace_counters k = { .sz = sizeof(k) };
	struct top_session *t = ctx;
	unsigned int i;

	for (i = 0; i < t->m->n; i++)
		if (!mace_session_counters_netns(old, t->m->rows[i].netns, &k))
			top_model_set_counters(t->m, t->m->rows[i].netns, &k);
	top_model_retire_counters(t->m);
	if (!mace_session_counters_netns(old, 0, &k))
		top_counters_add(&t->retired_unattr, &k);
}

int top_session_open(struct top_session *t, const struct cli_opts *o, struct top_model *m)
{
	t->m = m;
	t->retired_unattr = (struct mace_counters){ .sz = sizeof(t->retired_unattr) };
	t->h.o = o;
	t->h.follow = !o->netns;
	t->h.on_hist = on_hist;
	t->h.ctx = t;
	t->h.retiring = retiring;
	return cli_handover_open(&t->h, NULL, false);
}

void top_session_update_counters(struct top_session *t, uint64_t now)
{
	struct mace_counters c = { .sz = sizeof(c) }, k = { .sz = sizeof(k) };
	struct mace_session *s = t->h.s;
	unsigned int i;
	int r;

	cli_handover_counters(&t->h, &c);
	top_model_set_counters(t->m, 0, &c);
	for (i = 0; i < t->m->n; i++) {
		uint32_t ns = t->m->rows[i].netns;

		r = s ? mace_session_counters_netns(s, ns, &k) : -ENOENT;
		if (r == -ENOENT) {
			top_model_set_gone(t->m, ns, true, now);
			continue;
		}
		top_model_set_gone(t->m, ns, false, now);
		if (!r)
			top_model_set_counters(t->m, ns, &k);
	}
	r = s ? mace_session_counters_netns(s, 0, &k) : -ENOENT;
	t->m->have_unattributed = !r;
	if (!r) {
		top_counters_add(&k, &t->retired_unattr);
		t->m->unattributed = k;
	}
}
