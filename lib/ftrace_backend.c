/* SPDX-License-Identifier: MIT */
/*
 * The ftrace backend: for hosts where BPF is locked down.
 *
 * A private tracefs instance "mace-<pid>" (never the top-level buffer) with
 * trace_clock=mono, so timestamps are CLOCK_MONOTONIC like bpf_ktime_get_ns.
 * Each packet tracepoint gets a kernel filter on the device name; syscall
 * tracepoints get a filter on common_pid of the tasks in the container netns.
 * The per-CPU trace_pipe_raw buffers are read a sub-buffer at a time and
 * merged in timestamp order; fields are read at offsets found once per event
 * type.  ftrace sees no packet contents: events carry skb identity only.
 */
#include <errno.h>
#include <event-parse.h>
#include <fcntl.h>
#include <kbuffer.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <tracefs.h>
#include <unistd.h>

#include "mace_int.h"
#include "ftrace_int.h"

#define FT_DEFAULT_KB 2048
#define FT_SCAN_NS 250000000ull		/* rescan container tasks */
#define FT_STATS_NS 1000000000ull	/* re-read lost-event stats */
#define FT_CLASH_NS 1000000000ull	/* look for bound device names elsewhere */
#define FT_DRAIN_NS 100000000		/* read the buffers at least this often */
#define FT_FILTER_MAX 4000		/* the kernel takes filters below a page */

/* ---- set-up ---------------------------------------------------------------- */

static int find_field(struct tep_event *ev, const char *name, struct ft_field *f, bool common)
{
	struct tep_format_field *fld = common ? tep_find_common_field(ev, name) :
						tep_find_field(ev, name);

	if (!fld)
		return -ENOENT;
	f->off = fld->offset;
	f->size = fld->size;
	f->dyn = fld->flags & TEP_FIELD_IS_DYNAMIC;
	f->rel = fld->flags & TEP_FIELD_IS_RELATIVE;
	return 0;
}

/* Finds the event and the offsets of the fields we read, once. */
static int resolve_tp(struct mace_backend *b, struct ft_tp *t, char *err, size_t errlen)
{
	struct tep_event *ev = tep_find_event_by_name(b->tep, t->info->system, t->info->name);
	const char *missing = NULL;

	if (!ev) {
		snprintf(err, errlen, "ftrace: tracepoint %s:%s needed by path %s is missing "
			 "from %s/events%s", t->info->system, t->info->name,
			 b->cfg.path->name, TRACEFS_DIR,
			 t->info->kind != MACE_TPK_PACKET ?
			 " (kernel built without CONFIG_FTRACE_SYSCALLS?)" : "");
		return -ENOENT;
	}
	t->id = ev->id;
	if (!b->common_type.size && (find_field(ev, "common_type", &b->common_type, true) ||
				     find_field(ev, "common_pid", &b->common_pid, true)))
		missing = "common_type/common_pid";
	switch (t->info->kind) {
	case MACE_TPK_PACKET:
		if (find_field(ev, "skbaddr", &t->skb, false))
			missing = "skbaddr";
		else if (find_field(ev, "len", &t->len, false))
			missing = "len";
		else if (find_field(ev, "name", &t->name, false) || !t->name.dyn)
			missing = "name";
		t->has_proto = !find_field(ev, "protocol", &(struct ft_field){ 0 }, false);
		break;
	case MACE_TPK_SYS_ENTER:
		/* sendmsg/sendmmsg have no byte count: len stays 0 */
		if (find_field(ev, "len", &t->len, false))
			find_field(ev, "count", &t->len, false);
		break;
	case MACE_TPK_SYS_EXIT:
		if (find_field(ev, "ret", &t->len, false))
			missing = "ret";
		break;
	}
	if (missing) {
		snprintf(err, errlen, "ftrace: tracepoint %s:%s has no field '%s' on this kernel",
			 t->info->system, t->info->name, missing);
		return -ENOENT;
	}
	return 0;
}

/* The free events' skb field, once.  Without them a frame that ended at
 * the host (ARP, ND, a packet for the host itself) would leave a start that
 * a later packet reusing its address carries on: a false latency. */
static int resolve_frees(struct mace_backend *b, char *err, size_t errlen)
{
	static const char *const names[FT_NFREE] = { "consume_skb", "kfree_skb" };

	for (int i = 0; i < FT_NFREE; i++) {
		struct ft_free *f = &b->frees[i];
		struct tep_event *ev = tep_find_event_by_name(b->tep, "skb", names[i]);

		f->name = names[i];
		if (!ev || find_field(ev, "skbaddr", &f->skb, false)) {
			snprintf(err, errlen, "ftrace: tracepoint skb:%s (with field skbaddr) is "
				 "missing from %s/events; without it packets that end at the host "
				 "cannot be told from ours", names[i], TRACEFS_DIR);
			return -ENOENT;
		}
		f->id = ev->id;
	}
	return 0;
}

