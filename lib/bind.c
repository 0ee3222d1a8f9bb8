/* SPDX-License-Identifier: MIT */
/*
 * Roles bound to real devices: from a netns spec (NAME, PATH or PID) find the
 * container device, its veth peer in the host netns, the bridge and tunnel
 * there, and the host's outer device.  Everything is asked of rtnetlink in the
 * namespace concerned; the process itself never changes netns (a short-lived
 * thread enters the target netns only to open the socket, which stays bound
 * to that netns).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mace_int.h"

#define NETNS_RUN_DIR "/run/netns"

/* An open network namespace. */
struct ns {
	int fd;
	__u32 ino;
	char name[64];		/* ip netns name, "pid N", or "" */
};

struct link {
	__u32 ifindex;
	__u32 master;		/* 0: none */
	__s32 peer;		/* IFLA_LINK; -1: none */
	__s32 peer_nsid;	/* IFLA_LINK_NETNSID; -1: same netns */
	char name[IFNAMSIZ];
	char kind[16];		/* IFLA_INFO_KIND; "" for physical devices */
};

struct links {
	unsigned int n, cap;
	struct link *v;
};

/* Every netns we could find, for naming and for resolving nsids. */
struct candidates {
	unsigned int n, cap;
	struct ns *v;
};

struct ctx {
	__u32 want, need;	/* roles to bind; roles that must be found */
	struct mace_binding *out;
	struct candidates cand;
	struct ns cur;		/* the netns mace runs in */
	char *err;
	size_t errlen;
};

/* Writes why into the caller's err buffer and returns ret. */
__attribute__((format(printf, 3, 4)))
static int fail(struct ctx *c, int ret, const char *fmt, ...)
{
	va_list ap;

	if (c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* ---- netns handles --------------------------------------------------------- */

static int ns_from_fd(int fd, struct ns *ns)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	/* Only an nsfs file answers NS_GET_NSTYPE. */
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET)
		return -EINVAL;
	ns->fd = fd;
	ns->ino = (__u32)st.st_ino;
	return 0;
}

