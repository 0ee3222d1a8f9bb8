/* SPDX-License-Identifier: MIT */
/*
 * A session handing over to a replacement, for the commands that follow
 * containers as they come and go (mace record, stat, top, serve): once the
 * host's interfaces changed and stayed so for a second, a new session binds
 * the containers there are now (--container: where that container is now),
 * the two cut at a time T so the packets both see count once (the old keeps
 * those that started before T, the new the rest: mace_session_set_window
 * for histograms, a window on records otherwise; what the cuts leave out is
 * counted), and the old one is retired: stopped, its last latencies taken,
 * its final counters kept, nothing of it left attached.
 */
#ifndef MACE_CLI_HANDOVER_H
#define MACE_CLI_HANDOVER_H

#include "cli.h"

struct cli_handover;
/* One session's records: those that started in [lo, hi) go on. */
struct cli_window {
	struct cli_handover *h;
	uint64_t lo, hi;
};

struct cli_handover {
	/* The caller's, set before cli_handover_open. */
	const struct cli_opts *o;	/* o->aggregate: histograms, else records */
	bool follow;			/* bind again when containers come and go */
	mace_record_fn on_record;	/* records (not aggregating), each in its window */
	void *record_ctx;
	mace_hist_fn on_hist;		/* latencies (aggregating), at each take */
	void *ctx;			/* of on_hist and retiring */
	/* A replaced session, stopped and taken, before it is freed. */
	void (*retiring)(struct mace_session *old, void *ctx);

	struct mace_session *s;		/* the current one; NULL while none is bound */
	/* The last one whose containers all left: retired, but kept (for its
	 * path and silent points) until another takes over. */
	struct mace_session *lost;
	struct cli_window win[2];	/* win[cur]: the current session's */
	int cur;
	uint64_t if_sig, last_sig;	/* the host's interfaces: when bound, when last seen */
	struct mace_counters retired;	/* final counters of the sessions replaced */
	uint64_t window_skipped;	/* records the cuts left out */
	unsigned int rebinds, rebind_failures;
	double last_rebind_ms;
	char note[128];			/* why the last rebind failed, or why none is bound */
};

/* Opens the first session (binding printed; not started): a live one, or
 * replay_file's.  With wait and follow, finding no container is no error:
 * none is bound (note says so) until one comes.  0 or EXIT_RUNTIME
 * (reported). */
int cli_handover_open(struct cli_handover *h, const char *replay_file, bool wait);
/* Drains the current session (none: 0).  -ENODEV when its last bound
 * container left (see cli_handover_lost); 0 or another -errno. */
int cli_handover_poll(struct cli_handover *h);
/* The last bound container left: retires the session and waits for new
 * containers (note says so).  0 or -errno of the retiring. */
int cli_handover_lost(struct cli_handover *h);
/* About once a second, when following: binds again if the containers
 * changed.  1 if a new session took over, 0 if not, -errno if binding
 * failed (with a session bound, counted and said in note; with none it only
 * means there is still none). */
int cli_handover_tick(struct cli_handover *h);
/* The latencies the current session aggregated since the last take, to
 * on_hist.  0 or -errno. */
int cli_handover_take(struct cli_handover *h);
/* Retires the current session (see above).  0 or -errno. */
int cli_handover_stop(struct cli_handover *h);
/* Frees the sessions, retired or not. */
void cli_handover_free(struct cli_handover *h);
/* Counters of every session so far (replaced ones included). */
void cli_handover_counters(const struct cli_handover *h, struct mace_counters *out);
/* Is netns a container of the current session? */
bool cli_handover_bound(const struct cli_handover *h, uint32_t netns);

#endif /* MACE_CLI_HANDOVER_H */
