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
#include <sys/mount.h>
#include <sys/vfs.h>
#include <time.h>
#include <tracefs.h>
#include <unistd.h>

#include "mace_int.h"
#include "ftrace_int.h"

#define TRACEFS_DIR "/sys/kernel/tracing"
#define TRACEFS_MAGIC_NR 0x74726163
#define FT_DEFAULT_KB 2048
#define FT_SCAN_NS 250000000ull		/* rescan container tasks */
#define FT_STATS_NS 1000000000ull	/* re-read lost-event stats */
#define FT_FILTER_MAX 4000		/* the kernel takes filters below a page */

struct ft_field {
	int off, size;
	bool dyn, rel;			/* __data_loc / __rel_loc string */
};

struct ft_tp {
	enum mace_tp tp;
	const struct mace_tp_info *info;
	int id;				/* ftrace event id (common_type) */
	struct ft_field skb, len, name;	/* len: len/count (enter) or ret (exit) */
	__u32 roles;			/* roles of the points that use it */
};

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
	const struct mace_bound_dev *devs[MACE_MAX_BOUND]; /* packet-point devices */
	unsigned int ndev;
	bool sys;			/* path has syscall points */
	__u32 cnetns[MACE_MAX_BOUND];
	struct ft_tasks tasks;
	struct ft_stream *st;
	int nst, epfd, subbuf;
	__u64 lost, user_drops, next_scan, next_stats;
	bool started, stopped, warned_tasks;
};

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- set-up ---------------------------------------------------------------- */

static int ensure_tracefs(char *err, size_t errlen)
{
	struct statfs sfs;

	if (!statfs(TRACEFS_DIR, &sfs) && sfs.f_type == TRACEFS_MAGIC_NR)
		return 0;
	if (mount("nodev", TRACEFS_DIR, "tracefs", 0, NULL)) {
		int e = errno;

		snprintf(err, errlen, "ftrace: tracefs is not mounted at %s and mounting it "
			 "failed: %s%s", TRACEFS_DIR, strerror(e),
			 e == EPERM ? " (needs root)" : "");
		return -e;
	}
	mace_info("ftrace: mounted tracefs at %s", TRACEFS_DIR);
	return 0;
}

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

/*
 * Which devices the packet points need, and which tracepoints with which
 * roles.  Names must be unique among those devices: ftrace knows no netns.
 */
