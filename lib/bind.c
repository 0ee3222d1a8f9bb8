/* SPDX-License-Identifier: MIT */
/*
 * Roles bound to real devices: from a netns spec (NAME, PATH or PID) find the
 * container device, its veth peer in the host netns, the bridge and tunnel
 * there, and the host's outer device.  Everything is asked of rtnetlink in the
 * namespace concerned (netlink.c); namespaces are found by netns.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mace_int.h"
#include "netlink.h"
#include "netns.h"

struct ctx {
	__u32 want, need;	/* roles to bind; roles that must be found */
	struct mace_binding *out;
	struct netns_list cand;	/* every netns found, for naming and for resolving nsids */
	struct netns cur;	/* the netns mace runs in */
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

static int ns_open_spec(struct ctx *c, const char *what, const char *spec, struct netns *ns)
{
	return mace__netns_open_spec(&c->cand, what, spec, ns, c->err, c->errlen);
}

static int open_nl(struct ctx *c, const struct netns *ns)
{
	return mace__nl_open(ns, c->cur.ino, c->err, c->errlen);
}

static int links_dump(struct ctx *c, int fd, const struct netns *ns, struct nl_links *ls)
{
	int ret = mace__nl_links_dump(fd, ls);

	if (ret)
		return fail(c, ret, "netns %s: listing devices: %s", ns->name, strerror(-ret));
	return 0;
}

static int default_oif(struct ctx *c, int fd, const struct netns *ns, __u32 *oif)
{
	int ret = mace__nl_default_oif(fd, oif);

	if (ret)
		return fail(c, ret, "netns %s: listing routes: %s", ns->name, strerror(-ret));
	return 0;
}

/* ---- building the binding ----------------------------------------------------- */

