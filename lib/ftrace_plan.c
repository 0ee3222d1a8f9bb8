/* SPDX-License-Identifier: MIT */
/*
 * ftrace backend, planning: which tracepoints to enable and which bound
 * devices each one is filtered on.  No kernel access: only the path and the
 * binding.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ftrace_int.h"

/*
 * The devices of the packet points and the container netns of the syscall
 * points, from the binding as it is now.  Names must be unique among those
 * devices: ftrace knows no netns.  strict: every role the path needs has a
 * device (at start; later a device may go while others stay).
 */
int mace__ft_plan_devices(struct mace_backend *b, bool strict, char *err, size_t errlen)
{
	const struct mace_path *p = b->cfg.path;
	const struct mace_binding *bd = b->cfg.binding;
	__u32 pkt_roles = b->pkt_roles;

	b->ndev = 0;
	b->tasks.nnetns = 0;

	for (unsigned int i = 0; i < bd->ndev; i++) {
		const struct mace_bound_dev *dv = &bd->dev[i];

		if (dv->role == MACE_ROLE_CONTAINER && b->sys) {
			bool seen = false;

			for (unsigned int k = 0; k < b->tasks.nnetns; k++)
				seen |= b->cnetns[k] == dv->netns;
			if (!seen)
				b->cnetns[b->tasks.nnetns++] = dv->netns;
		}
		if (!(pkt_roles & (1u << dv->role)))
			continue;
		if (strpbrk(dv->name, "\"\\") || !dv->name[0]) {
			snprintf(err, errlen, "ftrace: device name '%s' (role %s) cannot be put in "
				 "an ftrace filter", dv->name, mace__role_name(dv->role));
			return -EINVAL;
		}
		for (unsigned int k = 0; k < b->ndev; k++) {
			const struct mace_bound_dev *o = b->devs[k];

			if (strcmp(o->name, dv->name))
				continue;
			snprintf(err, errlen, "ftrace: device name '%s' is bound twice: role %s in "
				 "netns %s (%u) and role %s in netns %s (%u); ftrace filters by "
				 "device name only and cannot tell them apart%s; use the eBPF "
				 "backend (-b bpf), which filters by netns and ifindex", dv->name,
				 mace__role_name(o->role), o->netns_name[0] ? o->netns_name : "?",
				 o->netns, mace__role_name(dv->role),
				 dv->netns_name[0] ? dv->netns_name : "?", dv->netns,
				 o->role == dv->role ? " (nor which container an event is from)" :
				 "");
			return -EOPNOTSUPP;
		}
		b->devs[b->ndev++] = dv;
	}
	b->tasks.netns = b->cnetns;
	if (!strict)
		return 0;
	for (int r = 1; r < MACE_ROLE_COUNT; r++) {
		bool bound = false;

		for (unsigned int k = 0; k < b->ndev; k++)
			bound |= b->devs[k]->role == r;
		if ((pkt_roles & (1u << r)) && !bound) {
			snprintf(err, errlen, "ftrace: no device is bound to role %s, which path %s "
				 "needs", mace__role_name(r), p->name);
			return -ENODEV;
		}
	}
	if (b->sys && !b->tasks.nnetns) {
		snprintf(err, errlen, "ftrace: path %s has syscall points but no container netns "
			 "is bound", p->name);
		return -ENODEV;
	}
	return 0;
}

/*
 * Every Docker container's device is eth0, and ftrace filters by name only.
 * Where the path's container points are the veth's own transmit (egress) and
 * receive (ingress), the same packets cross the container's host-side veth
 * (a unique name in the host netns) right after and right before: its
 * receive stands in for the container's transmit, its transmit for the
 * container's receive.  True if the path and binding allow it and two bound
 * container devices share a name.
 */