static void ns_close(struct ns *ns)
{
	if (ns->fd >= 0)
		close(ns->fd);
	ns->fd = -1;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* The name a user would recognise for the netns with inode ino. */
static void cand_name(const struct ctx *c, __u32 ino, char *buf, size_t len)
{
	for (unsigned int i = 0; i < c->cand.n; i++) {
		if (c->cand.v[i].ino == ino) {
			snprintf(buf, len, "%s", c->cand.v[i].name);
			return;
		}
	}
	snprintf(buf, len, "inode %u", ino);
}

/*
 * Opens NAME (under /run/netns), PATH (contains '/') or PID.  what names the
 * option in messages ("netns", "outer").
 */
static int ns_open_spec(struct ctx *c, const char *what, const char *spec, struct ns *ns)
{
	char path[PATH_MAX];
	bool pid = all_digits(spec);
	int fd, ret;

	ns->fd = -1;
	ns->name[0] = '\0';
	if (!*spec)
		return fail(c, -EINVAL, "%s '': empty netns name", what);
	if (pid) {
		snprintf(path, sizeof(path), "/proc/%s", spec);
		if (access(path, F_OK))
			return fail(c, -ESRCH, "%s '%s': no process %s (%s: %s)", what, spec, spec,
				    path, strerror(errno));
		snprintf(path, sizeof(path), "/proc/%s/ns/net", spec);
	} else if (strchr(spec, '/')) {
		snprintf(path, sizeof(path), "%s", spec);
	} else {
		if (!strcmp(spec, ".") || !strcmp(spec, ".."))
			return fail(c, -EINVAL, "%s '%s': not a netns name", what, spec);
		snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", spec);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (!pid && !strchr(spec, '/') && ret == -ENOENT)
			return fail(c, ret, "%s '%s': no netns of that name under " NETNS_RUN_DIR
				    " (see 'ip netns list')", what, spec);
		return fail(c, ret, "%s '%s': %s: %s", what, spec, path, strerror(-ret));
	}
	ret = ns_from_fd(fd, ns);
	if (ret) {
		close(fd);
		if (ret == -EINVAL)
			return fail(c, ret, "%s '%s': %s is not a network namespace", what, spec,
				    path);
		return fail(c, ret, "%s '%s': %s: %s", what, spec, path, strerror(-ret));
	}
	/* Prefer the ip netns name, whatever form the user gave. */
	cand_name(c, ns->ino, ns->name, sizeof(ns->name));
	if (!strncmp(ns->name, "inode ", 6)) {
		if (pid)
			snprintf(ns->name, sizeof(ns->name), "pid %s", spec);
		else
			snprintf(ns->name, sizeof(ns->name), "%.63s", spec);
	}
	return 0;
}

static int cand_add(struct candidates *cd, const char *path, __u32 ino, const char *name)
{
	struct ns ns;
	int fd;

	for (unsigned int i = 0; i < cd->n; i++)
		if (cd->v[i].ino == ino)
			return 0;
	if (cd->n == cd->cap) {
		unsigned int cap = cd->cap ? cd->cap * 2 : 16;
		struct ns *v = realloc(cd->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		cd->v = v;
		cd->cap = cap;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	/* The process may have exited since the scan: not a candidate then. */
	if (fd < 0)
		return 0;
	if (ns_from_fd(fd, &ns) || ns.ino != ino) {
		close(fd);
		return 0;
	}
	snprintf(ns.name, sizeof(ns.name), "%s", name);
	cd->v[cd->n++] = ns;
	return 0;
}

/* Every netns reachable from /run/netns and /proc, named, one per inode. */
static int cand_scan(struct ctx *c)
{
	char path[PATH_MAX], name[64];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int ret = 0;

	d = opendir(NETNS_RUN_DIR);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", de->d_name);
		/* A name whose mount is gone stats as a plain file: skip it. */
		if (stat(path, &st) || st.st_dev == 0)
			continue;
		snprintf(name, sizeof(name), "%.63s", de->d_name);
		ret = cand_add(&c->cand, path, (__u32)st.st_ino, name);
		if (ret)
			break;
	}
	if (d)
		closedir(d);
	if (ret)
		return ret;
	d = opendir("/proc");
	if (!d)
		return fail(c, -errno, "/proc: %s", strerror(errno));
	while ((de = readdir(d))) {
		if (!all_digits(de->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
		if (stat(path, &st))
			continue;	/* exited, or not ours to see */
		snprintf(name, sizeof(name), "pid %.50s", de->d_name);
		ret = cand_add(&c->cand, path, (__u32)st.st_ino, name);
		if (ret)
			break;
	}
	closedir(d);
	if (ret)
		return ret;
	/* With hidepid or a foreign /proc the scan may miss our own netns. */
	snprintf(name, sizeof(name), "pid %d", (int)getpid());
	if (stat("/proc/self/ns/net", &st) == 0)
		ret = cand_add(&c->cand, "/proc/self/ns/net", (__u32)st.st_ino, name);
	return ret;
}

/* ---- rtnetlink inside a netns ----------------------------------------------- */

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

/* An rtnetlink socket in netns ns. */
static int nl_open(struct ctx *c, const struct ns *ns)
{
	struct sock_req r = { .nsfd = ns->fd, .fd = -1 };
	pthread_t t;
	int ret;

	if (ns->ino == c->cur.ino) {
		r.fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		if (r.fd < 0)
			return fail(c, -errno, "netlink socket: %s", strerror(errno));
		return r.fd;
	}
	ret = pthread_create(&t, NULL, sock_thread, &r);
	if (ret)
		return fail(c, -ret, "netns %s: thread: %s", ns->name, strerror(ret));
	pthread_join(t, NULL);
	if (r.err == -EPERM)
		return fail(c, r.err, "netns %s: entering it needs CAP_SYS_ADMIN", ns->name);
	if (r.err)
		return fail(c, r.err, "netns %s: netlink socket: %s", ns->name, strerror(-r.err));
	return r.fd;
}

/* Sends req and passes every reply message to cb until DONE (dumps) or the
 * first reply (plain requests).  Returns 0, a kernel error, or cb's error. */
static int nl_talk(int fd, struct nlmsghdr *req,
		   int (*cb)(const struct nlmsghdr *nh, void *arg), void *arg)
{
	static __u32 seq;
	bool dump = req->nlmsg_flags & NLM_F_DUMP;
	char buf[65536] __attribute__((aligned(4)));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	req->nlmsg_seq = ++seq;
	if (sendto(fd, req, req->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	for (;;) {
		socklen_t salen = sizeof(sa);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&sa, &salen);
		struct nlmsghdr *nh;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (sa.nl_pid != 0)
			continue;	/* not from the kernel */
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			int ret;

			if (nh->nlmsg_seq != req->nlmsg_seq)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EBADMSG;
				return e->error;
			}
			ret = cb(nh, arg);
			if (ret)
				return ret;
			if (!dump)
				return 0;
		}
	}
}

static int link_cb(const struct nlmsghdr *nh, void *arg)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	struct links *ls = arg;
	struct link l = { .peer = -1, .peer_nsid = -1 };
	const struct rtattr *a;
	int len = IFLA_PAYLOAD(nh);

	if (nh->nlmsg_type != RTM_NEWLINK)
		return 0;
	l.ifindex = (__u32)ifi->ifi_index;
	for (a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		switch (a->rta_type) {
		case IFLA_IFNAME:
			snprintf(l.name, sizeof(l.name), "%.*s", (int)RTA_PAYLOAD(a),
				 (const char *)RTA_DATA(a));
			break;
		case IFLA_LINK:
			l.peer = *(const __s32 *)RTA_DATA(a);
			break;
		case IFLA_LINK_NETNSID:
			l.peer_nsid = *(const __s32 *)RTA_DATA(a);
			break;
		case IFLA_MASTER:
			l.master = *(const __u32 *)RTA_DATA(a);
			break;
		case IFLA_LINKINFO: {
			const struct rtattr *i;
			int ilen = RTA_PAYLOAD(a);

			for (i = RTA_DATA(a); RTA_OK(i, ilen); i = RTA_NEXT(i, ilen))
				if (i->rta_type == IFLA_INFO_KIND)
					snprintf(l.kind, sizeof(l.kind), "%.*s",
						 (int)RTA_PAYLOAD(i), (const char *)RTA_DATA(i));
			break;
		}
		}
	}
	if (ls->n == ls->cap) {
		unsigned int cap = ls->cap ? ls->cap * 2 : 32;
		struct link *v = realloc(ls->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ls->v = v;
		ls->cap = cap;
	}
	ls->v[ls->n++] = l;
	return 0;
}

static int links_dump(struct ctx *c, int fd, const struct ns *ns, struct links *ls)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		.nh.nlmsg_type = RTM_GETLINK,
		.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		.ifi.ifi_family = AF_UNSPEC,
	};
	int ret;

	ls->n = 0;
	ret = nl_talk(fd, &req.nh, link_cb, ls);
	if (ret)
		return fail(c, ret, "netns %s: listing devices: %s", ns->name, strerror(-ret));
	return 0;
}

static const struct link *link_by_index(const struct links *ls, __u32 ifindex)
{
	for (unsigned int i = 0; i < ls->n; i++)
		if (ls->v[i].ifindex == ifindex)
			return &ls->v[i];
	return NULL;
}

static const struct link *link_by_name(const struct links *ls, const char *name)
{
	for (unsigned int i = 0; i < ls->n; i++)
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

/* The ifindex of ns' default route, IPv4 first, then IPv6; 0 if none. */
static int default_oif(struct ctx *c, int fd, const struct ns *ns, __u32 *oif)
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
		int ret = nl_talk(fd, &req.nh, route_cb, &best);

		if (ret)
			return fail(c, ret, "netns %s: listing routes: %s", ns->name,
				    strerror(-ret));
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

/* The nsid the netns of socket fd gives to the netns of other (-1: none). */
static int nsid_of(int fd, const struct ns *other, __s32 *nsid)
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
		.fd = (__u32)other->fd,
	};

	*nsid = -1;
	return nl_talk(fd, &req.nh, nsid_cb, nsid);
}