static int write_filter(struct mace_backend *b, const struct ft_tp *t, const char *filter,
			char *err, size_t errlen)
{
	if (tracefs_event_file_write(b->inst, t->info->system, t->info->name, "filter",
				     filter) < 0) {
		int e = errno ? errno : EINVAL;

		snprintf(err, errlen, "ftrace: cannot set filter '%.200s' on %s:%s: %s", filter,
			 t->info->system, t->info->name, strerror(e));
		return -e;
	}
	return 0;
}

/* name == "eth0" || name == "veth1a" for the devices of the roles using t. */
static int packet_filter(struct mace_backend *b, const struct ft_tp *t, char *err,
			 size_t errlen)
{
	char f[FT_FILTER_MAX];
	size_t off = 0;

	f[0] = '\0';
	for (unsigned int k = 0; k < b->ndev; k++) {
		int n;

		if (!(t->roles & (1u << b->devs[k]->role)))
			continue;
		n = snprintf(f + off, sizeof(f) - off, "%sname == \"%s\"", off ? " || " : "",
			     b->devs[k]->name);
		if (n < 0 || (size_t)n >= sizeof(f) - off) {
			snprintf(err, errlen, "ftrace: too many devices for one filter on %s:%s",
				 t->info->system, t->info->name);
			return -E2BIG;
		}
		off += n;
	}
	/* No device left (it went): an empty filter would pass everything. */
	if (!off) {
		snprintf(f, sizeof(f), "common_pid < 0");
	} else if (t->has_proto) {
		/* IPv4 and IPv6 only, as the eBPF backend: an ARP frame ends at
		 * the host and its address is soon another packet's. */
		int n = snprintf(f + off, sizeof(f) - off,
				 ") && (protocol == 2048 || protocol == 34525)");

		if (n < 0 || (size_t)n + 1 >= sizeof(f) - off) {
			snprintf(err, errlen, "ftrace: too many devices for one filter on %s:%s",
				 t->info->system, t->info->name);
			return -E2BIG;
		}
		memmove(f + 1, f, off + n + 1);
		f[0] = '(';
	}
	return write_filter(b, t, f, err, errlen);
}

