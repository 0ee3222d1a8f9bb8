/* SPDX-License-Identifier: MIT */
/* mace top's sessions: handed over as containers come and go, fed into the model (top_session.c). */
#ifndef MACE_TOP_SESSION_H
#define MACE_TOP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "handover.h"
#include "top_model.h"

struct top_session {
	/* h.s: NULL while no container is left; h.retired: counters of the
	 * sessions replaced (for totals that do not reset); h.window_skipped:
	 * packets the handovers' cut left out (counted by the other session). */
	struct cli_handover h;
	struct top_model *m;		/* what the sessions feed */
	struct mace_counters retired_unattr;
};

/* The first session, opened and not started; 0 or EXIT_RUNTIME (reported). */
int top_session_open(struct top_session *t, const struct cli_opts *o, struct top_model *m);
/* The session's counters into the model: totals (with replaced sessions'),
 * each row's own, and the rest; rows whose netns left the session are gone. */
void top_session_update_counters(struct top_session *t, uint64_t now);

#endif