static bool host_veth_stands_in(const struct mace_backend *b)
{
	const struct mace_path *p = b->cfg.path;
	const struct mace_binding *bd = b->cfg.binding;
	const __u32 tp_for[2] = { 1u << MACE_TP_NET_DEV_XMIT, 1u << MACE_TP_NETIF_RECEIVE_SKB };
	bool clash = false;

	if (b->sys || (mace__path_role_mask(p) & (1u << MACE_ROLE_HOST_VETH)))
		return false;
	for (int d = 0; d < 2; d++)
		for (unsigned int i = 0; i < p->dir[d].npoints; i++)
			if (p->dir[d].pt[i].role == MACE_ROLE_CONTAINER &&
			    p->dir[d].pt[i].tp_mask != tp_for[d])
				return false;
	for (unsigned int i = 0; i < bd->ndev; i++) {
		const struct mace_bound_dev *c = &bd->dev[i];
		bool peer = false;

		if (c->role != MACE_ROLE_CONTAINER)
			continue;
		for (unsigned int k = 0; k < bd->ndev; k++) {
			const struct mace_bound_dev *o = &bd->dev[k];

			peer |= o->role == MACE_ROLE_HOST_VETH && o->container_netns == c->netns;
			clash |= k < i && o->role == MACE_ROLE_CONTAINER && !strcmp(o->name, c->name);
		}
		if (!peer)
			return false;	/* a container without a bound host veth */
	}
	return clash;
}

/* Moves the container points' tracepoints onto the host veths (see above). */
static void stand_in(struct mace_backend *b, __u32 *tpmask, __u32 *roles)
{
	const __u32 ctr = 1u << MACE_ROLE_CONTAINER, hv = 1u << MACE_ROLE_HOST_VETH;
	const struct mace_path *p = b->cfg.path;

	for (int d = 0; d < 2; d++) {
		enum mace_tp was = d == MACE_EGRESS ? MACE_TP_NET_DEV_XMIT : MACE_TP_NETIF_RECEIVE_SKB;
		enum mace_tp now = d == MACE_EGRESS ? MACE_TP_NETIF_RECEIVE_SKB : MACE_TP_NET_DEV_XMIT;

		for (unsigned int i = 0; i < p->dir[d].npoints; i++) {
			if (p->dir[d].pt[i].role != MACE_ROLE_CONTAINER)
				continue;
			roles[was] &= ~ctr;
			roles[now] |= hv;
			*tpmask |= 1u << now;
		}
	}
	for (int tp = 1; tp < MACE_TP_COUNT; tp++)
		if (*tpmask & (1u << tp) && !roles[tp])
			*tpmask &= ~(1u << tp);	/* only the container used it */
	b->pkt_roles = (b->pkt_roles & ~ctr) | hv;
	b->host_veth_standin = true;
	mace_warn("ftrace: container devices share a name (ftrace filters by name only), so "
		  "their points are bound on the host-side veths instead: egress starts at "
		  "netif_receive_skb on the host veth, ingress ends at net_dev_xmit on it.  The "
		  "veth crossing (the container-side transmit, the backlog queue and the softirq "
		  "up to the host side's receive) is no longer in the measured interval; use "
		  "-b bpf to keep it");
}

/* Which tracepoints with which roles, then the devices. */
int mace__ft_plan(struct mace_backend *b, char *err, size_t errlen)
{
	const struct mace_path *p = b->cfg.path;
	__u32 tpmask = mace__path_tp_mask(p), roles[MACE_TP_COUNT] = { 0 };

	if ((p->match & MACE_PATH_MATCH_KEY) && !(p->match & MACE_PATH_MATCH_SKB)) {
		snprintf(err, errlen, "ftrace: path %s matches packets only by content key, and "
			 "ftrace does not see packet contents; use the eBPF backend (-b bpf)",
			 p->name);
		return -EOPNOTSUPP;
	}
	if (p->match & MACE_PATH_MATCH_KEY)
		mace_info("ftrace: path %s: no content keys on ftrace, matching by skb "
			  "identity only", p->name);
	for (int d = 0; d < 2; d++) {
		for (unsigned int i = 0; i < p->dir[d].npoints; i++) {
			const struct mace_point *pt = &p->dir[d].pt[i];

			for (int tp = 1; tp < MACE_TP_COUNT; tp++) {
				if (!(pt->tp_mask & (1u << tp)))
					continue;
				roles[tp] |= 1u << pt->role;
				if (mace__tp_info(tp)->kind == MACE_TPK_PACKET)
					b->pkt_roles |= 1u << pt->role;
				else
					b->sys = true;
			}
		}
	}
	if (host_veth_stands_in(b))
		stand_in(b, &tpmask, roles);
	for (int tp = 1; tp < MACE_TP_COUNT; tp++) {
		if (!(tpmask & (1u << tp)))
			continue;
		b->tps[b->ntp].tp = tp;
		b->tps[b->ntp].info = mace__tp_info(tp);
		b->tps[b->ntp].roles = roles[tp];
		b->ntp++;
	}
	return mace__ft_plan_devices(b, true, err, errlen);
}
