/* SPDX-License-Identifier: MIT */
/* Aggregation and sorting behind `mace top` (see top_model.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top_model.h"

static const char *const col_names[TOP_NCOLS] = {
	"CONTAINER", "EG p50", "EG p99", "EG mean", "IN p50", "IN p99", "IN mean",
	"REC/s", "MATCH%", "LOST",
};

const char *top_col_name(enum top_col col)
{
	return col < TOP_NCOLS ? col_names[col] : "?";
}

int top_model_init(struct top_model *m, top_name_fn name_fn)
{
	memset(m, 0, sizeof(*m));
	m->sort = TOP_COL_PPS;
	m->name_fn = name_fn;
	return 0;
}

void top_model_fini(struct top_model *m)
{
	unsigned int i, d;

	for (i = 0; i < m->n; i++) {
		for (d = 0; d < 2; d++) {
			mace_hist_free(m->rows[i].cur[d]);
			mace_hist_free(m->rows[i].all[d]);
		}
	}
	free(m->rows);
	free(m->order);
	memset(m, 0, sizeof(*m));
}

static struct top_row *row_for(struct top_model *m, uint32_t netns)
{
	struct top_row *r;
	unsigned int i, d;

	for (i = 0; i < m->n; i++)
		if (m->rows[i].netns == netns)
			return &m->rows[i];
	if (m->n == m->cap) {
		unsigned int cap = m->cap ? m->cap * 2 : 8;
		unsigned int *order = realloc(m->order, cap * sizeof(*order));

		if (!order)
			return NULL;
		m->order = order;
		r = realloc(m->rows, cap * sizeof(*r));
		if (!r)
			return NULL;
		m->rows = r;
		m->cap = cap;
	}
	r = &m->rows[m->n];
	memset(r, 0, sizeof(*r));
	for (d = 0; d < 2; d++) {
		r->cur[d] = mace_hist_new();
		r->all[d] = mace_hist_new();
		if (!r->cur[d] || !r->all[d]) {
			for (d = 0; d < 2; d++) {
				mace_hist_free(r->cur[d]);
				mace_hist_free(r->all[d]);
			}
			return NULL;
		}
	}
	r->netns = netns;
	r->match = -1;
	r->lost = -1;
	if (!m->name_fn || !m->name_fn(netns, r->name, sizeof(r->name)))
		snprintf(r->name, sizeof(r->name), "netns:%u", netns);
	m->order[m->n] = m->n;
	m->n++;
	return r;
}

void top_model_add(struct top_model *m, const struct mace_record *rec)
{
	struct top_row *r;

	if (rec->dir > MACE_INGRESS) {
		m->dropped++;
		return;
	}
	r = row_for(m, rec->netns);
	if (!r) {
		m->dropped++;
		return;
	}
	mace_hist_add(r->cur[rec->dir], rec->latency_ns);
	r->interval_records++;
}

void top_model_add_hist(struct top_model *m, uint32_t netns, unsigned int dir,
			const struct mace_hist *h)
{
	struct top_row *r;
	struct mace_summary s = { .sz = sizeof(s) };

	mace_hist_summary(h, &s);
	r = dir <= MACE_INGRESS ? row_for(m, netns) : NULL;
	if (!r) {
		m->dropped += s.count;
		return;
	}
	mace_hist_merge(r->cur[dir], h);
	r->interval_records += s.count;
}

static void derive(struct top_model *m);
static void drop_gone(struct top_model *m, uint64_t now_ns);

static void dirstat(const struct mace_hist *h, struct top_dirstat *out)
{
	struct mace_summary s = { .sz = sizeof(s) };

	mace_hist_summary(h, &s);
	out->count = s.count;
	out->p50 = s.p50;
	out->p99 = s.p99;
	out->mean = s.mean;
}

void top_model_tick(struct top_model *m, uint64_t now_ns)
{
	double dt = m->last_tick_ns && now_ns > m->last_tick_ns ?
		    (now_ns - m->last_tick_ns) / 1e9 : 1.0;
	unsigned int i, d;

	for (i = 0; i < m->n; i++) {
		struct top_row *r = &m->rows[i];

		for (d = 0; d < 2; d++) {
			uint64_t *h = r->p50_hist[d];

			dirstat(r->cur[d], &r->last[d]);
			mace_hist_merge(r->all[d], r->cur[d]);
			mace_hist_reset(r->cur[d]);
			dirstat(r->all[d], &r->total[d]);
			if (r->nhist == TOP_HISTORY)
				memmove(h, h + 1, (TOP_HISTORY - 1) * sizeof(*h));
			h[r->nhist < TOP_HISTORY ? r->nhist : TOP_HISTORY - 1] =
				r->last[d].count ? r->last[d].p50 : TOP_NO_VALUE;
		}
		if (r->nhist < TOP_HISTORY)
			r->nhist++;
		r->pps = r->interval_records / dt;
		r->interval_records = 0;
	}
	m->last_tick_ns = now_ns;
	drop_gone(m, now_ns);
	derive(m);
	top_model_sort(m);
}

void top_counters_add(struct mace_counters *into, const struct mace_counters *c)
{
	into->events += c->events;
	into->records += c->records;
	into->matched += c->matched;
	into->unmatched += c->unmatched;
	into->expired += c->expired;
	into->replaced += c->replaced;
	into->duplicates += c->duplicates;
	into->pending += c->pending;
	into->collisions += c->collisions;
	into->lost += c->lost;
	into->user_drops += c->user_drops;
}

static double match_of(const struct mace_counters *c)
{
	return c->events ? (double)c->matched / c->events : -1;
}

/* Rows' match/lost from what is known now. */
static void derive(struct top_model *m)
{
	unsigned int i;

	for (i = 0; i < m->n; i++) {
		struct top_row *r = &m->rows[i];

		if (r->own_counters) {
			struct mace_counters t = r->cnt_base;

			top_counters_add(&t, &r->cnt_cur);
			r->match = match_of(&t);
		} else {
			/* a shared session's counters are this row's only if it is alone */
			r->match = m->n == 1 ? match_of(&m->counters) : -1;
		}
		/* the kernel's losses cannot be told apart by container */
		r->lost = m->n == 1 && m->counters.events ? (int64_t)m->counters.lost : -1;
	}
}

