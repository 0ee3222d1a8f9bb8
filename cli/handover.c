/* SPDX-License-Identifier: MIT */
/* A session handing over to a replacement as containers come and go (handover.h). */
#include <errno.h>
#include <string.h>

#include "handover.h"

static void window_record(const struct mace_record *rec, void *ctx)
{
	const struct cli_window *w = ctx;

	if (rec->ts_ns >= w->lo && rec->ts_ns < w->hi)
		w->h->on_record(rec, w->h->record_ctx);
	else
		w->h->window_skipped++;
}

static int take(struct cli_handover *h, struct mace_session *s)
{
	int64_t r;

	if (!h->o->aggregate)
		return 0;	/* records went to on_record as they came */
	r = mace_session_hists(s, h->on_hist, h->ctx);
	if (r < 0)
		return (int)r;
	h->window_skipped += (uint64_t)r;
	return 0;
}

/* Stops a session; its last latencies and final counters stay. */
static int retire_keep(struct cli_handover *h, struct mace_session *old)
{
	struct mace_counters c = { .sz = sizeof(c) };
	int r = mace_session_stop(old), t;

	t = take(h, old);
	if (h->retiring)
		h->retiring(old, h->ctx);
	mace_session_counters(old, &c);
	cli_counters_add(&h->retired, &c);
	return r < 0 ? r : t;
}

/* ... and frees it: nothing of it stays attached. */
static int retire(struct cli_handover *h, struct mace_session *old)
{
	int r = retire_keep(h, old);

	mace_session_free(old);
	return r;
}

/* A session of the containers there are now (--container: in its netns of
 * now, if it was restarted), its records into w.  NULL with -errno in *err. */
static struct mace_session *session_new(struct cli_handover *h, struct cli_window *w, int *err)
{
	struct mace_session *s;
	struct mace_opts mo;
	char netns[64];

	cli_fill_mace_opts(h->o, &mo);
	mo.containers = cli_containers();
	if (h->o->container) {
		*err = cli_container_netns(h->o->container, true, netns, sizeof(netns), NULL, 0);
		if (*err)
			return NULL;
		mo.netns = netns;
	}
	if (!h->o->aggregate) {
		mo.on_record = window_record;
		mo.ctx = w;
	}
	s = mace_session_new(&mo);
	if (!s)
		*err = -errno;
	return s;
}

/* A new session binds the containers there are now; it starts, the two cut
 * at T, and the old one (if any) is retired. */
static int rebind(struct cli_handover *h)
{
	struct cli_window *nw = &h->win[!h->cur], *ow = &h->win[h->cur];
	bool agg = h->o->aggregate;
	uint64_t t0 = mace_now_ns(), cut;
	struct mace_session *s;
	int r;

	/* nothing until the cut */
	*nw = (struct cli_window){ h, UINT64_MAX, UINT64_MAX };
	s = session_new(h, nw, &r);
	if (!s)
		return r;
	r = agg ? mace_session_set_window(s, UINT64_MAX, UINT64_MAX) : 0;
	if (!r)
		r = mace_session_start(s);
	cut = mace_now_ns();
	nw->lo = cut;
	if (!r && agg)
		r = mace_session_set_window(s, cut, UINT64_MAX);
	if (!r && agg && h->s)
		r = mace_session_set_window(h->s, 0, cut);
	if (r < 0) {
		mace_session_free(s);
		return r;
	}
	ow->hi = cut;
	h->note[0] = '\0';
	if (h->s) {
		r = retire(h, h->s);
		if (r < 0)
			snprintf(h->note, sizeof(h->note), "retiring a replaced session: %s",
				 strerror(-r));
	}
	mace_session_free(h->lost);
	h->lost = NULL;
	h->s = s;
	h->cur = !h->cur;
	h->rebinds++;
	h->last_rebind_ms = (mace_now_ns() - t0) / 1e6;
	return 0;
}

int cli_handover_open(struct cli_handover *h, const char *replay_file, bool wait)
{
	int r;

	h->s = h->lost = NULL;
	h->cur = 0;
	h->win[0] = (struct cli_window){ h, 0, UINT64_MAX };
	h->retired = (struct mace_counters){ .sz = sizeof(h->retired) };
	h->if_sig = h->last_sig = cli_interfaces_signature();
	if (!wait || !h->follow) {
		h->s = cli_session_open(h->o, replay_file, h->o->aggregate ? NULL : window_record,
					&h->win[0]);
		return h->s ? 0 : EXIT_RUNTIME;
	}
	cli_block_signals();
	h->s = session_new(h, &h->win[0], &r);
	if (!h->s && r == -ENOENT) {
		/* the library said what it did not find */
		snprintf(h->note, sizeof(h->note), "no containers yet; waiting for one");
		fprintf(stderr, "mace: %s: %s\n", h->o->cmd, h->note);
		return 0;
	}
	if (!h->s) {
		fprintf(stderr, "mace: %s: cannot start a session: %s\n", h->o->cmd, strerror(-r));
		return EXIT_RUNTIME;
	}
	mace_session_describe(h->s, stderr);
	return 0;
}

int cli_handover_poll(struct cli_handover *h)
{
	int r = h->s ? mace_session_poll(h->s, 0) : 0;

	return r == -EINTR || r == -EAGAIN ? 0 : r;
}

int cli_handover_lost(struct cli_handover *h)
{
	int r = 0;

	if (h->s) {
		r = retire_keep(h, h->s);
		mace_session_free(h->lost);
		h->lost = h->s;
	}
	h->s = NULL;
	snprintf(h->note, sizeof(h->note), "%s",
		 h->follow ? "no containers left; waiting for new ones" : "the container left");
	return r;
}

int cli_handover_tick(struct cli_handover *h)
{
	uint64_t sig;
	int r = 0;

	if (!h->follow)
		return 0;
	sig = cli_interfaces_signature();
	/* changed, and settled for a second (a veth is made, then moved) */
	if (sig != h->if_sig && sig == h->last_sig) {
		h->if_sig = sig;
		r = rebind(h);
		if (r < 0 && h->s) {
			h->rebind_failures++;
			snprintf(h->note, sizeof(h->note), "binding again: %s", strerror(-r));
		}
		if (!r)
			r = 1;
	}
	h->last_sig = sig;
	return r;
}

int cli_handover_take(struct cli_handover *h)
{
	return h->s ? take(h, h->s) : 0;
}

int cli_handover_stop(struct cli_handover *h)
{
	int r = h->s ? retire(h, h->s) : 0;

	h->s = NULL;
	return r;
}

void cli_handover_free(struct cli_handover *h)
{
	mace_session_free(h->s);
	mace_session_free(h->lost);
	h->s = h->lost = NULL;
}

void cli_handover_counters(const struct cli_handover *h, struct mace_counters *out)
{
	out->sz = sizeof(*out);
	mace_session_counters(h->s, out);	/* zeros (and -EINVAL) when NULL */
	cli_counters_add(out, &h->retired);
}

bool cli_handover_bound(const struct cli_handover *h, uint32_t netns)
{
	struct mace_counters c = { .sz = sizeof(c) };

	return h->s && mace_session_counters_netns(h->s, netns, &c) != -ENOENT;
}
