/* SPDX-License-Identifier: MIT */
/* mace top's session: binding again and retiring the replaced one (top_session.c). */
#ifndef MACE_TOP_SESSION_H
#define MACE_TOP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "mace.h"
#include "top_model.h"

struct cli_opts;

struct top_session {
	struct mace_session *s;		/* NULL while no container is left */
	const struct cli_opts *o;
	struct top_model *m;		/* what the sessions feed */
	/* Counters of sessions already replaced (for totals that do not reset). */
	struct mace_counters retired, retired_unattr;
	/* When a session replaces another, a cut time T splits their windows:
	 * the old one keeps packets that started before T, the new one the
	 * rest, so the packets both saw count once.  The others: */
	uint64_t overlap_skipped;
	/* Discovery (no --netns): the host's interfaces, as a cheap sign that a
	 * container came or went. */
	bool discover;
	uint64_t if_sig_session;
	unsigned int rebinds, rebind_failures;
	double last_rebind_ms;
	char note[96];			/* why the last rebind failed */
};

/* What session s aggregated since the last take, into the model. */
int top_session_take(struct top_session *t, struct mace_session *s);
/* The session's counters into the model: totals (with replaced sessions'),
 * each row's own, and the rest; rows whose netns left the session are gone. */
void top_session_update_counters(struct top_session *t, uint64_t now);
/* Stops and frees old: its last latencies go to the model, its final
 * counters become the base the rows keep adding to. */
void top_session_retire(struct top_session *t, struct mace_session *old);
/* Binds again, starts the new session, cuts at T, then retires the old one
 * (if any).  0 or -errno (the old session stays). */
int top_session_rebind(struct top_session *t);

#endif
