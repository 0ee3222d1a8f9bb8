/* SPDX-License-Identifier: MIT */
/*
 * The eBPF backend: loads the programs of mace.bpf.c that the path needs,
 * fills the device filter from the binding, and drains the ring buffer into
 * events (user-space correlation) or records (kernel correlation).
 *
 * Lifetime (libbpf-bootstrap): open -> set .rodata -> load -> fill maps ->
 * attach (start) -> poll -> stop (detach, drain, expire, destroy) -> destroy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "mace_int.h"
#include "mace.skel.h"

_Static_assert(MACE_BPF_MAX_POINTS == MACE_MAX_POINTS, "point count differs from mace.h");
_Static_assert(sizeof(struct mace_bpf_record) == 104, "record has holes");

#define DEFAULT_RING_BYTES (4u << 20)
#define TICK_NS 100000000ull	/* drain and sweep period */

struct mace_backend {
	struct mace_bpf *skel;
	struct mace_backend_cfg cfg;
	struct bpf_link *links[MACE_TP_COUNT];
	struct bpf_link *free_links[2];	/* skb frees (kernel correlation) */
	struct ring_buffer *rb;
	int epfd, timerfd;
	int ncpu;
	bool started, stopped;
	__u64 last_sweep;
	int fed;			/* items fed to the session in the current poll */
	__u64 swept;			/* pending events expired by user space */
	__u64 bad_items;		/* ring items of an unexpected size */
	struct mace_bpf_pend_set *pend;	/* the pending table, mapped (kernel correlation) */
	size_t pend_bytes;
	__u32 nsets;
	struct mace_counters final;	/* kernel counters read before destroy */
	/* Aggregating: histogram slot i is container netns slot_netns[i]. */
	__u32 slot_netns[MACE_MAX_BOUND + 1];
	unsigned int nslots;
	struct mace_bpf_hists *hists;
	__u64 outside, outside_taken;	/* records the window left out: seen, handed out */
	__u64 fired[2][MACE_BPF_MAX_POINTS];	/* packets seen per point, last read */
};

/* ---- libbpf messages go to the log hook ---------------------------------- */
/*
 * libbpf's print hook is one per process and may be the caller's: ours is
 * set only while this file calls libbpf to load or attach (bpf_open, bpf_start),
 * then the previous one is back.
 */

/* The last warning libbpf gave, appended to load errors (the rest is debug). */
static __thread char libbpf_last[256];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *msg;
	size_t n;

	/* Whole, however long: a verifier log says why a load failed at its end. */
	if (vasprintf(&msg, fmt, ap) < 0)
		return 0;
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (level == LIBBPF_WARN) {
		size_t m = n < sizeof(libbpf_last) - 1 ? n : sizeof(libbpf_last) - 1;

		memcpy(libbpf_last, msg, m);
		libbpf_last[m] = '\0';
	}
	mace_dbg("libbpf: %s", msg);
	free(msg);
	return 0;
}

/* ---- checks before loading, so errors say what is missing ---------------- */

static int check_caps(char *err, size_t errlen)
{
	struct mace_privs p;
	char missing[64];
	int ret = mace__privs_read(&p);

	if (ret) {
		snprintf(err, errlen, "capget: %s", strerror(-ret));
		return ret;
	}
	if (mace__privs_bpf(&p, missing, sizeof(missing)))
		return 0;
	snprintf(err, errlen, "eBPF tracing needs CAP_BPF and CAP_PERFMON (or root); missing %s",
		 missing);
	return -EPERM;
}

