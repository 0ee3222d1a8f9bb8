/* SPDX-License-Identifier: MIT */
/*
 * mace.h - Measure the Added Container Expense.
 *
 * Per-packet latency that a container's virtual network adds, measured from
 * kernel tracepoints.  One header; everything exported is prefixed mace_.
 * Functions return 0 or a negative errno; constructors return NULL and set
 * errno.  Every *_free(NULL) is a no-op.
 *
 * ABI: a struct passed in either direction begins with size_t sz, which the
 * caller sets to sizeof the struct as its mace.h declares it (libbpf's
 * rule), so a struct can grow at its end without breaking programs built
 * against an older or newer header:
 *  - input (mace_opts, mace_probe, a record given to mace_record_format):
 *    a smaller struct reads as if its missing fields were zero; a larger
 *    one is accepted when every byte the library does not know is zero,
 *    else -EINVAL with a message naming the struct;
 *  - output (mace_counters, mace_summary, mace_overhead, a record filled by
 *    mace_record_parse): the library fills what fits in sz, zeroes the
 *    bytes past what it knows and leaves sz as the caller set it.
 * Records handed to a mace_record_fn have sz = sizeof(struct mace_record)
 * of the library: read a field only when sz covers it.  -EINVAL if sz is
 * smaller than sizeof(size_t).  New fields are only ever appended.
 */
#ifndef MACE_H
#define MACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version: the Makefile, mace_version() and the man pages' checks
 * take it from here. */
#define MACE_VERSION_MAJOR 0
#define MACE_VERSION_MINOR 2
#define MACE_VERSION_PATCH 0

/* Most points one direction of a path may have: start, waypoints, end. */
#define MACE_MAX_POINTS 8
#define MACE_MAX_SEGMENTS (MACE_MAX_POINTS - 1)
/* A segment whose waypoint was not seen for this packet. */
#define MACE_SEG_UNKNOWN UINT64_MAX

enum mace_dir {
	MACE_EGRESS = 0,
	MACE_INGRESS = 1,
};

enum mace_backend_kind {
	MACE_BACKEND_AUTO = 0,	/* eBPF, else ftrace (said through the log hook) */
	MACE_BACKEND_BPF,
	MACE_BACKEND_FTRACE,
};

/* One packet, one direction: the time between its start and end points.
 * seg_ns has MACE_MAX_SEGMENTS entries for good: that constant is part of
 * the ABI and does not change (only the first nseg entries mean anything).
 * Should paths ever have more points, their further segments come in a new
 * field appended at the end, read where sz covers it. */
struct mace_record {
	size_t sz;		/* see "ABI" above */
	uint64_t ts_ns;		/* CLOCK_MONOTONIC of the start point */
	uint64_t latency_ns;	/* end - start */
	uint64_t seg_ns[MACE_MAX_SEGMENTS]; /* point i to i+1; MACE_SEG_UNKNOWN if unseen */
	uint32_t netns;		/* inode of the container's netns */
	uint32_t len;		/* bytes at the start point */
	uint32_t seq;		/* ICMP echo seq or TCP seq; 0 if none */
	uint16_t id;		/* ICMP echo id; 0 if none */
	uint16_t sport, dport;	/* UDP/TCP ports; 0 if none */
	uint16_t cpu_start, cpu_end;
	uint8_t dir;		/* enum mace_dir */
	uint8_t nseg;		/* points - 1 */
	uint8_t proto;		/* IPPROTO_*, 0 if unknown */
	uint8_t family;		/* AF_INET, AF_INET6, 0 if unknown */
	uint8_t src[16], dst[16]; /* IPv4 in the first 4 bytes */
	uint16_t path_id;	/* index of the path (mace_session_path_name) */
	uint16_t reserved;
};

/* Quality counters.  Every event the correlator consumed is in exactly one of
 * matched, unmatched, expired, replaced, duplicates or pending:
 * events == matched + unmatched + expired + replaced + duplicates + pending. */