static int syscall_filters(struct mace_backend *b, char *err, size_t errlen)
{
	char f[FT_FILTER_MAX];
	unsigned int n = mace__ft_tasks_filter(&b->tasks, f, sizeof(f));
	int ret;

	if (n < b->tasks.n[b->tasks.cur] && !b->warned_tasks) {
		mace_warn("ftrace: %u tasks in the container netns, only %u fit in the syscall "
			  "filter; the others are not traced", b->tasks.n[b->tasks.cur], n);
		b->warned_tasks = true;
	}
	for (unsigned int i = 0; i < b->ntp; i++) {
		if (b->tps[i].info->kind == MACE_TPK_PACKET)
			continue;
		ret = write_filter(b, &b->tps[i], f, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

static int rescan_tasks(struct mace_backend *b, char *err, size_t errlen)
{
	int ret = mace__ft_tasks_scan(&b->tasks);

	if (ret < 0) {
		snprintf(err, errlen, "ftrace: cannot scan /proc for container tasks: %s",
			 strerror(-ret));
		return ret;
	}
	return ret ? syscall_filters(b, err, errlen) : 0;
}

static int inst_write(struct mace_backend *b, const char *file, const char *val, char *err,
		      size_t errlen)
{
	if (tracefs_instance_file_write(b->inst, file, val) < 0) {
		int e = errno ? errno : EIO;

		snprintf(err, errlen, "ftrace: cannot write '%s' to %s/instances/%s/%s: %s", val,
			 TRACEFS_DIR, b->inst_name, file, strerror(e));
		return -e;
	}
	return 0;
}

static int create_instance(struct mace_backend *b, char *err, size_t errlen)
{
	static unsigned int seq;	/* several sessions in one process */
	char kb[32];
	int ret;

	mace__ft_remove_stale_instances();
	for (;;) {
		if (seq)
			snprintf(b->inst_name, sizeof(b->inst_name), "mace-%d-%u", getpid(), seq);
		else
			snprintf(b->inst_name, sizeof(b->inst_name), "mace-%d", getpid());
		seq++;
		if (!tracefs_instance_exists(b->inst_name))
			break;
	}
	b->inst = tracefs_instance_create(b->inst_name);
	if (!b->inst) {
		int e = errno ? errno : EIO;

		snprintf(err, errlen, "ftrace: cannot create tracefs instance %s: %s%s",
			 b->inst_name, strerror(e),
			 e == EACCES || e == EPERM ? " (needs root)" : "");
		return -e;
	}
	snprintf(kb, sizeof(kb), "%zu", b->cfg.buffer_kb ? b->cfg.buffer_kb : FT_DEFAULT_KB);
	ret = inst_write(b, "trace_clock", "mono", err, errlen);
	if (!ret)
		ret = inst_write(b, "buffer_size_kb", kb, err, errlen);
	/* Drop new events when full (counted in "dropped events").  Readers are
	 * woken only when a buffer is half full; a timer drains the rest.  A
	 * wakeup per event would put an IPI and a task wakeup into the path of
	 * every traced packet (measured: +15 us on the container's transmit). */
	if (!ret && tracefs_option_disable(b->inst, TRACEFS_OPTION_OVERWRITE))
		mace_warn("ftrace: cannot turn off 'overwrite' on %s", b->inst_name);
	if (!ret)
		ret = inst_write(b, "buffer_percent", "50", err, errlen);
	return ret;
}

static int open_streams(struct mace_backend *b, char *err, size_t errlen)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	char *kbs = tracefs_instance_file_read(b->inst, "buffer_subbuf_size_kb", NULL);
	enum kbuffer_long_size ls = tep_get_header_page_size(b->tep) == 8 ? KBUFFER_LSIZE_8 :
									    KBUFFER_LSIZE_4;
	enum kbuffer_endian en = tep_is_file_bigendian(b->tep) ? KBUFFER_ENDIAN_BIG :
								 KBUFFER_ENDIAN_LITTLE;

	b->subbuf = kbs ? atoi(kbs) * 1024 : getpagesize();
	free(kbs);
	if (b->subbuf <= 0)
		b->subbuf = getpagesize();
	b->st = calloc(ncpu, sizeof(*b->st));
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	b->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!b->st || b->epfd < 0 || b->timerfd < 0) {
		snprintf(err, errlen, "ftrace: %s", strerror(errno));
		return -errno;
	}
	struct itimerspec period = { .it_interval.tv_nsec = FT_DRAIN_NS,
				     .it_value.tv_nsec = FT_DRAIN_NS };
	struct epoll_event tev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };

	if (timerfd_settime(b->timerfd, 0, &period, NULL) ||
	    epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->timerfd, &tev)) {
		snprintf(err, errlen, "ftrace: drain timer: %s", strerror(errno));
		return -errno;
	}
	for (long cpu = 0; cpu < ncpu; cpu++) {
		struct ft_stream *s = &b->st[b->nst];
		struct epoll_event ev = { .events = EPOLLIN };
		char file[64];

		snprintf(file, sizeof(file), "per_cpu/cpu%ld/trace_pipe_raw", cpu);
		s->fd = tracefs_instance_file_open(b->inst, file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (s->fd < 0) {
			if (errno == ENOENT)
				continue;	/* CPU not possible */
			snprintf(err, errlen, "ftrace: cannot open %s/instances/%s/%s: %s",
				 TRACEFS_DIR, b->inst_name, file, strerror(errno));
			return -errno;
		}
		s->cpu = cpu;
		b->nst++;
		s->page = malloc(b->subbuf);
		s->kbuf = kbuffer_alloc(ls, en);
		ev.data.u32 = b->nst - 1;
		if (!s->page || !s->kbuf || epoll_ctl(b->epfd, EPOLL_CTL_ADD, s->fd, &ev)) {
			snprintf(err, errlen, "ftrace: per-CPU reader for cpu %ld: %s", cpu,
				 strerror(errno ? errno : ENOMEM));
			return -ENOMEM;
		}
		if (tep_is_old_format(b->tep))
			kbuffer_set_old_format(s->kbuf);
	}
	return 0;
}