static int plan(struct mace_backend *b, char *err, size_t errlen)
{
	const struct mace_path *p = b->cfg.path;
	const struct mace_binding *bd = b->cfg.binding;
	__u32 pkt_roles = 0, tpmask = mace_path_tp_mask(p), roles[MACE_TP_COUNT] = { 0 };

	if ((p->match & MACE_MATCH_KEY) && !(p->match & MACE_MATCH_SKB)) {
		snprintf(err, errlen, "ftrace: path %s matches packets only by content key, and "
			 "ftrace does not see packet contents; use the eBPF backend (-b bpf)",
			 p->name);
		return -EOPNOTSUPP;
	}
	if (p->match & MACE_MATCH_KEY)
		mace_info("ftrace: path %s: no content keys on ftrace, matching by skb "
			  "identity only", p->name);
	for (int d = 0; d < 2; d++) {
		for (unsigned int i = 0; i < p->dir[d].npoints; i++) {
			const struct mace_point *pt = &p->dir[d].pt[i];

			for (int tp = 1; tp < MACE_TP_COUNT; tp++) {
				if (!(pt->tp_mask & (1u << tp)))
					continue;
				roles[tp] |= 1u << pt->role;
				if (mace_tp_info(tp)->kind == MACE_TPK_PACKET)
					pkt_roles |= 1u << pt->role;
				else
					b->sys = true;
			}
		}
	}
	for (int tp = 1; tp < MACE_TP_COUNT; tp++) {
		if (!(tpmask & (1u << tp)))
			continue;
		b->tps[b->ntp].tp = tp;
		b->tps[b->ntp].info = mace_tp_info(tp);
		b->tps[b->ntp].roles = roles[tp];
		b->ntp++;
	}
	for (unsigned int i = 0; i < bd->ndev; i++) {
		const struct mace_bound_dev *dv = &bd->dev[i];

		if (dv->role == MACE_ROLE_CONTAINER && b->sys) {
			bool seen = false;

			for (unsigned int k = 0; k < b->tasks.nnetns; k++)
				seen |= b->cnetns[k] == dv->netns;
			if (!seen)
				b->cnetns[b->tasks.nnetns++] = dv->netns;
		}
		if (!(pkt_roles & (1u << dv->role)))
			continue;
		if (strpbrk(dv->name, "\"\\") || !dv->name[0]) {
			snprintf(err, errlen, "ftrace: device name '%s' (role %s) cannot be put in "
				 "an ftrace filter", dv->name, mace_role_name(dv->role));
			return -EINVAL;
		}
		for (unsigned int k = 0; k < b->ndev; k++) {
			const struct mace_bound_dev *o = b->devs[k];

			if (strcmp(o->name, dv->name))
				continue;
			snprintf(err, errlen, "ftrace: device name '%s' is bound twice: role %s in "
				 "netns %s (%u) and role %s in netns %s (%u); ftrace filters by "
				 "device name only and cannot tell them apart%s; use the eBPF "
				 "backend (-b bpf), which filters by netns and ifindex", dv->name,
				 mace_role_name(o->role), o->netns_name[0] ? o->netns_name : "?",
				 o->netns, mace_role_name(dv->role),
				 dv->netns_name[0] ? dv->netns_name : "?", dv->netns,
				 o->role == dv->role ? " (nor which container an event is from)" :
				 "");
			return -EOPNOTSUPP;
		}
		b->devs[b->ndev++] = dv;
	}
	for (int r = 1; r < MACE_ROLE_COUNT; r++) {
		bool bound = false;

		for (unsigned int k = 0; k < b->ndev; k++)
			bound |= b->devs[k]->role == r;
		if ((pkt_roles & (1u << r)) && !bound) {
			snprintf(err, errlen, "ftrace: no device is bound to role %s, which path %s "
				 "needs", mace_role_name(r), p->name);
			return -ENODEV;
		}
	}
	if (b->sys && !b->tasks.nnetns) {
		snprintf(err, errlen, "ftrace: path %s has syscall points but no container netns "
			 "is bound", p->name);
		return -ENODEV;
	}
	b->tasks.netns = b->cnetns;
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
	return write_filter(b, t, f, err, errlen);
}