struct mace_counters {
	size_t sz;		/* see "ABI" above */
	uint64_t events;	/* events the correlator consumed */
	uint64_t records;	/* records emitted */
	uint64_t matched;	/* events that ended up in a record */
	uint64_t unmatched;	/* waypoint/end events with no pending start */
	uint64_t expired;	/* events of pending packets that timed out or were evicted */
	uint64_t replaced;	/* events of a pending packet superseded by a new start */
	uint64_t duplicates;	/* repeated start events of a pending packet (ignored) */
	uint64_t pending;	/* events held by packets still in flight */
	uint64_t collisions;	/* content keys shared by two pending packets (informative) */
	uint64_t lost;		/* events the kernel dropped (ring/buffer full) */
	uint64_t user_drops;	/* events or records dropped in user space */
	uint64_t slot_collisions; /* starts dropped because every slot the eBPF pending
				   * table has for their skb was kept for another
				   * packet (informative; counted in expired too) */
};
/* X(name) for each counter above, in that order (the order people read
 * them), for code that treats them all alike. */
#define MACE_COUNTER_FIELDS(X)                                                     \
	X(events) X(records) X(matched) X(unmatched) X(expired) X(replaced)        \
	X(duplicates) X(pending) X(collisions) X(lost) X(user_drops)               \
	X(slot_collisions)

/* ---- logging ---------------------------------------------------------- */

enum mace_log_level { MACE_LOG_ERROR, MACE_LOG_WARN, MACE_LOG_INFO, MACE_LOG_DEBUG };
typedef void (*mace_log_fn)(enum mace_log_level level, const char *msg, void *ctx);
/* Replaces the default hook (errors and warnings to stderr).  NULL silences. */
void mace_set_log(mace_log_fn fn, void *ctx);

const char *mace_version(void);
/* CLOCK_MONOTONIC in ns: the clock of ts_ns, mace_probe and
 * mace_session_set_window. */
uint64_t mace_now_ns(void);

/* ---- event paths ------------------------------------------------------ */

struct mace_path;

/* A shipped path name (see mace_path_builtin_name) or a path file.
 * On error returns NULL, sets errno and writes "file:line:col: message" to err. */
struct mace_path *mace_path_load(const char *name_or_file, char *err, size_t errlen);
struct mace_path *mace_path_parse(const char *text, size_t len, const char *filename,
				  char *err, size_t errlen);
void mace_path_free(struct mace_path *path);
const char *mace_path_name(const struct mace_path *path);
const char *mace_path_description(const struct mace_path *path);
/* Shipped paths, i = 0.. until NULL. */
const char *mace_path_builtin_name(unsigned int i);
/* Writes the path back as path-file text (canonical form). */
int mace_path_write(const struct mace_path *path, FILE *out);

/* ---- statistics ------------------------------------------------------- */

/* Log-linear histogram: at most 1% relative error on any quantile. */
struct mace_hist;
struct mace_summary {
	size_t sz;		/* see "ABI" above */
	uint64_t count;
	double mean, stddev;	/* stddev is the sample deviation (n - 1) */
	uint64_t min, max, mode; /* mode: centre of the fullest bucket */
	uint64_t p50, p90, p99, p999;
};
struct mace_hist *mace_hist_new(void);
void mace_hist_add(struct mace_hist *h, uint64_t value);
void mace_hist_merge(struct mace_hist *into, const struct mace_hist *from);
void mace_hist_reset(struct mace_hist *h);
uint64_t mace_hist_quantile(const struct mace_hist *h, double q);
int mace_hist_summary(const struct mace_hist *h, struct mace_summary *out);
/* Buckets in increasing order, i = 0.. until it returns false; empty ones skipped. */
bool mace_hist_bucket(const struct mace_hist *h, unsigned int *iter, uint64_t *lo,
		      uint64_t *hi, uint64_t *count);
void mace_hist_free(struct mace_hist *h);

/* ---- record formats --------------------------------------------------- */

enum mace_format { MACE_FORMAT_CSV, MACE_FORMAT_JSON };
/* The CSV header line (with '\n'). */
const char *mace_csv_header(void);
/* One record as a CSV line or a JSON object, '\n'-terminated.  Returns the
 * length written (snprintf-like: may exceed size) or a negative errno. */
int mace_record_format(const struct mace_record *rec, const char *path_name,
		       enum mace_format fmt, char *buf, size_t size);
/* The same with the container's name, pod and namespace (struct
 * mace_container, below): three more CSV columns or JSON fields, "container",
 * "pod" and "namespace" ("" if unknown).  ct NULL: mace_record_format. */
struct mace_container;
const char *mace_csv_header_container(void);
int mace_record_format_container(const struct mace_record *rec, const char *path_name,
				 const struct mace_container *ct, enum mace_format fmt,
				 char *buf, size_t size);
