/* SPDX-License-Identifier: MIT */
/*
 * Names of network namespaces, for rows and records: the container's (or
 * "pod/namespace" for Kubernetes), else the ip netns name, else "pid N" of
 * the lowest process in it, else the inode.  One resolver per process; a
 * thread of the library keeps it fresh, so a lookup never waits for a daemon.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define REFRESH_MS 1000

static struct mace_containers *ctrs;
static bool failed;

struct mace_containers *cli_containers(void)
{
	struct mace_containers_opts o = MACE_CONTAINERS_OPTS_INIT;

	if (ctrs || failed)
		return ctrs;
	o.refresh_ms = REFRESH_MS;
	ctrs = mace_containers_new(&o);
	if (!ctrs) {
		/* names are cosmetic: rows fall back to the inode */
		fprintf(stderr, "mace: naming containers: %s\n", strerror(errno));
		failed = true;
	}
	return ctrs;
}

int cli_container_of(uint32_t netns, struct mace_container *out)
{
	out->sz = sizeof(*out);
	if (!cli_containers())
		return -ENOENT;
	return mace_containers_find(ctrs, netns, out);
}

const char *cli_netns_name(uint32_t netns, char *buf, size_t size)
{
	struct mace_container c;

	if (!cli_container_of(netns, &c))
		return mace_container_label(&c, buf, size);
	snprintf(buf, size, "netns:%u", netns);
	return buf;
}

static int select_netns(const char *spec, bool fresh, char *netns, size_t size,
			struct mace_container *c, char *err, size_t errlen)
{
	int ret;

	c->sz = sizeof(*c);
	if (!cli_containers()) {
		snprintf(err, errlen, "containers cannot be named here");
		return -ENOTSUP;
	}
	if (fresh)
		mace_containers_refresh(ctrs);	/* a restart: its new pid */
	ret = mace_containers_select(ctrs, spec, c, err, errlen);
	if (!ret)
		snprintf(netns, size, "/proc/%d/ns/net", c->pid);
	return ret;
}

int cli_container_netns(const char *spec, bool fresh, char *netns, size_t size, char *err,
			size_t errlen)
{
	struct mace_container c;

	return select_netns(spec, fresh, netns, size, &c, err, errlen);
}

int cli_select_container(const char *cmd, const char *spec, char *netns, size_t size)
{
	struct mace_container c;
	char err[1024];

	if (select_netns(spec, false, netns, size, &c, err, sizeof(err))) {
		fprintf(stderr, "mace: %s: %s\n", cmd, err);
		return EXIT_RUNTIME;
	}
	fprintf(stderr, "mace: %s: container %s (%s %.12s), netns inode %u\n", cmd, c.name,
		c.runtime, c.id, c.netns);
	return EXIT_OK;
}
