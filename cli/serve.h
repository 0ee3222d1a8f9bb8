/* SPDX-License-Identifier: MIT */
/*
 * mace serve: per-container overhead for Prometheus.  The main loop
 * (cmd_serve.c) owns the sessions and the metrics model (serve_metrics.c);
 * once a second it renders the exposition into a snapshot that the HTTP
 * server (serve_http.c, libmicrohttpd threads) hands to scrapers, so a
 * scrape never waits for capture and capture never waits for a scrape.
 */
#ifndef MACE_CLI_SERVE_H
#define MACE_CLI_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handover.h"
#include "mace.h"

/* Default --listen: loopback, and a port above the Prometheus default port
 * allocations' exporter range 9100-9999, which is exhausted. */
#define SERVE_DEFAULT_ADDR "127.0.0.1"
#define SERVE_DEFAULT_PORT 10127
/* A removed container's series stay this long (--grace), so scrapes see
 * their last counts, then disappear. */
#define SERVE_DEFAULT_GRACE_S 120

/* Histogram edges: le = 2^k ns for k in [LE_MIN_SHIFT, LE_MAX_SHIFT]
 * (1.024 us .. 1.07 s).  Each is an edge of the library's log-linear
 * buckets, so re-bucketing moves no latency across an le. */
#define SERVE_LE_MIN_SHIFT 10
#define SERVE_LE_MAX_SHIFT 30
#define SERVE_NLE (SERVE_LE_MAX_SHIFT - SERVE_LE_MIN_SHIFT + 1)

/* serve_labels.c: what a container is called.  The one place names come
 * from; empty pod/namespace are left out of the labels.  False when the
 * name is not known yet (a placeholder, asked again later). */
struct serve_labels {
	char container[128];
	char pod[128];
	char namespace[64];
};
bool serve_container_labels(uint32_t netns, struct serve_labels *out);

/* serve_metrics.c: the model, cumulative since each container was first seen. */
struct serve_series {
	uint64_t bucket[SERVE_NLE + 1];	/* per bucket (not cumulated); last: above the top le */
	uint64_t count;
	long double sum_ns;
};

struct serve_container {
	uint32_t netns;
	struct serve_labels labels;
	bool named;			/* labels from the resolver, not a placeholder */
	struct serve_series dir[2];
	bool has[2];			/* direction seen */
	uint64_t gone_ns;		/* when it left the session; 0: bound */
};

struct serve_metrics {
	struct serve_container *c;
	unsigned int n, cap;
	uint64_t grace_ns;
	uint64_t dropped;		/* records not counted (no memory) */
	uint64_t removed;		/* records in the series of containers removed */
	/* Set by the caller before rendering. */
	struct mace_counters counters;
	uint64_t window_skipped;
	unsigned int rebinds, rebind_failures;
	const char *path, *backend;
	double start_time;		/* realtime seconds */
};

void serve_metrics_init(struct serve_metrics *m, uint64_t grace_ns);
void serve_metrics_fini(struct serve_metrics *m);
/* A mace_hist_fn: the latencies h holds go to (netns, dir)'s series. */
void serve_metrics_add_hist(uint32_t netns, enum mace_dir dir, const struct mace_hist *h,
			    void *ctx);
/* Marks each container bound or gone (bound() says) at now_ns and drops
 * those gone longer than the grace period. */
void serve_metrics_update(struct serve_metrics *m, uint64_t now_ns,
			  bool (*bound)(uint32_t netns, void *ctx), void *ctx);
unsigned int serve_metrics_bound(const struct serve_metrics *m);
/* The exposition (text format 0.0.4) into a malloc'd buffer.  0 or -errno. */
int serve_metrics_render(const struct serve_metrics *m, char **buf, size_t *len);
/* The landing page: links /metrics, says what is bound (describe: the
 * session's own description, may be NULL).  0 or -errno. */
int serve_index_render(const struct serve_metrics *m, const char *describe, char **buf,
		       size_t *len);

/* cmd_serve.c: the main loop.  One poll() over a signalfd, the session's
 * fd and any extra fds (serve_add_fd); per-interval work in serve_tick. */
struct serve;
typedef int (*serve_fd_fn)(struct serve *sv, short revents, void *ctx);
#define SERVE_MAX_FDS 16
struct serve_fd {
	int fd;
	short events;
	serve_fd_fn ready;	/* returns 0, or an exit code to stop with */
	void *ctx;
};
struct serve {
	struct cli_opts *o;
	struct cli_handover h;	/* the session, handed over as containers come and go */
	struct serve_metrics m;
	struct serve_http *http;	/* NULL: --socket without --listen */
	struct serve_socket *sock;	/* --socket, or NULL */
	char *describe;		/* the session's description, for the landing page */
	unsigned int described;	/* rebinds when it was taken */
	struct serve_fd fds[SERVE_MAX_FDS]; /* extra fds, polled with the others */
	unsigned int nfds;
	int stop;		/* exit code once set to stop; -1 while running */
};
/* Adds fd to the loop's poll(); ready(revents) is called when it fires.
 * 0 or -ENOSPC. */
int serve_add_fd(struct serve *sv, int fd, short events, serve_fd_fn ready, void *ctx);
void serve_del_fd(struct serve *sv, int fd);

/* serve_http.c */
struct serve_http;
/* Listens on "ADDR:PORT" ("[ADDR6]:PORT" for IPv6).  NULL with a message in err. */
struct serve_http *serve_http_start(const char *listen, char *err, size_t errlen);
/* Replaces what scrapes get; takes both buffers (malloc'd).  Scrapes being
 * answered keep the snapshot they started with. */
void serve_http_publish(struct serve_http *h, char *metrics, size_t mlen, char *index,
			size_t ilen);
/* Stops the server (closes connections, joins its threads) and frees it. */
void serve_http_stop(struct serve_http *h);
/* Parses "ADDR:PORT", "[ADDR6]:PORT", ":PORT" or "ADDR" (default port).
 * 0 or -EINVAL. */
int serve_parse_listen(const char *s, void *sockaddr_storage, unsigned int *socklen);

#endif /* MACE_CLI_SERVE_H */