/* Parses a line written by either back (the container's columns ignored);
 * path name copied to path_name.  Returns 0 or -EINVAL. */
int mace_record_parse(const char *line, enum mace_format fmt, struct mace_record *rec,
		      char *path_name, size_t path_size);

/* ---- sessions: live capture or replay --------------------------------- */

struct mace_session;
typedef void (*mace_record_fn)(const struct mace_record *rec, void *ctx);

/* What a zero max_pending and expire_ns of struct mace_opts mean. */
#define MACE_DEFAULT_MAX_PENDING 65536
#define MACE_DEFAULT_EXPIRE_NS 1000000000ull	/* 1 s */

struct mace_opts {
	size_t sz;		/* sizeof(struct mace_opts): see "ABI" above */
	const char *path;	/* shipped path name or path file; default "inner-dev" */
	const char *netns;	/* NAME, PATH or PID; NULL: every netns with a veth peer here */
	const char *outer;	/* DEV or DEV@NETNS; NULL: the host's default-route device */
	enum mace_backend_kind backend;
	mace_record_fn on_record;
	void *ctx;
	uint32_t max_pending;	/* packets in flight kept; 0: MACE_DEFAULT_MAX_PENDING */
	uint64_t expire_ns;	/* a start older than this expires; 0: the default; over 4 s,
				 * correlation moves from the kernel to user space */
	bool raw_events;	/* correlate in user space even where the kernel could */
	const char *save_file;	/* also write raw events here (for replay) */
	size_t buffer_kb;	/* ring / per-CPU buffer size; 0: default */
	/* Latency histograms per container instead of records (on_record is
	 * not called; read them with mace_session_hists).  Kept in the kernel
	 * when it correlates: no record per packet crosses to user space. */
	bool aggregate;
	/* Names the bound container netns in messages (a container leaving,
	 * mace_session_describe); NULL: ip netns names or pids. */
	struct mace_containers *containers;
};
#define MACE_OPTS_INIT { .sz = sizeof(struct mace_opts) }

/* Parses the path, binds roles to devices, opens the backend (loads, does
 * not attach).  NULL + errno on error; the reason went to the log hook. */
struct mace_session *mace_session_new(const struct mace_opts *opts);
/* A session that re-correlates a raw-event file instead of tracing. */
struct mace_session *mace_session_replay(const char *file, const struct mace_opts *opts);
int mace_session_start(struct mace_session *s);	/* attach / enable */
/* An fd that becomes readable when mace_session_poll has work; -1 for replay. */
int mace_session_fd(const struct mace_session *s);
/* Delivers records through on_record.  Returns records delivered, 0 on
 * timeout, -ENODATA when a replay reached its end, or a negative errno. */
int mace_session_poll(struct mace_session *s, int timeout_ms);
/* Detach, drain, flush in-flight packets into counters.  Idempotent. */
int mace_session_stop(struct mace_session *s);
int mace_session_counters(const struct mace_session *s, struct mace_counters *out);
/* Points of the path that saw no event while their direction's start saw
 * 100 (or, 10 s after the start, 10): their segments are unknown for every
 * packet.  fn gets one sentence per point that names it and, where the cause
 * is a known one, says why.  While tracing, each is also said once through
 * the log hook.  Returns how many, or a negative errno. */
typedef void (*mace_note_fn)(const char *note, void *ctx);
int mace_session_silent_points(struct mace_session *s, mace_note_fn fn, void *ctx);
/* Before tracing: binds opts->path's roles as mace_session_new would and
 * calls fn for each point the bound topology lets no packet fire (a bridge
 * crossed at layer 2, or routed the other way).  Needs no backend.  Returns
 * how many, or a negative errno (the reason went to the log hook). */
int mace_path_check(const struct mace_opts *opts, mace_note_fn fn, void *ctx);
/* The counters of one container netns of the session: events of packets seen
 * at a container point, with the same sum rule as above (collisions, lost and
 * user_drops stay 0).  netns 0: everything no container can claim (packets
 * never seen in a container, lost, user_drops), so the containers' counters
 * plus netns 0's are the session's.  -ENOENT if netns is not a container of
 * the session, -EOPNOTSUPP when the kernel correlates (it counts per session
 * only; see raw_events), -ENOSPC past 1024 containers. */
int mace_session_counters_netns(const struct mace_session *s, uint32_t netns,
				struct mace_counters *out);
