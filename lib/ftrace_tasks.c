/* SPDX-License-Identifier: MIT */
/*
 * ftrace backend helpers that look at /proc and tracefs rather than at
 * events: which tasks live in the container netns (syscall points), and
 * stale instances left by killed runs.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tracefs.h>

#include "mace_int.h"
#include "ftrace_int.h"
#include "netns.h"

static bool wanted_netns(const struct ft_tasks *t, uint32_t ino)
{
	for (unsigned int i = 0; i < t->nnetns; i++)
		if (t->netns[i] == ino)
			return true;
	return false;
}

static int cmp_tid(const void *a, const void *b)
{
	const struct ft_tid *x = a, *y = b;

	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int add_tid(struct ft_tasks *t, unsigned int k, uint32_t tid, uint32_t netns)
{
	if (t->n[k] == t->cap[k]) {
		unsigned int cap = t->cap[k] ? t->cap[k] * 2 : 64;
		struct ft_tid *n = realloc(t->buf[k], cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->buf[k] = n;
		t->cap[k] = cap;
	}
	t->buf[k][t->n[k]].tid = tid;
	t->buf[k][t->n[k]].netns = netns;
	t->n[k]++;
	return 0;
}

/* Adds every thread of process pid (checked per thread: one may have
 * unshared its netns). */
static int add_threads(struct ft_tasks *t, unsigned int k, const char *pid)
{
	char dir[288], ns[576];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int err = 0;

	snprintf(dir, sizeof(dir), "/proc/%s/task", pid);
	d = opendir(dir);
	if (!d)
		return 0;	/* exited meanwhile */
	while (!err && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(ns, sizeof(ns), "%s/%s/ns/net", dir, de->d_name);
		if (stat(ns, &st) || !wanted_netns(t, st.st_ino))
			continue;
		err = add_tid(t, k, strtoul(de->d_name, NULL, 10), st.st_ino);
	}
	closedir(d);
	return err;
}

struct scan_arg {
	struct ft_tasks *t;
	unsigned int k;
};

static int scan_pid(const char *pid, __u32 ino, void *arg)
{
	struct scan_arg *a = arg;

	return wanted_netns(a->t, ino) ? add_threads(a->t, a->k, pid) : 0;
}

int mace__ft_tasks_scan(struct ft_tasks *t)
{
	unsigned int k = !t->cur, old = t->cur;
	struct scan_arg a = { t, k };
	int err;

	t->n[k] = 0;
	err = mace__netns_for_each_pid(scan_pid, &a);
	if (err)
		return err;
	if (t->n[k])
		qsort(t->buf[k], t->n[k], sizeof(*t->buf[k]), cmp_tid);
	t->cur = k;
	if (t->n[k] != t->n[old])
		return 1;
	for (unsigned int i = 0; i < t->n[k]; i++)
		if (t->buf[k][i].tid != t->buf[old][i].tid)
			return 1;
	return 0;
}

static uint32_t find(const struct ft_tid *a, unsigned int n, uint32_t tid)
{
	unsigned int lo = 0, hi = n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (a[mid].tid == tid)
			return a[mid].netns;
		if (a[mid].tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

uint32_t mace__ft_tasks_netns(const struct ft_tasks *t, uint32_t tid)
{
	uint32_t ns = find(t->buf[t->cur], t->n[t->cur], tid);

	return ns ? ns : find(t->buf[!t->cur], t->n[!t->cur], tid);
}

unsigned int mace__ft_tasks_filter(const struct ft_tasks *t, char *buf, size_t len)
{
	const struct ft_tid *cur = t->buf[t->cur];
	size_t off = 0;
	unsigned int i;

	/* No task yet: a filter no task matches (pids are positive). */
	snprintf(buf, len, "common_pid < 0");
	for (i = 0; i < t->n[t->cur]; i++) {
		int n = snprintf(buf + off, len - off, "%scommon_pid == %u", i ? " || " : "",
				 cur[i].tid);

		if (n < 0 || (size_t)n >= len - off) {
			buf[off] = '\0';
			break;
		}
		off += n;
	}
	if (!i)
		snprintf(buf, len, "common_pid < 0");
	return i;
}

void mace__ft_tasks_free(struct ft_tasks *t)
{
	for (int k = 0; k < 2; k++) {
		free(t->buf[k]);
		t->buf[k] = NULL;
		t->n[k] = t->cap[k] = 0;
	}
}

/* "mace-<pid>" or "mace-<pid>-<n>": the pid, or 0 if the name is not ours. */
static long instance_pid(const char *name)
{
	char *end;
	long pid;

	if (strncmp(name, "mace-", 5) || !isdigit((unsigned char)name[5]))
		return 0;
	pid = strtol(name + 5, &end, 10);
	if (*end == '-' && isdigit((unsigned char)end[1]))
		strtol(end + 1, &end, 10);
	return *end ? 0 : pid;
}

struct stale {
	char name[8][64];
	long pid[8];
	unsigned int n;
};

static int collect_stale(const char *name, void *ctx)
{
	struct stale *st = ctx;
	long pid = instance_pid(name);

	if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
		return 0;
	if (st->n == ARRAY_SIZE(st->pid))
		return 1;	/* enough for one go; the next start takes the rest */
	snprintf(st->name[st->n], sizeof(st->name[0]), "%s", name);
	st->pid[st->n++] = pid;
	return 0;
}

int mace__ft_remove_stale_instances(void)
{
	struct stale st = { .n = 0 };
	int removed = 0;

	/* Walk (not tracefs_instances(regex), which leaks its regex in 1.6). */
	tracefs_instances_walk(collect_stale, &st);
	for (unsigned int i = 0; i < st.n; i++) {
		struct tracefs_instance *inst = tracefs_instance_alloc(NULL, st.name[i]);

		if (!inst) {
			mace_warn("ftrace: cannot open stale instance %s: %s", st.name[i],
				  strerror(errno));
			continue;
		}
		if (tracefs_instance_destroy(inst))
			mace_warn("ftrace: cannot remove stale instance %s (pid %ld is gone): %s",
				  st.name[i], st.pid[i], strerror(errno));
		else {
			mace_info("ftrace: removed stale instance %s left by dead pid %ld",
				  st.name[i], st.pid[i]);
			removed++;
		}
		tracefs_instance_free(inst);
	}
	return removed;
}
