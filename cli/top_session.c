/* SPDX-License-Identifier: MIT */
/*
 * mace top's session, apart from the view: it binds again when containers
 * come and go (a new session, a cut time splitting the two sessions'
 * windows), and retires the replaced session into the model so no count
 * resets and no packet counts twice.
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

/* What session s aggregated since the last take, into the model. */
int top_session_take(struct top_session *t, struct mace_session *s)
{
	int64_t r = mace_session_hists(s, on_hist, t);

	if (r < 0)
		return (int)r;
	t->overlap_skipped += (uint64_t)r;
	return 0;
}

/* The session's counters into the model: totals (with replaced sessions'),
 * each row's own, and the rest; rows whose netns left the session are gone. */
void top_session_update_counters(struct top_session *t, uint64_t now)
{
	struct mace_counters c = { .sz = sizeof(c) }, k = { .sz = sizeof(k) };
	unsigned int i;
	int r;

	mace_session_counters(t->s, &c);
	top_counters_add(&c, &t->retired);
	top_model_set_counters(t->m, 0, &c);
	for (i = 0; i < t->m->n; i++) {
		uint32_t ns = t->m->rows[i].netns;

		r = t->s ? mace_session_counters_netns(t->s, ns, &k) : -ENOENT;
		if (r == -ENOENT) {
			top_model_set_gone(t->m, ns, true, now);
			continue;
		}
		top_model_set_gone(t->m, ns, false, now);
		if (!r)
			top_model_set_counters(t->m, ns, &k);
	}
	r = t->s ? mace_session_counters_netns(t->s, 0, &k) : -ENOENT;
	t->m->have_unattributed = !r;
	if (!r) {
		top_counters_add(&k, &t->retired_unattr);
		t->m->unattributed = k;
	}
}

/* Stops and frees a session: its last latencies go to the model, its final
 * counters become the base the rows keep adding to, so nothing of it stays
 * attached and no count resets. */
void top_session_retire(struct top_session *t, struct mace_session *old)
{
	struct mace_counters c = { .sz = sizeof(c) }, k = { .sz = sizeof(k) };
	unsigned int i;
	int r;

	mace_session_stop(old);
	r = top_session_take(t, old);
	if (r < 0)
		snprintf(t->note, sizeof(t->note), "reading a replaced session: %s", strerror(-r));
	mace_session_counters(old, &c);
	top_counters_add(&t->retired, &c);
	for (i = 0; i < t->m->n; i++)
		if (!mace_session_counters_netns(old, t->m->rows[i].netns, &k))
			top_model_set_counters(t->m, t->m->rows[i].netns, &k);
	top_model_retire_counters(t->m);
	if (!mace_session_counters_netns(old, 0, &k))
		top_counters_add(&t->retired_unattr, &k);
	mace_session_free(old);
}

/* Binds again (a new session sees the containers there are now), starts the
 * new session, cuts at T, then retires the old one (if any): its packets
 * before T and its final counters are kept. */
int top_session_rebind(struct top_session *t)
{
	struct mace_session *s;
	struct mace_opts mo;
	uint64_t t0 = mace_now_ns(), cut;
	char netns[64];
	int r;

	cli_fill_mace_opts(t->o, &mo);
	mo.containers = cli_containers();
	/* --container: by name again, in its new netns if it was restarted */
	if (t->o->container) {
		r = cli_container_netns(t->o->container, true, netns, sizeof(netns), NULL, 0);
		if (r)
			return r;
		mo.netns = netns;
	}
	s = mace_session_new(&mo);
	if (!s)
		return -errno;
	/* nothing until the cut */
	r = mace_session_set_window(s, UINT64_MAX, UINT64_MAX);
	if (!r)
		r = mace_session_start(s);
	cut = mace_now_ns();
	if (!r)
		r = mace_session_set_window(s, cut, UINT64_MAX);
	if (!r && t->s)
		r = mace_session_set_window(t->s, 0, cut);
	if (r < 0) {
		mace_session_free(s);
		return r;
	}
	t->note[0] = '\0';	/* retire() may leave one */
	if (t->s)
		top_session_retire(t, t->s);
	t->s = s;
	t->rebinds++;
	t->last_rebind_ms = (mace_now_ns() - t0) / 1e6;
	return 0;
}
