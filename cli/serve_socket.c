/* SPDX-License-Identifier: MIT */
/* mace serve --socket: the socket server in the serve loop (serve_socket.h). */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "mace_int.h"
#include "serve_proto.h"
#include "serve_server.h"
#include "serve_socket.h"

struct serve_socket {
	struct serve *sv;
	const struct cli_opts *o;
	gid_t group;		/* --socket-group, or (gid_t)-1 */
	struct mace_server *srv;
	struct mace_agg *agg;	/* latencies per (netns, dir) since the last take */
	uint64_t agg_drops;
	/* Said to clients (INFO); the session's, once it runs. */
	char path[64], backend[16];
	bool named;
};

static bool monitored(uint32_t netns, void *ctx)
{
	struct serve_socket *ss = ctx;

	return cli_handover_bound(&ss->sv->h, netns);
}

static int ready(struct serve *sv, short revents, void *ctx)
{
	struct serve_socket *ss = ctx;
	int r = mace__server_poll(ss->srv, 0);

	if (r < 0) {
		fprintf(stderr, "mace: serve: socket: %s\n", strerror(-r));
		return EXIT_RUNTIME;
	}
	return 0;
}

static int parse_group(const char *s, gid_t *gid)
{
	struct group *g = getgrnam(s);
	char *end;
	unsigned long v;

	if (g) {
		*gid = g->gr_gid;
		return 0;
	}
	v = strtoul(s, &end, 10);
	if (!*s || *end || v >= (gid_t)-1)
		return -EINVAL;
	*gid = (gid_t)v;
	return 0;
}

unsigned long long serve_socket_max_mib(unsigned int keep)
{
	return (mace__server_max_bytes(keep) + (1 << 20) - 1) >> 20;
}

/* Creates the socket (before tracing starts: a bad path costs nothing). */
static int listen_socket(struct serve_socket *ss)
{
	const struct cli_opts *o = ss->o;
	struct mace_server_opts so = { .socket_path = o->socket, .group = ss->group,
				       .keep = o->socket_keep,
				       .max_age_ns = (uint64_t)(o->socket_age * 1e9),
				       .path_name = ss->path, .backend_name = ss->backend,
				       .monitored = monitored, .ctx = ss };
	char err[256];

	snprintf(ss->path, sizeof(ss->path), "%s", o->path ? o->path : "inner-dev");
	ss->srv = mace__server_new(&so, err, sizeof(err));
	if (!ss->srv) {
		fprintf(stderr, "mace: serve: --socket: %s\n", err);
		return EXIT_RUNTIME;
	}
	if (serve_add_fd(ss->sv, mace__server_fd(ss->srv), POLLIN, ready, ss)) {
		fprintf(stderr, "mace: serve: --socket: too many fds in the loop\n");
		return EXIT_RUNTIME;
	}
	fprintf(stderr, "mace: serve: answering on %s (mode %s)\n", o->socket,
		o->socket_group ? "0660" : "0666");
	return 0;
}

int serve_socket_new(struct serve *sv, const struct cli_opts *o, struct serve_socket **out)
{
	struct serve_socket *ss = calloc(1, sizeof(*ss));
	int rc;

	*out = NULL;
	if (!ss || !(ss->agg = mace__agg_new())) {
		fprintf(stderr, "mace: serve: %s\n", strerror(errno));
		serve_socket_stop(ss);
		return EXIT_RUNTIME;
	}
	ss->sv = sv;
	ss->o = o;
	ss->group = (gid_t)-1;
	if (o->socket_group && parse_group(o->socket_group, &ss->group)) {
		fprintf(stderr, "mace: serve: --socket-group: no group '%s'\n", o->socket_group);
		serve_socket_stop(ss);
		return EXIT_USAGE;
	}
	rc = listen_socket(ss);
	if (rc) {
		serve_socket_stop(ss);
		return rc;
	}
	*out = ss;
	return 0;
}

void serve_socket_record(const struct mace_record *rec, void *ctx)
{
	struct serve_socket *ss = ctx;
	struct mace_hist *h = mace__agg_hist(ss->agg, rec->netns, rec->dir & 1);

	mace__server_add(ss->srv, rec);
	if (h)
		mace_hist_add(h, rec->latency_ns);
	else
		ss->agg_drops++;
}

void serve_socket_run(struct serve_socket *ss)
{
	int r;

	if (!ss)
		return;
	if (!ss->named && ss->sv->h.s) {
		/* before any request is read: clients time replies by the path */
		snprintf(ss->path, sizeof(ss->path), "%s", mace_session_path_name(ss->sv->h.s));
		snprintf(ss->backend, sizeof(ss->backend), "%s",
			 mace_session_backend_name(ss->sv->h.s));
		ss->named = true;
	}
	r = mace__server_poll(ss->srv, 0);
	if (r < 0)
		fprintf(stderr, "mace: serve: socket: %s\n", strerror(-r));
}

void serve_socket_take(struct serve_socket *ss, mace_hist_fn fn, void *ctx)
{
	mace__agg_take(ss->agg, fn, ctx);
}

void serve_socket_stop(struct serve_socket *ss)
{
	struct mace_server_stats st;

	if (!ss)
		return;
	if (ss->srv) {
		serve_del_fd(ss->sv, mace__server_fd(ss->srv));
		mace__server_stats(ss->srv, &st);
		fprintf(stderr, "mace: serve: socket: %llu connections (%llu refused busy, %llu "
			"unidentified, %llu in another time namespace), %llu requests (%llu malformed, %llu too slow); answers: "
			"%llu found, %llu not found, %llu ambiguous, %llu not monitored, %llu "
			"denied; records %llu kept, %llu evicted, %llu expired, %llu dropped\n",
			(unsigned long long)st.accepted, (unsigned long long)st.refused_busy,
			(unsigned long long)st.unidentified, (unsigned long long)st.other_clock,
			(unsigned long long)st.requests,
			(unsigned long long)st.malformed, (unsigned long long)st.slow,
			(unsigned long long)st.answers[MACE_SP_FOUND],
			(unsigned long long)st.answers[MACE_SP_NOT_FOUND],
			(unsigned long long)st.answers[MACE_SP_AMBIGUOUS],
			(unsigned long long)st.answers[MACE_SP_NOT_MONITORED],
			(unsigned long long)st.answers[MACE_SP_DENIED],
			(unsigned long long)st.records, (unsigned long long)st.evicted,
			(unsigned long long)st.expired,
			(unsigned long long)(st.dropped + ss->agg_drops));
		mace__server_free(ss->srv);
	}
	mace__agg_free(ss->agg);
	free(ss);
}
