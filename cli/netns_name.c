/* SPDX-License-Identifier: MIT */
/*
 * Display names of network namespaces: the `ip netns` name when there is one,
 * else "pid N" of the lowest process in it, else the inode.  The public API
 * gives records only the netns inode, so the CLI resolves names itself.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"

struct ns_name {
	uint32_t ino;
	char name[48];
};

static struct ns_name *names;
static unsigned int nnames, capnames;
static time_t scanned;

static void add(uint32_t ino, const char *name)
{
	unsigned int i;

	for (i = 0; i < nnames; i++)
		if (names[i].ino == ino)
			return;	/* the first name found wins: ip netns before pids */
	if (nnames == capnames) {
		unsigned int cap = capnames ? capnames * 2 : 32;
		struct ns_name *n = realloc(names, cap * sizeof(*n));

		if (!n)
			return;	/* names are cosmetic: fall back to the inode */
		names = n;
		capnames = cap;
	}
	names[nnames].ino = ino;
	snprintf(names[nnames].name, sizeof(names[nnames].name), "%s", name);
	nnames++;
}

static int cmp_pid(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static void scan(void)
{
	char p[300], label[48];
	struct dirent *de;
	struct stat st;
	long *pids = NULL;
	size_t npids = 0, cap = 0, i;
	DIR *d;

	nnames = 0;
	d = opendir("/var/run/netns");
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "/var/run/netns/%s", de->d_name);
		if (!stat(p, &st))
			add(st.st_ino, de->d_name);
	}
	if (d)
		closedir(d);
	d = opendir("/proc");
	while (d && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (npids == cap) {
			long *n = realloc(pids, (cap = cap ? cap * 2 : 256) * sizeof(*n));

			if (!n)
				break;
			pids = n;
		}
		pids[npids++] = atol(de->d_name);
	}
	if (d)
		closedir(d);
	qsort(pids, npids, sizeof(*pids), cmp_pid);
	for (i = 0; i < npids; i++) {
		snprintf(p, sizeof(p), "/proc/%ld/ns/net", pids[i]);
		if (stat(p, &st))
			continue;
		snprintf(label, sizeof(label), "pid %ld", pids[i]);
		add(st.st_ino, label);
	}
	free(pids);
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
