/* SPDX-License-Identifier: MIT */
/*
 * Labels of a container's series.  For now what mace itself knows: the
 * netns name (ip netns name, "pid N" or the inode), as mace stat shows it;
 * a container runtime's names would come in here.
 */
#include <string.h>

#include "cli.h"
#include "serve.h"

void serve_container_labels(uint32_t netns, struct serve_labels *out)
{
	memset(out, 0, sizeof(*out));
	if (!netns) {
		/* packets never seen in a container */
		snprintf(out->container, sizeof(out->container), "none");
		return;
	}
	cli_netns_name(netns, out->container, sizeof(out->container));
}
