/* SPDX-License-Identifier: MIT */
/*
 * Recent records per container netns, for `mace serve --socket`: one ring
 * per netns, bounded by count (the oldest goes first) and by age.  Not
 * installed.
 */
#ifndef MACE_RECORD_RING_H
#define MACE_RECORD_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "mace.h"

struct mace_rings;

/* per_netns: records kept per netns (1..1<<24); max_netns: rings at most;
 * max_age_ns: records whose start is older than now - max_age go.  NULL +
 * errno. */
struct mace_rings *mace__rings_new(unsigned int per_netns, unsigned int max_netns,
				  uint64_t max_age_ns);
void mace__rings_free(struct mace_rings *rs);
/* Keeps rec in the ring of rec->netns.  0; -ENOSPC when max_netns rings
 * exist already, -ENOMEM (both counted as drops); -EINVAL for netns 0. */
int mace__rings_add(struct mace_rings *rs, const struct mace_record *rec);
/* Changes whenever a record is added to the ring of netns (0: no ring). */
uint64_t mace__rings_version(const struct mace_rings *rs, uint32_t netns);
/* Drops records that started before now_ns - max_age. */
void mace__rings_expire(struct mace_rings *rs, uint64_t now_ns);
/* The ring of a netns that went away. */
void mace__rings_drop(struct mace_rings *rs, uint32_t netns);
/* As mace_session_overhead, over the records of netns only; egress/ingress
 * point into the ring (valid until the next add). */
int mace__rings_probe(const struct mace_rings *rs, uint32_t netns, const struct mace_probe *probe,
		     struct mace_overhead *out, const struct mace_record **egress,
		     const struct mace_record **ingress);
/* Copies the records of netns that started in [from_ns, to_ns], by start
 * time, at most max; *more tells whether later ones in the window were left
 * out.  Returns how many, or -ENOMEM. */
int mace__rings_window(const struct mace_rings *rs, uint32_t netns, uint64_t from_ns,
		      uint64_t to_ns, struct mace_record *out, unsigned int max, bool *more);

struct mace_rings_stats {
	uint64_t added;		/* records kept */
	uint64_t evicted;	/* pushed out by the count bound before their age */
	uint64_t expired;	/* gone by age */
	uint64_t dropped;	/* not kept: too many netns, or no memory */
	unsigned int rings;	/* netns with a ring now */
	uint64_t bytes;		/* memory the rings hold */
};
void mace__rings_stats(const struct mace_rings *rs, struct mace_rings_stats *out);
/* Bytes one record takes in a ring (for the memory bound said in --help). */
size_t mace__rings_record_size(void);

#endif /* MACE_RECORD_RING_H */