void top_model_set_counters(struct top_model *m, uint32_t netns, const struct mace_counters *c)
{
	unsigned int i;

	if (!netns) {
		m->counters = *c;
	} else {
		for (i = 0; i < m->n; i++) {
			if (m->rows[i].netns == netns) {
				m->rows[i].cnt_cur = *c;
				m->rows[i].own_counters = true;
			}
		}
	}
	derive(m);
}

void top_model_retire_counters(struct top_model *m)
{
	unsigned int i;

	for (i = 0; i < m->n; i++) {
		top_counters_add(&m->rows[i].cnt_base, &m->rows[i].cnt_cur);
		memset(&m->rows[i].cnt_cur, 0, sizeof(m->rows[i].cnt_cur));
	}
}

void top_model_set_gone(struct top_model *m, uint32_t netns, bool gone, uint64_t now_ns)
{
	unsigned int i;

	for (i = 0; i < m->n; i++) {
		struct top_row *r = &m->rows[i];

		if (r->netns != netns)
			continue;
		if (!gone && r->gone_ns) {
			/* back after leaving: a new netns may have the old one's
			 * inode number (the kernel reuses them), so name it again */
			if (!m->name_fn || !m->name_fn(netns, r->name, sizeof(r->name)))
				snprintf(r->name, sizeof(r->name), "netns:%u", netns);
			r->gone_ns = 0;
		}
		else if (gone && !r->gone_ns)
			r->gone_ns = now_ns ? now_ns : 1;
	}
}

/* Drops rows gone for TOP_GONE_NS; order is rebuilt by the sort after. */
static void drop_gone(struct top_model *m, uint64_t now_ns)
{
	unsigned int i = 0, d;

	while (i < m->n) {
		struct top_row *r = &m->rows[i];

		if (!r->gone_ns || now_ns < r->gone_ns + TOP_GONE_NS) {
			i++;
			continue;
		}
		for (d = 0; d < 2; d++) {
			mace_hist_free(r->cur[d]);
			mace_hist_free(r->all[d]);
		}
		m->rows[i] = m->rows[--m->n];
	}
}

double top_row_value(const struct top_model *m, const struct top_row *r, enum top_col col)
{
	const struct top_dirstat *eg = m->show_total ? &r->total[0] : &r->last[0];
	const struct top_dirstat *in = m->show_total ? &r->total[1] : &r->last[1];

	switch (col) {
	case TOP_COL_EG_P50:
		return eg->count ? (double)eg->p50 : -1;
	case TOP_COL_EG_P99:
		return eg->count ? (double)eg->p99 : -1;
	case TOP_COL_EG_MEAN:
		return eg->count ? eg->mean : -1;
	case TOP_COL_IN_P50:
		return in->count ? (double)in->p50 : -1;
	case TOP_COL_IN_P99:
		return in->count ? (double)in->p99 : -1;
	case TOP_COL_IN_MEAN:
		return in->count ? in->mean : -1;
	case TOP_COL_PPS:
		return r->pps;
	case TOP_COL_MATCH:
		return r->match < 0 ? -1 : r->match * 100;
	case TOP_COL_LOST:
		return r->lost < 0 ? -1 : (double)r->lost;
	default:
		return -1;
	}
}

/* qsort has no context argument: the model being sorted. */
static const struct top_model *sorting;

static int cmp_rows(const void *a, const void *b)
{
	const struct top_row *x = &sorting->rows[*(const unsigned int *)a];
	const struct top_row *y = &sorting->rows[*(const unsigned int *)b];
	int c;

	if (sorting->sort == TOP_COL_NAME) {
		c = strcmp(x->name, y->name);
	} else {
		double vx = top_row_value(sorting, x, sorting->sort);
		double vy = top_row_value(sorting, y, sorting->sort);

		/* Unknown values go last in either direction. */
		if ((vx < 0) != (vy < 0))
			return vx < 0 ? 1 : -1;
		c = vx > vy ? -1 : vx < vy;	/* high first */
	}
	if (sorting->reverse)
		c = -c;
	if (!c)	/* stable for equal keys: the display must not flicker */
		c = x->netns < y->netns ? -1 : x->netns > y->netns;
	return c;
}

void top_model_sort(struct top_model *m)
{
	unsigned int i;

	for (i = 0; i < m->n; i++)
		m->order[i] = i;
	sorting = m;
	qsort(m->order, m->n, sizeof(*m->order), cmp_rows);
	sorting = NULL;
}

void top_model_set_sort(struct top_model *m, enum top_col col, bool reverse)
{
	m->sort = col < TOP_NCOLS ? col : TOP_COL_NAME;
	m->reverse = reverse;
	top_model_sort(m);
}

const struct top_row *top_model_row(const struct top_model *m, unsigned int i)
{
	return i < m->n ? &m->rows[m->order[i]] : NULL;
}
