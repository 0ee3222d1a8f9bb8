/* SPDX-License-Identifier: MIT */
/*
 * Every network namespace this process can reach, not only those with a
 * process in them: ip netns names, the netns of every process, nsfs bind
 * mounts anywhere (read from each mount namespace's mountinfo), and netns
 * files a process holds open.  A netns kept by a bind mount or an fd alone
 * has devices, and packets, like any other.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mace_int.h"

struct seen {
	__u32 *v;
	unsigned int n, cap;
};

static bool seen_has(const struct seen *s, __u32 ino)
{
	for (unsigned int i = 0; i < s->n; i++)
		if (s->v[i] == ino)
			return true;
	return false;
}

static int seen_add(struct seen *s, __u32 ino)
{
	if (s->n == s->cap) {
		unsigned int cap = s->cap ? s->cap * 2 : 64;
		__u32 *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ino;
	return 0;
}

struct walk {
	struct seen net, mnt;
	dev_t nsfs_dev;			/* the device of namespace files */
	mace__netns_fn cb;
	void *arg;
};

/* Opens path, checks it is a netns not seen yet, hands it to cb. */
static int offer(struct walk *w, const char *path, const char *name)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), ret;

	if (fd < 0)
		return 0;	/* gone meanwhile, or not ours to open */
	if (fstat(fd, &st) || seen_has(&w->net, (__u32)st.st_ino) ||
	    ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
		close(fd);
		return 0;
	}
	ret = seen_add(&w->net, (__u32)st.st_ino);
	if (!ret)
		ret = w->cb(fd, (__u32)st.st_ino, name, w->arg);
	close(fd);
	return ret;
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

/* nsfs mounts of netns in the mount namespace of pid, opened through its root. */
static int scan_mounts(struct walk *w, const char *pid)
{
	char file[64], line[4096], path[PATH_MAX], name[64];
	struct stat st;
	FILE *f;
	int ret = 0;

	snprintf(file, sizeof(file), "/proc/%.20s/ns/mnt", pid);
	if (stat(file, &st) || seen_has(&w->mnt, (__u32)st.st_ino))
		return 0;
	ret = seen_add(&w->mnt, (__u32)st.st_ino);
	if (ret)
		return ret;
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
		if (n < 5 || !net_ref(fld[3]) || seen_has(&w->net, net_ref(fld[3])))
			continue;
		unescape(fld[4]);
		snprintf(path, sizeof(path), "/proc/%s/root%s", pid, fld[4]);
		snprintf(name, sizeof(name), "mounted at %.50s", fld[4]);
		ret = offer(w, path, name);
	}
	fclose(f);
	return ret;
}

/* netns files pid holds open. */
static int scan_fds(struct walk *w, const char *pid)
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
		 * mount reads as that path (or "/" once it is unmounted). */
		if (stat(path, &st) || st.st_dev != w->nsfs_dev ||
		    seen_has(&w->net, (__u32)st.st_ino))
			continue;
		snprintf(name, sizeof(name), "held by fd %.10s of pid %.20s", de->d_name, pid);
		ret = offer(w, path, name);
	}
	closedir(d);
	return ret;
}

int mace__netns_enum(mace__netns_fn cb, void *arg)
{
	struct walk w = { .cb = cb, .arg = arg };
	char path[PATH_MAX], name[64];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int ret = 0;

	if (stat("/proc/self/ns/net", &st))
		return -errno;
	w.nsfs_dev = st.st_dev;
	d = opendir("/run/netns");
	while (d && !ret && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
		snprintf(name, sizeof(name), "%.63s", de->d_name);
		ret = offer(&w, path, name);
	}
	if (d)
		closedir(d);
	if (!ret)
		ret = offer(&w, "/proc/self/ns/net", "mace's own");
	d = ret ? NULL : opendir("/proc");
	if (!d && !ret)
		ret = -errno;
	/* Processes first, then what mounts and fds keep beyond them. */
	for (int pass = 0; d && pass < 3 && !ret; pass++) {
		rewinddir(d);
		while (!ret && (de = readdir(d))) {
			if (!all_digits(de->d_name))
				continue;
			if (pass == 0) {
				snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
				snprintf(name, sizeof(name), "pid %.50s", de->d_name);
				ret = offer(&w, path, name);
			} else if (pass == 1) {
				ret = scan_mounts(&w, de->d_name);
			} else {
				ret = scan_fds(&w, de->d_name);
			}
		}
	}
	if (d)
		closedir(d);
	free(w.net.v);
	free(w.mnt.v);
	return ret;
}
