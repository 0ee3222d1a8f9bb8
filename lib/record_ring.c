/* SPDX-License-Identifier: MIT */
/*
 * Rings of recent records, one per container netns.  A ring starts small and
 * doubles up to its bound, so an idle container costs little.  Free slots are
 * marked with a direction no lookup asks for, so a lookup can scan the whole
 * array without knowing where the ring wraps.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mace_int.h"
#include "record_ring.h"

#define FREE_SLOT 0xff		/* dir of an empty slot */
#define FIRST_SLOTS 64u

struct ring {
	uint32_t netns;
	unsigned int size;	/* slots allocated */
	unsigned int head;	/* next slot to write */
	unsigned int count;	/* kept records: the count slots before head */
	uint64_t added;		/* records ever added (the ring's version) */
	struct mace_record *rec;
};

struct mace_rings {
	unsigned int per_netns, max_netns, n;
	uint64_t max_age_ns;
	struct ring *r;		/* max_netns of them, n in use */
	struct mace_rings_stats st;
};

size_t mace__rings_record_size(void)
{
	return sizeof(struct mace_record);
}

struct mace_rings *mace__rings_new(unsigned int per_netns, unsigned int max_netns,
				  uint64_t max_age_ns)
{
	struct mace_rings *rs;

	if (!per_netns || per_netns > (1u << 24) || !max_netns || max_netns > 65536 ||
	    !max_age_ns) {
		errno = EINVAL;
		return NULL;
	}
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return NULL;
	rs->r = calloc(max_netns, sizeof(*rs->r));
	if (!rs->r) {
		free(rs);
		return NULL;
	}
	rs->per_netns = per_netns;
	rs->max_netns = max_netns;
	rs->max_age_ns = max_age_ns;
	return rs;
}

void mace__rings_free(struct mace_rings *rs)
{
	unsigned int i;

	if (!rs)
		return;
	for (i = 0; i < rs->n; i++)
		free(rs->r[i].rec);
	free(rs->r);
	free(rs);
}

static struct ring *find(const struct mace_rings *rs, uint32_t netns)
{
	unsigned int i;

	for (i = 0; i < rs->n; i++)
		if (rs->r[i].netns == netns)
			return &rs->r[i];
	return NULL;
}

static unsigned int oldest(const struct ring *g)
{
	return (g->head + g->size - g->count) % g->size;
}

/* Reallocates to size slots, oldest record first. */
static int resize(struct mace_rings *rs, struct ring *g, unsigned int size)
{
	struct mace_record *rec = malloc((size_t)size * sizeof(*rec));
	unsigned int i, from;

	if (!rec)
		return -ENOMEM;
	for (i = 0; i < size; i++)
		rec[i].dir = FREE_SLOT;
	from = g->size ? oldest(g) : 0;
	for (i = 0; i < g->count; i++)
		rec[i] = g->rec[(from + i) % g->size];
	rs->st.bytes += ((uint64_t)size - g->size) * sizeof(*rec);
	free(g->rec);
	g->rec = rec;
	g->size = size;
	g->head = g->count % size;
	return 0;
}

int mace__rings_add(struct mace_rings *rs, const struct mace_record *rec)
{
	struct ring *g;

	if (!rec->netns)
		return -EINVAL;
	g = find(rs, rec->netns);
	if (!g) {
		if (rs->n == rs->max_netns) {
			rs->st.dropped++;
			return -ENOSPC;
		}
		g = &rs->r[rs->n];
		memset(g, 0, sizeof(*g));
		g->netns = rec->netns;
		if (resize(rs, g, rs->per_netns < FIRST_SLOTS ? rs->per_netns : FIRST_SLOTS)) {
			rs->st.dropped++;
			return -ENOMEM;
		}
		rs->n++;
	}
	if (g->count == g->size && g->size < rs->per_netns) {
		unsigned int size = g->size * 2 < rs->per_netns ? g->size * 2 : rs->per_netns;

		if (resize(rs, g, size)) {
			rs->st.dropped++;
			return -ENOMEM;
		}
	}
	if (g->count == g->size)
		rs->st.evicted++;
	else
		g->count++;
	g->rec[g->head] = *rec;
	g->head = (g->head + 1) % g->size;
	g->added++;
	rs->st.added++;
	return 0;
}

uint64_t mace__rings_version(const struct mace_rings *rs, uint32_t netns)
{
	const struct ring *g = find(rs, netns);

	return g ? g->added : 0;
}

static void drop(struct mace_rings *rs, struct ring *g)
{
	rs->st.bytes -= (uint64_t)g->size * sizeof(*g->rec);
	free(g->rec);
	*g = rs->r[--rs->n];
}

void mace__rings_expire(struct mace_rings *rs, uint64_t now_ns)
{
	uint64_t lo = now_ns > rs->max_age_ns ? now_ns - rs->max_age_ns : 0;
	unsigned int i;

	for (i = 0; i < rs->n; i++) {
		struct ring *g = &rs->r[i];

		/* Records arrive roughly in start order: stop at the first young one. */
		while (g->count && g->rec[oldest(g)].ts_ns < lo) {
			g->rec[oldest(g)].dir = FREE_SLOT;
			g->count--;
			rs->st.expired++;
		}
		/* A container quiet for that long gives its ring back. */
		if (!g->count) {
			drop(rs, g);
			i--;	/* the last ring moved into slot i */
		}
	}
}

void mace__rings_drop(struct mace_rings *rs, uint32_t netns)
{
	struct ring *g = find(rs, netns);

	if (g)
		drop(rs, g);
}

int mace__rings_probe(const struct mace_rings *rs, uint32_t netns, const struct mace_probe *probe,
		     struct mace_overhead *out, const struct mace_record **egress,
		     const struct mace_record **ingress)
{
	const struct ring *g = find(rs, netns);
	struct mace_probe p = *probe;

	/* The ring is the scope: a netns in the probe cannot widen it. */
	p.netns = netns;
	return mace__overhead_find(g ? g->rec : NULL, g ? g->size : 0, &p, out, egress, ingress);
}

static int by_start(const void *a, const void *b)
{
	const struct mace_record *x = a, *y = b;

	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

int mace__rings_window(const struct mace_rings *rs, uint32_t netns, uint64_t from_ns,
		      uint64_t to_ns, struct mace_record *out, unsigned int max, bool *more)
{
	const struct ring *g = find(rs, netns);
	struct mace_record *all;
	unsigned int i, n = 0;

	*more = false;
	if (!g || !g->count)
		return 0;
	all = malloc((size_t)g->count * sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (i = 0; i < g->size; i++) {
		const struct mace_record *r = &g->rec[i];

		if (r->dir != FREE_SLOT && r->ts_ns >= from_ns && r->ts_ns <= to_ns)
			all[n++] = *r;
	}
	qsort(all, n, sizeof(*all), by_start);
	if (n > max) {
		*more = true;
		n = max;
	}
	memcpy(out, all, (size_t)n * sizeof(*all));
	free(all);
	return (int)n;
}

void mace__rings_stats(const struct mace_rings *rs, struct mace_rings_stats *out)
{
	*out = rs->st;
	out->rings = rs->n;
}
