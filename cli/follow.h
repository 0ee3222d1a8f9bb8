/* SPDX-License-Identifier: MIT */
/*
 * Following containers with aggregating sessions, for long-running commands:
 * without --netns, a container that comes or goes changes the host's
 * interfaces; once the change has settled for a second a new session binds
 * the containers there are now, the two sessions cut at a time T so the
 * packets both see count once, and the old one is retired: its latencies
 * and final counters are kept, nothing of it stays attached.
 */
#ifndef MACE_CLI_FOLLOW_H
#define MACE_CLI_FOLLOW_H

#include "cli.h"

struct cli_follow {
	const struct cli_opts *o;
	struct mace_session *s;		/* NULL while no container is bound */
	mace_hist_fn on_hist;		/* latencies go here, at each take */
	mace_record_fn on_record;	/* records, when o->aggregate is off */
	void *ctx;			/* of both */
	bool discover;			/* no --netns: follow containers */
	uint64_t if_sig, last_sig;
	struct mace_counters retired;	/* of replaced sessions */
	uint64_t window_skipped;	/* records the cut windows left out */
	unsigned int rebinds, rebind_failures;
	char note[128];			/* why the last rebind failed, or none is bound */
};

/* Opens the first session (binding printed) and starts it: aggregating
 * (on_hist) when o->aggregate, else delivering records (on_record).  With
 * wait and discovery, finding no container is no error: none is bound
 * until one comes.  Returns 0 or EXIT_RUNTIME (reported). */
int cli_follow_start(struct cli_follow *f, const struct cli_opts *o, mace_hist_fn on_hist,
		     mace_record_fn on_record, void *ctx, bool wait);
/* The fd to poll for the session, or -1 while none is bound. */
int cli_follow_fd(const struct cli_follow *f);
/* Drains the session.  When the last bound container left, the session is
 * retired and, with discovery, new containers are waited for.  Returns 0 or
 * a negative errno (a runtime error). */
int cli_follow_poll(struct cli_follow *f);
/* Once a second: rebinds if the containers changed, then hands the
 * latencies aggregated since the last take to on_hist.  0 or -errno. */
int cli_follow_tick(struct cli_follow *f);
/* Counters of every session so far (replaced ones included). */
void cli_follow_counters(const struct cli_follow *f, struct mace_counters *out);
/* Is netns a container of the current session? */
bool cli_follow_bound(const struct cli_follow *f, uint32_t netns);
/* Stops and frees the session; its last latencies go to on_hist. */
int cli_follow_stop(struct cli_follow *f);

#endif /* MACE_CLI_FOLLOW_H */
