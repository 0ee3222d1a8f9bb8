/* SPDX-License-Identifier: MIT */
/*
 * Internals of the ftrace backend shared by its files (ftrace_*.c).
 */
#ifndef MACE_FTRACE_INT_H
#define MACE_FTRACE_INT_H

#include <stddef.h>
#include <stdint.h>

/* ---- ftrace_tasks.c: tasks living in the container netns ----------------- */

/* ftrace cannot filter syscalls by netns, so we filter them by common_pid of
 * the tasks found in the container netns, rescanned from /proc. */
struct ft_tid {
	uint32_t tid;
	uint32_t netns;
};
struct ft_tasks {
	const uint32_t *netns;	/* container netns inodes we want */
	unsigned int nnetns;
	/* Two scans, sorted by tid: the current one and the one before, kept
	 * for events of tasks that exited meanwhile. */
	struct ft_tid *buf[2];
	unsigned int n[2], cap[2];
	unsigned int cur;	/* index of the current scan */
};

/* Rescans /proc.  1 if the set of tids changed, 0 if not, -errno. */
int ft_tasks_scan(struct ft_tasks *t);
/* The netns of a tid seen by the last two scans, 0 if unknown. */
uint32_t ft_tasks_netns(const struct ft_tasks *t, uint32_t tid);
/* Writes a kernel filter "common_pid == a || ..." for the current tids into
 * buf.  Returns the number of tids it holds (the ones that fit in len). */
unsigned int ft_tasks_filter(const struct ft_tasks *t, char *buf, size_t len);
void ft_tasks_free(struct ft_tasks *t);

/* Removes mace-<pid>[-<n>] instances whose pid is gone.  Returns how many. */
int ft_remove_stale_instances(void);

#endif /* MACE_FTRACE_INT_H */
