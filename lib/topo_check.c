/* SPDX-License-Identifier: MIT */
/*
 * Points a bound topology lets no packet fire, said before tracing: a
 * bridge crossed at layer 2 (the outer or tunnel device is one of its ports)
 * neither receives nor transmits the container's packets itself; a bridge
 * the host routes through receives them going out (passed up to the host)
 * and transmits them coming in (routed into it), never the other way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mace_int.h"
#include "netlink.h"

/* The master (bridge) ifindex of a device, 0 if none; -errno. */
static int link_master(__u32 netns, __u32 ifindex, __u32 *master)
{
	struct nl_links ls = { 0 };
	const struct nl_link *l;
	char err[256];
	int fd = mace__netns_socket(netns, err, sizeof(err)), ret;

	if (fd < 0)
		return fd;
	ret = mace__nl_links_dump(fd, &ls);
	close(fd);
	l = ret ? NULL : mace__nl_link_by_index(&ls, ifindex);
	*master = l ? l->master : 0;
	free(ls.v);
	return ret ? ret : l ? 0 : -ENODEV;
}

unsigned int mace__topo_silent(const struct mace_path *p, const struct mace_binding *b,
			       mace_silent_fn fn, void *ctx)
{
	static const char *const dirs[2] = { "egress", "ingress" };
	const struct mace_bound_dev *br = NULL, *port = NULL;
	__u32 tx_mask = 0;
	unsigned int n = 0;

	for (int tp = 1; tp < MACE_TP_COUNT; tp++)
		if (mace__tp_info(tp)->tx)
			tx_mask |= 1u << tp;

	for (unsigned int i = 0; i < b->ndev; i++)
		if (b->dev[i].role == MACE_ROLE_BRIDGE && !br)
			br = &b->dev[i];
	if (!br)
		return 0;
	/* The device the traffic leaves the bridge by, if it is a port. */
	for (unsigned int i = 0; i < b->ndev && !port; i++) {
		const struct mace_bound_dev *dv = &b->dev[i];
		__u32 master;

		if ((dv->role == MACE_ROLE_OUTER || dv->role == MACE_ROLE_TUNNEL) &&
		    dv->netns == br->netns && !link_master(dv->netns, dv->ifindex, &master) &&
		    master == br->ifindex)
			port = dv;
	}
	for (int d = 0; d < 2; d++) {
		const struct mace_dirpath *dp = &p->dir[d];

		for (unsigned int k = 0; k < dp->npoints; k++) {
			const struct mace_point *pt = &dp->pt[k];
			enum mace_tp tp = __builtin_ctz(pt->tp_mask);
			char note[512];
			bool mixed;

			if (pt->role != MACE_ROLE_BRIDGE)
				continue;
			mixed = (pt->tp_mask & tx_mask) && (pt->tp_mask & ~tx_mask);
			if (port)
				snprintf(note, sizeof(note), "%s %s %s @bridge (line %u): no packet "
					 "will fire it: %s is a port of bridge %s, which forwards "
					 "at layer 2 and emits no event of its own", dirs[d],
					 k ? "waypoint" : "start", mace__tp_info(tp)->name,
					 pt->line, port->name, br->name);
			else if (d == MACE_EGRESS && mace__tp_info(tp)->tx && !mixed)
				snprintf(note, sizeof(note), "egress %s %s @bridge (line %u): no "
					 "packet will fire it: bridge %s passes the container's "
					 "packets up to the host, which routes them out; it "
					 "transmits only those routed into it (ingress)",
					 k ? "waypoint" : "start", mace__tp_info(tp)->name,
					 pt->line, br->name);
			else if (d == MACE_INGRESS && !mace__tp_info(tp)->tx && !mixed)
				snprintf(note, sizeof(note), "ingress %s %s @bridge (line %u): no "
					 "packet will fire it: the host routes packets for the "
					 "container into bridge %s, which transmits them; it "
					 "receives only those going out (egress)",
					 k ? "waypoint" : "start", mace__tp_info(tp)->name,
					 pt->line, br->name);
			else
				continue;
			if (fn)
				fn(d, k, note, ctx);
			n++;
		}
	}
	return n;
}
