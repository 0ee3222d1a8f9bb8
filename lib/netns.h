/* SPDX-License-Identifier: MIT */
/*
 * Network namespaces: opening one from what a user typed, and finding every
 * one reachable from /run/netns and /proc, named as a user would know it.
 */
#ifndef MACE_NETNS_H
#define MACE_NETNS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

#define NETNS_RUN_DIR "/run/netns"

/* An open network namespace. */
struct netns {
	int fd;
	__u32 ino;
	char name[64];		/* ip netns name, "pid N", or "" */
};

/* Every netns found, one per inode, ip netns names before pids. */
struct netns_list {
	unsigned int n, cap;
	struct netns *v;
};

/* fd (taken over on success) must be a network namespace file. */
int mace__netns_from_fd(int fd, struct netns *ns);
void mace__netns_close(struct netns *ns);

/* Fills l with every netns under /run/netns and /proc, and our own. */
int mace__netns_list_scan(struct netns_list *l, char *err, size_t errlen);
/* The same, and also the netns kept only by an nsfs bind mount anywhere
 * (read from every mount namespace's mountinfo: "mounted at PATH") or by a
 * process holding one open ("held by fd N of pid P"). */
int mace__netns_list_scan_all(struct netns_list *l, char *err, size_t errlen);
void mace__netns_list_free(struct netns_list *l);
const struct netns *mace__netns_list_find(const struct netns_list *l, __u32 ino);
/* The name a user would recognise for ino ("inode N" if none). */
void mace__netns_list_name(const struct netns_list *l, __u32 ino, char *buf, size_t len);

/*
 * Opens spec: NAME (under /run/netns), PATH (contains '/') or PID, named by
 * its entry in l when it has one.  what names the option in messages.
 */
int mace__netns_open_spec(const struct netns_list *l, const char *what, const char *spec,
		    struct netns *ns, char *err, size_t errlen);

/* Calls cb for each ip netns name: path under /run/netns, name, inode. */
int mace__netns_for_each_named(int (*cb)(const char *path, const char *name, __u32 ino, void *arg),
			 void *arg);
/* Calls cb for each process of /proc with the inode of its netns, in
 * directory order; a non-zero return from cb stops the walk and is returned.
 * -errno if /proc cannot be read. */
int mace__netns_for_each_pid(int (*cb)(const char *pid, __u32 ino, void *arg), void *arg);

#endif
