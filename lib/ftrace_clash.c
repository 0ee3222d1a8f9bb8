/* SPDX-License-Identifier: MIT */
/*
 * ftrace filters packet events by device name: a bound device's name that
 * also exists in another network namespace would have that namespace's
 * packets counted as ours.  Every namespace is looked at (mace__netns_enum:
 * those with processes, bind-mounted or held open), and a clash refuses the
 * start, naming the devices and the namespaces.
 */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "ftrace_int.h"

struct names_req {
	int nsfd;
	struct if_nameindex *ni;
	int err;
};

/* setns changes the calling thread only: a short-lived thread reads the
 * names, and the process stays where it is. */
static void *names_thread(void *arg)
{
	struct names_req *r = arg;

	if (setns(r->nsfd, CLONE_NEWNET)) {
		r->err = -errno;
		return NULL;
	}
	r->ni = if_nameindex();
	if (!r->ni)
		r->err = -errno;
	return NULL;
}

struct clash {
	const struct mace_bound_dev *const *devs;
	unsigned int ndev, n;
	char *msg;
	size_t len, off;
};

static int check_netns(int fd, __u32 ino, const char *name, void *arg)
{
	struct clash *c = arg;
	struct names_req r = { .nsfd = fd };
	pthread_t t;
	int ret;

	ret = pthread_create(&t, NULL, names_thread, &r);
	if (ret)
		return -ret;
	pthread_join(t, NULL);
	if (r.err)
		return 0;	/* gone meanwhile; nothing there to count */
	for (struct if_nameindex *i = r.ni; i->if_index; i++) {
		for (unsigned int k = 0; k < c->ndev; k++) {
			const struct mace_bound_dev *d = c->devs[k];
			int n;

			if (d->netns == ino || strcmp(d->name, i->if_name))
				continue;
			n = snprintf(c->msg + c->off, c->len - c->off,
				     "%s'%s' (role %s, netns %s) also in netns %s (inode %u)",
				     c->n ? "; " : "", d->name, mace__role_name(d->role),
				     d->netns_name[0] ? d->netns_name : "?", name, ino);
			if (n > 0 && c->off + n < c->len)
				c->off += n;
			c->n++;
		}
	}
	if_freenameindex(r.ni);
	return 0;
}

int mace__ft_check_name_clashes(const struct mace_bound_dev *const *devs, unsigned int ndev,
				char *err, size_t errlen)
{
	char list[1024] = "";
	struct clash c = { .devs = devs, .ndev = ndev, .msg = list, .len = sizeof(list) };
	int ret = mace__netns_enum(check_netns, &c);

	if (ret) {
		snprintf(err, errlen, "ftrace: cannot look for device names in other network "
			 "namespaces: %s", strerror(-ret));
		return ret;
	}
	if (!c.n)
		return 0;
	snprintf(err, errlen, "ftrace: %s; ftrace filters packet events by device name only "
		 "and would count those namespaces' packets as ours; use the eBPF backend "
		 "(-b bpf), which filters by netns and ifindex", list);
	return -ENOTUNIQ;
}
