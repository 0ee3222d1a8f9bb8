/* SPDX-License-Identifier: MIT */
/*
 * rtnetlink, asked inside a given network namespace: the process itself never
 * changes netns (a short-lived thread enters the target netns only to open
 * the socket, which stays bound to that netns).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mace_int.h"
#include "netlink.h"

#ifndef NETLINK_LISTEN_ALL_NSID
#define NETLINK_LISTEN_ALL_NSID 8
#endif

struct sock_req {
	int nsfd;
	int fd;
	int err;
};

static void *sock_thread(void *arg)
{
	struct sock_req *r = arg;

	/* Only this thread changes netns, and it exits right after. */
	if (setns(r->nsfd, CLONE_NEWNET)) {
		r->err = -errno;
		return NULL;
	}
	r->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (r->fd < 0)
		r->err = -errno;
	return NULL;
}

int mace__nl_open(const struct netns *ns, __u32 cur_ino, char *err, size_t errlen)
{
	struct sock_req r = { .nsfd = ns->fd, .fd = -1 };
	pthread_t t;
	int ret;

	if (ns->ino == cur_ino) {
		r.fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		if (r.fd < 0)
			return mace__errf(err, errlen, -errno, "netlink socket: %s", strerror(errno));
		return r.fd;
	}
	ret = pthread_create(&t, NULL, sock_thread, &r);
	if (ret)
		return mace__errf(err, errlen, -ret, "netns %s: thread: %s", ns->name, strerror(ret));
	pthread_join(t, NULL);
	if (r.err == -EPERM)
		return mace__errf(err, errlen, r.err, "netns %s: entering it needs CAP_SYS_ADMIN",
			    ns->name);
	if (r.err)
		return mace__errf(err, errlen, r.err, "netns %s: netlink socket: %s", ns->name,
			    strerror(-r.err));
	return r.fd;
}

ssize_t mace__nl_recv(int fd, void *buf, size_t len, __s32 *nsid, int timeout_ms)
{
	char cbuf[CMSG_SPACE(sizeof(int))];

	for (;;) {
		struct sockaddr_nl sa;
		struct iovec iov = { .iov_base = buf, .iov_len = len };
		struct msghdr m = {
			.msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov,
			.msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf),
		};
		ssize_t n = recvmsg(fd, &m, timeout_ms < 0 ? 0 : MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && timeout_ms > 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int ret = poll(&p, 1, timeout_ms);

			if (ret == 0)
				return -ETIMEDOUT;
			if (ret < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		if (n < 0)
			return -errno;
		if (sa.nl_pid != 0)
			continue;	/* not from the kernel */
		if (nsid) {
			*nsid = NL_LOCAL;
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
				if (c->cmsg_level == SOL_NETLINK &&
				    c->cmsg_type == NETLINK_LISTEN_ALL_NSID)
					memcpy(nsid, CMSG_DATA(c), sizeof(*nsid));
		}
		return n;
	}
}

int mace__nl_msg_error(const struct nlmsghdr *nh)
{
	const struct nlmsgerr *e = NLMSG_DATA(nh);

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
		return -EBADMSG;
	return e->error;
}

int mace__nl_talk(int fd, struct nlmsghdr *req,
	    int (*cb)(const struct nlmsghdr *nh, void *arg), void *arg)
{
	static __u32 seq;
	bool dump = req->nlmsg_flags & NLM_F_DUMP;
	char buf[65536] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	req->nlmsg_seq = ++seq;
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mace__nl_recv(fd, buf, sizeof(buf), NULL, -1);
		struct nlmsghdr *nh;

		if (n < 0)
			return (int)n;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			int ret;

			if (nh->nlmsg_seq != req->nlmsg_seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR)
				return mace__nl_msg_error(nh);
			ret = cb(nh, arg);
			if (ret)
				return ret;
			if (!dump)
				return 0;
		}
	}
}

int mace__nl_listen_links(int fd)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int one = 1;

	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	return setsockopt(fd, SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, &one, sizeof(one));
}

/* A dump of every link, the one request both readers send. */
struct links_req {
	struct nlmsghdr nh;
	struct ifinfomsg ifi;
};

