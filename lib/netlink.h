/* SPDX-License-Identifier: MIT */
/*
 * A small rtnetlink client: sockets in a given netns, requests and dumps,
 * notification reads, and the link attributes mace cares about.
 */
#ifndef MACE_NETLINK_H
#define MACE_NETLINK_H

#include <linux/netlink.h>
#include <linux/types.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include "netns.h"

#define NL_LOCAL (-1)		/* nsid of a message from the socket's own netns */

struct nl_link {
	__u32 ifindex;
	__u32 master;		/* 0: none */
	__s32 peer;		/* IFLA_LINK; -1: none */
	__s32 peer_nsid;	/* IFLA_LINK_NETNSID; NL_LOCAL: same netns */
	char name[IFNAMSIZ];	/* "" if the message had none */
	char kind[16];		/* IFLA_INFO_KIND; "" for physical devices */
};

struct nl_links {
	unsigned int n, cap;
	struct nl_link *v;
};

/*
 * An rtnetlink socket in netns ns; cur_ino is the netns of the calling
 * thread.  Another netns is entered by a short-lived thread only, so the
 * process never changes netns.  fd, or -errno with a message in err.
 */
int mace__nl_open(const struct netns *ns, __u32 cur_ino, char *err, size_t errlen);

/*
 * Reads one datagram from the kernel into buf.  timeout_ms: -1 waits, 0
 * returns -EAGAIN at once when nothing is queued, else -ETIMEDOUT after it.
 * *nsid (if given) gets the NETLINK_LISTEN_ALL_NSID tag, or NL_LOCAL.
 * Bytes read, or -errno.
 */
ssize_t mace__nl_recv(int fd, void *buf, size_t len, __s32 *nsid, int timeout_ms);
/* The error of an NLMSG_ERROR message (0 for an ack). */
int mace__nl_msg_error(const struct nlmsghdr *nh);

/* Sends req and passes every reply message to cb until DONE (dumps) or the
 * first reply (plain requests).  Returns 0, a kernel error, or cb's error. */
int mace__nl_talk(int fd, struct nlmsghdr *req,
	    int (*cb)(const struct nlmsghdr *nh, void *arg), void *arg);
/* Subscribes fd to link notifications of its netns and, tagged with their
 * nsid, of the netns it has nsids for.  -1 with errno. */
int mace__nl_listen_links(int fd);
/* Sends an RTM_GETLINK dump request with sequence number seq. */
int mace__nl_request_links(int fd, __u32 seq);

/* Parses an RTM_NEWLINK or RTM_DELLINK; -EBADMSG if too short. */
int mace__nl_link_parse(const struct nlmsghdr *nh, struct nl_link *l);
/* Lists the links of the socket's netns into ls (emptied first). */
int mace__nl_links_dump(int fd, struct nl_links *ls);
const struct nl_link *mace__nl_link_by_index(const struct nl_links *ls, __u32 ifindex);
const struct nl_link *mace__nl_link_by_name(const struct nl_links *ls, const char *name);

/* The ifindex of the default route, IPv4 first, then IPv6; 0 if none. */
int mace__nl_default_oif(int fd, __u32 *oif);
/* The nsid the netns of socket fd gives to the netns of nsfd (-1: none). */
int mace__nl_nsid_of(int fd, int nsfd, __s32 *nsid);

#endif
