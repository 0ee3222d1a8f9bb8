/* SPDX-License-Identifier: MIT */
/*
 * Network namespaces: opened from a NAME, PATH or PID, and found by walking
 * /run/netns and /proc.  A netns is known by its inode; a name is only what a
 * user would call it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mace_int.h"
#include "netns.h"

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int mace__netns_from_fd(int fd, struct netns *ns)
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

void mace__netns_close(struct netns *ns)
{
	if (ns->fd >= 0)
		close(ns->fd);
	ns->fd = -1;
}

const struct netns *mace__netns_list_find(const struct netns_list *l, __u32 ino)
{
	for (unsigned int i = 0; l && i < l->n; i++)
		if (l->v[i].ino == ino)
			return &l->v[i];
	return NULL;
}

void mace__netns_list_name(const struct netns_list *l, __u32 ino, char *buf, size_t len)
{
	const struct netns *ns = mace__netns_list_find(l, ino);

	if (ns)
		snprintf(buf, len, "%s", ns->name);
	else
		snprintf(buf, len, "inode %u", ino);
}

int mace__netns_open_spec(const struct netns_list *l, const char *what, const char *spec,
		    struct netns *ns, char *err, size_t errlen)
{
	char path[PATH_MAX];
	bool pid = all_digits(spec);
	int fd, ret;

	ns->fd = -1;
	ns->name[0] = '\0';
	if (!*spec)
		return mace__errf(err, errlen, -EINVAL, "%s '': empty netns name", what);
	if (pid) {
		snprintf(path, sizeof(path), "/proc/%s", spec);
		if (access(path, F_OK))
			return mace__errf(err, errlen, -ESRCH, "%s '%s': no process %s (%s: %s)", what,
				    spec, spec, path, strerror(errno));
		snprintf(path, sizeof(path), "/proc/%s/ns/net", spec);
	} else if (strchr(spec, '/')) {
		snprintf(path, sizeof(path), "%s", spec);
	} else {
		if (!strcmp(spec, ".") || !strcmp(spec, ".."))
			return mace__errf(err, errlen, -EINVAL, "%s '%s': not a netns name", what, spec);
		snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", spec);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (!pid && !strchr(spec, '/') && ret == -ENOENT)
			return mace__errf(err, errlen, ret, "%s '%s': no netns of that name under "
				    NETNS_RUN_DIR " (see 'ip netns list')", what, spec);
		return mace__errf(err, errlen, ret, "%s '%s': %s: %s", what, spec, path, strerror(-ret));
	}
	ret = mace__netns_from_fd(fd, ns);
	if (ret) {
		close(fd);
		if (ret == -EINVAL)
			return mace__errf(err, errlen, ret, "%s '%s': %s is not a network namespace",
				    what, spec, path);
		return mace__errf(err, errlen, ret, "%s '%s': %s: %s", what, spec, path, strerror(-ret));
	}
	/* Prefer the ip netns name, whatever form the user gave. */
	if (mace__netns_list_find(l, ns->ino))
		mace__netns_list_name(l, ns->ino, ns->name, sizeof(ns->name));
	else if (pid)
		snprintf(ns->name, sizeof(ns->name), "pid %s", spec);
	else
		snprintf(ns->name, sizeof(ns->name), "%.63s", spec);
	return 0;
}

int mace__netns_for_each_named(int (*cb)(const char *path, const char *name, __u32 ino, void *arg),
			 void *arg)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int ret = 0;

	d = opendir(NETNS_RUN_DIR);
	if (!d)
		return 0;	/* no ip netns name yet */
	while (!ret && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", de->d_name);
		/* A name whose mount is gone stats as a plain file: skip it. */
		if (stat(path, &st) || st.st_dev == 0)
			continue;
		ret = cb(path, de->d_name, (__u32)st.st_ino, arg);
	}
	closedir(d);
	return ret;
}

