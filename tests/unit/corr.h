/* SPDX-License-Identifier: MIT */
/*
 * What the correlator's unit tests share: paths built by hand and the
 * counters' sum rule.  Include after mace_int.h and t.h.
 */
#ifndef MACE_TEST_CORR_H
#define MACE_TEST_CORR_H

#include <string.h>

#define C MACE_ROLE_CONTAINER
#define O MACE_ROLE_OUTER
#define BR MACE_ROLE_BRIDGE
#define BIT(tp) (1u << (tp))
#define NS_HOST 4026531840u

static inline void set_point(struct mace_dirpath *dp, unsigned int k, __u32 mask, int role)
{
	dp->pt[k].tp_mask = mask;
	dp->pt[k].role = role;
	if (dp->npoints < k + 1)
		dp->npoints = k + 1;
}

/* inner-dev: net_dev_xmit@container -> net_dev_xmit@outer,
 * netif_receive_skb@outer -> netif_receive_skb@container */
static inline void inner_dev(struct mace_path *p, unsigned int match)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->name, "inner-dev");
	p->match = match;
	set_point(&p->dir[0], 0, BIT(MACE_TP_NET_DEV_XMIT), C);
	set_point(&p->dir[0], 1, BIT(MACE_TP_NET_DEV_XMIT), O);
	set_point(&p->dir[1], 0, BIT(MACE_TP_NETIF_RECEIVE_SKB), O);
	set_point(&p->dir[1], 1, BIT(MACE_TP_NETIF_RECEIVE_SKB), C);
}

/* Every event is in exactly one of the outcomes (struct mace_counters). */
#define CHECK_SUM(k)                                                                       \
	CHECK_EQ_U64((k)->events, (k)->matched + (k)->unmatched + (k)->expired +           \
					  (k)->replaced + (k)->duplicates + (k)->pending)

#endif