/* Closes readers and removes the instance (rmdir disables its events). */
static void teardown(struct mace_backend *b)
{
	for (int i = 0; i < b->nst; i++) {
		if (b->st[i].fd >= 0)
			close(b->st[i].fd);
		b->st[i].fd = -1;
		b->st[i].data = NULL;
	}
	if (b->epfd >= 0)
		close(b->epfd);
	b->epfd = -1;
	if (b->timerfd >= 0)
		close(b->timerfd);
	b->timerfd = -1;
	if (b->inst) {
		for (unsigned int i = 0; i < b->ntp; i++)
			tracefs_event_disable(b->inst, b->tps[i].info->system,
					      b->tps[i].info->name);
		for (int i = 0; i < FT_NFREE; i++)
			if (b->frees[i].id)
				tracefs_event_disable(b->inst, "skb", b->frees[i].name);
		if (tracefs_instance_destroy(b->inst))
			mace_warn("ftrace: cannot remove instance %s: %s", b->inst_name,
				  strerror(errno));
		tracefs_instance_free(b->inst);
		b->inst = NULL;
	}
}

static void ft_destroy(struct mace_backend *b)
{
	if (!b)
		return;
	teardown(b);
	for (int i = 0; i < b->nst; i++) {
		free(b->st[i].page);
		kbuffer_free(b->st[i].kbuf);
	}
	free(b->st);
	mace__ft_tasks_free(&b->tasks);
	free(b->seen);
	tep_free(b->tep);
	free(b);
}

static int ft_open(struct mace_backend **out, const struct mace_backend_cfg *cfg, char *err,
		   size_t errlen)
{
	const char *systems[4] = { "net", "skb", NULL, NULL };
	struct mace_backend *b;
	int ret;

	*out = NULL;
	if (!cfg || !cfg->path || !cfg->binding || !cfg->on_event) {
		snprintf(err, errlen, "ftrace: needs a path, a binding and on_event");
		return -EINVAL;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "ftrace: out of memory");
		return -ENOMEM;
	}
	b->cfg = *cfg;
	b->epfd = -1;
	b->timerfd = -1;
	b->seen = calloc(FT_SEEN_SLOTS, sizeof(*b->seen));
	if (!b->seen) {
		snprintf(err, errlen, "ftrace: out of memory");
		free(b);
		return -ENOMEM;
	}
	ret = mace__ft_plan(b, err, errlen);
	if (!ret && geteuid() != 0) {
		snprintf(err, errlen, "ftrace: needs root to create a tracefs instance");
		ret = -EPERM;
	}
	if (!ret)
		ret = mace__tracefs_mount("ftrace", err, errlen);
	if (ret)
		goto fail;
	if (b->sys)
		systems[2] = "syscalls";
	b->tep = tracefs_local_events_system(TRACEFS_DIR, systems);
	if (!b->tep) {
		snprintf(err, errlen, "ftrace: cannot read event formats under %s/events: %s",
			 TRACEFS_DIR, strerror(errno));
		ret = errno ? -errno : -EIO;
		goto fail;
	}
	for (unsigned int i = 0; i < b->ntp && !ret; i++)
		ret = resolve_tp(b, &b->tps[i], err, errlen);
	if (!ret)
		ret = resolve_frees(b, err, errlen);
	if (!ret)
		ret = mace__ft_check_name_clashes(b->devs, b->ndev, err, errlen);
	if (!ret)
		ret = create_instance(b, err, errlen);
	for (unsigned int i = 0; i < b->ntp && !ret; i++)
		if (b->tps[i].info->kind == MACE_TPK_PACKET)
			ret = packet_filter(b, &b->tps[i], err, errlen);
	if (!ret && b->sys) {
		ret = mace__ft_tasks_scan(&b->tasks);
		if (ret < 0)
			snprintf(err, errlen, "ftrace: cannot scan /proc for container tasks: %s",
				 strerror(-ret));
		else
			ret = syscall_filters(b, err, errlen);
	}
	if (!ret)
		ret = open_streams(b, err, errlen);
	if (ret)
		goto fail;
	mace_info("ftrace: instance %s, %u tracepoints, %u devices, %d CPUs", b->inst_name,
		  b->ntp, b->ndev, b->nst);
	*out = b;
	return 0;
fail:
	ft_destroy(b);
	return ret;
}

