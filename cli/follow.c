/* SPDX-License-Identifier: MIT */
/* Aggregating sessions that follow containers as they come and go (follow.h). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "follow.h"

static int take(struct cli_follow *f, struct mace_session *s)
{
	int64_t r;

	if (!f->o->aggregate)
		return 0;	/* records went to on_record as they came */
	r = mace_session_hists(s, f->on_hist, f->ctx);
	if (r < 0)
		return (int)r;
	f->window_skipped += (uint64_t)r;
	return 0;
}

/* Stops and frees a session; its last latencies and final counters stay. */
static int retire(struct cli_follow *f, struct mace_session *old)
{
	struct mace_counters c = { .sz = sizeof(c) };
	int r = mace_session_stop(old), t;

	t = take(f, old);
	mace_session_counters(old, &c);
	cli_counters_add(&f->retired, &c);
	mace_session_free(old);
	return r < 0 ? r : t;
}

/* A new session binds the containers there are now; it starts, the two cut
 * at T (the old keeps packets that started before T, the new the rest), and
 * the old one is retired. */
static int rebind(struct cli_follow *f)
{
	struct mace_session *s;
	struct mace_opts mo;
	uint64_t cut;
	int r;

	cli_fill_mace_opts(f->o, &mo);
	mo.on_record = f->on_record;
	mo.ctx = f->ctx;
	s = mace_session_new(&mo);
	if (!s)
		return -errno;
	r = mace_session_set_window(s, UINT64_MAX, UINT64_MAX);	/* nothing until the cut */
	if (!r)
		r = mace_session_start(s);
	cut = mace_now_ns();
	if (!r)
		r = mace_session_set_window(s, cut, UINT64_MAX);
	if (!r && f->s)
		r = mace_session_set_window(f->s, 0, cut);
	if (r < 0) {
		mace_session_free(s);
		return r;
	}
	f->note[0] = '\0';
	if (f->s) {
		r = retire(f, f->s);
		if (r < 0)
			snprintf(f->note, sizeof(f->note), "retiring a replaced session: %s",
				 strerror(-r));
	}
	f->s = s;
	f->rebinds++;
	return 0;
}

/* The first session; with wait, none yet (NULL) when no container is there. */
static int first_session(struct cli_follow *f, bool wait)
{
	struct mace_opts mo;

	if (!wait) {
		f->s = cli_session_open(f->o, NULL, f->on_record, f->ctx);
		return f->s ? 0 : -1;
	}
	cli_block_signals();
	cli_fill_mace_opts(f->o, &mo);
	mo.on_record = f->on_record;
	mo.ctx = f->ctx;
	f->s = mace_session_new(&mo);
	if (!f->s && errno == ENOENT) {
		/* the library said what it did not find */
		snprintf(f->note, sizeof(f->note), "no containers yet; waiting for one");
		fprintf(stderr, "mace: %s: %s\n", f->o->cmd, f->note);
		return 0;
	}
	if (!f->s) {
		fprintf(stderr, "mace: %s: cannot start a session: %s\n", f->o->cmd,
			strerror(errno));
		return -1;
	}
	mace_session_describe(f->s, stderr);
	return 0;
}

int cli_follow_start(struct cli_follow *f, const struct cli_opts *o, mace_hist_fn on_hist,
		     mace_record_fn on_record, void *ctx, bool wait)
{
	int r;

	memset(f, 0, sizeof(*f));
	f->retired.sz = sizeof(f->retired);
	f->o = o;
	f->on_hist = on_hist;
	f->on_record = on_record;
	f->ctx = ctx;
	f->discover = !o->netns;
	f->if_sig = f->last_sig = cli_interfaces_signature();
	if (first_session(f, wait && f->discover))
		return EXIT_RUNTIME;
	if (!f->s)
		return 0;	/* waiting: the first tick that sees a change binds */
	r = mace_session_start(f->s);
	if (r < 0) {
		fprintf(stderr, "mace: %s: cannot start tracing: %s\n", o->cmd, strerror(-r));
		mace_session_free(f->s);
		f->s = NULL;
		return EXIT_RUNTIME;
	}
	return 0;
}

int cli_follow_fd(const struct cli_follow *f)
{
	return f->s ? mace_session_fd(f->s) : -1;
}

int cli_follow_poll(struct cli_follow *f)
{
	int r = f->s ? mace_session_poll(f->s, 0) : 0;

	if (r == -ENODEV) {
		/* the last bound container left: keep what it gave, wait */
		r = retire(f, f->s);
		f->s = NULL;
		snprintf(f->note, sizeof(f->note), "%s",
			 f->discover ? "no containers left; waiting for new ones"
				     : "the container left");
	}
	if (r == -EINTR || r == -EAGAIN)
		r = 0;
	return r < 0 ? r : 0;
}

int cli_follow_tick(struct cli_follow *f)
{
	if (f->discover) {
		uint64_t sig = cli_interfaces_signature();

		/* changed, and settled for a second (a veth is made, then moved) */
		if (sig != f->if_sig && sig == f->last_sig) {
			int r;

			f->if_sig = sig;
			r = rebind(f);
			/* with no session, failing to bind just means still none */
			if (r < 0 && f->s) {
				f->rebind_failures++;
				snprintf(f->note, sizeof(f->note), "binding again: %s",
					 strerror(-r));
			}
		}
		f->last_sig = sig;
	}
	return f->s ? take(f, f->s) : 0;
}

void cli_follow_counters(const struct cli_follow *f, struct mace_counters *out)
{
	out->sz = sizeof(*out);
	mace_session_counters(f->s, out);	/* zeros (and -EINVAL) when NULL */
	cli_counters_add(out, &f->retired);
}

bool cli_follow_bound(const struct cli_follow *f, uint32_t netns)
{
	struct mace_counters c = { .sz = sizeof(c) };

	return f->s && mace_session_counters_netns(f->s, netns, &c) != -ENOENT;
}

int cli_follow_stop(struct cli_follow *f)
{
	int r = 0;

	if (f->s)
		r = retire(f, f->s);
	f->s = NULL;
	return r;
}
