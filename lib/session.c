/* SPDX-License-Identifier: MIT */
/*
 * Sessions: the glue between a path, a binding, a backend (or a raw-event
 * file for replay), the correlator and the caller's record callback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "mace_int.h"

#define REPLAY_BATCH 65536
/* A point is silent when its direction's start saw this many packets and
 * it none, or SILENT_LATE_STARTS once SILENT_LATE_NS have passed. */
#define SILENT_STARTS 100
#define SILENT_LATE_STARTS 10
#define SILENT_LATE_NS 10000000000ull

struct mace_session {
	struct mace_opts opts;
	struct mace_path *path;
	struct mace_binding binding;
	const struct mace_backend_ops *ops;
	struct mace_backend *backend;
	struct mace_watch *watch;	/* bound devices going or renamed */
	int epfd;			/* backend fd + watch fd: mace_session_fd */
	char ctr_label[256];		/* the bound containers, for the last words */
	bool kernel_corr;
	bool kernel_agg;		/* the kernel aggregates: the backend has the hists */
	struct mace_agg *agg;		/* else, aggregating: records into these */
	struct mace_correlator *corr;
	struct mace_raw_writer *save;
	int save_err;
	struct mace_raw_reader *replay;
	char replay_file[256];
	struct mace_keep *keep;
	struct mace_counters extra;	/* user-side drops, added to the others */
	int64_t realtime_offset;
	uint64_t last_offset_refresh;
	unsigned int delivered;		/* records delivered in the current poll */
	uint64_t started_ns, next_silent_check;
	__u32 silent_said[2];		/* points already said silent, per direction */
	bool started, stopped;
};

/* Realtime minus monotonic, read as a bracketed pair so the error is small. */
static void refresh_realtime_offset(struct mace_session *s)
{
	uint64_t m1 = mace_now_ns();
	uint64_t r = mace__clock_ns(CLOCK_REALTIME);
	uint64_t m2 = mace_now_ns();

	s->realtime_offset = (int64_t)(r - (m1 + (m2 - m1) / 2));
	s->last_offset_refresh = m2;
}

static void deliver(const struct mace_record *rec, void *ctx)
{
	struct mace_session *s = ctx;

	s->delivered++;
	if (s->keep)
		mace__keep_add(s->keep, rec);
	if (s->agg) {
		if (mace__agg_add(s->agg, rec))
			s->extra.user_drops++;
		return;
	}
	if (s->opts.on_record)
		s->opts.on_record(rec, s->opts.ctx);
}

static void consume_event(const struct mace_event *ev, void *ctx)
{
	struct mace_session *s = ctx;

	if (s->save && !s->save_err) {
		s->save_err = mace__raw_write(s->save, ev);
		if (s->save_err)
			mace_err("writing %s: %s", s->opts.save_file, strerror(-s->save_err));
	}
	mace__corr_push(s->corr, ev);
}

/* Copies the caller's options (older or newer mace.h: see mace__abi_in). */
static int copy_opts(struct mace_opts *dst, const struct mace_opts *src)
{
	int ret = MACE_ABI_IN(mace_opts, dst, src);

	if (ret)
		return ret;
	if (!dst->max_pending)
		dst->max_pending = MACE_DEFAULT_MAX_PENDING;
	if (!dst->expire_ns)
		dst->expire_ns = MACE_DEFAULT_EXPIRE_NS;
	return 0;
}

static int load_path(struct mace_session *s, const char *name)
{
	char err[512];

	s->path = mace_path_load(name, err, sizeof(err));
	if (!s->path) {
		int e = errno ? errno : EINVAL;

		mace_err("%s", err);
		return -e;
	}
	return 0;
}

/* ftrace can miss a new task's receives (see recv_window_ns). */
#define FTRACE_RECV_WINDOW_NS 10000000ull

static int new_correlator(struct mace_session *s, bool from_ftrace)
{
	struct mace_corr_opts co = {
		.path = s->path,
		.max_pending = s->opts.max_pending,
		.expire_ns = s->opts.expire_ns,
		.recv_window_ns = from_ftrace ? FTRACE_RECV_WINDOW_NS : 0,
		.emit = deliver,
		.ctx = s,
	};

	s->corr = mace__corr_new(&co);
	return s->corr ? 0 : -errno;
}