static bool syscall_tp_exists(const char *name)
{
	static const char *const roots[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char p[256];

	for (unsigned int i = 0; i < ARRAY_SIZE(roots); i++) {
		snprintf(p, sizeof(p), "%s/events/syscalls/%s/id", roots[i], name);
		if (!access(p, R_OK))
			return true;
	}
	return false;
}

/* Every tracepoint of the path must exist here: name the first that does not. */
static int check_tracepoints(const struct mace_path *path, char *err, size_t errlen)
{
	__u32 mask = mace__path_tp_mask(path);
	struct btf *vmlinux;
	char name[96];
	int ret = 0;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(err, errlen, "no kernel BTF (/sys/kernel/btf/vmlinux: %s): the eBPF "
			 "backend needs CONFIG_DEBUG_INFO_BTF; use -b ftrace", strerror(errno));
		return -ENOTSUP;
	}
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		ret = -errno;
		snprintf(err, errlen, "cannot read kernel BTF: %s", strerror(errno));
		return ret;
	}
	for (int tp = 1; tp < MACE_TP_COUNT && !ret; tp++) {
		const struct mace_tp_info *ti = mace__tp_info(tp);
		bool ok;

		if (!(mask & (1u << tp)))
			continue;
		if (ti->kind == MACE_TPK_PACKET) {
			snprintf(name, sizeof(name), "btf_trace_%s", ti->name);
			ok = btf__find_by_name_kind(vmlinux, name, BTF_KIND_TYPEDEF) > 0;
		} else {
			/* libbpf finds syscall tracepoint ids in tracefs (ip netns exec hides it). */
			ret = mace__tracefs_mount("bpf", err, errlen);
			if (ret)
				break;
			ok = syscall_tp_exists(ti->name);
		}
		if (!ok) {
			snprintf(err, errlen, "tracepoint %s:%s, needed by path '%s' (%s), is not "
				 "available on this kernel", ti->system, ti->name, path->name,
				 path->file);
			ret = -ENOENT;
		}
	}
	btf__free(vmlinux);
	return ret;
}

/* ---- open ------------------------------------------------------------------ */

/* The program of each tracepoint, from the same list that made them. */
static struct bpf_program *prog_of(struct mace_bpf *skel, int tp)
{
	switch (tp) {
#define X(ID, name, system, kind, side, args) \
	case MACE_TP_##ID: return skel->progs.MACE_TP_PROG(name);
	MACE_TRACEPOINTS(X)
#undef X
	}
	return NULL;
}

/* The programs on skb frees: in kernel correlation, a packet pending with a
 * freed skb left the path, and its address must not carry its start on. */
static struct bpf_program *free_prog(struct mace_bpf *skel, size_t i)
{
	return i ? skel->progs.tp_consume_skb : skel->progs.tp_kfree_skb;
}

/* The ring size: a power of two of at least one page. */
static __u32 ring_bytes(size_t kb)
{
	__u64 want = kb ? (__u64)kb * 1024 : DEFAULT_RING_BYTES;
	__u64 sz = (__u64)sysconf(_SC_PAGESIZE);

	while (sz < want && sz < (1ull << 30))
		sz <<= 1;
	return (__u32)sz;
}

static void set_rodata(struct mace_bpf *skel, const struct mace_path *path, bool kernel_corr,
		       __u32 ring, int ncpu, const struct mace_backend_cfg *cfg)
{
	skel->rodata->expire_ns = cfg->expire_ns;
	for (int d = 0; d < 2; d++) {
		const struct mace_dirpath *dp = &path->dir[d];

		skel->rodata->npoints[d] = dp->npoints;
		for (unsigned int i = 0; i < dp->npoints; i++)
			for (int tp = 1; tp < MACE_TP_COUNT; tp++)
				if (dp->pt[i].tp_mask & (1u << tp) && dp->pt[i].role < MACE_ROLE_COUNT)
					skel->rodata->pt_idx[tp][dp->pt[i].role][d] = i + 1;
	}
	skel->rodata->kernel_corr = kernel_corr;
	skel->rodata->kernel_agg = kernel_corr && cfg->aggregate;
	skel->bss->win_hi = ~0ull;
	/* Early wakeup once a quarter of the ring may be waiting, over all CPUs. */
	skel->rodata->wake_items = ring / 4 / (sizeof(struct mace_bpf_record) + 8) / ncpu;
	if (!skel->rodata->wake_items)
		skel->rodata->wake_items = 1;
}

/* Puts a device in the first free way of its set in the programs' table; a
 * full set is flagged, and its further devices are found in the hash map. */