/* ---- building the binding ----------------------------------------------------- */

static int add_dev(struct ctx *c, enum mace_role role, const struct ns *ns,
		   const struct link *l, __u32 container_netns)
{
	struct mace_bound_dev *d;

	if (!(c->want & (1u << role)))
		return 0;
	if (c->out->ndev >= MACE_MAX_BOUND)
		return fail(c, -E2BIG, "more than %d devices to bind; choose one with --netns",
			    MACE_MAX_BOUND);
	d = &c->out->dev[c->out->ndev++];
	memset(d, 0, sizeof(*d));
	d->role = role;
	d->netns = ns->ino;
	d->ifindex = l->ifindex;
	d->container_netns = container_netns;
	snprintf(d->name, sizeof(d->name), "%s", l->name);
	snprintf(d->netns_name, sizeof(d->netns_name), "%s", ns->name);
	return 0;
}

static bool needs(const struct ctx *c, enum mace_role role)
{
	return c->need & (1u << role);
}

/* A device of that kind in ls, preferring one enslaved to master. */
static const struct link *find_kind(const struct links *ls, const char *kind, __u32 master)
{
	const struct link *any = NULL;

	for (unsigned int i = 0; i < ls->n; i++) {
		if (strcmp(ls->v[i].kind, kind))
			continue;
		if (master && ls->v[i].master == master)
			return &ls->v[i];
		if (!any)
			any = &ls->v[i];
	}
	return any;
}