static int open_backend(struct mace_session *s, const struct mace_backend_ops *ops)
{
	struct mace_backend_cfg cfg = {
		.path = s->path,
		.binding = &s->binding,
		.kernel_corr = s->kernel_corr,
		.aggregate = s->kernel_corr && s->opts.aggregate &&
			     mace__bpf_agg_fits(&s->binding),
		.max_pending = s->opts.max_pending,
		.expire_ns = s->opts.expire_ns,
		.buffer_kb = s->opts.buffer_kb,
		.on_event = consume_event,
		.on_record = deliver,
		.ctx = s,
	};
	char err[512] = "";
	int ret;

	ret = ops->open(&s->backend, &cfg, err, sizeof(err));
	if (ret < 0) {
		s->backend = NULL;
		mace_err("%s backend: %s", ops->name, err[0] ? err : strerror(-ret));
		return ret;
	}
	s->ops = ops;
	s->kernel_agg = cfg.aggregate;
	if (s->opts.aggregate && s->kernel_corr && !cfg.aggregate)
		mace_info("the kernel's histograms for %u containers would take too much memory: "
			  "aggregating records in user space", mace__binding_containers(&s->binding));
	return 0;
}

/* Whether the eBPF backend uses kernel correlation: the path allows it,
 * nobody asked for user-space correlation (raw_events) or a raw-event file,
 * and expiry fits the records' 32-bit offsets. */
bool mace__use_kernel_corr(const struct mace_opts *o, const struct mace_path *path)
{
	return !o->raw_events && !o->save_file && o->expire_ns <= MACE_BPF_MAX_SPAN_NS &&
	       mace__path_allows_kernel_corr(path);
}

/* Aggregating without the kernel's help: the session's own histograms. */
static int new_agg(struct mace_session *s)
{
	if (!s->opts.aggregate || s->kernel_agg)
		return 0;
	s->agg = mace__agg_new();
	return s->agg ? 0 : -ENOMEM;
}

/* AUTO prefers eBPF and says so on the log when it falls back to ftrace. */
static int choose_backend(struct mace_session *s)
{
	enum mace_backend_kind kind = s->opts.backend;
	bool kernel_ok = mace__use_kernel_corr(&s->opts, s->path);
	int ret;

	if (kind == MACE_BACKEND_FTRACE)
		return open_backend(s, &mace__ftrace_backend);

	s->kernel_corr = kernel_ok;
	ret = open_backend(s, &mace__bpf_backend);
	if (ret == 0 || kind == MACE_BACKEND_BPF)
		return ret;
	mace_warn("eBPF backend unavailable, falling back to ftrace");
	s->kernel_corr = false;
	return open_backend(s, &mace__ftrace_backend);
}

static int open_save_file(struct mace_session *s)
{
	struct mace_raw_header h = {
		.version = 1,
		.clock = CLOCK_MONOTONIC,
		.realtime_offset_ns = s->realtime_offset,
		.binding = s->binding,
	};

	snprintf(h.path, sizeof(h.path), "%s", mace_path_name(s->path));
	snprintf(h.backend, sizeof(h.backend), "%s", s->ops->name);
	s->save = mace__raw_create(s->opts.save_file, &h);
	if (!s->save) {
		int e = errno;

		mace_err("cannot create %s: %s", s->opts.save_file, strerror(e));
		return -e;
	}
	return 0;
}

/* "ctr1 (inode 4026532000), ..." of the bound containers. */
static void label_containers(struct mace_session *s)
{
	const struct mace_binding *b = &s->binding;
	size_t off = 0;

	s->ctr_label[0] = '\0';
	for (unsigned int i = 0; i < b->ndev && off < sizeof(s->ctr_label); i++) {
		const struct mace_bound_dev *d = &b->dev[i];
		bool dup = false;

		for (unsigned int k = 0; k < i; k++)
			dup |= b->dev[k].role == MACE_ROLE_CONTAINER && b->dev[k].netns == d->netns;
		if (d->role != MACE_ROLE_CONTAINER || dup)
			continue;
		off += snprintf(s->ctr_label + off, sizeof(s->ctr_label) - off, "%s%s (inode %u)",
				off ? ", " : "", d->netns_name[0] ? d->netns_name : "?", d->netns);
	}
}

