/* SPDX-License-Identifier: MIT */
/*
 * Private interfaces between the parts of libmace: tracepoint and role
 * tables, parsed paths, the correlator, backends, bindings, raw-event files,
 * logging.  Not installed.
 */
#ifndef MACE_INT_H
#define MACE_INT_H

#include <linux/types.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "mace.h"
#include "bpf/mace_shared.h"

#define MACE_EXPORT __attribute__((visibility("default")))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- log.c ------------------------------------------------------------- */
void mace__log(enum mace_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define mace_err(...) mace__log(MACE_LOG_ERROR, __VA_ARGS__)
#define mace_warn(...) mace__log(MACE_LOG_WARN, __VA_ARGS__)
#define mace_info(...) mace__log(MACE_LOG_INFO, __VA_ARGS__)
#define mace_dbg(...) mace__log(MACE_LOG_DEBUG, __VA_ARGS__)
/* Formats a message into err (errlen 0: none) and returns ret. */
int mace__errf(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- abi.c: structs whose first member is size_t sz (see mace.h) ------- */
/* Copies the caller's struct src (may be NULL: all zero) into the library's
 * dst of dst_sz bytes: a smaller (older) one is zero-extended, a larger
 * (newer) one is accepted when the bytes past dst_sz are zero; dst->sz is
 * dst_sz after.  -EINVAL, logged naming type, otherwise. */
int mace__abi_in(void *dst, size_t dst_sz, const void *src, const char *type);
/* Copies the library's src (src_sz bytes) into the caller's dst, as much as
 * dst->sz holds; the caller's bytes past src_sz are zeroed, dst->sz kept. */
int mace__abi_out(void *dst, const void *src, size_t src_sz, const char *type);
#define MACE_ABI_IN(type, dst, src) \
	mace__abi_in((dst), sizeof(struct type), (src), "struct " #type)
#define MACE_ABI_OUT(type, dst, src) \
	mace__abi_out((dst), (src), sizeof(struct type), "struct " #type)

/* ---- clock.c ----------------------------------------------------------- */
uint64_t mace__clock_ns(clockid_t clock);	/* mace_now_ns for any clock */

/* ---- privileges.c: what a live session may do ---------------------------- */
struct mace_privs {
	bool admin;		/* CAP_SYS_ADMIN */
	bool bpf, perfmon;	/* CAP_BPF, CAP_PERFMON */
	bool root;		/* euid 0 (tracefs instances) */
};
int mace__privs_read(struct mace_privs *p);	/* 0 or -errno of capget */
/* Whether the eBPF backend may load and attach; if not, what it lacks
 * ("CAP_BPF and CAP_PERFMON") goes to missing. */
bool mace__privs_bpf(const struct mace_privs *p, char *missing, size_t size);
/* Every privilege a live session with this backend needs, asked before the
 * first step that needs one, so a single message (logged) names all that
 * are missing and what for.  0 or -EPERM. */
int mace__check_privileges(enum mace_backend_kind kind);

/* ---- counters.c: struct mace_counters field by field --------------------- */
void mace__counters_add(struct mace_counters *into, const struct mace_counters *c);
void mace__counters_sub(struct mace_counters *from, const struct mace_counters *c);

/* ---- tracepoints.c: the tracepoint and role tables --------------------- */
enum mace_tp_kind { MACE_TPK_PACKET, MACE_TPK_SYS_ENTER, MACE_TPK_SYS_EXIT };
struct mace_tp_info {
	const char *name;	/* "net_dev_xmit", "sys_enter_sendto" */
	const char *system;	/* "net", "syscalls" */
	enum mace_tp_kind kind;	/* send (SYS_ENTER) = egress, receive (SYS_EXIT) = ingress */
	bool tx;		/* fires as a device transmits (a task sends), not receives */
};
const struct mace_tp_info *mace__tp_info(enum mace_tp tp);	/* NULL if out of range */
enum mace_tp mace__tp_by_name(const char *name);	/* accepts "net:x" or "x"; MACE_TP_NONE */
const char *mace__role_name(enum mace_role role);	/* "container", "host-veth", ... */
enum mace_role mace__role_by_name(const char *name);	/* MACE_ROLE_NONE if unknown */

/* ---- path.c: parsed event paths ----------------------------------------- */
#define MACE_PATH_MATCH_SKB 0x1	/* skb address identity */
#define MACE_PATH_MATCH_KEY 0x2	/* content key */
/* Syscall points always match by task context. */

struct mace_point {
	__u32 tp_mask;		/* bit (1u << enum mace_tp): alternatives; the first seen wins */
	__u8 role;		/* enum mace_role */
	__u16 line;		/* where it was declared */
};
struct mace_dirpath {
	unsigned int npoints;	/* 0 (direction not measured) or 2..MACE_MAX_POINTS */
	struct mace_point pt[MACE_MAX_POINTS];
};
struct mace_path {
	char name[64];
	char description[256];
	char file[256];		/* where it came from ("<builtin>" for shipped) */
	unsigned int match;	/* MACE_PATH_MATCH_* for packet-to-packet hops */
	struct mace_dirpath dir[2];
};
/* Tracepoints used anywhere in the path, as a mask of (1u << enum mace_tp). */
__u32 mace__path_tp_mask(const struct mace_path *path);
/* Roles used anywhere in the path, as a mask of (1u << enum mace_role). */
__u32 mace__path_role_mask(const struct mace_path *path);
/* True when every point is a packet point and matching is skb-only, so the
 * BPF backend may use kernel correlation. */
bool mace__path_allows_kernel_corr(const struct mace_path *path);
/* ...and the options allow it too (session.c). */
bool mace__use_kernel_corr(const struct mace_opts *o, const struct mace_path *path);

/* paths_builtin.c (generated from the files in paths/ at build time) */
struct mace_builtin_path { const char *name; const char *text; };
extern const struct mace_builtin_path mace__builtin_paths[];
extern const unsigned int mace__builtin_path_count;

/* ---- correlate.c -------------------------------------------------------- */
struct mace_correlator;
struct mace_corr_opts {
	const struct mace_path *path;
	__u32 max_pending;	/* 0: MACE_DEFAULT_MAX_PENDING */
	__u64 expire_ns;	/* 0: MACE_DEFAULT_EXPIRE_NS */
	__u64 reorder_ns;	/* events may arrive this much out of order; 0: 1 ms */
	/* A keyless receive skips (expires) a packet that waited longer than
	 * this while a younger one waits behind it.  For backends that can miss
	 * a task's receives (ftrace learns new tasks late); 0: off. */
	__u64 recv_window_ns;
	__u16 path_id;		/* copied into records */
	mace_record_fn emit;
	void *ctx;
};
struct mace_correlator *mace__corr_new(const struct mace_corr_opts *opts);
/* An event with tp MACE_TP_NONE and an skb address says that skb was freed
 * (ftrace's skb:consume_skb / skb:kfree_skb): a packet pending with it left
 * the path there, and its events count as expired. */
static inline bool mace_event_is_free(const struct mace_event *ev)
{
	return ev->tp == MACE_TP_NONE && ev->skb;
}
/* Takes one event (may be up to reorder_ns older than the newest seen). */
void mace__corr_push(struct mace_correlator *c, const struct mace_event *ev);
/* Time passed without events: releases the reorder window up to now and
 * expires starts older than now - expire_ns. */
void mace__corr_tick(struct mace_correlator *c, __u64 now_ns);
/* Drains the reorder window and expires every pending packet. */
void mace__corr_flush(struct mace_correlator *c);
/* Adds this correlator's counters into *out (lost/user_drops untouched). */
void mace__corr_counters(const struct mace_correlator *c, struct mace_counters *out);
/* Adds the counters of one container netns (events of packets seen at a
 * container point) into *out; netns 0: the rest, which no container can
 * claim.  -ENOSPC if more containers were seen than it can tell apart. */
int mace__corr_netns_counters(const struct mace_correlator *c, __u32 netns,
			     struct mace_counters *out);
void mace__corr_free(struct mace_correlator *c);
/* Adds how many packets were seen at each point (direction, index) into
 * fired: starts, and events that moved a pending packet on. */
void mace__corr_point_counts(const struct mace_correlator *c, __u64 fired[2][MACE_MAX_POINTS]);

/* ---- silent.c: points that never fire ------------------------------------ */
typedef void (*mace_silent_fn)(unsigned int dir, unsigned int k, const char *note, void *ctx);
/* Calls fn with a sentence for each waypoint or end of p that fired no event
 * while its direction's start fired at least min_starts (> 0) times; says
 * why where the cause is a known one.  Returns how many. */
unsigned int mace__silent_points(const struct mace_path *p,
				 const __u64 fired[2][MACE_MAX_POINTS], __u64 min_starts,
				 mace_silent_fn fn, void *ctx);

/* ---- topo_check.c: points a bound topology lets no packet fire ----------- */
struct mace_binding;
/* Calls fn for each point of p at the bound bridge that no packet can fire
 * (crossed at layer 2, or routed the other way).  Returns how many. */
unsigned int mace__topo_silent(const struct mace_path *p, const struct mace_binding *b,
			       mace_silent_fn fn, void *ctx);

/* ---- bind.c: roles bound to real devices --------------------------------- */
#define MACE_MAX_BOUND 256
struct mace_bound_dev {
	__u8 role;		/* enum mace_role */
	__u32 netns;		/* netns inode */
	__u32 ifindex;
	__u32 container_netns;	/* the container this device serves; 0 if shared (outer) */
	char name[16];
	char netns_name[64];	/* "ctr1" (ip netns name), "pid 1234", or "" */
	/* Container veth only (not in raw files): its peer, the host-veth, by
	 * which the container's end is noticed from the host side; 0: unknown. */
	__u32 peer_ifindex;
	__u32 peer_netns;
};
struct mace_binding {
	unsigned int ndev;
	struct mace_bound_dev dev[MACE_MAX_BOUND];
};
/* netns_spec: NAME, PATH or PID; NULL discovers every netns with a veth peer
 * in the current netns.  outer_spec: DEV or DEV@NETNS; NULL: default route.
 * roles: mask of roles the path needs (1u << enum mace_role).  Fills *out;
 * on error writes a message naming what was wrong to err. */
int mace__bind(const char *netns_spec, const char *outer_spec, __u32 roles,
	       struct mace_binding *out, char *err, size_t errlen);
/* The same, also binding the roles also where they are found (not needed). */
int mace__bind_also(const char *netns_spec, const char *outer_spec, __u32 roles, __u32 also,
		    struct mace_binding *out, char *err, size_t errlen);
/* The bound device of an event, or NULL. */
const struct mace_bound_dev *mace__binding_find(const struct mace_binding *b, __u32 netns,
						__u32 ifindex);
/* True if netns is a bound container netns. */
bool mace__binding_is_container(const struct mace_binding *b, __u32 netns);
int mace__binding_describe(const struct mace_binding *b, FILE *out);
/* Removes device i, keeping the order of the others. */
void mace__binding_drop(struct mace_binding *b, unsigned int i);
/* Removes every device of container netns (its own and those serving it
 * only).  Returns how many went. */
unsigned int mace__binding_drop_container(struct mace_binding *b, __u32 netns);
/* Names the container devices' netns as m knows them (container.c). */
void mace__binding_name_containers(struct mace_binding *b, struct mace_containers *m);
/* How many container netns are bound. */
unsigned int mace__binding_containers(const struct mace_binding *b);
/* A non-blocking rtnetlink socket in the netns with inode ino (the current
 * one, or one found under /run/netns or /proc).  fd, or -errno with err. */
int mace__netns_socket(__u32 ino, char *err, size_t errlen);

/* ---- watch.c: bound devices watched through rtnetlink -------------------- */
/*
 * RTNLGRP_LINK sockets in the netns of the host-side devices, never in a
 * container netns (a socket would keep it alive): a container's end shows as
 * its host-veth peer going away; its own device is followed from the host
 * side too (NETLINK_LISTEN_ALL_NSID, by the nsid the host-veth names).
 */
struct mace_watch;
/* Devices already gone are dropped from b at once (with a warning).  NULL
 * + errno, message in err. */
struct mace_watch *mace__watch_new(struct mace_binding *b, char *err, size_t errlen);
int mace__watch_fd(const struct mace_watch *w);	/* readable when there is news */
/* Applies the news to b, a warning logged for each: a renamed device gets its
 * new name, a container whose veth went loses all its devices, a shared
 * device that went is dropped.  1 if b changed, 0 if not, or -errno. */
int mace__watch_update(struct mace_watch *w, struct mace_binding *b);
void mace__watch_free(struct mace_watch *w);

/* ---- backends ------------------------------------------------------------ */
struct mace_backend;
struct mace_backend_cfg {
	const struct mace_path *path;
	const struct mace_binding *binding;
	bool kernel_corr;		/* BPF only: emit records, not events */
	bool aggregate;			/* with it: histograms (hists), no records */
	__u32 max_pending;
	__u64 expire_ns;
	size_t buffer_kb;
	__u16 path_id;
	/* Exactly one of these is called per item fed to the session. */
	void (*on_event)(const struct mace_event *ev, void *ctx);
	void (*on_record)(const struct mace_record *rec, void *ctx);
	void *ctx;
};
struct mace_backend_ops {
	const char *name;	/* "bpf", "ftrace" */
	/* Checks privileges and kernel support, loads; does not attach.
	 * On failure returns -errno and writes why to err. */
	int (*open)(struct mace_backend **out, const struct mace_backend_cfg *cfg,
		    char *err, size_t errlen);
	int (*start)(struct mace_backend *b);	/* attach / enable */
	int (*fd)(struct mace_backend *b);	/* pollable, or -1 */
	/* Feeds what is ready to the session.  Returns items fed or -errno. */
	int (*poll)(struct mace_backend *b, int timeout_ms);
	/* Stops the kernel side and feeds what is left.  Idempotent. */
	int (*stop)(struct mace_backend *b);
	/* Adds kernel-side counters: lost always; with kernel correlation also
	 * events/matched/unmatched/... as the kernel counted them. */
	void (*counters)(struct mace_backend *b, struct mace_counters *out);
	void (*destroy)(struct mace_backend *b);	/* detaches if needed, frees */
	/* The binding changed in place (devices dropped or renamed): follow it
	 * in the kernel-side filters.  NULL if there is nothing to follow. */
	int (*update)(struct mace_backend *b);
	/* Aggregating (cfg.aggregate): as mace_session_hists / _set_window. */
	int64_t (*hists)(struct mace_backend *b, mace_hist_fn fn, void *ctx);
	/* Adds the packets the kernel side saw at each point (kernel
	 * correlation) into fired, as mace__corr_point_counts.  NULL: every event goes through the
	 * correlator, which counts them. */
	void (*points)(struct mace_backend *b, __u64 fired[2][MACE_MAX_POINTS]);
	int (*set_window)(struct mace_backend *b, uint64_t lo, uint64_t hi);
};
extern const struct mace_backend_ops mace__bpf_backend;
/* Whether the kernel's histograms for bind's containers fit the memory budget
 * (else an aggregating session aggregates records in user space). */
bool mace__bpf_agg_fits(const struct mace_binding *bind);
extern const struct mace_backend_ops mace__ftrace_backend;

/* ---- rawfile.c: raw-event recordings ------------------------------------- */
/*
 * Layout (little-endian): "MACERAW\0", u32 version (1), u32 header_len,
 * header (path name, clock id, realtime offset, binding), then
 * struct mace_event records back to back.
 */
struct mace_raw_writer;
struct mace_raw_reader;
struct mace_raw_header {
	__u32 version;
	__u32 clock;		/* CLOCK_MONOTONIC */
	__s64 realtime_offset_ns;
	char path[64];		/* path used when recording */
	char backend[16];
	struct mace_binding binding;
};
struct mace_raw_writer *mace__raw_create(const char *file, const struct mace_raw_header *h);
int mace__raw_write(struct mace_raw_writer *w, const struct mace_event *ev);
int mace__raw_close(struct mace_raw_writer *w);	/* flushes; reports write errors */
/* On error NULL + errno, message in err. */
struct mace_raw_reader *mace__raw_open(const char *file, struct mace_raw_header *h,
				       char *err, size_t errlen);
/* 1: an event, 0: clean end, -errno: truncated/corrupt (message in err). */
int mace__raw_next(struct mace_raw_reader *r, struct mace_event *ev, char *err, size_t errlen);
void mace__raw_free(struct mace_raw_reader *r);

/* ---- stats.c: histograms filled from a kernel histogram ------------------ */
void mace__hist_set(struct mace_hist *h, const uint64_t *b, unsigned int nb, uint64_t sum,
		    long double sumsq, uint64_t floor, uint64_t ceil);
uint64_t mace__hist_count(const struct mace_hist *h);

/* ---- agg.c: latency histograms per (container netns, direction) ---------- */
struct mace_agg;
struct mace_agg *mace__agg_new(void);	/* window: everything */
/* The histogram of (netns, dir), made on first use; NULL (ENOMEM) if it cannot be. */
struct mace_hist *mace__agg_hist(struct mace_agg *a, __u32 netns, __u8 dir);
/* Adds the record's latency to the histogram of its (netns, dir) if its start
 * is in the window, else counts it as left out.  0, or -ENOMEM (not added). */
int mace__agg_add(struct mace_agg *a, const struct mace_record *rec);
/* From now on only starts in [lo_ns, hi_ns) go into the histograms. */
void mace__agg_set_window(struct mace_agg *a, uint64_t lo_ns, uint64_t hi_ns);
/* Hands each non-empty histogram to fn, then empties it.  Returns the
 * records left out since the last take. */
uint64_t mace__agg_take(struct mace_agg *a, mace_hist_fn fn, void *ctx);
void mace__agg_free(struct mace_agg *a);

/* ---- bpf_hists.c: the kernel's per-CPU histograms, read as differences --- */
struct mace_bpf_hists;
/* For a map of nslots * 2 entries: slot i holds the packets of netns
 * slot_netns[i], entry i * 2 + dir a direction. */
struct mace_bpf_hists *mace__bpf_hists_new(const __u32 *slot_netns, unsigned int nslots,
					   int ncpu);
/* Adds what the map gained since the last read to the histograms taken next. */
int mace__bpf_hists_read(struct mace_bpf_hists *hs, int map_fd);
void mace__bpf_hists_take(struct mace_bpf_hists *hs, mace_hist_fn fn, void *ctx);
void mace__bpf_hists_free(struct mace_bpf_hists *hs);

/* ---- key.c: content keys (user-space twin of the BPF key) ----------------- */
/* Hash of rewrite-proof fields of the packet starting at its IP header. */
__u64 mace__content_key(const void *ip_hdr, size_t len);

/* ---- overhead.c: matching a tool's probe to records ---------------------- */
/* Where one direction's record of a probe may lie (CLOCK_MONOTONIC ns): a
 * keyed record starts in [key_lo, key_hi]; a keyless one starts (egress) or
 * ends (ingress) in [win_lo, win_hi]. */
struct mace__span {
	uint64_t key_lo, key_hi;
	uint64_t win_lo, win_hi;
};
/* The span of a probe whose send and receive times are known. */
struct mace__span mace__probe_span(const struct mace_probe *p, int dir);
struct mace__match {
	const struct mace_record *rec;	/* the one record, or NULL */
	enum mace_match_how how;	/* KEY or WINDOW with rec; NONE or AMBIGUOUS without */
};
/* The record of direction dir that belongs to probe p (its key and netns;
 * its times are not read, sp says where to look): by key among keyed[], else
 * by time window among the keyless records of keyless[] (the same array may
 * be given twice; order does not matter).  Never a guess: one candidate or
 * none. */
struct mace__match mace__match_dir(const struct mace_record *keyed, size_t nkeyed,
				   const struct mace_record *keyless, size_t nkeyless,
				   const struct mace_probe *p, int dir,
				   const struct mace__span *sp);
struct mace_keep;
struct mace_keep *mace__keep_new(unsigned int n);	/* ring of the last n records */
void mace__keep_add(struct mace_keep *k, const struct mace_record *rec);
/* Fills *out for one probe; 0, or -ENOENT if egress or ingress is unknown. */
int mace__keep_lookup(const struct mace_keep *k, const struct mace_probe *probe,
		      struct mace_overhead *out);
void mace__keep_free(struct mace_keep *k);
/* The same lookup over any n records (order does not matter); the records
 * found are returned through egress/ingress (NULL unless matched). */
int mace__overhead_find(const struct mace_record *rec, unsigned int n,
			const struct mace_probe *probe, struct mace_overhead *out,
			const struct mace_record **egress, const struct mace_record **ingress);

/* ---- tracefs_mount.c: tracefs where the backends look for it ------------- */
#define MACE_TRACEFS_DIR "/sys/kernel/tracing"
/* Mounts tracefs there unless it is; 0 or -errno with err "WHO: ...". */
int mace__tracefs_mount(const char *who, char *err, size_t errlen);

#endif /* MACE_INT_H */