/*
 * The outer device: outer_spec (DEV in the host netns, or DEV@NETNS), else the
 * host's default-route device.  *found stays NULL if not wanted or not found
 * and not needed.  onsout receives the netns it lives in (opened if other).
 */
static int resolve_outer(struct ctx *c, const char *outer_spec, const struct ns *host,
			 int host_fd, const struct links *host_links, struct link *found,
			 struct ns *ons, bool *have)
{
	char dev[64];
	const char *at;
	struct links ls = { 0 };
	const struct link *l;
	int fd = -1, ret = 0;

	*have = false;
	ons->fd = -1;
	if (!outer_spec) {
		__u32 oif;

		if (!(c->want & (1u << MACE_ROLE_OUTER)))
			return 0;
		if (!host)
			return needs(c, MACE_ROLE_OUTER) ?
				fail(c, -ENOENT, "role outer: the host netns is unknown; "
				     "name the device with --outer DEV@NETNS") : 0;
		ret = default_oif(c, host_fd, host, &oif);
		if (ret)
			return ret;
		l = oif ? link_by_index(host_links, oif) : NULL;
		if (!l)
			return needs(c, MACE_ROLE_OUTER) ?
				fail(c, -ENOENT, "role outer: netns %s (inode %u), where the "
				     "container's veth peer is, has no default route (IPv4 or IPv6), "
				     "so it does not look like a host: is --netns a container? Else "
				     "name the device with --outer DEV[@NETNS]",
				     host->name, host->ino) : 0;
		*found = *l;
		*ons = *host;
		ons->fd = -1;	/* not ours to close */
		*have = true;
		return 0;
	}
	at = strchr(outer_spec, '@');
	snprintf(dev, sizeof(dev), "%.*s", at ? (int)(at - outer_spec) : (int)strlen(outer_spec),
		 outer_spec);
	if (!*dev)
		return fail(c, -EINVAL, "outer '%s': no device name", outer_spec);
	if (strlen(dev) >= IFNAMSIZ)
		return fail(c, -EINVAL, "outer '%s': device name '%s' is longer than %d characters",
			    outer_spec, dev, IFNAMSIZ - 1);
	if (at) {
		ret = ns_open_spec(c, "outer", at + 1, ons);
		if (ret)
			return ret;
		fd = nl_open(c, ons);
		if (fd < 0) {
			ret = fd;
			goto out;
		}
		ret = links_dump(c, fd, ons, &ls);
		if (ret)
			goto out;
		host_links = &ls;
	} else if (!host) {
		return fail(c, -ENOENT, "outer '%s': the host netns is unknown; use --outer %s@NETNS",
			    outer_spec, dev);
	} else {
		*ons = *host;
		ons->fd = -1;
	}
	l = link_by_name(host_links, dev);
	if (!l) {
		ret = fail(c, -ENODEV, "outer '%s': no device %s in netns %s (inode %u)",
			   outer_spec, dev, ons->name, ons->ino);
		goto out;
	}
	*found = *l;
	*have = true;
out:
	if (fd >= 0)
		close(fd);
	free(ls.v);
	if (ret)
		ns_close(ons);
	return ret;
}