static int syscall_filters(struct mace_backend *b, char *err, size_t errlen)
{
	char f[FT_FILTER_MAX];
	unsigned int n = ft_tasks_filter(&b->tasks, f, sizeof(f));
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
	int ret = ft_tasks_scan(&b->tasks);

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

	ft_remove_stale_instances();
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
	/* Drop new events when full (counted in "dropped events"), and wake
	 * pollers as soon as there is data. */
	if (!ret && tracefs_option_disable(b->inst, TRACEFS_OPTION_OVERWRITE))
		mace_warn("ftrace: cannot turn off 'overwrite' on %s", b->inst_name);
	if (!ret)
		ret = inst_write(b, "buffer_percent", "0", err, errlen);
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
	if (!b->st || b->epfd < 0) {
		snprintf(err, errlen, "ftrace: %s", strerror(errno));
		return -errno;
	}
	for (long cpu = 0; cpu < ncpu; cpu++) {
		struct ft_stream *s = &b->st[b->nst];
		struct epoll_event ev = { .events = EPOLLIN };
		char file[64];

		snprintf(file, sizeof(file), "per_cpu/cpu%ld/trace_pipe_raw", cpu);
		s->fd = tracefs_instance_file_open(b->inst, file, O_RDONLY | O_NONBLOCK);
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
	if (b->inst) {
		for (unsigned int i = 0; i < b->ntp; i++)
			tracefs_event_disable(b->inst, b->tps[i].info->system,
					      b->tps[i].info->name);
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
	ft_tasks_free(&b->tasks);
	tep_free(b->tep);
	free(b);
}

static int ft_open(struct mace_backend **out, const struct mace_backend_cfg *cfg, char *err,
		   size_t errlen)
{
	const char *systems[3] = { "net", NULL, NULL };
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
	ret = plan(b, err, errlen);
	if (!ret && geteuid() != 0) {
		snprintf(err, errlen, "ftrace: needs root to create a tracefs instance");
		ret = -EPERM;
	}
	if (!ret)
		ret = ensure_tracefs(err, errlen);
	if (ret)
		goto fail;
	if (b->sys)
		systems[1] = "syscalls";
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
		ret = create_instance(b, err, errlen);
	for (unsigned int i = 0; i < b->ntp && !ret; i++)
		if (b->tps[i].info->kind == MACE_TPK_PACKET)
			ret = packet_filter(b, &b->tps[i], err, errlen);
	if (!ret && b->sys) {
		ret = ft_tasks_scan(&b->tasks);
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
	if (tracefs_trace_on(b->inst)) {
		mace_err("ftrace: cannot turn tracing on in instance %s", b->inst_name);
		teardown(b);
		b->stopped = true;
		return -EIO;
	}
	b->started = true;
	b->next_scan = now_ns() + FT_SCAN_NS;
	b->next_stats = now_ns() + FT_STATS_NS;
	return 0;
}

static int ft_fd(struct mace_backend *b)
{
	return b->epfd;
}

/* ---- reading --------------------------------------------------------------- */

static __u64 rd(const void *data, const struct ft_field *f)
{
	const unsigned char *p = (const unsigned char *)data + f->off;

	switch (f->size) {
	case 1: return *p;
	case 2: { __u16 v; memcpy(&v, p, 2); return v; }
	case 4: { __u32 v; memcpy(&v, p, 4); return v; }
	case 8: { __u64 v; memcpy(&v, p, 8); return v; }
	}
	return 0;
}

static const struct mace_bound_dev *dev_of(struct mace_backend *b, const void *data, int size,
					   const struct ft_field *f)
{
	__u32 loc = rd(data, f);
	int off = (loc & 0xffff) + (f->rel ? f->off + f->size : 0), len = loc >> 16;
	const char *name = (const char *)data + off;

	if (off + len > size || len < 1)
		return NULL;
	len = strnlen(name, len);
	for (unsigned int k = 0; k < b->ndev; k++)
		if (!strncmp(b->devs[k]->name, name, len) && !b->devs[k]->name[len])
			return b->devs[k];
	return NULL;
}

static void deliver(struct mace_backend *b, struct ft_stream *s)
{
	int size = kbuffer_event_size(s->kbuf);
	__u32 type = rd(s->data, &b->common_type);
	struct mace_event ev = { 0 };
	const struct ft_tp *t = NULL;

	for (unsigned int i = 0; i < b->ntp; i++)
		if (b->tps[i].id == (int)type) {
			t = &b->tps[i];
			break;
		}
	if (!t) {
		b->user_drops++;	/* not an event we enabled: cannot happen */
		return;
	}
	ev.ts = s->ts;
	ev.cpu = s->cpu;
	ev.tid = rd(s->data, &b->common_pid);
	ev.tp = t->tp;
	if (t->info->kind == MACE_TPK_PACKET) {
		const struct mace_bound_dev *d = dev_of(b, s->data, size, &t->name);

		if (!d) {
			b->user_drops++;
			return;
		}
		ev.skb = rd(s->data, &t->skb);
		ev.len = rd(s->data, &t->len);
		ev.netns = d->netns;
		ev.ifindex = d->ifindex;
		ev.role = d->role;
	} else {
		__s64 n = t->len.size ? (__s64)rd(s->data, &t->len) : 0;

		ev.netns = ft_tasks_netns(&b->tasks, ev.tid);
		if (!ev.netns) {
			b->user_drops++;	/* task left before we learnt its netns */
			return;
		}
		if (t->len.size == 4)
			n = (__s32)n;
		ev.len = n > 0 ? (n > UINT32_MAX ? UINT32_MAX : n) : 0;
		ev.role = MACE_ROLE_CONTAINER;
	}
	b->cfg.on_event(&ev, b->cfg.ctx);
}

/* Loads the next event of s, reading a sub-buffer if needed.  0 or -errno. */
static int advance(struct mace_backend *b, struct ft_stream *s)
{
	if (s->data)
		s->data = kbuffer_next_event(s->kbuf, &s->ts);
	while (!s->data && !s->dry) {
		ssize_t n = read(s->fd, s->page, b->subbuf);

		if (n <= 0) {
			s->dry = true;
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return -errno;
			break;
		}
		if (kbuffer_load_subbuffer(s->kbuf, s->page) < 0)
			return -EIO;
		s->data = kbuffer_read_event(s->kbuf, &s->ts);
	}
	return 0;
}

/* Delivers events up to cutoff from every CPU, oldest first.  Events after
 * cutoff wait for the next round so a CPU read earlier cannot fall behind. */
static int drain(struct mace_backend *b, __u64 cutoff)
{
	int delivered = 0, ret;

	for (int i = 0; i < b->nst; i++) {
		b->st[i].dry = false;
		/* a stream may still hold an event kept back by the last cutoff */
		ret = b->st[i].data ? 0 : advance(b, &b->st[i]);
		if (ret)
			goto err;
	}
	for (;;) {
		struct ft_stream *min = NULL;

		for (int i = 0; i < b->nst; i++)
			if (b->st[i].data && (!min || b->st[i].ts < min->ts))
				min = &b->st[i];
		if (!min || min->ts > cutoff)
			break;
		deliver(b, min);
		delivered++;
		ret = advance(b, min);
		if (ret)
			goto err;
	}
	return delivered;
err:
	mace_err("ftrace: reading %s/instances/%s: %s", TRACEFS_DIR, b->inst_name,
		 strerror(-ret));
	return ret;
}

/* lost = overruns + dropped events summed over the CPUs of our instance. */
static void read_stats(struct mace_backend *b)
{
	static const char *const keys[] = { "overrun: ", "commit overrun: ", "dropped events: " };
	__u64 lost = 0;

	for (int i = 0; i < b->nst; i++) {
		char file[64], *txt;

		snprintf(file, sizeof(file), "per_cpu/cpu%d/stats", b->st[i].cpu);
		txt = tracefs_instance_file_read(b->inst, file, NULL);
		if (!txt) {
			mace_warn("ftrace: cannot read %s of %s", file, b->inst_name);
			return;
		}
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
			char *p = strstr(txt, keys[k]);

			/* "overrun: " also ends "commit overrun: ": want line starts */
			while (p && p != txt && p[-1] != '\n')
				p = strstr(p + 1, keys[k]);
			if (p)
				lost += strtoull(p + strlen(keys[k]), NULL, 10);
		}
		free(txt);
	}
	b->lost = lost;
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
	now = now_ns();
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
		read_stats(b);
	}
	return drain(b, now);
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
		ret = drain(b, UINT64_MAX);
		read_stats(b);
	}
	teardown(b);
	return ret < 0 ? ret : 0;
}

static void ft_counters(struct mace_backend *b, struct mace_counters *out)
{
	out->lost += b->lost;
	out->user_drops += b->user_drops;
}

const struct mace_backend_ops mace_ftrace_backend = {
	.name = "ftrace",
	.open = ft_open,
	.start = ft_start,
	.fd = ft_fd,
	.poll = ft_poll,
	.stop = ft_stop,
	.counters = ft_counters,
	.destroy = ft_destroy,
};