static void devtab_add(struct mace_bpf_devset *tab, __u32 ifindex, __u32 netns,
		       const struct mace_bpf_dev_val *v)
{
	struct mace_bpf_devset *set = &tab[ifindex & (MACE_BPF_DEVTAB_SETS - 1)];

	for (int w = 0; w < MACE_BPF_DEVTAB_WAYS; w++) {
		struct mace_bpf_devway *way = &set->way[w];

		if (way->ifindex == ifindex && way->netns == netns)
			return;		/* already there */
		if (!way->ifindex) {
			way->ifindex = ifindex;
			way->netns = netns;
			way->v = *v;
			return;
		}
	}
	set->way[0].v.flags |= MACE_BPF_DEV_OVERFLOW;
}

/* The container netns bound device d serves (its records' netns); 0 for a
 * shared one. */
static __u32 served_by(const struct mace_bound_dev *d)
{
	if (!d->container_netns && d->role == MACE_ROLE_CONTAINER)
		return d->netns;
	return d->container_netns;
}

/* The histogram slot of container netns ctr: 0 for none, then in binding order. */
static __u16 slot_of(struct mace_backend *b, __u32 ctr)
{
	unsigned int i;

	for (i = 0; i < b->nslots; i++)
		if (b->slot_netns[i] == ctr)
			return i;
	b->slot_netns[b->nslots] = ctr;
	return b->nslots++;
}

static void assign_slots(struct mace_backend *b)
{
	b->nslots = 1;		/* slot 0: packets never seen in a container */
	for (unsigned int i = 0; i < b->cfg.binding->ndev; i++)
		slot_of(b, served_by(&b->cfg.binding->dev[i]));
}