/* Finds the host netns holding the peer of veth l, seen from the netns of fd. */
static int find_peer_ns(struct ctx *c, int fd, const struct ns *ctr, const struct link *l,
			const struct ns **host)
{
	*host = NULL;
	if (l->peer_nsid < 0) {
		*host = ctr;	/* both ends in one netns */
		return 0;
	}
	for (unsigned int i = 0; i < c->cand.n; i++) {
		__s32 nsid;
		int ret;

		if (c->cand.v[i].ino == ctr->ino)
			continue;
		ret = nsid_of(fd, &c->cand.v[i], &nsid);
		if (ret)
			return fail(c, ret, "netns %s: asking the nsid of netns %s: %s", ctr->name,
				    c->cand.v[i].name, strerror(-ret));
		if (nsid == l->peer_nsid) {
			*host = &c->cand.v[i];
			return 0;
		}
	}
	return 0;
}

/* The container's device: its default route's, else its only veth. */
static int container_dev(struct ctx *c, int fd, const struct ns *ctr, const struct links *ls,
			 const struct link **out)
{
	const struct link *veth = NULL;
	unsigned int nveth = 0;
	__u32 oif;
	int ret;

	ret = default_oif(c, fd, ctr, &oif);
	if (ret)
		return ret;
	*out = oif ? link_by_index(ls, oif) : NULL;
	if (*out)
		return 0;
	for (unsigned int i = 0; i < ls->n; i++) {
		if (!strcmp(ls->v[i].kind, "veth")) {
			veth = &ls->v[i];
			nveth++;
		}
	}
	if (nveth == 1) {
		*out = veth;
		return 0;
	}
	return fail(c, -ENOENT, "role container: netns %s (inode %u) has no default route and %u "
		    "veth devices (need exactly one)", ctr->name, ctr->ino, nveth);
}

/* Notes the host-veth of container ctr on its bound device, for the watch.
 * Both ends in one netns: left unknown (a watch there would keep it alive). */
static void set_peer(struct ctx *c, const struct ns *ctr, __u32 ifindex, const struct ns *host)
{
	for (unsigned int i = 0; i < c->out->ndev; i++) {
		struct mace_bound_dev *d = &c->out->dev[i];

		if (d->role != MACE_ROLE_CONTAINER || d->netns != ctr->ino || host->ino == ctr->ino)
			continue;
		d->peer_ifindex = ifindex;
		d->peer_netns = host->ino;
	}
}

/* Binds the host-side roles of one container whose veth cdev has its peer in host. */
static int bind_host_side(struct ctx *c, const struct ns *ctr, const struct link *cdev,
			  const struct ns *host, const struct links *hl)
{
	const struct link *peer, *br = NULL;
	int ret;

	peer = link_by_index(hl, (__u32)cdev->peer);
	if (!peer)
		return fail(c, -ENOENT, "role host-veth: peer ifindex %d of %s is not in netns %s",
			    cdev->peer, cdev->name, host->name);
	set_peer(c, ctr, peer->ifindex, host);
	ret = add_dev(c, MACE_ROLE_HOST_VETH, host, peer, ctr->ino);
	if (ret)
		return ret;
	if (peer->master) {
		br = link_by_index(hl, peer->master);
		if (br && strcmp(br->kind, "bridge"))
			br = NULL;
	}
	if (br)
		return add_dev(c, MACE_ROLE_BRIDGE, host, br, ctr->ino);
	if (needs(c, MACE_ROLE_BRIDGE))
		return fail(c, -ENOENT, "role bridge: host-veth %s in netns %s is not enslaved to "
			    "a bridge", peer->name, host->name);
	return 0;
}

/* Tunnel and tun devices of a host netns, shared by its containers. */
static int bind_host_shared(struct ctx *c, const struct ns *host, const struct links *hl)
{
	const struct link *br = NULL, *l;
	int ret;

	/* Prefer the devices on the bridge a container uses. */
	for (unsigned int i = 0; i < c->out->ndev; i++)
		if (c->out->dev[i].role == MACE_ROLE_BRIDGE && c->out->dev[i].netns == host->ino)
			br = link_by_index(hl, c->out->dev[i].ifindex);
	l = find_kind(hl, "vxlan", br ? br->ifindex : 0);
	if (l) {
		ret = add_dev(c, MACE_ROLE_TUNNEL, host, l, 0);
		if (ret)
			return ret;
	} else if (needs(c, MACE_ROLE_TUNNEL)) {
		return fail(c, -ENOENT, "role tunnel: no vxlan device in netns %s (inode %u)",
			    host->name, host->ino);
	}
	l = find_kind(hl, "tun", br ? br->ifindex : 0);
	if (l)
		return add_dev(c, MACE_ROLE_TUN, host, l, 0);
	if (needs(c, MACE_ROLE_TUN))
		return fail(c, -ENOENT, "role tun: no tun/tap device in netns %s (inode %u)",
			    host->name, host->ino);
	return 0;
}

