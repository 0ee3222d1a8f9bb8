/* SPDX-License-Identifier: MIT */
/*
 * Watching the bound devices through rtnetlink (RTNLGRP_LINK): a container
 * whose veth went away (its netns deleted, its device removed), a device
 * renamed (ftrace filters by name), a shared device removed.
 *
 * Sockets live only in the netns of host-side devices.  A socket pins its
 * netns, so none is ever opened in a container netns: the container's end is
 * seen as the RTM_DELLINK of its host-veth, and its own device through
 * NETLINK_LISTEN_ALL_NSID on the host's socket, which tags the messages of
 * another netns with the nsid the host gave it (the host-veth's
 * IFLA_LINK_NETNSID tells which nsid is which container).
 */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mace_int.h"
#include "netlink.h"

#define LOCAL NL_LOCAL		/* a message from the socket's own netns */
#define DUMP_TIMEOUT_MS 2000

struct wsock {
	int fd;
	__u32 netns;		/* the host netns it lives in */
};

/* The nsid a host netns gave a container netns. */
struct wnsid {
	__u32 host, ctr;
	__s32 nsid;
};

struct mace_watch {
	int epfd;
	unsigned int nsock, nmap;
	__u32 seq;
	struct wsock sock[MACE_MAX_BOUND];
	struct wnsid map[MACE_MAX_BOUND];
	/* ifindexes in the dump being read (NULL when none is) */
	__u32 *seen;
	unsigned int nseen, capseen;
};

static const char *ns_label(const struct mace_bound_dev *d)
{
	return d->netns_name[0] ? d->netns_name : "?";
}

static void map_nsid(struct mace_watch *w, __u32 host, __u32 ctr, __s32 nsid)
{
	for (unsigned int i = 0; i < w->nmap; i++) {
		if (w->map[i].host == host && w->map[i].ctr == ctr) {
			w->map[i].nsid = nsid;
			return;
		}
	}
	if (w->nmap < ARRAY_SIZE(w->map))
		w->map[w->nmap++] = (struct wnsid){ .host = host, .ctr = ctr, .nsid = nsid };
}

/* The netns a message is about: the socket's own, or a mapped container. */
static __u32 msg_netns(const struct mace_watch *w, const struct wsock *ws, __s32 nsid)
{
	if (nsid == LOCAL)
		return ws->netns;
	for (unsigned int i = 0; i < w->nmap; i++)
		if (w->map[i].host == ws->netns && w->map[i].nsid == nsid)
			return w->map[i].ctr;
	return 0;
}

static void container_gone(struct mace_binding *b, __u32 ctr, const char *dev, const char *why)
{
	const char *name = "?";
	unsigned int n;

	for (unsigned int i = 0; i < b->ndev; i++)
		if (b->dev[i].role == MACE_ROLE_CONTAINER && b->dev[i].netns == ctr)
			name = ns_label(&b->dev[i]);
	/* name points into b: say it before the devices are dropped */
	mace_warn("container netns %s (inode %u) is gone (%s %s); no longer tracing it", name,
		  ctr, dev, why);
	n = mace__binding_drop_container(b, ctr);
	mace_dbg("watch: %u devices of netns %u dropped", n, ctr);
}

/* A device of netns/ifindex went: its container, or just that shared device. */
static bool dev_gone(struct mace_binding *b, __u32 netns, __u32 ifindex, const char *why)
{
	bool changed = false;

	for (unsigned int i = 0; i < b->ndev; i++) {
		const struct mace_bound_dev *d = &b->dev[i];
		char dev[96];

		if (d->role == MACE_ROLE_CONTAINER && d->peer_netns == netns &&
		    d->peer_ifindex == ifindex) {
			snprintf(dev, sizeof(dev), "its host-veth, ifindex %u,", ifindex);
			container_gone(b, d->netns, dev, why);
			return true;
		}
		if (d->netns != netns || d->ifindex != ifindex)
			continue;
		if (d->role == MACE_ROLE_CONTAINER || d->role == MACE_ROLE_HOST_VETH) {
			snprintf(dev, sizeof(dev), "its %s device %s", mace__role_name(d->role),
				 d->name);
			container_gone(b, d->role == MACE_ROLE_CONTAINER ? d->netns :
					  d->container_netns, dev, why);
			return true;
		}
	}
	for (unsigned int i = b->ndev; i-- > 0;) {
		const struct mace_bound_dev *d = &b->dev[i];

		if (d->netns != netns || d->ifindex != ifindex)
			continue;
		if (!changed)
			mace_warn("%s device %s (ifindex %u) in netns %s (inode %u) %s; its "
				  "events are no longer traced", mace__role_name(d->role), d->name,
				  ifindex, ns_label(d), netns, why);
		mace__binding_drop(b, i);
		changed = true;
	}
	return changed;
}

