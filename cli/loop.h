/* SPDX-License-Identifier: MIT */
/* One capture from start to stop (loop.c). */
#ifndef MACE_CLI_LOOP_H
#define MACE_CLI_LOOP_H

#include "handover.h"

struct cli_loop {
	/* The session (h.s, opened with cli_handover_open) and, following
	 * (h.follow), the ones that take over when containers come and go. */
	struct cli_handover h;
	const struct cli_opts *o;
	/* Called after each batch of records and at the end (flush output). */
	int (*after_poll)(void *ctx);
	void *ctx;
	bool progress;		/* once a second on stderr (only if a terminal) */
	const uint64_t *nrecords; /* the caller's record count, for progress; NULL: the session's */
	/* results */
	int child_status;	/* shell-style: code, or 128 + signal; -1 if no child */
	int stop_signal;	/* SIGINT/SIGTERM that stopped the run, or 0 */
};
/* Starts, runs until duration/child exit/signal/end of replay, stops (the
 * session stays in h).  Returns 0 or EXIT_RUNTIME (reported). */
int cli_loop_run(struct cli_loop *l);

#endif /* MACE_CLI_LOOP_H */