static bool need_host(const struct ctx *c, const char *outer_spec)
{
	__u32 host_roles = (1u << MACE_ROLE_HOST_VETH) | (1u << MACE_ROLE_BRIDGE) |
			   (1u << MACE_ROLE_TUNNEL) | (1u << MACE_ROLE_TUN);

	if (c->need & host_roles)
		return true;
	return needs(c, MACE_ROLE_OUTER) && !(outer_spec && strchr(outer_spec, '@'));
}

static int add_outer(struct ctx *c, const char *outer_spec, const struct ns *host, int host_fd,
		     const struct links *hl)
{
	struct link outer;
	struct ns ons;
	bool have;
	int ret;

	ret = resolve_outer(c, outer_spec, host, host_fd, hl, &outer, &ons, &have);
	if (ret || !have)
		return ret;
	ret = add_dev(c, MACE_ROLE_OUTER, &ons, &outer, 0);
	ns_close(&ons);
	return ret;
}

/* --netns given: one container. */
static int bind_one(struct ctx *c, const char *netns_spec, const char *outer_spec)
{
	struct links cl = { 0 }, hl = { 0 };
	const struct link *cdev;
	const struct ns *host = NULL;
	struct ns ctr;
	int cfd = -1, hfd = -1, ret;

	ret = ns_open_spec(c, "netns", netns_spec, &ctr);
	if (ret)
		return ret;
	cfd = nl_open(c, &ctr);
	if (cfd < 0) {
		ret = cfd;
		goto out;
	}
	ret = links_dump(c, cfd, &ctr, &cl);
	if (!ret)
		ret = container_dev(c, cfd, &ctr, &cl, &cdev);
	if (ret)
		goto out;
	ret = add_dev(c, MACE_ROLE_CONTAINER, &ctr, cdev, ctr.ino);
	if (ret)
		goto out;
	if (strcmp(cdev->kind, "veth")) {
		if (need_host(c, outer_spec)) {
			ret = fail(c, -ENOENT, "role host-veth: container device %s in netns %s is "
				   "%s%s, not a veth, so its host netns is unknown", cdev->name,
				   ctr.name, *cdev->kind ? "a " : "a physical device",
				   cdev->kind);
			goto out;
		}
		ret = add_outer(c, outer_spec, NULL, -1, NULL);
		goto out;
	}
	ret = find_peer_ns(c, cfd, &ctr, cdev, &host);
	if (ret)
		goto out;
	if (!host) {
		if (need_host(c, outer_spec))
			ret = fail(c, -ENOENT, "role host-veth: the peer of %s in netns %s (nsid %d "
				   "there) is in no netns found under " NETNS_RUN_DIR " or /proc",
				   cdev->name, ctr.name, cdev->peer_nsid);
		else
			ret = add_outer(c, outer_spec, NULL, -1, NULL);
		goto out;
	}
	hfd = host->ino == ctr.ino ? cfd : nl_open(c, host);
	if (hfd < 0) {
		ret = hfd;
		goto out;
	}
	ret = links_dump(c, hfd, host, &hl);
	if (!ret)
		ret = bind_host_side(c, &ctr, cdev, host, &hl);
	if (!ret)
		ret = bind_host_shared(c, host, &hl);
	if (!ret)
		ret = add_outer(c, outer_spec, host, hfd, &hl);
out:
	if (hfd >= 0 && hfd != cfd)
		close(hfd);
	if (cfd >= 0)
		close(cfd);
	ns_close(&ctr);
	free(cl.v);
	free(hl.v);
	return ret;
}