static struct links_req links_req(__u32 seq)
{
	return (struct links_req){
		.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		.nh.nlmsg_type = RTM_GETLINK,
		.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.nh.nlmsg_seq = seq,
		.ifi.ifi_family = AF_UNSPEC,
	};
}

int mace__nl_request_links(int fd, __u32 seq)
{
	struct links_req req = links_req(seq);

	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		return -errno;
	return 0;
}

int mace__nl_link_parse(const struct nlmsghdr *nh, struct nl_link *l)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	const struct rtattr *a;
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));

	memset(l, 0, sizeof(*l));
	l->peer = -1;
	l->peer_nsid = NL_LOCAL;
	if (len < 0)
		return -EBADMSG;
	l->ifindex = (__u32)ifi->ifi_index;
	for (a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		switch (a->rta_type) {
		case IFLA_IFNAME:
			/* a name without its NUL is no name */
			if (memchr(RTA_DATA(a), '\0', RTA_PAYLOAD(a)))
				snprintf(l->name, sizeof(l->name), "%s",
					 (const char *)RTA_DATA(a));
			break;
		case IFLA_LINK:
			l->peer = *(const __s32 *)RTA_DATA(a);
			break;
		case IFLA_LINK_NETNSID:
			if (RTA_PAYLOAD(a) >= sizeof(__s32))
				memcpy(&l->peer_nsid, RTA_DATA(a), sizeof(__s32));
			break;
		case IFLA_MASTER:
			l->master = *(const __u32 *)RTA_DATA(a);
			break;
		case IFLA_LINKINFO: {
			const struct rtattr *i;
			int ilen = RTA_PAYLOAD(a);

			for (i = RTA_DATA(a); RTA_OK(i, ilen); i = RTA_NEXT(i, ilen))
				if (i->rta_type == IFLA_INFO_KIND)
					snprintf(l->kind, sizeof(l->kind), "%.*s",
						 (int)RTA_PAYLOAD(i), (const char *)RTA_DATA(i));
			break;
		}
		}
	}
	return 0;
}

static int link_cb(const struct nlmsghdr *nh, void *arg)
{
	struct nl_links *ls = arg;
	struct nl_link l;

	if (nh->nlmsg_type != RTM_NEWLINK || mace__nl_link_parse(nh, &l))
		return 0;
	if (ls->n == ls->cap) {
		unsigned int cap = ls->cap ? ls->cap * 2 : 32;
		struct nl_link *v = realloc(ls->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ls->v = v;
		ls->cap = cap;
	}
	ls->v[ls->n++] = l;
	return 0;
}

int mace__nl_links_dump(int fd, struct nl_links *ls)
{
	struct links_req req = links_req(0);

	ls->n = 0;
	return mace__nl_talk(fd, &req.nh, link_cb, ls);
}

const struct nl_link *mace__nl_link_by_index(const struct nl_links *ls, __u32 ifindex)
{
	for (unsigned int i = 0; ls && i < ls->n; i++)
		if (ls->v[i].ifindex == ifindex)
			return &ls->v[i];
	return NULL;
}

const struct nl_link *mace__nl_link_by_name(const struct nl_links *ls, const char *name)
{
	for (unsigned int i = 0; ls && i < ls->n; i++)
		if (!strcmp(ls->v[i].name, name))
			return &ls->v[i];
	return NULL;
}

struct route_best {
	__u32 oif;
	__u32 metric;
	bool found;
};

static int route_cb(const struct nlmsghdr *nh, void *arg)
{
	const struct rtmsg *rtm = NLMSG_DATA(nh);
	struct route_best *best = arg;
	const struct rtattr *a;
	int len = RTM_PAYLOAD(nh);
	__u32 table = rtm->rtm_table, oif = 0, metric = 0;

	if (nh->nlmsg_type != RTM_NEWROUTE || rtm->rtm_dst_len != 0 ||
	    rtm->rtm_type != RTN_UNICAST)
		return 0;
	for (a = RTM_RTA(rtm); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == RTA_TABLE)
			table = *(const __u32 *)RTA_DATA(a);
		else if (a->rta_type == RTA_OIF)
			oif = *(const __u32 *)RTA_DATA(a);
		else if (a->rta_type == RTA_PRIORITY)
			metric = *(const __u32 *)RTA_DATA(a);
		else if (a->rta_type == RTA_MULTIPATH && !oif &&
			 RTA_PAYLOAD(a) >= sizeof(struct rtnexthop))
			oif = (__u32)((const struct rtnexthop *)RTA_DATA(a))->rtnh_ifindex;
	}
	if (table != RT_TABLE_MAIN || !oif)
		return 0;
	if (!best->found || metric < best->metric) {
		best->oif = oif;
		best->metric = metric;
		best->found = true;
	}
	return 0;
}