static int ft_start(struct mace_backend *b)
{
	if (b->stopped)
		return -EINVAL;
	if (b->started)
		return 0;
	for (unsigned int i = 0; i < b->ntp; i++) {
		const struct mace_tp_info *t = b->tps[i].info;

		if (tracefs_event_enable(b->inst, t->system, t->name)) {
			int e = errno ? errno : EIO;

			mace_err("ftrace: cannot enable %s:%s in instance %s: %s", t->system,
				 t->name, b->inst_name, strerror(e));
			teardown(b);
			b->stopped = true;
			return -e;
		}
	}
	for (int i = 0; i < FT_NFREE; i++) {
		if (tracefs_event_enable(b->inst, "skb", b->frees[i].name)) {
			int e = errno ? errno : EIO;

			mace_err("ftrace: cannot enable skb:%s in instance %s: %s",
				 b->frees[i].name, b->inst_name, strerror(e));
			teardown(b);
			b->stopped = true;
			return -e;
		}
	}
	if (tracefs_trace_on(b->inst)) {
		mace_err("ftrace: cannot turn tracing on in instance %s", b->inst_name);
		teardown(b);
		b->stopped = true;
		return -EIO;
	}
	b->started = true;
	b->next_scan = mace_now_ns() + FT_SCAN_NS;
	b->next_stats = mace_now_ns() + FT_STATS_NS;
	b->next_clash = mace_now_ns() + FT_CLASH_NS;
	return 0;
}

static int ft_fd(struct mace_backend *b)
{
	return b->epfd;
}

static int ft_poll(struct mace_backend *b, int timeout_ms)
{
	struct epoll_event evs[8];
	bool ready = false;
	char err[512];
	__u64 now;
	int ret;

	if (b->stopped || !b->started)
		return 0;
	for (int i = 0; i < b->nst; i++)
		ready |= b->st[i].data != NULL;
	if (!ready && timeout_ms) {
		/* wake up for the task rescan even when idle */
		if (b->sys && (timeout_ms < 0 || timeout_ms > (int)(FT_SCAN_NS / 1000000)))
			timeout_ms = FT_SCAN_NS / 1000000;
		if (epoll_wait(b->epfd, evs, ARRAY_SIZE(evs), timeout_ms) < 0 && errno != EINTR)
			return -errno;
	}
	uint64_t ticks;

	/* Level-triggered: a tick not read keeps the fd readable, and a caller
	 * polling our fd with timeout 0 would spin. */
	if (read(b->timerfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return -errno;
	now = mace_now_ns();
	if (b->sys && now >= b->next_scan) {
		b->next_scan = now + FT_SCAN_NS;
		ret = rescan_tasks(b, err, sizeof(err));
		if (ret) {
			mace_err("%s", err);
			return ret;
		}
	}
	if (now >= b->next_stats) {
		b->next_stats = now + FT_STATS_NS;
		mace__ft_read_stats(b);
	}
	/* A namespace made after the start may bring a device of a bound name,
	 * whose packets the name filter would count as ours: the session ends
	 * with the error rather than record them. */
	if (now >= b->next_clash) {
		ret = mace__ft_check_name_clashes(b->devs, b->ndev, err, sizeof(err));
		if (ret) {
			mace_err("%s; records that started after ts_ns %llu, the last time "
				 "there was none, may hold its packets", err,
				 (unsigned long long)(b->next_clash - FT_CLASH_NS));
			return ret;
		}
		b->next_clash = now + FT_CLASH_NS;
	}
	return mace__ft_drain(b, now);
}

static int ft_stop(struct mace_backend *b)
{
	int ret = 0;

	if (b->stopped)
		return 0;
	b->stopped = true;
	if (b->started) {
		if (tracefs_trace_off(b->inst))
			mace_warn("ftrace: cannot turn tracing off in %s", b->inst_name);
		ret = mace__ft_drain(b, UINT64_MAX);
		mace__ft_read_stats(b);
	}
	teardown(b);
	return ret < 0 ? ret : 0;
}

/* Devices went or were renamed: filters on the names bound now. */
static int ft_update(struct mace_backend *b)
{
	char err[512];
	int ret;

	if (b->stopped)
		return 0;
	ret = mace__ft_plan_devices(b, false, err, sizeof(err));
	for (unsigned int i = 0; i < b->ntp && !ret; i++)
		if (b->tps[i].info->kind == MACE_TPK_PACKET)
			ret = packet_filter(b, &b->tps[i], err, sizeof(err));
	if (ret) {
		mace_err("ftrace lost track of the bound devices: %s; use the eBPF backend "
			 "(-b bpf), which follows devices by ifindex", err);
		return ret;
	}
	/* tasks of a container that went leave the syscall filter */
	b->next_scan = 0;
	return 0;
}

static void ft_counters(struct mace_backend *b, struct mace_counters *out)
{
	out->lost += b->lost;
	out->user_drops += b->user_drops;
}

const struct mace_backend_ops mace__ftrace_backend = {
	.name = "ftrace",
	.open = ft_open,
	.start = ft_start,
	.fd = ft_fd,
	.poll = ft_poll,
	.stop = ft_stop,
	.counters = ft_counters,
	.destroy = ft_destroy,
	.update = ft_update,
};