/* No --netns: every netns with a veth whose peer is in the current netns. */
static int bind_all(struct ctx *c, const char *outer_spec)
{
	struct links hl = { 0 }, cl = { 0 };
	__u32 outer_ifindex = 0, outer_netns = 0;
	unsigned int containers = 0;
	int hfd, ret;

	hfd = nl_open(c, &c->cur);
	if (hfd < 0)
		return hfd;
	ret = links_dump(c, hfd, &c->cur, &hl);
	if (ret)
		goto out;
	/* Outer first: a netns whose veth peer is the outer device stands for
	 * the far end of the physical link, not a container. */
	ret = add_outer(c, outer_spec, &c->cur, hfd, &hl);
	if (ret)
		goto out;
	for (unsigned int i = 0; i < c->out->ndev; i++) {
		if (c->out->dev[i].role == MACE_ROLE_OUTER) {
			outer_ifindex = c->out->dev[i].ifindex;
			outer_netns = c->out->dev[i].netns;
		}
	}
	for (unsigned int i = 0; i < c->cand.n; i++) {
		const struct ns *ns = &c->cand.v[i];
		__s32 nsid_cur = -1;
		bool asked = false;
		int fd;

		if (ns->ino == c->cur.ino)
			continue;
		fd = nl_open(c, ns);
		if (fd < 0) {
			ret = fd;
			goto out;
		}
		ret = links_dump(c, fd, ns, &cl);
		for (unsigned int j = 0; !ret && j < cl.n; j++) {
			const struct link *l = &cl.v[j];

			if (strcmp(l->kind, "veth") || l->peer_nsid < 0)
				continue;
			/* Asked after the dump: the dump assigns the nsid. */
			if (!asked) {
				ret = nsid_of(fd, &c->cur, &nsid_cur);
				if (ret) {
					ret = fail(c, ret, "netns %s: asking the nsid of netns %s: %s",
						   ns->name, c->cur.name, strerror(-ret));
					break;
				}
				asked = true;
			}
			if (l->peer_nsid != nsid_cur)
				continue;
			if (outer_netns == c->cur.ino && (__u32)l->peer == outer_ifindex)
				continue;
			ret = add_dev(c, MACE_ROLE_CONTAINER, ns, l, ns->ino);
			if (!ret)
				ret = bind_host_side(c, ns, l, &c->cur, &hl);
			containers++;
		}
		close(fd);
		if (ret)
			goto out;
	}
	if (!containers && needs(c, MACE_ROLE_CONTAINER)) {
		ret = fail(c, -ENOENT, "role container: no netns has a veth whose peer is in netns "
			   "%s (inode %u)", c->cur.name, c->cur.ino);
		goto out;
	}
	ret = bind_host_shared(c, &c->cur, &hl);
out:
	close(hfd);
	free(hl.v);
	free(cl.v);
	return ret;
}

/*
 * roles: the roles the path needs; each must be found.  0 binds whatever can
 * be found and requires nothing (for describing a netns).
 */
int mace__bind(const char *netns_spec, const char *outer_spec, __u32 roles,
	       struct mace_binding *out, char *err, size_t errlen)
{
	struct ctx c = {
		.want = roles ? roles : ~0u,
		.need = roles,
		.out = out,
		.err = err,
		.errlen = errlen,
		.cur = { .fd = -1 },
	};
	int fd, ret;

	if (!out || (!err && errlen))
		return -EINVAL;
	if (errlen)
		err[0] = '\0';
	out->ndev = 0;
	ret = cand_scan(&c);
	if (ret) {
		if (!errlen || !err[0])
			fail(&c, ret, "finding network namespaces: %s", strerror(-ret));
		goto out;
	}
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	ret = fd < 0 ? -errno : ns_from_fd(fd, &c.cur);
	if (ret) {
		if (fd >= 0)
			close(fd);
		fail(&c, ret, "/proc/thread-self/ns/net: %s", strerror(-ret));
		goto out;
	}
	cand_name(&c, c.cur.ino, c.cur.name, sizeof(c.cur.name));
	ret = netns_spec ? bind_one(&c, netns_spec, outer_spec) : bind_all(&c, outer_spec);
out:
	if (ret)
		out->ndev = 0;
	else
		for (unsigned int i = 0; i < out->ndev; i++)
			mace_dbg("bound %s %s ifindex %u in netns %s (inode %u)",
				 mace__role_name(out->dev[i].role), out->dev[i].name,
				 out->dev[i].ifindex, out->dev[i].netns_name, out->dev[i].netns);
	ns_close(&c.cur);
	for (unsigned int i = 0; i < c.cand.n; i++)
		ns_close(&c.cand.v[i]);
	free(c.cand.v);
	return ret;
}