static bool dev_renamed(struct mace_binding *b, __u32 netns, __u32 ifindex, const char *name)
{
	bool changed = false;

	for (unsigned int i = 0; i < b->ndev; i++) {
		struct mace_bound_dev *d = &b->dev[i];

		if (d->netns != netns || d->ifindex != ifindex || !strcmp(d->name, name))
			continue;
		mace_warn("%s device %s (ifindex %u) in netns %s (inode %u) was renamed %s; "
			  "following it", mace__role_name(d->role), d->name, ifindex, ns_label(d),
			  netns, name);
		snprintf(d->name, sizeof(d->name), "%s", name);
		changed = true;
	}
	return changed;
}

static int seen_add(struct mace_watch *w, __u32 ifindex)
{
	if (w->nseen == w->capseen) {
		unsigned int cap = w->capseen ? w->capseen * 2 : 64;
		__u32 *v = realloc(w->seen, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		w->seen = v;
		w->capseen = cap;
	}
	w->seen[w->nseen++] = ifindex;
	return 0;
}

/* One RTM_NEWLINK/DELLINK.  1 if b changed, 0 if not, -errno. */
static int on_link(struct mace_watch *w, const struct wsock *ws, __s32 nsid, bool dump,
		   const struct nlmsghdr *nh, struct mace_binding *b)
{
	struct nl_link l;
	__u32 netns;

	if (mace__nl_link_parse(nh, &l))
		return 0;
	netns = msg_netns(w, ws, nsid);
	if (!netns)
		return 0;	/* a netns we do not trace */
	if (nh->nlmsg_type == RTM_DELLINK)
		return dev_gone(b, netns, l.ifindex, "was deleted");
	if (dump && nsid == LOCAL && seen_add(w, l.ifindex))
		return -ENOMEM;
	for (unsigned int i = 0; nsid == LOCAL && l.peer_nsid != LOCAL && i < b->ndev; i++) {
		const struct mace_bound_dev *d = &b->dev[i];

		if (d->role == MACE_ROLE_CONTAINER && d->peer_netns == netns &&
		    d->peer_ifindex == l.ifindex)
			map_nsid(w, netns, d->netns, l.peer_nsid);
	}
	if (!l.name[0])
		return 0;
	return dev_renamed(b, netns, l.ifindex, l.name);
}

/*
 * Reads what is queued on ws.  With dump_seq, blocks until that dump is done
 * (noting the ifindexes it lists).  1 if b changed, 0, or -errno.
 */
static int read_sock(struct mace_watch *w, struct wsock *ws, __u32 dump_seq,
		     struct mace_binding *b)
{
	char buf[32768] __attribute__((aligned(NLMSG_ALIGNTO)));
	int changed = 0, ret;

	for (;;) {
		__s32 nsid;
		ssize_t n = mace__nl_recv(ws->fd, buf, sizeof(buf), &nsid,
					  dump_seq ? DUMP_TIMEOUT_MS : 0);

		if (n == -EAGAIN && !dump_seq)
			return changed;
		if (n < 0)
			return (int)n;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, n);
		     nh = NLMSG_NEXT(nh, n)) {
			bool ours = dump_seq && nh->nlmsg_seq == dump_seq;

			if (ours && nh->nlmsg_type == NLMSG_DONE)
				return changed;
			if (ours && nh->nlmsg_type == NLMSG_ERROR) {
				ret = mace__nl_msg_error(nh);
				return ret ? ret : -EPROTO;
			}
			if (nh->nlmsg_type != RTM_NEWLINK && nh->nlmsg_type != RTM_DELLINK)
				continue;
			ret = on_link(w, ws, nsid, ours, nh, b);
			if (ret < 0)
				return ret;
			changed |= ret;
		}
	}
}

/*
 * Lists the links of ws's netns: maps the containers' nsids, catches renames,
 * and drops what went while nobody listened (before the watch, or in an
 * overflow).  1 if b changed, 0, or -errno.
 */
