/* SPDX-License-Identifier: MIT */
/*
 * Silent points: a point of the path that has seen no event while its
 * direction's start has seen many.  Its segments come out unknown ("-") for
 * every packet; this says which point and, where the cause is a known one,
 * why, instead of leaving a column of dashes to be puzzled over.
 */
#include <stdio.h>
#include <string.h>

#include "mace_int.h"

/* Why (tp @ role) may never fire, for the causes we know of; NULL if none. */
static const char *known_cause(enum mace_tp tp, enum mace_role role)
{
	const struct mace_tp_info *ti = mace__tp_info(tp);

	if (role == MACE_ROLE_BRIDGE && ti && ti->tx)
		return "a bridge forwarding at layer 2 (port to port) emits none; only "
		       "packets the host routes into the bridge do";
	if (role == MACE_ROLE_BRIDGE)
		return "a bridge forwarding at layer 2 (port to port) receives nothing of its "
		       "own; only packets it passes up to the host (routed, NATed) fire this";
	if (role == MACE_ROLE_TUNNEL)
		return "no packet went through the tunnel device: is the traffic "
		       "encapsulated on this host?";
	if (tp == MACE_TP_NAPI_GRO_FRAGS_ENTRY)
		return "only some NIC drivers receive through napi_gro_frags; veth and "
		       "virtio use other receive entries (see path max-dev-auto)";
	if (ti && ti->kind == MACE_TPK_PACKET && strstr(ti->name, "_entry"))
		return "receive entries depend on the driver; list the others as "
		       "alternatives (tp1|tp2)";
	if (ti && ti->kind != MACE_TPK_PACKET)
		return "the container's tasks made no such call: name the calls they make "
		       "(sendto|sendmsg|..., recvfrom|recvmsg|...)";
	return NULL;
}

/* "net_dev_queue|net_dev_xmit @bridge" */
static void point_name(const struct mace_point *pt, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int tp = 1; tp < MACE_TP_COUNT && o < len; tp++)
		if (pt->tp_mask & (1u << tp))
			o += snprintf(buf + o, len - o, "%s%s", o ? "|" : "",
				      mace__tp_info(tp)->name);
	if (o < len)
		snprintf(buf + o, len - o, " @%s", mace__role_name(pt->role));
}

unsigned int mace__silent_points(const struct mace_path *p,
				 const __u64 fired[2][MACE_MAX_POINTS], __u64 min_starts,
				 mace_silent_fn fn, void *ctx)
{
	static const char *const dirs[2] = { "egress", "ingress" };
	unsigned int n = 0;

	for (int d = 0; d < 2; d++) {
		const struct mace_dirpath *dp = &p->dir[d];

		if (dp->npoints < 2 || fired[d][0] < min_starts || !min_starts)
			continue;
		for (unsigned int k = 1; k < dp->npoints; k++) {
			const struct mace_point *pt = &dp->pt[k];
			const char *cause;
			char name[256], note[640];

			if (fired[d][k])
				continue;
			cause = known_cause(__builtin_ctz(pt->tp_mask), pt->role);
			point_name(pt, name, sizeof(name));
			snprintf(note, sizeof(note), "%s %s %s (line %u): no events after %llu "
				 "packets started; %s", dirs[d],
				 k + 1 == dp->npoints ? "end" : "waypoint", name, pt->line,
				 (unsigned long long)fired[d][0],
				 cause ? cause : "the packets take another way, or this "
				 "tracepoint does not fire on this device");
			if (fn)
				fn(d, k, note, ctx);
			n++;
		}
	}
	return n;
}