/* The watch and one fd for it and the backend together. */
static int open_watch(struct mace_session *s)
{
	struct epoll_event ev = { .events = EPOLLIN };
	char err[512] = "";

	label_containers(s);
	s->watch = mace__watch_new(&s->binding, err, sizeof(err));
	if (!s->watch) {
		mace_err("%s", err[0] ? err : strerror(errno));
		return -errno;
	}
	if (!mace__binding_containers(&s->binding)) {
		mace_err("container netns %s is gone; nothing left to trace", s->ctr_label);
		return -ENODEV;
	}
	label_containers(s);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, mace__watch_fd(s->watch), &ev) ||
	    (s->ops->fd(s->backend) >= 0 &&
	     epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->ops->fd(s->backend), &ev))) {
		mace_err("session: epoll: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Follows the binding's changes; -ENODEV when no container is left. */
static int follow_binding(struct mace_session *s)
{
	unsigned int before = mace__binding_containers(&s->binding);
	int ret = mace__watch_update(s->watch, &s->binding);

	if (ret <= 0)
		return ret;
	if (!mace__binding_containers(&s->binding)) {
		mace_err("container netns %s is gone; nothing left to trace", s->ctr_label);
		return -ENODEV;
	}
	label_containers(s);
	if (mace__binding_containers(&s->binding) < before)
		mace_info("still tracing %u container netns", mace__binding_containers(&s->binding));
	if (s->ops->update) {
		ret = s->ops->update(s->backend);
		if (ret < 0) {
			mace_err("%s backend: following the devices' changes: %s", s->ops->name,
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* A session with the caller's options and nothing open yet: what a live
 * session and a replay both start from.  NULL + errno on error. */
static struct mace_session *session_alloc(const struct mace_opts *opts)
{
	struct mace_session *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return NULL;
	s->epfd = -1;
	ret = copy_opts(&s->opts, opts);
	if (ret) {
		free(s);
		errno = -ret;
		return NULL;
	}
	return s;
}

MACE_EXPORT struct mace_session *mace_session_new(const struct mace_opts *opts)
{
	struct mace_session *s = session_alloc(opts);
	char err[512] = "";
	int ret;

	if (!s)
		return NULL;
	refresh_realtime_offset(s);
	ret = load_path(s, s->opts.path ? s->opts.path : "inner-dev");
	if (ret)
		goto fail;
	ret = mace__check_privileges(s->opts.backend);
	if (ret)
		goto fail;
	/* ftrace may stand the host-side veths in for same-named container devices */
	ret = mace__bind_also(s->opts.netns, s->opts.outer, mace__path_role_mask(s->path),
			      s->opts.backend == MACE_BACKEND_FTRACE ? 1u << MACE_ROLE_HOST_VETH : 0,
			      &s->binding, err, sizeof(err));
	if (ret) {
		mace_err("%s", err[0] ? err : strerror(-ret));
		goto fail;
	}
	if (s->opts.containers)
		mace__binding_name_containers(&s->binding, s->opts.containers);
	ret = choose_backend(s);
	if (!ret)
		ret = open_watch(s);
	if (ret)
		goto fail;
	if (!s->kernel_corr) {
		ret = new_correlator(s, s->ops == &mace__ftrace_backend);
		if (ret)
			goto fail;
	}
	ret = new_agg(s);
	if (ret)
		goto fail;
	if (s->opts.save_file) {
		ret = open_save_file(s);
		if (ret)
			goto fail;
	}
	return s;
fail:
	mace_session_free(s);
	errno = -ret;
	return NULL;
}

MACE_EXPORT struct mace_session *mace_session_replay(const char *file,
						     const struct mace_opts *opts)
{
	struct mace_session *s = session_alloc(opts);
	struct mace_raw_header h;
	char err[512] = "";
	int ret;

	if (!s)
		return NULL;
	s->replay = mace__raw_open(file, &h, err, sizeof(err));
	if (!s->replay) {
		ret = -errno;
		mace_err("%s", err[0] ? err : strerror(-ret));
		goto fail;
	}
	snprintf(s->replay_file, sizeof(s->replay_file), "%s", file);
	s->binding = h.binding;
	s->realtime_offset = h.realtime_offset_ns;
	ret = load_path(s, s->opts.path ? s->opts.path : h.path);
	if (ret)
		goto fail;
	ret = new_correlator(s, !strcmp(h.backend, "ftrace"));
	if (!ret)
		ret = new_agg(s);
	if (ret)
		goto fail;
	return s;
fail:
	mace_session_free(s);
	errno = -ret;
	return NULL;
}

MACE_EXPORT int mace_session_start(struct mace_session *s)
{
	int ret;

	if (!s)
		return -EINVAL;
	if (s->started)
		return 0;
	if (s->backend) {
		ret = s->ops->start(s->backend);
		if (ret < 0) {
			mace_err("%s backend: cannot start: %s", s->ops->name, strerror(-ret));
			return ret;
		}
	}
	s->started = true;
	s->started_ns = mace_now_ns();
	return 0;
}

/* ---- silent points ---------------------------------------------------------- */

struct silent_ctx {
	struct mace_session *s;
	mace_note_fn fn;
	void *ctx;
	bool log_new;		/* also log the ones not said yet */
};

static void silent_one(unsigned int d, unsigned int k, const char *note, void *ctx)
{
	struct silent_ctx *x = ctx;

	if (x->log_new && !(x->s->silent_said[d] & (1u << k))) {
		x->s->silent_said[d] |= 1u << k;
		mace_warn("path %s: %s", x->s->path->name, note);
	}
	if (x->fn)
		x->fn(note, x->ctx);
}

static unsigned int silent_points(struct mace_session *s, struct silent_ctx *x)
{
	__u64 fired[2][MACE_MAX_POINTS] = { { 0 } }, min = SILENT_STARTS;

	if (s->corr)
		mace__corr_point_counts(s->corr, fired);
	if (s->backend && s->ops->points)
		s->ops->points(s->backend, fired);
	if (s->started_ns && mace_now_ns() - s->started_ns >= SILENT_LATE_NS)
		min = SILENT_LATE_STARTS;
	return mace__silent_points(s->path, fired, min, silent_one, x);
}

/* Said once each, while tracing, about once a second. */
static void say_silent_points(struct mace_session *s)
{
	struct silent_ctx x = { .s = s, .log_new = true };
	uint64_t now = mace_now_ns();

	if (now < s->next_silent_check)
		return;
	s->next_silent_check = now + 1000000000ull;
	silent_points(s, &x);
}

MACE_EXPORT int mace_session_silent_points(struct mace_session *s, mace_note_fn fn, void *ctx)
{
	struct silent_ctx x = { .s = s, .fn = fn, .ctx = ctx };

	if (!s || !s->path)
		return -EINVAL;
	return silent_points(s, &x);
}

static void topo_one(unsigned int d, unsigned int k, const char *note, void *ctx)
{
	struct silent_ctx *x = ctx;

	if (x->fn)
		x->fn(note, x->ctx);
}

MACE_EXPORT int mace_path_check(const struct mace_opts *opts, mace_note_fn fn, void *ctx)
{
	struct silent_ctx x = { .fn = fn, .ctx = ctx };
	struct mace_binding *b = NULL;
	struct mace_path *p = NULL;
	struct mace_opts o;
	char err[512] = "";
	int ret;

	ret = copy_opts(&o, opts);
	if (ret)
		return ret;
	p = mace_path_load(o.path ? o.path : "inner-dev", err, sizeof(err));
	if (!p) {
		ret = errno ? -errno : -EINVAL;
		mace_err("%s", err);
		return ret;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		ret = -ENOMEM;
		goto out;
	}
	ret = mace__bind(o.netns, o.outer, mace__path_role_mask(p), b, err, sizeof(err));
	if (ret) {
		mace_err("%s", err[0] ? err : strerror(-ret));
		goto out;
	}
	ret = mace__topo_silent(p, b, topo_one, &x);
out:
	free(b);
	mace_path_free(p);
	return ret;
}

MACE_EXPORT int mace_session_fd(const struct mace_session *s)
{
	if (!s || !s->backend)
		return -1;
	return s->epfd;
}

static int poll_replay(struct mace_session *s)
{
	struct mace_event ev;
	char err[512] = "";
	int ret = 0;

	for (int i = 0; i < REPLAY_BATCH; i++) {
		ret = mace__raw_next(s->replay, &ev, err, sizeof(err));
		if (ret <= 0)
			break;
		mace__corr_push(s->corr, &ev);
	}
	if (ret > 0)
		return s->delivered;
	/* End or damage: what was read so far still becomes records. */
	mace__corr_flush(s->corr);
	s->stopped = true;
	if (ret < 0) {
		mace_err("%s: %s", s->replay_file, err[0] ? err : strerror(-ret));
		return ret;
	}
	return s->delivered ? (int)s->delivered : -ENODATA;
}

MACE_EXPORT int mace_session_poll(struct mace_session *s, int timeout_ms)
{
	int ret;

	if (!s)
		return -EINVAL;
	s->delivered = 0;
	if (s->replay) {
		if (s->stopped)
			return -ENODATA;
		return poll_replay(s);
	}
	if (!s->started || s->stopped)
		return -EINVAL;
	if (timeout_ms) {
		struct epoll_event ev[4];

		/* both the backend and the watch wake us; the backend reads below */
		if (epoll_wait(s->epfd, ev, ARRAY_SIZE(ev), timeout_ms) < 0 && errno != EINTR)
			return -errno;
	}
	ret = follow_binding(s);
	if (ret < 0)
		return ret;
	ret = s->ops->poll(s->backend, 0);
	if (ret < 0 && ret != -EINTR)
		return ret;
	if (s->corr)
		mace__corr_tick(s->corr, mace_now_ns());
	if (mace_now_ns() - s->last_offset_refresh > 1000000000ull)
		refresh_realtime_offset(s);
	say_silent_points(s);
	return s->delivered;
}

MACE_EXPORT int mace_session_stop(struct mace_session *s)
{
	int ret = 0, r;

	if (!s)
		return -EINVAL;
	if (s->stopped)
		return 0;
	s->stopped = true;
	if (s->backend) {
		r = s->ops->stop(s->backend);
		if (r < 0)
			ret = r;
	}
	if (s->corr)
		mace__corr_flush(s->corr);
	if (s->started) {
		s->next_silent_check = 0;
		say_silent_points(s);
	}
	if (s->save) {
		r = mace__raw_close(s->save);
		s->save = NULL;
		if (r < 0 && !s->save_err) {
			mace_err("writing %s: %s", s->opts.save_file, strerror(-r));
			s->save_err = r;
		}
		if (s->save_err && !ret)
			ret = s->save_err;
	}
	return ret;
}

MACE_EXPORT int mace_session_counters(const struct mace_session *s, struct mace_counters *out)
{
	struct mace_counters c = { .sz = sizeof(c) };

	if (!out)
		return -EINVAL;
	if (s) {
		if (s->corr)
			mace__corr_counters(s->corr, &c);
		if (s->backend)
			s->ops->counters(s->backend, &c);
		c.user_drops += s->extra.user_drops;
	}
	return MACE_ABI_OUT(mace_counters, out, &c) ?: (s ? 0 : -EINVAL);
}

/* The counters of netns (see mace_session_counters_netns) into *out. */
static int counters_netns(const struct mace_session *s, uint32_t netns,
			  struct mace_counters *out)
{
	int ret;

	if (!s)
		return -EINVAL;
	if (netns && !mace__binding_is_container(&s->binding, netns))
		return -ENOENT;
	/* the kernel counts for the whole session only */
	if (s->kernel_corr || !s->corr)
		return -EOPNOTSUPP;
	ret = mace__corr_netns_counters(s->corr, netns, out);
	if (ret)
		return ret;
	if (!netns) {
		/* kernel losses and user drops belong to no container */
		if (s->backend)
			s->ops->counters(s->backend, out);
		out->user_drops += s->extra.user_drops;
	}
	return 0;
}

MACE_EXPORT int mace_session_counters_netns(const struct mace_session *s, uint32_t netns,
					   struct mace_counters *out)
{
	struct mace_counters c = { .sz = sizeof(c) };
	int ret;

	if (!out)
		return -EINVAL;
	ret = counters_netns(s, netns, &c);
	return MACE_ABI_OUT(mace_counters, out, &c) ?: ret;
}

MACE_EXPORT int64_t mace_session_hists(struct mace_session *s, mace_hist_fn fn, void *ctx)
{
	if (!s || !fn || !s->opts.aggregate)
		return -EINVAL;
	if (s->kernel_agg)
		return s->ops->hists(s->backend, fn, ctx);
	return (int64_t)mace__agg_take(s->agg, fn, ctx);
}

MACE_EXPORT int mace_session_set_window(struct mace_session *s, uint64_t lo_ns, uint64_t hi_ns)
{
	if (!s || !s->opts.aggregate || lo_ns > hi_ns)
		return -EINVAL;
	if (s->kernel_agg)
		return s->ops->set_window(s->backend, lo_ns, hi_ns);
	mace__agg_set_window(s->agg, lo_ns, hi_ns);
	return 0;
}

MACE_EXPORT const char *mace_session_path_name(const struct mace_session *s)
{
	return s && s->path ? mace_path_name(s->path) : NULL;
}

MACE_EXPORT const char *mace_session_backend_name(const struct mace_session *s)
{
	if (!s)
		return NULL;
	if (s->replay)
		return "replay";
	return s->ops ? s->ops->name : NULL;
}

MACE_EXPORT int mace_session_describe(const struct mace_session *s, FILE *out)
{
	if (!s)
		return -EINVAL;
	fprintf(out, "path %s, backend %s%s\n", mace_session_path_name(s),
		mace_session_backend_name(s),
		s->kernel_agg ? " (correlating in the kernel, into histograms)" :
		s->kernel_corr ? " (correlating in the kernel)" : "");
	return mace__binding_describe(&s->binding, out);
}

MACE_EXPORT int64_t mace_session_realtime_offset(const struct mace_session *s)
{
	return s ? s->realtime_offset : 0;
}

MACE_EXPORT int mace_session_keep(struct mace_session *s, unsigned int n)
{
	if (!s || (n && s->opts.aggregate))
		return -EINVAL;
	mace__keep_free(s->keep);
	s->keep = NULL;
	if (!n)
		return 0;
	s->keep = mace__keep_new(n);
	return s->keep ? 0 : -errno;
}

MACE_EXPORT int mace_session_overhead(struct mace_session *s, const struct mace_probe *probe,
				     struct mace_overhead *out)
{
	struct mace_probe p;
	struct mace_overhead o = { .sz = sizeof(o) };
	int ret;

	if (!s || !probe || !out)
		return -EINVAL;
	ret = MACE_ABI_IN(mace_probe, &p, probe);
	if (ret)
		return ret;
	ret = s->keep ? mace__keep_lookup(s->keep, &p, &o) : -ENOENT;
	return MACE_ABI_OUT(mace_overhead, out, &o) ?: ret;
}

MACE_EXPORT void mace_session_free(struct mace_session *s)
{
	if (!s)
		return;
	if (s->backend && !s->stopped)
		s->ops->stop(s->backend);
	if (s->backend)
		s->ops->destroy(s->backend);
	mace__watch_free(s->watch);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->save)
		mace__raw_close(s->save);
	mace__raw_free(s->replay);
	mace__corr_free(s->corr);
	mace__agg_free(s->agg);
	mace__keep_free(s->keep);
	mace_path_free(s->path);
	free(s);
}
