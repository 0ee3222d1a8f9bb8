/* SPDX-License-Identifier: MIT */
/* Silent points: which points of a path are said to never fire, and why. */
#include <stdlib.h>

#include "mace_int.h"
#include "t.h"

static char notes[8][640];
static unsigned int nnotes, dirs[8], idx[8];

static void collect(unsigned int d, unsigned int k, const char *note, void *ctx)
{
	if (nnotes < 8) {
		snprintf(notes[nnotes], sizeof(notes[0]), "%s", note);
		dirs[nnotes] = d;
		idx[nnotes] = k;
	}
	nnotes++;
}

static const char l2_text[] =
	"path l2\n"
	"match skb\n"
	"egress  start net_dev_xmit @container\n"
	"egress  via   net_dev_queue @bridge\n"
	"egress  end   net_dev_xmit @outer\n"
	"ingress start netif_receive_skb @outer\n"
	"ingress via   netif_receive_skb @bridge\n"
	"ingress via   napi_gro_receive_entry|netif_receive_skb_entry @host-veth\n"
	"ingress end   netif_receive_skb @container\n";

static struct mace_path *l2(void)
{
	char err[256];
	struct mace_path *p = mace_path_parse(l2_text, strlen(l2_text), "l2.path", err,
					      sizeof(err));

	CHECK_STR(err, "");
	return p;
}

TEST(names_the_silent_waypoint_and_why)
{
	struct mace_path *p = l2();
	__u64 fired[2][MACE_MAX_POINTS] = { { 150, 0, 150 }, { 150, 150, 150, 150 } };

	if (!p)
		return;
	nnotes = 0;
	CHECK_EQ_U64(mace__silent_points(p, fired, 100, collect, NULL), 1);
	CHECK_EQ_U64(nnotes, 1);
	CHECK_EQ_U64(dirs[0], MACE_EGRESS);
	CHECK_EQ_U64(idx[0], 1);
	CHECK_STR(notes[0], "egress waypoint net_dev_queue @bridge (line 4): no events after "
		  "150 packets started; a bridge forwarding at layer 2 (port to port) emits "
		  "none; only packets the host routes into the bridge do");
	mace_path_free(p);
}

TEST(too_few_starts_say_nothing)
{
	struct mace_path *p = l2();
	__u64 fired[2][MACE_MAX_POINTS] = { { 99, 0, 0 }, { 0 } };

	if (!p)
		return;
	nnotes = 0;
	CHECK_EQ_U64(mace__silent_points(p, fired, 100, collect, NULL), 0);
	fired[0][0] = 100;
	CHECK_EQ_U64(mace__silent_points(p, fired, 100, collect, NULL), 2);
	CHECK(strstr(notes[1], "egress end net_dev_xmit @outer (line 5)") == notes[1]);
	CHECK(strstr(notes[1], "another way") != NULL);
	CHECK_EQ_U64(mace__silent_points(p, fired, 0, collect, NULL), 0);
	mace_path_free(p);
}

TEST(alternatives_and_causes)
{
	struct mace_path *p = l2();
	__u64 fired[2][MACE_MAX_POINTS] = { { 0 }, { 500, 0, 0, 500 } };

	if (!p)
		return;
	nnotes = 0;
	CHECK_EQ_U64(mace__silent_points(p, fired, 100, collect, NULL), 2);
	CHECK(strstr(notes[0], "ingress waypoint netif_receive_skb @bridge (line 7): no events "
			       "after 500 packets started; a bridge forwarding at layer 2") ==
	      notes[0]);
	CHECK(strstr(notes[1], "ingress waypoint netif_receive_skb_entry|"
			       "napi_gro_receive_entry @host-veth (line 8)") == notes[1]);
	CHECK(strstr(notes[1], "receive entries depend on the driver") != NULL);
	mace_path_free(p);
}

/* The correlator counts packets seen at a point: events of other packets at
 * that tracepoint (replies routed into the bridge) are no sign of life. */
TEST(correlator_counts_packets_not_events)
{
	struct mace_path *p = l2();
	struct mace_corr_opts o = { .reorder_ns = 100 };
	__u64 fired[2][MACE_MAX_POINTS] = { { 0 } };
	struct mace_correlator *c;
	struct mace_event e = { .role = MACE_ROLE_CONTAINER, .netns = 1 };

	if (!p)
		return;
	o.path = p;
	c = mace__corr_new(&o);
	CHECK(c != NULL);
	if (!c)
		return;
	for (int i = 0; i < 3; i++) {
		e.ts = 1000 + i * 100000;
		e.skb = 0xa00 + i;
		e.tp = MACE_TP_NET_DEV_XMIT;
		e.role = MACE_ROLE_CONTAINER;
		mace__corr_push(c, &e);
		e.ts += 10;
		e.skb = 0xb00 + i;	/* a reply, at the bridge, another skb */
		e.tp = MACE_TP_NET_DEV_QUEUE;
		e.role = MACE_ROLE_BRIDGE;
		mace__corr_push(c, &e);
		e.ts += 10;
		e.skb = 0xa00 + i;
		e.tp = MACE_TP_NET_DEV_XMIT;
		e.role = MACE_ROLE_OUTER;
		mace__corr_push(c, &e);
	}
	mace__corr_flush(c);
	mace__corr_point_counts(c, fired);
	CHECK_EQ_U64(fired[0][0], 3);
	CHECK_EQ_U64(fired[0][1], 0);
	CHECK_EQ_U64(fired[0][2], 3);
	nnotes = 0;
	CHECK_EQ_U64(mace__silent_points(p, fired, 3, collect, NULL), 1);
	mace__corr_free(c);
	mace_path_free(p);
}

int main(void)
{
	RUN(names_the_silent_waypoint_and_why);
	RUN(too_few_starts_say_nothing);
	RUN(alternatives_and_causes);
	RUN(correlator_counts_packets_not_events);
	return t_done();
}