static int fill_maps(struct mace_backend *b, char *err, size_t errlen)
{
	const struct mace_binding *bind = b->cfg.binding;
	__u8 one = 1;

	for (unsigned int i = 0; i < bind->ndev; i++) {
		const struct mace_bound_dev *d = &bind->dev[i];
		struct mace_bpf_dev_key k = { .netns = d->netns, .ifindex = d->ifindex };
		struct mace_bpf_dev_val v = {
			.container_netns = served_by(d), .role = d->role,
			.slot = slot_of(b, served_by(d)),
		};
		__u32 ctr = d->role == MACE_ROLE_CONTAINER ? d->netns : d->container_netns;

		devtab_add(b->skel->bss->devtab, d->ifindex, d->netns, &v);
		if (bpf_map__update_elem(b->skel->maps.devs, &k, sizeof(k), &v, sizeof(v), BPF_ANY)) {
			snprintf(err, errlen, "device %s (netns %u, ifindex %u) into the filter: %s",
				 d->name, d->netns, d->ifindex, strerror(errno));
			return -errno;
		}
		if (ctr && bpf_map__update_elem(b->skel->maps.ctr_netns, &ctr, sizeof(ctr), &one,
						sizeof(one), BPF_ANY)) {
			snprintf(err, errlen, "netns %u into the filter: %s", ctr, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* Time of point i of k; 0 if it was not seen. */
static __u64 point_ts(const struct mace_bpf_record *k, unsigned int i)
{
	if (!i)
		return k->ts0;
	return k->dt[i] ? k->ts0 + k->dt[i] : 0;
}

static void to_record(const struct mace_bpf_record *k, __u16 path_id, struct mace_record *r)
{
	unsigned int n = k->npoints;

	memset(r, 0, sizeof(*r));
	r->sz = sizeof(*r);
	if (n < 2 || n > MACE_MAX_POINTS)
		n = 2;
	r->ts_ns = k->ts0;
	r->latency_ns = k->dt[n - 1];
	r->nseg = n - 1;
	for (unsigned int i = 0; i + 1 < n; i++) {
		__u64 a = point_ts(k, i), z = point_ts(k, i + 1);

		r->seg_ns[i] = a && z ? z - a : MACE_SEG_UNKNOWN;
	}
	r->netns = k->netns;
	r->len = k->len;
	r->seq = k->seq;
	r->id = k->id;
	r->sport = k->sport;
	r->dport = k->dport;
	r->cpu_start = k->cpu_start;
	r->cpu_end = k->cpu_end;
	r->dir = k->dir;
	r->proto = k->proto;
	r->family = k->family;
	memcpy(r->src, k->src, sizeof(r->src));
	memcpy(r->dst, k->dst, sizeof(r->dst));
	r->path_id = path_id;
}

static int on_item(void *ctx, void *data, size_t size)
{
	struct mace_backend *b = ctx;

	if (b->cfg.kernel_corr) {
		struct mace_record rec;

		if (size < sizeof(struct mace_bpf_record)) {
			b->bad_items++;
			return 0;
		}
		to_record(data, b->cfg.path_id, &rec);
		b->cfg.on_record(&rec, b->cfg.ctx);
	} else {
		if (size < sizeof(struct mace_event)) {
			b->bad_items++;
			return 0;
		}
		b->cfg.on_event(data, b->cfg.ctx);
	}
	b->fed++;
	return 0;
}

static void detach_all(struct mace_backend *b)
{
	for (int tp = 0; tp < MACE_TP_COUNT; tp++) {
		bpf_link__destroy(b->links[tp]);
		b->links[tp] = NULL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(b->free_links); i++) {
		bpf_link__destroy(b->free_links[i]);
		b->free_links[i] = NULL;
	}
}

static void teardown(struct mace_backend *b)
{
	detach_all(b);
	ring_buffer__free(b->rb);
	b->rb = NULL;
	if (b->pend)
		munmap(b->pend, b->pend_bytes);
	b->pend = NULL;
	mace_bpf__destroy(b->skel);
	b->skel = NULL;
}

static void bpf_destroy(struct mace_backend *b)
{
	if (!b)
		return;
	teardown(b);
	if (b->epfd >= 0)
		close(b->epfd);
	if (b->timerfd >= 0)
		close(b->timerfd);
	mace__bpf_hists_free(b->hists);
	free(b);
}

static int open_backend(struct mace_backend **out, const struct mace_backend_cfg *cfg, char *err,
			size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN };
	const struct mace_path *path = cfg->path;
	struct mace_backend *b = NULL;
	bool aggregating;
	__u32 ring, mask;
	int ret;

	*out = NULL;
	err[0] = '\0';
	if (!path || !cfg->binding) {
		snprintf(err, errlen, "no path or binding given");
		return -EINVAL;
	}
	if (!cfg->binding->ndev) {
		snprintf(err, errlen, "no device bound: nothing to trace for path '%s'", path->name);
		return -ENODEV;
	}
	if (cfg->kernel_corr ? !cfg->on_record : !cfg->on_event) {
		snprintf(err, errlen, "no %s callback", cfg->kernel_corr ? "record" : "event");
		return -EINVAL;
	}
	if (cfg->kernel_corr && !mace__path_allows_kernel_corr(path)) {
		snprintf(err, errlen, "path '%s' cannot be correlated in the kernel (it needs "
			 "content keys or syscall points)", path->name);
		return -EINVAL;
	}
	ret = check_caps(err, errlen);
	if (ret)
		return ret;
	ret = check_tracepoints(path, err, errlen);
	if (ret)
		return ret;

	b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	b->cfg = *cfg;
	if (!b->cfg.max_pending)
		b->cfg.max_pending = MACE_DEFAULT_MAX_PENDING;
	if (!b->cfg.expire_ns)
		b->cfg.expire_ns = MACE_DEFAULT_EXPIRE_NS;
	b->epfd = b->timerfd = -1;
	b->ncpu = libbpf_num_possible_cpus();
	if (b->ncpu <= 0) {
		ret = b->ncpu ? b->ncpu : -EINVAL;
		snprintf(err, errlen, "cannot count CPUs: %s", strerror(-ret));
		goto fail;
	}

	libbpf_last[0] = '\0';
	b->skel = mace_bpf__open();
	if (!b->skel) {
		ret = -errno;
		snprintf(err, errlen, "opening the BPF object: %s", strerror(errno));
		goto fail;
	}
	aggregating = cfg->kernel_corr && cfg->aggregate;
	/* Aggregating, the ring carries nothing: one page unless asked. */
	ring = ring_bytes(cfg->buffer_kb || !aggregating ? cfg->buffer_kb : 1);
	set_rodata(b->skel, path, cfg->kernel_corr, ring, b->ncpu, &b->cfg);
	/* max_pending slots, in sets of MACE_BPF_PEND_WAYS, a power of two of them. */
	b->nsets = 1;
	while (cfg->kernel_corr && b->nsets * MACE_BPF_PEND_WAYS < b->cfg.max_pending &&
	       b->nsets < (1u << 24))
		b->nsets <<= 1;
	b->skel->rodata->pend_mask = b->nsets - 1;
	assign_slots(b);
	ret = bpf_map__set_max_entries(b->skel->maps.ring, ring);
	if (!ret)
		ret = bpf_map__set_max_entries(b->skel->maps.pending, b->nsets);
	if (!ret)
		ret = bpf_map__set_max_entries(b->skel->maps.hists,
					       aggregating ? b->nslots * 2 : 1);
	if (ret) {
		snprintf(err, errlen, "sizing maps: %s", strerror(-ret));
		goto fail;
	}
	/* Only the path's programs are loaded: other tracepoints cost nothing. */
	mask = mace__path_tp_mask(path);
	for (int tp = 1; tp < MACE_TP_COUNT; tp++)
		bpf_program__set_autoload(prog_of(b->skel, tp), !!(mask & (1u << tp)));
	for (size_t i = 0; i < ARRAY_SIZE(b->free_links); i++)
		bpf_program__set_autoload(free_prog(b->skel, i), cfg->kernel_corr);
	ret = mace_bpf__load(b->skel);
	if (ret) {
		snprintf(err, errlen, "loading the BPF programs: %s%s%s", strerror(-ret),
			 libbpf_last[0] ? ": " : "", libbpf_last);
		goto fail;
	}
	ret = fill_maps(b, err, errlen);
	if (ret)
		goto fail;

	b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.ring), on_item, b, NULL);
	if (!b->rb) {
		ret = -errno;
		snprintf(err, errlen, "ring buffer: %s", strerror(errno));
		goto fail;
	}
	/* One fd for callers: the ring (early wakeups) plus a 100 ms timer,
	 * because items are submitted without wakeups. */
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	b->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (b->epfd < 0 || b->timerfd < 0 ||
	    epoll_ctl(b->epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(b->rb), &ev) ||
	    epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->timerfd, &ev)) {
		ret = -errno;
		snprintf(err, errlen, "epoll/timerfd: %s", strerror(errno));
		goto fail;
	}
	if (aggregating) {
		b->hists = mace__bpf_hists_new(b->slot_netns, b->nslots, b->ncpu);
		if (!b->hists) {
			ret = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (cfg->kernel_corr) {
		/* The sweep reads and claims slots in place, as the programs do. */
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		void *m;

		b->pend_bytes = ((size_t)b->nsets * sizeof(*b->pend) + page - 1) / page * page;
		m = mmap(NULL, b->pend_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
			 bpf_map__fd(b->skel->maps.pending), 0);
		if (m == MAP_FAILED) {
			ret = -errno;
			snprintf(err, errlen, "mapping the pending table: %s", strerror(errno));
			goto fail;
		}
		b->pend = m;
	}
	mace_dbg("bpf: loaded for path '%s' (%s), %u-byte ring, %u devices", path->name,
		 aggregating ? "kernel correlation into histograms" :
		 cfg->kernel_corr ? "kernel correlation" : "events for user-space correlation", ring,
		 cfg->binding->ndev);
	*out = b;
	return 0;
fail:
	bpf_destroy(b);
	return ret < 0 ? ret : -EINVAL;
}

static int bpf_open(struct mace_backend **out, const struct mace_backend_cfg *cfg, char *err,
		    size_t errlen)
{
	libbpf_print_fn_t prev = libbpf_set_print(libbpf_print);
	int ret = open_backend(out, cfg, err, errlen);

	libbpf_set_print(prev);
	return ret;
}

/* ---- start / poll ------------------------------------------------------- */

static int attach_all(struct mace_backend *b)
{
	__u32 mask = mace__path_tp_mask(b->cfg.path);

	for (int tp = 1; tp < MACE_TP_COUNT; tp++) {
		if (!(mask & (1u << tp)))
			continue;
		b->links[tp] = bpf_program__attach(prog_of(b->skel, tp));
		if (!b->links[tp]) {
			int e = errno;

			mace_err("bpf: attaching to %s:%s: %s", mace__tp_info(tp)->system,
				 mace__tp_info(tp)->name, strerror(e));
			return -e;
		}
	}
	for (size_t i = 0; b->cfg.kernel_corr && i < ARRAY_SIZE(b->free_links); i++) {
		b->free_links[i] = bpf_program__attach(free_prog(b->skel, i));
		if (!b->free_links[i]) {
			int e = errno;

			mace_err("bpf: attaching to skb:%s: %s", i ? "consume_skb" : "kfree_skb",
				 strerror(e));
			return -e;
		}
	}
	return 0;
}

static int bpf_start(struct mace_backend *b)
{
	struct itimerspec its = {
		.it_interval = { 0, TICK_NS },
		.it_value = { 0, TICK_NS },
	};
	libbpf_print_fn_t prev;
	int ret;

	if (b->started || !b->skel)
		return b->started ? 0 : -EINVAL;
	prev = libbpf_set_print(libbpf_print);
	ret = attach_all(b);
	libbpf_set_print(prev);
	if (ret)
		goto fail;
	if (timerfd_settime(b->timerfd, 0, &its, NULL)) {
		ret = -errno;
		mace_err("bpf: timerfd: %s", strerror(errno));
		goto fail;
	}
	b->started = true;
	b->last_sweep = mace_now_ns();
	return 0;
fail:
	/* Nothing stays attached after a failed start. */
	detach_all(b);
	return ret;
}

static int bpf_fd(struct mace_backend *b)
{
	return b->epfd;
}

/*
 * Expires the entries of the pending table whose start is older than before,
 * counting their events as expired; at stop (before == ~0, programs
 * detached) every entry.  A slot is claimed by compare-and-swap as the
 * programs do (they take over old entries too), and its start is checked
 * again once claimed: the slot may have been freed and taken by a new packet
 * between the two reads.
 */
static void sweep(struct mace_backend *b, __u64 before)
{
	for (__u32 i = 0; i < b->nsets; i++) {
		struct mace_bpf_pend_set *s = &b->pend[i];

		for (int w = 0; w < MACE_BPF_PEND_WAYS; w++) {
			__u64 o = __atomic_load_n(&s->owner[w], __ATOMIC_RELAXED);
			__u64 busy;

			if (!o || o & MACE_BPF_PEND_BUSY ||
			    __atomic_load_n(&s->r[w].ts0, __ATOMIC_RELAXED) >= before)
				continue;
			busy = o | MACE_BPF_PEND_BUSY;
			if (!__atomic_compare_exchange_n(&s->owner[w], &o, busy, false,
							 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				continue;
			if (s->r[w].ts0 < before) {
				b->swept += s->r[w].nev;
				o = 0;
			}
			__atomic_store_n(&s->owner[w], o, __ATOMIC_RELEASE);
		}
	}
}

static int drain(struct mace_backend *b)
{
	int ret = ring_buffer__consume(b->rb);

	if (ret < 0) {
		mace_err("bpf: reading the ring buffer: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

static int bpf_poll(struct mace_backend *b, int timeout_ms)
{
	__u64 start = mace_now_ns(), now, tick;
	struct epoll_event evs[2];
	int ret;

	if (!b->started || b->stopped)
		return -EINVAL;
	b->fed = 0;
	for (;;) {
		int wait = 100;

		if (timeout_ms >= 0) {
			__s64 left = (__s64)timeout_ms - (__s64)((mace_now_ns() - start) / 1000000);

			wait = left < 0 ? 0 : left < 100 ? (int)left : 100;
		}
		ret = epoll_wait(b->epfd, evs, ARRAY_SIZE(evs), wait);
		if (ret < 0 && errno != EINTR)
			return -errno;
		if (ret < 0)
			return b->fed ? b->fed : -EINTR;
		/* Clear the timer; EAGAIN just means it has not fired. */
		if (read(b->timerfd, &tick, sizeof(tick)) < 0 && errno != EAGAIN)
			return -errno;
		/* Always consume: rings never woken are not drained by a poll. */
		ret = drain(b);
		if (ret)
			return ret;
		now = mace_now_ns();
		/* The sweep reads the whole table: a quarter of the expiry apart
		 * (the programs themselves claim entries past it). */
		if (b->cfg.kernel_corr &&
		    now - b->last_sweep >= (b->cfg.expire_ns / 4 > TICK_NS ? b->cfg.expire_ns / 4 :
									  TICK_NS)) {
			sweep(b, now > b->cfg.expire_ns ? now - b->cfg.expire_ns : 0);
			b->last_sweep = now;
		}
		if (b->fed || (timeout_ms >= 0 &&
				     now - start >= (__u64)timeout_ms * 1000000))
			return b->fed;
	}
}

/* ---- counters / stop ---------------------------------------------------- */

static int read_kernel(struct mace_backend *b, struct mace_counters *out)
{
	struct mace_bpf_counters *pc, sum = {};
	__u32 zero = 0;
	int ret;

	pc = calloc(b->ncpu, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	ret = bpf_map__lookup_elem(b->skel->maps.counters, &zero, sizeof(zero), pc,
				   sizeof(*pc) * b->ncpu, 0);
	if (ret) {
		free(pc);
		return ret;
	}
	for (int i = 0; i < b->ncpu; i++) {
		sum.events += pc[i].events;
		sum.records += pc[i].records;
		sum.matched += pc[i].matched;
		sum.unmatched += pc[i].unmatched;
		sum.replaced += pc[i].replaced;
		sum.duplicates += pc[i].duplicates;
		sum.pending += pc[i].pending;	/* per-CPU deltas: only the sum is exact */
		sum.expired += pc[i].expired;
		sum.collisions += pc[i].collisions;
		sum.lost += pc[i].lost;
		sum.outside += pc[i].outside;
		for (int d = 0; d < 2; d++)
			for (int k = 0; k < MACE_BPF_MAX_POINTS; k++)
				sum.fired[d][k] += pc[i].fired[d][k];
	}
	memcpy(b->fired, sum.fired, sizeof(b->fired));
	free(pc);
	b->outside = sum.outside;
	memset(out, 0, sizeof(*out));
	out->lost = sum.lost;
	out->user_drops = b->bad_items;
	if (b->cfg.kernel_corr) {
		out->events = sum.events;
		out->records = sum.records;
		out->matched = sum.matched;
		out->unmatched = sum.unmatched;
		out->replaced = sum.replaced;
		out->duplicates = sum.duplicates;
		out->expired = sum.expired + b->swept;
		out->pending = sum.pending - b->swept;
		out->slot_collisions = sum.collisions;
	}
	return 0;
}

static void bpf_counters(struct mace_backend *b, struct mace_counters *out)
{
	struct mace_counters c;
	int ret;

	if (b->stopped || !b->skel) {
		mace__counters_add(out, &b->final);
		return;
	}
	ret = read_kernel(b, &c);
	if (ret) {
		mace_err("bpf: reading counters: %s", strerror(-ret));
		return;
	}
	mace__counters_add(out, &c);
}

static void bpf_points(struct mace_backend *b, __u64 fired[2][MACE_MAX_POINTS])
{
	struct mace_counters c;

	if (!b->cfg.kernel_corr)
		return;		/* events went to the correlator, which counted them */
	if (!b->stopped && b->skel && read_kernel(b, &c))
		return;
	for (int d = 0; d < 2; d++)
		for (int k = 0; k < MACE_BPF_MAX_POINTS && k < MACE_MAX_POINTS; k++)
			fired[d][k] += b->fired[d][k];
}

static int bpf_stop(struct mace_backend *b)
{
	int ret = 0;

	if (b->stopped)
		return 0;
	b->stopped = true;
	detach_all(b);
	if (b->skel && b->rb) {
		ret = drain(b);
		if (b->cfg.kernel_corr) {
			/* Whatever is still in flight expires. */
			sweep(b, ~0ull);
		}
		int r = b->hists ? mace__bpf_hists_read(b->hists, bpf_map__fd(b->skel->maps.hists)) : 0;

		if (r) {
			mace_err("bpf: reading the histograms: %s", strerror(-r));
			if (!ret)
				ret = r;
		}
		r = read_kernel(b, &b->final);

		if (r) {
			mace_err("bpf: reading counters: %s", strerror(-r));
			if (!ret)
				ret = r;
		}
		if (b->final.lost)
			mace_warn("bpf: %llu items lost: the ring buffer was full (raise buffer_kb)",
				  (unsigned long long)b->final.lost);
	}
	/* No program or map outlives stop(). */
	teardown(b);
	return ret;
}

/*
 * Devices went (their container's netns deleted): out of the filter, so a
 * new device that reuses a (netns, ifindex) is not taken for them.  Renames
 * need nothing: the filter is by ifindex.  Keys gathered first: deleting
 * while walking a hash map restarts the walk.
 */
static int bpf_update(struct mace_backend *b)
{
	const struct mace_binding *bind = b->cfg.binding;
	int dfd, cfd, ret = 0;
	struct mace_bpf_dev_key keys[MACE_MAX_BOUND], k, *pk = NULL;
	__u32 ctrs[MACE_MAX_BOUND], c, *pc = NULL;
	unsigned int nk = 0, nc = 0;

	if (b->stopped || !b->skel)
		return 0;
	dfd = bpf_map__fd(b->skel->maps.devs);
	cfd = bpf_map__fd(b->skel->maps.ctr_netns);
	while (nk < MACE_MAX_BOUND && !bpf_map_get_next_key(dfd, pk, &k)) {
		keys[nk] = k;
		pk = &keys[nk];
		if (!mace__binding_find(bind, k.netns, k.ifindex))
			nk++;
	}
	while (nc < MACE_MAX_BOUND && !bpf_map_get_next_key(cfd, pc, &c)) {
		ctrs[nc] = c;
		pc = &ctrs[nc];
		if (!mace__binding_is_container(bind, c))
			nc++;
	}
	for (unsigned int i = 0; i < nk; i++)
		if (bpf_map_delete_elem(dfd, &keys[i]) && errno != ENOENT && !ret)
			ret = -errno;
	for (unsigned int i = 0; i < nc; i++)
		if (bpf_map_delete_elem(cfd, &ctrs[i]) && errno != ENOENT && !ret)
			ret = -errno;
	return ret;
}

/* ---- aggregating ------------------------------------------------------- */

/* Kernel memory the histograms may take, and as much again in user space. */
#define AGG_BUDGET_BYTES (64u << 20)

bool mace__bpf_agg_fits(const struct mace_binding *bind)
{
	struct mace_backend b = { .cfg.binding = bind };
	int ncpu = libbpf_num_possible_cpus();

	assign_slots(&b);
	return ncpu > 0 &&
	       (uint64_t)b.nslots * 2 * ncpu * sizeof(struct mace_bpf_hist) <= AGG_BUDGET_BYTES;
}

static int64_t bpf_hists(struct mace_backend *b, mace_hist_fn fn, void *ctx)
{
	struct mace_counters c;
	int64_t outside;
	int ret;

	if (!b->hists)
		return -EINVAL;
	if (!b->stopped && b->skel) {
		/* The window's count as of now; later ones go to the next call. */
		ret = read_kernel(b, &c);
		if (!ret)
			ret = mace__bpf_hists_read(b->hists, bpf_map__fd(b->skel->maps.hists));
		if (ret) {
			mace_err("bpf: reading the histograms: %s", strerror(-ret));
			return ret;
		}
	}
	mace__bpf_hists_take(b->hists, fn, ctx);
	outside = (int64_t)(b->outside - b->outside_taken);
	b->outside_taken = b->outside;
	return outside;
}

static int bpf_set_window(struct mace_backend *b, uint64_t lo, uint64_t hi)
{
	if (!b->hists)
		return -EINVAL;
	if (b->stopped || !b->skel)
		return 0;	/* nothing more comes in */
	/* The programs read these as they go: each bound changes on its own. */
	__atomic_store_n(&b->skel->bss->win_lo, lo, __ATOMIC_RELAXED);
	__atomic_store_n(&b->skel->bss->win_hi, hi, __ATOMIC_RELAXED);
	return 0;
}

const struct mace_backend_ops mace__bpf_backend = {
	.name = "bpf",
	.open = bpf_open,
	.start = bpf_start,
	.fd = bpf_fd,
	.poll = bpf_poll,
	.stop = bpf_stop,
	.counters = bpf_counters,
	.points = bpf_points,
	.destroy = bpf_destroy,
	.update = bpf_update,
	.hists = bpf_hists,
	.set_window = bpf_set_window,
};