const struct mace_bound_dev *mace__binding_find(const struct mace_binding *b, __u32 netns,
						__u32 ifindex)
{
	for (unsigned int i = 0; b && i < b->ndev; i++)
		if (b->dev[i].netns == netns && b->dev[i].ifindex == ifindex)
			return &b->dev[i];
	return NULL;
}

bool mace__binding_is_container(const struct mace_binding *b, __u32 netns)
{
	for (unsigned int i = 0; b && i < b->ndev; i++)
		if (b->dev[i].role == MACE_ROLE_CONTAINER && b->dev[i].netns == netns)
			return true;
	return false;
}

/* One line per device; names and netns spelled out, since ftrace filters by
 * name and the same name (eth0) lives in many namespaces. */
int mace__binding_describe(const struct mace_binding *b, FILE *out)
{
	for (unsigned int i = 0; i < b->ndev; i++) {
		const struct mace_bound_dev *d = &b->dev[i];

		fprintf(out, "%-9s %-15s ifindex %-4u netns %s (inode %u)",
			mace__role_name(d->role), d->name, d->ifindex,
			d->netns_name[0] ? d->netns_name : "?", d->netns);
		if (d->container_netns && d->container_netns != d->netns)
			fprintf(out, " for container netns %u", d->container_netns);
		fputc('\n', out);
	}
	if (fflush(out) || ferror(out))
		return -EIO;
	return 0;
}

void mace__binding_drop(struct mace_binding *b, unsigned int i)
{
	if (i >= b->ndev)
		return;
	memmove(&b->dev[i], &b->dev[i + 1], (b->ndev - i - 1) * sizeof(b->dev[0]));
	b->ndev--;
}

unsigned int mace__binding_drop_container(struct mace_binding *b, __u32 netns)
{
	unsigned int n = 0;

	for (unsigned int i = b->ndev; i-- > 0;) {
		const struct mace_bound_dev *d = &b->dev[i];

		if (d->netns == netns || d->container_netns == netns) {
			mace__binding_drop(b, i);
			n++;
		}
	}
	return n;
}

unsigned int mace__binding_containers(const struct mace_binding *b)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < b->ndev; i++) {
		bool first = b->dev[i].role == MACE_ROLE_CONTAINER;

		for (unsigned int k = 0; first && k < i; k++)
			first = !(b->dev[k].role == MACE_ROLE_CONTAINER &&
				  b->dev[k].netns == b->dev[i].netns);
		n += first;
	}
	return n;
}

int mace__netns_socket(__u32 ino, char *err, size_t errlen)
{
	struct ctx c = { .err = err, .errlen = errlen, .cur = { .fd = -1 } };
	struct stat st;
	int fd = -1;

	if (stat("/proc/thread-self/ns/net", &st))
		return fail(&c, -errno, "/proc/thread-self/ns/net: %s", strerror(errno));
	c.cur.ino = (__u32)st.st_ino;
	if (ino != c.cur.ino) {
		int ret = cand_scan(&c);

		for (unsigned int i = 0; !ret && i < c.cand.n; i++)
			if (c.cand.v[i].ino == ino)
				fd = nl_open(&c, &c.cand.v[i]);
		if (ret)
			fd = fail(&c, ret, "finding network namespaces: %s", strerror(-ret));
		else if (fd == -1)
			fd = fail(&c, -ENOENT, "netns inode %u is no longer found", ino);
		for (unsigned int i = 0; i < c.cand.n; i++)
			ns_close(&c.cand.v[i]);
		free(c.cand.v);
	} else {
		fd = nl_open(&c, &c.cur);
	}
	if (fd >= 0 && fcntl(fd, F_SETFL, O_NONBLOCK)) {
		close(fd);
		fd = fail(&c, -errno, "netlink socket: %s", strerror(errno));
	}
	return fd;
}