int mace__nl_default_oif(int fd, __u32 *oif)
{
	static const unsigned char families[] = { AF_INET, AF_INET6 };

	for (unsigned int i = 0; i < ARRAY_SIZE(families); i++) {
		struct {
			struct nlmsghdr nh;
			struct rtmsg rtm;
		} req = {
			.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
			.nh.nlmsg_type = RTM_GETROUTE,
			.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.rtm.rtm_family = families[i],
		};
		struct route_best best = { 0 };
		int ret = mace__nl_talk(fd, &req.nh, route_cb, &best);

		if (ret)
			return ret;
		if (best.found) {
			*oif = best.oif;
			return 0;
		}
	}
	*oif = 0;
	return 0;
}

static int nsid_cb(const struct nlmsghdr *nh, void *arg)
{
	const struct rtattr *a;
	int len = (int)nh->nlmsg_len - (int)NLMSG_SPACE(sizeof(struct rtgenmsg));

	if (nh->nlmsg_type != RTM_NEWNSID)
		return 0;
	a = (const struct rtattr *)((const char *)NLMSG_DATA(nh) +
				    NLMSG_ALIGN(sizeof(struct rtgenmsg)));
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == NETNSA_NSID)
			*(__s32 *)arg = *(const __s32 *)RTA_DATA(a);
	return 0;
}

int mace__nl_nsid_of(int fd, int nsfd, __s32 *nsid)
{
	struct {
		struct nlmsghdr nh;
		struct rtgenmsg g;
		char pad[3];
		struct rtattr a;
		__u32 fd;
	} req = {
		.nh.nlmsg_len = sizeof(req),
		.nh.nlmsg_type = RTM_GETNSID,
		.nh.nlmsg_flags = NLM_F_REQUEST,
		.g.rtgen_family = AF_UNSPEC,
		.a.rta_len = RTA_LENGTH(sizeof(__u32)),
		.a.rta_type = NETNSA_FD,
		.fd = (__u32)nsfd,
	};

	*nsid = -1;
	return mace__nl_talk(fd, &req.nh, nsid_cb, nsid);
}

int mace__netns_socket(__u32 ino, char *err, size_t errlen)
{
	struct netns_list l = { 0 };
	struct stat st;
	__u32 cur;
	int fd = -1;

	if (stat("/proc/thread-self/ns/net", &st))
		return mace__errf(err, errlen, -errno, "/proc/thread-self/ns/net: %s", strerror(errno));
	cur = (__u32)st.st_ino;
	if (ino != cur) {
		int ret = mace__netns_list_scan(&l, err, errlen);
		const struct netns *ns = ret ? NULL : mace__netns_list_find(&l, ino);

		if (ret)
			fd = mace__errf(err, errlen, ret, "finding network namespaces: %s",
				  strerror(-ret));
		else if (!ns)
			fd = mace__errf(err, errlen, -ENOENT, "netns inode %u is no longer found", ino);
		else
			fd = mace__nl_open(ns, cur, err, errlen);
		mace__netns_list_free(&l);
	} else {
		struct netns self = { .fd = -1, .ino = cur };

		fd = mace__nl_open(&self, cur, err, errlen);
	}
	if (fd >= 0 && fcntl(fd, F_SETFL, O_NONBLOCK)) {
		close(fd);
		fd = mace__errf(err, errlen, -errno, "netlink socket: %s", strerror(errno));
	}
	return fd;
}
