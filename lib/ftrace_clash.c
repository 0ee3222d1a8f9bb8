/* SPDX-License-Identifier: MIT */
/*
 * ftrace filters packet events by device name: a bound device's name that
 * also exists in another network namespace would have that namespace's
 * packets counted as ours.  Every namespace is looked at (those with
 * processes, bind-mounted anywhere or held open: mace__netns_list_scan_all),
 * and a clash refuses the start, naming the devices and the namespaces.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ftrace_int.h"
#include "netlink.h"
#include "netns.h"

int mace__ft_check_name_clashes(const struct mace_bound_dev *const *devs, unsigned int ndev,
				char *err, size_t errlen)
{
	struct netns_list l = { 0 };
	struct nl_links ls = { 0 };
	char list[1024] = "", why[256];
	unsigned int n = 0;
	size_t off = 0;
	struct stat st;
	int ret;

	if (stat("/proc/thread-self/ns/net", &st)) {
		snprintf(err, errlen, "ftrace: /proc/thread-self/ns/net: %s", strerror(errno));
		return -errno;
	}
	ret = mace__netns_list_scan_all(&l, why, sizeof(why));
	if (ret) {
		snprintf(err, errlen, "ftrace: cannot look for device names in other network "
			 "namespaces: %s", why);
		goto out;
	}
	for (unsigned int i = 0; i < l.n; i++) {
		int fd = mace__nl_open(&l.v[i], (__u32)st.st_ino, why, sizeof(why));

		if (fd < 0)
			continue;	/* gone meanwhile: nothing there to count */
		ret = mace__nl_links_dump(fd, &ls);
		close(fd);
		if (ret) {
			ret = 0;
			continue;
		}
		for (unsigned int k = 0; k < ndev; k++) {
			const struct mace_bound_dev *d = devs[k];
			int w;

			if (d->netns == l.v[i].ino || !mace__nl_link_by_name(&ls, d->name))
				continue;
			w = snprintf(list + off, sizeof(list) - off,
				     "%s'%s' (role %s, netns %s) also in netns %s (inode %u)",
				     n ? "; " : "", d->name, mace__role_name(d->role),
				     d->netns_name[0] ? d->netns_name : "?", l.v[i].name, l.v[i].ino);
			if (w > 0 && off + w < sizeof(list))
				off += w;
			n++;
		}
	}
	if (n) {
		snprintf(err, errlen, "ftrace: %s; ftrace filters packet events by device name "
			 "only and would count those namespaces' packets as ours; use the eBPF "
			 "backend (-b bpf), which filters by netns and ifindex", list);
		ret = -ENOTUNIQ;
	}
out:
	free(ls.v);
	mace__netns_list_free(&l);
	return ret;
}
