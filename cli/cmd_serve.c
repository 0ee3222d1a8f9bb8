/* SPDX-License-Identifier: MIT */
/*
 * mace serve: binds and follows containers as mace top does, aggregates in
 * the kernel, and serves the metrics over HTTP.  One loop: poll() on a
 * signalfd, the session's fd and the extra fds others add (serve_add_fd);
 * once a second serve_tick takes the latencies, updates the model and
 * publishes a new snapshot for the HTTP threads.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "serve.h"
#include "serve_socket.h"

#define TICK_NS 1000000000ull
/* The session is drained at least this often (ring buffers without wakeups). */
#define POLL_MS 100
/* With --socket: records reach waiting clients this soon. */
#define SOCKET_POLL_MS 10

int serve_add_fd(struct serve *sv, int fd, short events, serve_fd_fn ready, void *ctx)
{
	if (sv->nfds == SERVE_MAX_FDS)
		return -ENOSPC;
	sv->fds[sv->nfds++] = (struct serve_fd){ .fd = fd, .events = events, .ready = ready,
						 .ctx = ctx };
	return 0;
}

void serve_del_fd(struct serve *sv, int fd)
{
	for (unsigned int i = 0; i < sv->nfds; i++) {
		if (sv->fds[i].fd == fd) {
			sv->fds[i] = sv->fds[--sv->nfds];
			return;
		}
	}
}

static bool bound(uint32_t netns, void *ctx)
{
	struct serve *sv = ctx;

	return cli_handover_bound(&sv->h, netns);
}

/* The session's description, again after each rebind. */
static void describe(struct serve *sv)
{
	size_t len;
	FILE *f;

	if (sv->describe && sv->described == sv->h.rebinds)
		return;
	free(sv->describe);
	sv->describe = NULL;
	sv->described = sv->h.rebinds;
	if (!sv->h.s)
		return;
	f = open_memstream(&sv->describe, &len);
	if (!f)
		return;
	mace_session_describe(sv->h.s, f);
	if (sv->h.note[0])
		fprintf(f, "%s\n", sv->h.note);
	fclose(f);
}

/* The model as of now, rendered and handed to the HTTP threads. */
static int publish(struct serve *sv, uint64_t now)
{
	struct serve_metrics *m = &sv->m;
	char *metrics = NULL, *index = NULL;
	size_t mlen, ilen;
	int r;

	cli_handover_counters(&sv->h, &m->counters);
	m->window_skipped = sv->h.window_skipped;
	m->rebinds = sv->h.rebinds;
	m->rebind_failures = sv->h.rebind_failures;
	if (sv->h.s) {
		m->path = mace_session_path_name(sv->h.s);
		m->backend = mace_session_backend_name(sv->h.s);
	}
	serve_metrics_update(m, now, bound, sv);
	if (!sv->http)
		return 0;	/* --socket without --listen */
	describe(sv);
	r = serve_metrics_render(m, &metrics, &mlen);
	if (!r)
		r = serve_index_render(m, sv->h.s ? sv->describe : sv->h.note, &index, &ilen);
	if (r < 0) {
		free(metrics);
		return r;
	}
	serve_http_publish(sv->http, metrics, mlen, index, ilen);
	return 0;
}

/* Per-interval work: containers followed, latencies taken, a new snapshot. */
static int serve_tick(struct serve *sv, uint64_t now)
{
	int r;

	cli_handover_tick(&sv->h);	/* a failure is counted and said in h.note */
	r = cli_handover_take(&sv->h);

	if (sv->sock)	/* records, aggregated in user space */
		serve_socket_take(sv->sock, serve_metrics_add_hist, &sv->m);
	if (r < 0) {
		fprintf(stderr, "mace: serve: reading the histograms: %s\n", strerror(-r));
		return EXIT_RUNTIME;
	}
	r = publish(sv, now);
	if (r < 0) {
		/* scrapes keep getting the previous snapshot */
		fprintf(stderr, "mace: serve: rendering the metrics: %s\n", strerror(-r));
	}
	return 0;
}

static int loop(struct serve *sv, int sfd)
{
	struct pollfd pfd[2 + SERVE_MAX_FDS];
	uint64_t next = mace_now_ns() + TICK_NS, end = 0;
	struct signalfd_siginfo si;
	int r;

	if (sv->o->duration > 0)
		end = mace_now_ns() + (uint64_t)(sv->o->duration * 1e9);
	while (sv->stop < 0) {
		unsigned int i, n = 0;
		uint64_t t;

		pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = sv->h.s ? mace_session_fd(sv->h.s) : -1,
					    .events = POLLIN };
		for (i = 0; i < sv->nfds; i++)
			pfd[n++] = (struct pollfd){ .fd = sv->fds[i].fd, .events = sv->fds[i].events };
		if (poll(pfd, n, sv->sock ? SOCKET_POLL_MS : POLL_MS) < 0 && errno != EINTR) {
			fprintf(stderr, "mace: serve: poll: %s\n", strerror(errno));
			return EXIT_RUNTIME;
		}
		while (read(sfd, &si, sizeof(si)) == sizeof(si))
			if (si.ssi_signo != SIGCHLD)
				sv->stop = EXIT_OK;	/* SIGINT, SIGTERM, SIGHUP */
		r = cli_handover_poll(&sv->h);
		/* the last bound container left: keep what it gave, wait */
		if (r == -ENODEV)
			r = cli_handover_lost(&sv->h);
		if (r < 0) {
			fprintf(stderr, "mace: serve: %s\n", strerror(-r));
			return EXIT_RUNTIME;
		}
		serve_socket_run(sv->sock);
		/* extra fds: a handler may add or remove fds, so match by fd */
		for (i = 2; i < n && sv->stop < 0; i++) {
			if (!pfd[i].revents)
				continue;
			for (unsigned int k = 0; k < sv->nfds; k++) {
				if (sv->fds[k].fd != pfd[i].fd)
					continue;
				r = sv->fds[k].ready(sv, pfd[i].revents, sv->fds[k].ctx);
				if (r)
					sv->stop = r;
				break;
			}
		}
		t = mace_now_ns();
		if (end && t >= end && sv->stop < 0)
			sv->stop = EXIT_OK;
		if (t >= next && sv->stop < 0) {
			r = serve_tick(sv, t);
			if (r)
				return r;
			next = t + TICK_NS;
		}
	}
	return sv->stop;
}

