/* SPDX-License-Identifier: MIT */
/*
 * Display names of network namespaces: the `ip netns` name when there is one,
 * else "pid N" of the lowest process in it, else the inode.  The public API
 * gives records only the netns inode, so the CLI resolves names itself.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "netns.h"

struct ns_name {
	uint32_t ino;
	long pid;		/* the process named, 0 for an ip netns name */
	char name[48];
};

static struct ns_name *names;
static unsigned int nnames, capnames;
static time_t scanned;

static void add(uint32_t ino, long pid, const char *name)
{
	unsigned int i;

	for (i = 0; i < nnames; i++) {
		if (names[i].ino != ino)
			continue;
		/* ip netns names before pids, and the lowest pid */
		if (names[i].pid && pid && pid < names[i].pid) {
			names[i].pid = pid;
			snprintf(names[i].name, sizeof(names[i].name), "%s", name);
		}
		return;
	}
	if (nnames == capnames) {
		unsigned int cap = capnames ? capnames * 2 : 32;
		struct ns_name *n = realloc(names, cap * sizeof(*n));

		if (!n)
			return;	/* names are cosmetic: fall back to the inode */
		names = n;
		capnames = cap;
	}
	names[nnames].ino = ino;
	names[nnames].pid = pid;
	snprintf(names[nnames].name, sizeof(names[nnames].name), "%s", name);
	nnames++;
}

static int add_named(const char *path, const char *name, __u32 ino, void *arg)
{
	add(ino, 0, name);
	return 0;
}

static int add_pid(const char *pid, __u32 ino, void *arg)
{
	char label[48];

	snprintf(label, sizeof(label), "pid %s", pid);
	add(ino, atol(pid), label);
	return 0;
}

static void scan(void)
{
	nnames = 0;
	mace__netns_for_each_named(add_named, NULL);
	mace__netns_for_each_pid(add_pid, NULL);
	scanned = time(NULL);
}

static const char *lookup(uint32_t netns)
{
	for (unsigned int i = 0; i < nnames; i++)
		if (names[i].ino == netns)
			return names[i].name;
	return NULL;
}

const char *cli_netns_name(uint32_t netns, char *buf, size_t size)
{
	bool fresh = !scanned || time(NULL) - scanned >= 2;
	const char *name;

	/* Names older than 2 s are read again, and a miss always reads them
	 * again: containers come and go, and a new netns may get a deleted
	 * one's inode number.  Lookups are rare (a row appears or comes back). */
	if (fresh)
		scan();
	name = lookup(netns);
	if (!name && !fresh) {
		scan();
		name = lookup(netns);
	}
	if (name)
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "netns:%u", netns);
	return buf;
}