int mace__netns_for_each_pid(int (*cb)(const char *pid, __u32 ino, void *arg), void *arg)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int ret = 0;

	d = opendir("/proc");
	if (!d)
		return -errno;
	while (!ret && (de = readdir(d))) {
		if (!all_digits(de->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
		if (stat(path, &st))
			continue;	/* exited, or not ours to see */
		ret = cb(de->d_name, (__u32)st.st_ino, arg);
	}
	closedir(d);
	return ret;
}

static int list_add(struct netns_list *l, const char *path, __u32 ino, const char *name)
{
	struct netns ns;
	int fd;

	if (mace__netns_list_find(l, ino))
		return 0;
	if (l->n == l->cap) {
		unsigned int cap = l->cap ? l->cap * 2 : 16;
		struct netns *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	/* The process may have exited since the scan: not a candidate then. */
	if (fd < 0)
		return 0;
	if (mace__netns_from_fd(fd, &ns) || ns.ino != ino) {
		close(fd);
		return 0;
	}
	snprintf(ns.name, sizeof(ns.name), "%s", name);
	l->v[l->n++] = ns;
	return 0;
}

static int add_named(const char *path, const char *name, __u32 ino, void *arg)
{
	char n[64];

	snprintf(n, sizeof(n), "%.63s", name);
	return list_add(arg, path, ino, n);
}

static int add_pid(const char *pid, __u32 ino, void *arg)
{
	char path[PATH_MAX], name[64];

	snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
	snprintf(name, sizeof(name), "pid %.50s", pid);
	return list_add(arg, path, ino, name);
}

int mace__netns_list_scan(struct netns_list *l, char *err, size_t errlen)
{
	char name[64];
	struct stat st;
	int ret;

	ret = mace__netns_for_each_named(add_named, l);
	if (ret)
		return ret;
	ret = mace__netns_for_each_pid(add_pid, l);
	if (ret == -ENOMEM)
		return ret;
	if (ret)
		return mace__errf(err, errlen, ret, "/proc: %s", strerror(-ret));
	/* With hidepid or a foreign /proc the scan may miss our own netns. */
	snprintf(name, sizeof(name), "pid %d", (int)getpid());
	if (stat("/proc/self/ns/net", &st) == 0)
		ret = list_add(l, "/proc/self/ns/net", (__u32)st.st_ino, name);
	return ret;
}

void mace__netns_list_free(struct netns_list *l)
{
	for (unsigned int i = 0; i < l->n; i++)
		mace__netns_close(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* ---- beyond processes: nsfs bind mounts and open netns files ------------- */

/* "net:[4026532001]" -> 4026532001; 0 if not a netns reference. */
static __u32 net_ref(const char *s)
{
	unsigned long v;
	char *end;

	if (strncmp(s, "net:[", 5))
		return 0;
	v = strtoul(s + 5, &end, 10);
	return *end == ']' && v <= UINT32_MAX ? (__u32)v : 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++, o++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o = *s;
		}
	}
	*o = '\0';
}

struct beyond {
	struct netns_list *l;
	__u32 *mnt;		/* mount namespaces whose mountinfo was read */
	unsigned int nmnt, capmnt;
	dev_t nsfs_dev;		/* the device of namespace files */
};

/* nsfs mounts of netns in the mount namespace of pid, opened through its root. */
static int add_mounts(struct beyond *b, const char *pid)
{
	char file[64], line[4096], path[PATH_MAX], name[64];
	struct stat st;
	FILE *f;
	int ret = 0;

	snprintf(file, sizeof(file), "/proc/%.20s/ns/mnt", pid);
	if (stat(file, &st))
		return 0;
	for (unsigned int i = 0; i < b->nmnt; i++)
		if (b->mnt[i] == (__u32)st.st_ino)
			return 0;
	if (b->nmnt == b->capmnt) {
		unsigned int cap = b->capmnt ? b->capmnt * 2 : 16;
		__u32 *v = realloc(b->mnt, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		b->mnt = v;
		b->capmnt = cap;
	}
	b->mnt[b->nmnt++] = (__u32)st.st_ino;
	snprintf(file, sizeof(file), "/proc/%.20s/mountinfo", pid);
	f = fopen(file, "re");
	if (!f)
		return 0;
	while (!ret && fgets(line, sizeof(line), f)) {
		char *fld[5], *sep = strstr(line, " - "), *save = NULL, *p = line;
		int n = 0;

		/* fields: id parent dev root mountpoint ... - fstype source opts */
		if (!sep || strncmp(sep + 3, "nsfs ", 5))
			continue;
		while (n < 5 && (fld[n] = strtok_r(p, " ", &save)))
			n++, p = NULL;
		if (n < 5 || !net_ref(fld[3]) || mace__netns_list_find(b->l, net_ref(fld[3])))
			continue;
		unescape(fld[4]);
		snprintf(path, sizeof(path), "/proc/%.20s/root%s", pid, fld[4]);
		snprintf(name, sizeof(name), "mounted at %.50s", fld[4]);
		ret = list_add(b->l, path, net_ref(fld[3]), name);
	}
	fclose(f);
	return ret;
}

/* netns files pid holds open. */
static int add_fds(struct beyond *b, const char *pid)
{
	char dir[64], path[PATH_MAX], name[64];
	struct dirent *de;
	DIR *d;
	int ret = 0;

	snprintf(dir, sizeof(dir), "/proc/%.20s/fd", pid);
	d = opendir(dir);
	if (!d)
		return 0;
	while (!ret && (de = readdir(d))) {
		struct stat st;

		if (!all_digits(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		/* By the file, not the link text: a netns opened through a bind
		 * mount reads as that path (or "/" once it is unmounted).  Other
		 * namespace types share the device: list_add checks the type. */
		if (stat(path, &st) || st.st_dev != b->nsfs_dev ||
		    mace__netns_list_find(b->l, (__u32)st.st_ino))
			continue;
		snprintf(name, sizeof(name), "held by fd %.10s of pid %.20s", de->d_name, pid);
		ret = list_add(b->l, path, (__u32)st.st_ino, name);
	}
	closedir(d);
	return ret;
}

static int beyond_pid(const char *pid, __u32 ino, void *arg)
{
	struct beyond *b = arg;
	int ret = add_mounts(b, pid);

	return ret ? ret : add_fds(b, pid);
}

int mace__netns_list_scan_all(struct netns_list *l, char *err, size_t errlen)
{
	struct beyond b = { .l = l };
	struct stat st;
	int ret = mace__netns_list_scan(l, err, errlen);

	if (ret)
		return ret;
	if (stat("/proc/self/ns/net", &st))
		return mace__errf(err, errlen, -errno, "/proc/self/ns/net: %s", strerror(errno));
	b.nsfs_dev = st.st_dev;
	ret = mace__netns_for_each_pid(beyond_pid, &b);
	free(b.mnt);
	if (ret && ret != -ENOMEM)
		return mace__errf(err, errlen, ret, "/proc: %s", strerror(-ret));
	return ret;
}