const char *mace_session_path_name(const struct mace_session *s);
const char *mace_session_backend_name(const struct mace_session *s);
/* Human-readable description of the bound roles, one per line. */
int mace_session_describe(const struct mace_session *s, FILE *out);
/* Realtime = monotonic + this offset (kept fresh while polling). */
int64_t mace_session_realtime_offset(const struct mace_session *s);
/* Destroys the kernel objects (if not stopped) and frees memory. */
void mace_session_free(struct mace_session *s);

/* ---- aggregating sessions (opts.aggregate) ------------------------------ */

/* One histogram: the latencies of (container netns, direction); netns 0 for
 * packets never seen in a container.  h is valid during the call only. */
typedef void (*mace_hist_fn)(uint32_t netns, enum mace_dir dir, const struct mace_hist *h,
			     void *ctx);
/* Calls fn for each (netns, direction) with the latencies recorded since the
 * last call; after mace_session_stop, what was left.  Mean and deviation are
 * exact; min and max are exact when the interval holds the session's
 * extremes, else within their bucket.  Returns the records the window left
 * out since the last call, or a negative errno (-EINVAL: not aggregating). */
int64_t mace_session_hists(struct mace_session *s, mace_hist_fn fn, void *ctx);
/* From now on only packets whose start point is in [lo_ns, hi_ns)
 * (CLOCK_MONOTONIC) go into the histograms; the others are counted (see
 * mace_session_hists).  For handing over between two sessions at a cut time,
 * so the packets both see count once.  Default: all. */
int mace_session_set_window(struct mace_session *s, uint64_t lo_ns, uint64_t hi_ns);

/* ---- RTT correction --------------------------------------------------- */

/* What one probe is: its key when the backend sees packet contents, and its
 * send/receive times (CLOCK_MONOTONIC, ns) for the time-window fallback. */
struct mace_probe {
	size_t sz;		/* see "ABI" above */
	uint8_t proto;		/* IPPROTO_ICMP, IPPROTO_UDP, IPPROTO_TCP */
	uint16_t id;		/* ICMP echo id (or 0: any) */
	uint32_t seq;		/* ICMP echo seq */
	uint16_t sport, dport;	/* UDP/TCP */
	uint64_t sent_ns, recv_ns;
	uint32_t netns;		/* inode of the prober's netns; 0: any (time-window matching) */
};
enum mace_match_how { MACE_MATCH_NONE, MACE_MATCH_KEY, MACE_MATCH_WINDOW, MACE_MATCH_AMBIGUOUS };
struct mace_overhead {
	size_t sz;		/* see "ABI" above */
	uint64_t egress_ns, ingress_ns;
	enum mace_match_how egress_how, ingress_how;
};
/*
 * Where a measurement tool takes the receive time of a reply.  Its send time
 * is taken in user space before the send call either way.
 *   MACE_RX_KERNEL: the kernel's receive timestamp (SO_TIMESTAMP,
 *                   SO_TIMESTAMPNS), as iputils ping does by default;
 *   MACE_RX_USER:   in user space after the receive call returns (ping -U,
 *                   most UDP and TCP probers).
 */
enum mace_rx_stamp { MACE_RX_KERNEL, MACE_RX_USER };
/* The shipped path whose ends are where such a tool's stamps are taken, so
 * that its RTT corrected by the path equals the RTT it measures natively.
 * NULL for an unknown value. */
const char *mace_path_for_rx_stamp(enum mace_rx_stamp how);
/* Keep the last n records of a session for mace_session_overhead (0: off).
 * -EINVAL for an aggregating session: it has no records to keep. */
int mace_session_keep(struct mace_session *s, unsigned int n);
/* The egress and ingress overhead of one probe.  -ENOENT if either is unknown
 * (never guessed); how tells the match used for each. */
int mace_session_overhead(struct mace_session *s, const struct mace_probe *probe,
			  struct mace_overhead *out);

/* ---- containers: whose netns it is ------------------------------------ */

/*
 * Who a container netns belongs to, from the runtimes' APIs (Docker Engine API,
 * Podman's compatible API), else from the cgroup path of a task in it, else
 * its ip netns name, else a process in it.  Never asked on the packet path.
 */