int cmd_serve(int argc, char **argv)
{
	struct serve sv = { .stop = -1 };
	struct mace_counters c = { .sz = sizeof(c) };
	struct cli_opts o;
	struct timespec rt;
	char err[256], listen_default[32];
	sigset_t mask;
	bool started = false;
	int rc, sfd = -1, r;

	rc = cli_parse(argc, argv, CO_SEL | CO_SERVE, &o);
	if (rc)
		return rc;
	if (o.nargs) {
		fprintf(stderr, "mace: serve: unexpected argument '%s'\n", o.args[0]);
		return EXIT_USAGE;
	}
	rc = cli_check_path(&o);
	if (rc)
		return rc;
	if (o.socket) {
		/* per-packet records: the socket answers from them */
		rc = serve_socket_new(&sv, &o, &sv.sock);
		if (rc)
			return rc;
	}
	if (!o.listen && !o.socket) {
		snprintf(listen_default, sizeof(listen_default), "%s:%d", SERVE_DEFAULT_ADDR,
			 SERVE_DEFAULT_PORT);
		o.listen = listen_default;
	}
	o.aggregate = !o.socket;
	sv.o = &o;
	clock_gettime(CLOCK_REALTIME, &rt);
	serve_metrics_init(&sv.m, (uint64_t)((o.grace > 0 ? o.grace : SERVE_DEFAULT_GRACE_S) *
					     1e9));
	sv.m.start_time = rt.tv_sec + rt.tv_nsec / 1e9;

	/* Signals blocked first: the HTTP threads inherit the mask, and a
	 * signal while binding (seconds) is kept for the loop. */
	signal(SIGPIPE, SIG_IGN);
	cli_block_signals();
	sv.http = o.listen ? serve_http_start(o.listen, err, sizeof(err)) : NULL;
	if (o.listen && !sv.http) {
		fprintf(stderr, "mace: serve: --listen %s: %s\n", o.listen, err);
		cli_unblock_signals();
		serve_metrics_fini(&sv.m);
		serve_socket_stop(sv.sock);
		return strstr(err, "bad listen address") ? EXIT_USAGE : EXIT_RUNTIME;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		fprintf(stderr, "mace: serve: signalfd: %s\n", strerror(errno));
		rc = EXIT_RUNTIME;
		goto out;
	}
	/* Histograms kept in the kernel; with --socket, records, which the
	 * socket keeps and serve_socket_take hands to serve_metrics_add_hist in
	 * serve_tick as histograms per (netns, direction).  A daemon may start
	 * before the host's first container: it waits for one. */
	sv.h.o = &o;
	sv.h.follow = !o.netns;
	sv.h.on_hist = serve_metrics_add_hist;
	sv.h.ctx = &sv.m;
	sv.h.on_record = serve_socket_record;
	sv.h.record_ctx = sv.sock;
	rc = cli_handover_open(&sv.h, NULL, true);
	if (rc)
		goto out;
	r = sv.h.s ? mace_session_start(sv.h.s) : 0;
	if (r < 0) {
		fprintf(stderr, "mace: serve: cannot start tracing: %s\n", strerror(-r));
		cli_handover_free(&sv.h);
		rc = EXIT_RUNTIME;
		goto out;
	}
	started = true;
	if (o.listen)
		fprintf(stderr, "mace: serve: listening on %s\n", o.listen);
	r = publish(&sv, mace_now_ns());
	if (r < 0)
		fprintf(stderr, "mace: serve: rendering the metrics: %s\n", strerror(-r));
	rc = loop(&sv, sfd);
out:
	/* No new scrapes, then detach: the last latencies are not served. */
	if (sv.http)
		serve_http_stop(sv.http);
	r = cli_handover_stop(&sv.h);
	if (r < 0) {
		fprintf(stderr, "mace: serve: stopping: %s\n", strerror(-r));
		rc = EXIT_RUNTIME;
	}
	serve_socket_stop(sv.sock);	/* after the session's last records */
	if (started) {
		cli_handover_counters(&sv.h, &c);
		cli_print_counters(stderr, &c);
	}
	cli_handover_free(&sv.h);
	if (sfd >= 0)
		close(sfd);
	cli_unblock_signals();
	free(sv.describe);
	serve_metrics_fini(&sv.m);
	return rc;
}