static int resync(struct mace_watch *w, struct wsock *ws, struct mace_binding *b)
{
	__u32 seq = ++w->seq;
	int changed, ret;

	w->nseen = 0;
	ret = mace__nl_request_links(ws->fd, seq);
	if (ret)
		return ret;
	changed = read_sock(w, ws, seq, b);
	if (changed < 0)
		return changed;
	for (unsigned int i = b->ndev; i-- > 0;) {
		const struct mace_bound_dev *d = i < b->ndev ? &b->dev[i] : NULL;
		__u32 ifindex = 0;
		bool found = false;

		if (!d)
			continue;	/* a container dropped several at once */
		if (d->role == MACE_ROLE_CONTAINER && d->peer_netns == ws->netns)
			ifindex = d->peer_ifindex;
		else if (d->netns == ws->netns)
			ifindex = d->ifindex;
		for (unsigned int k = 0; ifindex && k < w->nseen; k++)
			found |= w->seen[k] == ifindex;
		if (!ifindex || found)
			continue;
		ret = dev_gone(b, ws->netns, ifindex, "is not there any more");
		changed |= ret;
	}
	return changed;
}

static bool has_sock(const struct mace_watch *w, __u32 netns)
{
	for (unsigned int i = 0; i < w->nsock; i++)
		if (w->sock[i].netns == netns)
			return true;
	return false;
}

static int add_sock(struct mace_watch *w, __u32 netns, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = w->nsock };
	struct wsock *ws = &w->sock[w->nsock];

	ws->fd = mace__netns_socket(netns, err, errlen);
	if (ws->fd < 0)
		return ws->fd;
	ws->netns = netns;
	w->nsock++;
	if (mace__nl_listen_links(ws->fd) || epoll_ctl(w->epfd, EPOLL_CTL_ADD, ws->fd, &ev)) {
		snprintf(err, errlen, "watch: rtnetlink link notifications in netns %u: %s", netns,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

struct mace_watch *mace__watch_new(struct mace_binding *b, char *err, size_t errlen)
{
	struct mace_watch *w = calloc(1, sizeof(*w));
	int ret = 0;

	if (!w) {
		snprintf(err, errlen, "watch: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "watch: epoll: %s", strerror(errno));
		goto fail;
	}
	for (unsigned int i = 0; i < b->ndev && !ret; i++) {
		const struct mace_bound_dev *d = &b->dev[i];
		__u32 ns = d->role == MACE_ROLE_CONTAINER ? d->peer_netns : d->netns;

		if (d->role == MACE_ROLE_CONTAINER && !ns)
			mace_warn("container netns %s (inode %u) is not watched: its device %s has "
				  "no veth peer outside it, so its end would go unnoticed",
				  ns_label(d), d->netns, d->name);
		/* never a socket inside a container: it would keep it alive */
		if (ns && !mace__binding_is_container(b, ns) && !has_sock(w, ns))
			ret = add_sock(w, ns, err, errlen);
	}
	/* Subscribed first, then listed: nothing falls between the two. */
	for (unsigned int i = 0; i < w->nsock && ret >= 0; i++) {
		ret = resync(w, &w->sock[i], b);
		if (ret < 0)
			snprintf(err, errlen, "watch: listing the links of netns %u: %s",
				 w->sock[i].netns, strerror(-ret));
	}
	if (ret < 0)
		goto fail;
	return w;
fail:
	mace__watch_free(w);
	errno = -ret;
	return NULL;
}

int mace__watch_fd(const struct mace_watch *w)
{
	return w ? w->epfd : -1;
}

int mace__watch_update(struct mace_watch *w, struct mace_binding *b)
{
	int changed = 0, ret;

	for (unsigned int i = 0; i < w->nsock; i++) {
		struct wsock *ws = &w->sock[i];

		ret = read_sock(w, ws, 0, b);
		if (ret == -ENOBUFS) {
			/* the kernel dropped notifications: list the links again */
			mace_warn("watch: link notifications of netns %u overflowed; listing the "
				  "links again", ws->netns);
			ret = resync(w, ws, b);
		}
		if (ret < 0) {
			mace_err("watch: reading link notifications of netns %u: %s", ws->netns,
				 strerror(-ret));
			return ret;
		}
		changed |= ret;
	}
	return changed;
}

void mace__watch_free(struct mace_watch *w)
{
	if (!w)
		return;
	for (unsigned int i = 0; i < w->nsock; i++)
		close(w->sock[i].fd);
	if (w->epfd >= 0)
		close(w->epfd);
	free(w->seen);
	free(w);
}
