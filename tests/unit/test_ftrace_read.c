/* SPDX-License-Identifier: MIT */
/*
 * The ftrace reader's device lookup on its own: the kernel filter normally
 * keeps unbound devices' events out, so only here can a name that is not
 * bound reach it.  Such an event must map to no device, never to another.
 */
#include <stdlib.h>

#include "t.h"
/* The reader is included for its static lookup (the Makefile links the
 * library without its own copy). */
#include "../../lib/ftrace_read.c"

/* An event whose name field is a __data_loc string at byte 8. */
static const struct mace_bound_dev *lookup(struct mace_backend *b, const char *name)
{
	static const struct ft_field f = { .off = 0, .size = 4, .dyn = true };
	unsigned char ev[64] = { 0 };
	__u32 loc = (__u32)(strlen(name) + 1) << 16 | 8;

	memcpy(ev, &loc, 4);
	memcpy(ev + 8, name, strlen(name) + 1);
	return dev_of(b, ev, sizeof(ev), &f);
}

TEST(dev_of_maps_bound_names_only)
{
	static struct mace_backend b;
	struct mace_bound_dev ctr = { .role = MACE_ROLE_CONTAINER, .ifindex = 2, .name = "veth1" };
	struct mace_bound_dev out = { .role = MACE_ROLE_OUTER, .ifindex = 7, .name = "eth0" };

	b.devs[0] = &ctr;
	b.devs[1] = &out;
	b.ndev = 2;
	CHECK(lookup(&b, "veth1") == &ctr);
	CHECK(lookup(&b, "eth0") == &out);
	/* not bound: no device, whatever its name resembles */
	CHECK(lookup(&b, "eth1") == NULL);
	CHECK(lookup(&b, "veth") == NULL);
	CHECK(lookup(&b, "veth12") == NULL);
	CHECK(lookup(&b, "docker0") == NULL);
}

int main(void)
{
	RUN(dev_of_maps_bound_names_only);
	return t_done();
}
