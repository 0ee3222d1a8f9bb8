/* SPDX-License-Identifier: MIT */
/*
 * Internals of the ftrace backend shared by its files (ftrace_*.c).
 */
#ifndef MACE_FTRACE_INT_H
#define MACE_FTRACE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "mace_int.h"

#define TRACEFS_DIR "/sys/kernel/tracing"

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
int mace__ft_tasks_scan(struct ft_tasks *t);
/* The netns of a tid seen by the last two scans, 0 if unknown. */
uint32_t mace__ft_tasks_netns(const struct ft_tasks *t, uint32_t tid);
/* Writes a kernel filter "common_pid == a || ..." for the current tids into
 * buf.  Returns the number of tids it holds (the ones that fit in len). */
unsigned int mace__ft_tasks_filter(const struct ft_tasks *t, char *buf, size_t len);
void mace__ft_tasks_free(struct ft_tasks *t);

/* ---- ftrace_backend.c: the backend's state --------------------------------- */

struct ft_field {
	int off, size;
	bool dyn, rel;			/* __data_loc / __rel_loc string */
};

struct ft_tp {
	enum mace_tp tp;
	const struct mace_tp_info *info;
	int id;				/* ftrace event id (common_type) */
	struct ft_field skb, len, name;	/* len: len/count (enter) or ret (exit) */
	bool has_proto;			/* carries the frame's protocol */
	__u32 roles;			/* roles of the points that use it */
};

/* skb:consume_skb and skb:kfree_skb: a packet that ends off the path (at the
 * host) frees its skb there, which closes its pending start. */
struct ft_free {
	const char *name;
	int id;
	struct ft_field skb;
};
#define FT_NFREE 2
/* Slots of the table of skb addresses seen at path points: a free of any
 * other skb (most frees on a host) is dropped on reading, one load. */
#define FT_SEEN_SLOTS 65536

struct ft_stream {
	int fd, cpu;
	void *page;
	struct kbuffer *kbuf;
	void *data;			/* current event, NULL if none */
	unsigned long long ts;
	bool dry;			/* read returned nothing this round */
};

struct mace_backend {
	struct mace_backend_cfg cfg;
	struct tracefs_instance *inst;
	char inst_name[40];
	struct tep_handle *tep;
	struct ft_field common_type, common_pid;
	struct ft_tp tps[MACE_TP_COUNT];
	unsigned int ntp;
	struct ft_free frees[FT_NFREE];
	__u64 *seen;			/* FT_SEEN_SLOTS skb addresses, 0: empty */
	const struct mace_bound_dev *devs[MACE_MAX_BOUND]; /* packet-point devices */
	unsigned int ndev;
	bool sys;			/* path has syscall points */
	__u32 pkt_roles;		/* roles of the path's packet points */
	bool host_veth_standin;		/* container points read on the host veths */
	__u32 cnetns[MACE_MAX_BOUND];
	struct ft_tasks tasks;
	struct ft_stream *st;
	int nst, epfd, subbuf;
	int timerfd;			/* periodic drain: no wakeup per event */
	__u64 lost, user_drops, next_scan, next_stats, next_clash;
	bool started, stopped, warned_tasks;
};

/* ---- ftrace_plan.c --------------------------------------------------------- */

/* Fills b->tps (compacted, b->ntp), b->devs and the container netns list
 * from b->cfg; refuses what ftrace cannot do, saying why in err. */
int mace__ft_plan(struct mace_backend *b, char *err, size_t errlen);
/* Refills b->devs and the container netns list from the binding as it is
 * now (after devices went or were renamed). */
int mace__ft_plan_devices(struct mace_backend *b, bool strict, char *err, size_t errlen);

/* ---- ftrace_read.c: per-CPU buffers to events ------------------------------- */

/* Feeds the events up to cutoff (CLOCK_MONOTONIC ns) from every CPU to
 * on_event, oldest first.  Returns events fed or -errno. */
int mace__ft_drain(struct mace_backend *b, __u64 cutoff);
/* Sets b->lost from the per-CPU stats of the instance. */
void mace__ft_read_stats(struct mace_backend *b);

/* ---- ftrace_clash.c ---------------------------------------------------------- */

/* -ENOTUNIQ, naming them in err, if a name of devs also exists in another
 * netns (another container's "eth0"), any netns mace__netns_enum finds:
 * ftrace would count its packets as ours. */
int mace__ft_check_name_clashes(const struct mace_bound_dev *const *devs, unsigned int ndev,
				char *err, size_t errlen);

/* Removes mace-<pid>[-<n>] instances whose pid is gone.  Returns how many. */
int mace__ft_remove_stale_instances(void);

#endif /* MACE_FTRACE_INT_H */
