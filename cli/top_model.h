/* SPDX-License-Identifier: MIT */
/*
 * The data behind `mace top`: records aggregated per container netns, per
 * interval and in total, sorted by any column.  Plain C, no terminal: the
 * view (cmd_top.c) only reads it, the unit test drives it with synthetic records.
 */
#ifndef MACE_TOP_MODEL_H
#define MACE_TOP_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "mace.h"

enum top_col {
	TOP_COL_NAME,
	TOP_COL_EG_P50, TOP_COL_EG_P99, TOP_COL_EG_MEAN,
	TOP_COL_IN_P50, TOP_COL_IN_P99, TOP_COL_IN_MEAN,
	TOP_COL_PPS, TOP_COL_MATCH, TOP_COL_LOST,
	TOP_NCOLS
};

#define TOP_HISTORY 60		/* seconds of p50 kept for the detail screen */
#define TOP_NO_VALUE UINT64_MAX	/* an interval without records */
#define TOP_GONE_NS 10000000000ull	/* a vanished container's row stays this long */

struct top_dirstat {
	uint64_t count, p50, p99;
	double mean;
};

struct top_row {
	uint32_t netns;
	char name[48];
	struct mace_hist *cur[2];	/* the interval being filled */
	struct mace_hist *all[2];	/* since the start */
	struct top_dirstat last[2];	/* the last closed interval */
	struct top_dirstat total[2];
	uint64_t interval_records;
	double pps;			/* records per second, last interval */
	double match;			/* matched / events, 0..1; < 0 unknown */
	int64_t lost;			/* < 0 unknown */
	/* Its own counters: from sessions already replaced, and the current. */
	struct mace_counters cnt_base, cnt_cur;
	bool own_counters;
	uint64_t gone_ns;		/* when its netns left the session; 0: present */
	uint64_t p50_hist[2][TOP_HISTORY]; /* oldest first once full */
	unsigned int nhist;
};

typedef const char *(*top_name_fn)(uint32_t netns, char *buf, size_t size);

struct top_model {
	struct top_row *rows;
	unsigned int n, cap;
	unsigned int *order;		/* sorted indices into rows */
	enum top_col sort;
	bool reverse;			/* flips the natural order (names A-Z, numbers high first) */
	bool show_total;		/* latency columns from the whole run, not the last second */
	uint64_t last_tick_ns;
	uint64_t dropped;		/* records not aggregated (no memory) */
	struct mace_counters counters;	/* the session's, for the status line */
	struct mace_counters unattributed; /* of no container (per-netns counters only) */
	bool have_unattributed;
	top_name_fn name_fn;
};

int top_model_init(struct top_model *m, top_name_fn name_fn);
void top_model_fini(struct top_model *m);
/* Adds one record to its netns row (created on first sight). */
void top_model_add(struct top_model *m, const struct mace_record *rec);
/* Adds the latencies h holds (of netns, dir) to that row, as records would. */
void top_model_add_hist(struct top_model *m, uint32_t netns, unsigned int dir,
			const struct mace_hist *h);
/* Closes the interval: per-row stats, packets/s, history; then re-sorts. */
void top_model_tick(struct top_model *m, uint64_t now_ns);
/* Session counters.  netns 0: every container of the session at once (the
 * caller adds earlier sessions'); alone they give a row's match/lost only
 * when there is one row.  netns != 0: that row's own counters in the current
 * session (mace_session_counters_netns): its match rate; lost stays a
 * session-wide figure, so it is shown per row only when there is one row. */
void top_model_set_counters(struct top_model *m, uint32_t netns, const struct mace_counters *c);
/* The session is being replaced: rows' current counters become their base. */
void top_model_retire_counters(struct top_model *m);
/* Marks a row's netns as gone from (or back in) the session at now_ns; gone
 * rows are dropped TOP_GONE_NS later, at a tick. */
void top_model_set_gone(struct top_model *m, uint32_t netns, bool gone, uint64_t now_ns);
void top_counters_add(struct mace_counters *into, const struct mace_counters *c);
void top_model_sort(struct top_model *m);
void top_model_set_sort(struct top_model *m, enum top_col col, bool reverse);
/* i-th row in display order, or NULL. */
const struct top_row *top_model_row(const struct top_model *m, unsigned int i);
/* The value a column shows and sorts by; negative when unknown. */
double top_row_value(const struct top_model *m, const struct top_row *r, enum top_col col);
const char *top_col_name(enum top_col col);

#endif /* MACE_TOP_MODEL_H */