struct mace_container {
	size_t sz;		/* see "ABI" above */
	uint32_t netns;		/* inode of its netns */
	int32_t pid;		/* a process in it (lowest seen); 0 if none */
	char runtime[16];	/* "docker", "podman", "containerd", "cri-o",
				 * "kubernetes" (cgroup path only); "" if none */
	char id[72];		/* full container ID; "" if none */
	char name[128];		/* container name, else ip netns name, else "pid N" */
	char image[256];	/* "" unless an API answered */
	/* Kubernetes, from the CRI labels; "" if absent */
	char pod[128];		/* io.kubernetes.pod.name */
	char pod_namespace[64];	/* io.kubernetes.pod.namespace */
	char pod_container[64];	/* io.kubernetes.container.name */
};

struct mace_containers_opts {
	size_t sz;		/* sizeof(struct mace_containers_opts): see "ABI" above */
	/* NULL: $DOCKER_HOST (unix://PATH), else /run/docker.sock; "": not asked */
	const char *docker_socket;
	/* NULL: $CONTAINER_HOST (unix://PATH), else /run/podman/podman.sock; "": not asked */
	const char *podman_socket;
	unsigned int timeout_ms;	/* per API request; 0: 500 */
	/* A thread refreshes this often (and at once on a lookup miss); 0: only
	 * mace_containers_refresh() does. */
	unsigned int refresh_ms;
};
#define MACE_CONTAINERS_OPTS_INIT { .sz = sizeof(struct mace_containers_opts) }

struct mace_containers;
/* Resolves once before returning.  NULL + errno. */
struct mace_containers *mace_containers_new(const struct mace_containers_opts *opts);
/* Asks the runtimes and /proc again, now. */
int mace_containers_refresh(struct mace_containers *c);
/* Fills out (up to out->sz bytes) for netns; -ENOENT if it is unknown yet. */
int mace_containers_find(struct mace_containers *c, uint32_t netns, struct mace_container *out);
/* The container named spec: its name, pod name, full ID or a unique ID
 * prefix.  -ENOENT (unknown) or -EEXIST (ambiguous), with the close
 * matches in err. */
int mace_containers_select(struct mace_containers *c, const char *spec,
			   struct mace_container *out, char *err, size_t errlen);
/* "pod/namespace" for a Kubernetes container, else its name. */
const char *mace_container_label(const struct mace_container *ct, char *buf, size_t size);
void mace_containers_free(struct mace_containers *c);

/* ---- asking `mace serve --socket` (no privileges, no BPF) ---------------- */

/* A server answers each caller from the records of the caller's own network
 * namespace, as the kernel names it; see mace-serve(8). */
struct mace_client;
/* Connects to a server's socket and checks it speaks this protocol.  NULL +
 * errno (the reason also goes to the log hook). */
struct mace_client *mace_client_open(const char *socket_path);
/* As mace_session_overhead, answered by the server about the caller's netns
 * (probe->netns 0), or about the netns probe->netns names (only root in the
 * server's netns may name another).  The server waits up to timeout_ms
 * (0..10000) for records it has not seen yet.  Returns 0 (both directions
 * matched), -ENOENT (a direction has no record or several: out's how says
 * which), -ENXIO (the server does not monitor that netns), -EACCES (naming
 * that netns is not allowed), or, when no answer came, -EINVAL, -ETIMEDOUT,
 * -ECONNRESET, -EPROTO or -EBUSY (then open a new client). */
int mace_client_overhead(struct mace_client *c, const struct mace_probe *probe, int timeout_ms,
			 struct mace_overhead *out);
/* The records behind the last answer of mace_client_overhead (segments,
 * flow, path_id); a direction without a match is all zero but sz.  Either
 * pointer may be NULL.  0 or -EINVAL. */
int mace_client_records(const struct mace_client *c, struct mace_record *egress,
			struct mace_record *ingress);
/* Records of the caller's netns (netns 0) that started in [from_ns, to_ns],
 * by start time, at most max (up to 1024); set recs[0].sz, the stride of the
 * array.  *more tells that later ones are left (ask again from the last
 * ts_ns + 1).  Returns how many, or as above (-ENXIO, -EACCES, ...). */
int mace_client_window(struct mace_client *c, uint32_t netns, uint64_t from_ns, uint64_t to_ns,
		       struct mace_record *recs, unsigned int max, bool *more);
/* The server's path name (as mace_session_path_name). */
const char *mace_client_path_name(const struct mace_client *c);
void mace_client_close(struct mace_client *c);

#ifdef __cplusplus
}
#endif
#endif /* MACE_H */