static int add_dev(struct ctx *c, enum mace_role role, const struct netns *ns,
		   const struct nl_link *l, __u32 container_netns)
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
static const struct nl_link *find_kind(const struct nl_links *ls, const char *kind, __u32 master)
{
	const struct nl_link *any = NULL;

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
static int resolve_outer(struct ctx *c, const char *outer_spec, const struct netns *host,
			 int host_fd, const struct nl_links *host_links, struct nl_link *found,
			 struct netns *ons, bool *have)
{
	char dev[64];
	const char *at;
	struct nl_links ls = { 0 };
	const struct nl_link *l;
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
		l = oif ? mace__nl_link_by_index(host_links, oif) : NULL;
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
		fd = open_nl(c, ons);
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
	l = mace__nl_link_by_name(host_links, dev);
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
		mace__netns_close(ons);
	return ret;
}

/* Finds the host netns holding the peer of veth l, seen from the netns of fd. */
static int find_peer_ns(struct ctx *c, int fd, const struct netns *ctr, const struct nl_link *l,
			const struct netns **host)
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
		ret = mace__nl_nsid_of(fd, c->cand.v[i].fd, &nsid);
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
static int container_dev(struct ctx *c, int fd, const struct netns *ctr, const struct nl_links *ls,
			 const struct nl_link **out)
{
	const struct nl_link *veth = NULL;
	unsigned int nveth = 0;
	__u32 oif;
	int ret;

	ret = default_oif(c, fd, ctr, &oif);
	if (ret)
		return ret;
	*out = oif ? mace__nl_link_by_index(ls, oif) : NULL;
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
static void set_peer(struct ctx *c, const struct netns *ctr, __u32 ifindex,
		     const struct netns *host)
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
static int bind_host_side(struct ctx *c, const struct netns *ctr, const struct nl_link *cdev,
			  const struct netns *host, const struct nl_links *hl)
{
	const struct nl_link *peer, *br = NULL;
	int ret;

	peer = mace__nl_link_by_index(hl, (__u32)cdev->peer);
	if (!peer)
		return fail(c, -ENOENT, "role host-veth: peer ifindex %d of %s is not in netns %s",
			    cdev->peer, cdev->name, host->name);
	set_peer(c, ctr, peer->ifindex, host);
	ret = add_dev(c, MACE_ROLE_HOST_VETH, host, peer, ctr->ino);
	if (ret)
		return ret;
	if (peer->master) {
		br = mace__nl_link_by_index(hl, peer->master);
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
static int bind_host_shared(struct ctx *c, const struct netns *host, const struct nl_links *hl)
{
	const struct nl_link *br = NULL, *l;
	int ret;

	/* Prefer the devices on the bridge a container uses. */
	for (unsigned int i = 0; i < c->out->ndev; i++)
		if (c->out->dev[i].role == MACE_ROLE_BRIDGE && c->out->dev[i].netns == host->ino)
			br = mace__nl_link_by_index(hl, c->out->dev[i].ifindex);
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

static int add_outer(struct ctx *c, const char *outer_spec, const struct netns *host, int host_fd,
		     const struct nl_links *hl)
{
	struct nl_link outer;
	struct netns ons;
	bool have;
	int ret;

	ret = resolve_outer(c, outer_spec, host, host_fd, hl, &outer, &ons, &have);
	if (ret || !have)
		return ret;
	ret = add_dev(c, MACE_ROLE_OUTER, &ons, &outer, 0);
	mace__netns_close(&ons);
	return ret;
}

/* --netns given: one container. */
static int bind_one(struct ctx *c, const char *netns_spec, const char *outer_spec)
{
	struct nl_links cl = { 0 }, hl = { 0 };
	const struct nl_link *cdev;
	const struct netns *host = NULL;
	struct netns ctr;
	int cfd = -1, hfd = -1, ret;

	ret = ns_open_spec(c, "netns", netns_spec, &ctr);
	if (ret)
		return ret;
	cfd = open_nl(c, &ctr);
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
	hfd = host->ino == ctr.ino ? cfd : open_nl(c, host);
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
	mace__netns_close(&ctr);
	free(cl.v);
	free(hl.v);
	return ret;
}

/* No --netns: every netns with a veth whose peer is in the current netns. */
static int bind_all(struct ctx *c, const char *outer_spec)
{
	struct nl_links hl = { 0 }, cl = { 0 };
	__u32 outer_ifindex = 0, outer_netns = 0;
	unsigned int containers = 0;
	int hfd, ret;

	hfd = open_nl(c, &c->cur);
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
		const struct netns *ns = &c->cand.v[i];
		__s32 nsid_cur = -1;
		bool asked = false;
		int fd;

		if (ns->ino == c->cur.ino)
			continue;
		fd = open_nl(c, ns);
		if (fd < 0) {
			ret = fd;
			goto out;
		}
		ret = links_dump(c, fd, ns, &cl);
		for (unsigned int j = 0; !ret && j < cl.n; j++) {
			const struct nl_link *l = &cl.v[j];

			if (strcmp(l->kind, "veth") || l->peer_nsid < 0)
				continue;
			/* Asked after the dump: the dump assigns the nsid. */
			if (!asked) {
				ret = mace__nl_nsid_of(fd, c->cur.fd, &nsid_cur);
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
	return mace__bind_also(netns_spec, outer_spec, roles, 0, out, err, errlen);
}

int mace__bind_also(const char *netns_spec, const char *outer_spec, __u32 roles, __u32 also,
		    struct mace_binding *out, char *err, size_t errlen)
{
	struct ctx c = {
		.want = roles ? roles | also : ~0u,
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
	ret = mace__netns_list_scan(&c.cand, err, errlen);
	if (ret) {
		if (!errlen || !err[0])
			fail(&c, ret, "finding network namespaces: %s", strerror(-ret));
		goto out;
	}
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	ret = fd < 0 ? -errno : mace__netns_from_fd(fd, &c.cur);
	if (ret) {
		if (fd >= 0)
			close(fd);
		fail(&c, ret, "/proc/thread-self/ns/net: %s", strerror(-ret));
		goto out;
	}
	mace__netns_list_name(&c.cand, c.cur.ino, c.cur.name, sizeof(c.cur.name));
	ret = netns_spec ? bind_one(&c, netns_spec, outer_spec) : bind_all(&c, outer_spec);
out:
	if (ret)
		out->ndev = 0;
	else
		for (unsigned int i = 0; i < out->ndev; i++)
			mace_dbg("bound %s %s ifindex %u in netns %s (inode %u)",
				 mace__role_name(out->dev[i].role), out->dev[i].name,
				 out->dev[i].ifindex, out->dev[i].netns_name, out->dev[i].netns);
	mace__netns_close(&c.cur);
	mace__netns_list_free(&c.cand);
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

