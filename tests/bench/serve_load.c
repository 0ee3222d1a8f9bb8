/* SPDX-License-Identifier: MIT */
/*
 * Load on the serve socket (lib/serve_server.c): C clients x N probe queries
 * each, every one timed; no answer may be lost.  Baseline of the same run: a
 * bare echo server on the same kind of socket, answering every request with
 * a reply of the same size, so the figure says what mace adds to the
 * transport.  Arms interleave over rounds; medians are printed.
 *
 *	serve_load [-c CLIENTS] [-n QUERIES] [-r ROUNDS] [-k RECORDS]
 *
 * The server holds RECORDS records of the clients' netns (a full ring by
 * default), so each lookup scans what a busy container's would.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mace_int.h"
#include "serve_proto.h"
#include "serve_server.h"

#define MS 1000000ull

static uint32_t own_netns;
static uint64_t t0;

static uint64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static bool monitored(uint32_t netns, void *ctx)
{
	return netns == own_netns;
}

static void run_mace(const char *sock, unsigned int records, unsigned int clients)
{
	struct mace_server_opts o = { .socket_path = sock, .group = (gid_t)-1, .keep = records,
				      .max_conns_netns = clients, .monitored = monitored };
	struct mace_server *srv;
	char err[256];
	unsigned int i;

	srv = mace__server_new(&o, err, sizeof(err));
	if (!srv) {
		fprintf(stderr, "serve_load: %s\n", err);
		_exit(1);
	}
	/* Client k asks about echo id k + 1, seq 1..records/2/clients. */
	for (i = 0; i < records / 2; i++) {
		struct mace_record r = { .sz = sizeof(r), .latency_ns = 10000 + i,
					 .proto = IPPROTO_ICMP, .netns = own_netns };

		r.id = i % clients + 1;
		r.seq = i / clients + 1;
		r.ts_ns = t0 + i * 1000;
		r.dir = MACE_EGRESS;
		mace__server_add(srv, &r);
		r.ts_ns += 500;
		r.dir = MACE_INGRESS;
		mace__server_add(srv, &r);
	}
	for (;;)
		mace__server_poll(srv, 1000);
}

/* The baseline: reads requests as the server does, answers each with a
 * FOUND reply of a probe answer's size. */
static void run_echo(const char *sock)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	uint8_t rep[MACE_SP_REP_HDR + MACE_SP_PROBE_REPLY];
	int lfd, ep = epoll_create1(0);
	struct epoll_event e = { .events = EPOLLIN };

	memset(rep, 0, sizeof(rep));
	mace__sp_encode_reply_hdr(rep, MACE_SP_PROBE, MACE_SP_FOUND, MACE_SP_PROBE_REPLY);
	strcpy(a.sun_path, sock);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 64))
		_exit(1);
	e.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
	for (;;) {
		struct epoll_event ev[64];
		int n = epoll_wait(ep, ev, 64, -1), i;

		for (i = 0; i < n; i++) {
			uint8_t req[MACE_SP_REQ_HDR + MACE_SP_PROBE_BODY];
			int fd = ev[i].data.fd;

			if (fd == lfd) {
				e.data.fd = accept(lfd, NULL, NULL);
				epoll_ctl(ep, EPOLL_CTL_ADD, e.data.fd, &e);
			} else if (recv(fd, req, sizeof(req), MSG_WAITALL) != sizeof(req)) {
				close(fd);
			} else if (send(fd, rep, sizeof(rep), MSG_NOSIGNAL) != sizeof(rep)) {
				close(fd);
			}
		}
	}
}

struct result {
	uint64_t answered, found;
	uint64_t lat[];		/* ns per query */
};

static int read_full(int fd, uint8_t *b, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, b, n, 0);

		if (r <= 0)
			return -1;
		b += r;
		n -= r;
	}
	return 0;
}

static void client(const char *sock, unsigned int k, unsigned int queries,
		   unsigned int per_client, struct result *res)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	uint8_t req[MACE_SP_REQ_HDR + MACE_SP_MAX_REQ_BODY];
	uint8_t rep[MACE_SP_REP_HDR + MACE_SP_PROBE_REPLY];
	struct mace_sp_request q = { .type = MACE_SP_PROBE };
	unsigned int i;
	int fd;

	strcpy(a.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)))
		_exit(1);
	for (i = 0; i < queries; i++) {
		uint8_t type, status;
		uint32_t len;
		uint64_t t;
		size_t n;

		q.probe.probe = (struct mace_probe){ .proto = IPPROTO_ICMP, .id = k + 1,
						     .seq = i % per_client + 1, .sent_ns = t0,
						     .recv_ns = t0 + 60000 * MS };
		n = mace__sp_encode_request(&q, req);
		t = mono();
		if (send(fd, req, n, MSG_NOSIGNAL) != (ssize_t)n ||
		    read_full(fd, rep, MACE_SP_REP_HDR) ||
		    mace__sp_parse_reply_hdr(rep, &type, &status, &len) ||
		    len != MACE_SP_PROBE_REPLY || read_full(fd, rep + MACE_SP_REP_HDR, len))
			break;
		res->lat[i] = mono() - t;
		res->answered++;
		res->found += status == MACE_SP_FOUND;
	}
	_exit(0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct arm_run {
	double p50_us, p99_us, qps;
	uint64_t answered, found;
};

static int run_arm(bool mace, unsigned int clients, unsigned int queries, unsigned int records,
		   struct arm_run *out)
{
	size_t one = sizeof(struct result) + queries * sizeof(uint64_t);
	char dir[] = "/tmp/mace-load.XXXXXX", sock[64];
	uint64_t *all, start, n = 0;
	struct result *res;
	unsigned int k;
	pid_t srv;
	int st, ok = 0;

	if (!mkdtemp(dir))
		return -1;
	snprintf(sock, sizeof(sock), "%s/s", dir);
	res = mmap(NULL, one * clients, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	all = malloc((size_t)clients * queries * sizeof(*all));
	if (res == MAP_FAILED || !all)
		return -1;
	memset(res, 0, one * clients);
	t0 = mono();	/* the records are this young: none ages out during the arm */
	srv = fork();
	if (srv == 0) {
		if (mace)
			run_mace(sock, records, clients);
		run_echo(sock);
	}
	for (k = 0; k < 500; k++) {
		struct stat s;

		if (!stat(sock, &s))
			break;
		usleep(10000);
	}
	usleep(100000);	/* the records are in */
	start = mono();
	for (k = 0; k < clients; k++)
		if (fork() == 0)
			client(sock, k, queries, records / 2 / clients,
			       (struct result *)((char *)res + k * one));
	for (k = 0; k < clients; k++)
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			ok = -1;
	out->qps = (double)clients * queries / ((mono() - start) / 1e9);
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	out->answered = out->found = 0;
	for (k = 0; k < clients; k++) {
		struct result *r = (struct result *)((char *)res + k * one);

		out->answered += r->answered;
		out->found += r->found;
		memcpy(all + n, r->lat, r->answered * sizeof(*all));
		n += r->answered;
	}
	qsort(all, n, sizeof(*all), cmp_u64);
	out->p50_us = n ? all[n / 2] / 1e3 : 0;
	out->p99_us = n ? all[n * 99 / 100] / 1e3 : 0;
	free(all);
	munmap(res, one * clients);
	unlink(sock);
	rmdir(dir);
	return ok;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	unsigned int clients = 8, queries = 10000, rounds = 3, records = 8192, r;
	double p50[2][16], p99[2][16], qps[2][16];
	uint64_t lost = 0, notfound = 0;
	struct stat st;
	int opt;

	while ((opt = getopt(argc, argv, "c:n:r:k:")) != -1) {
		switch (opt) {
		case 'c': clients = atoi(optarg); break;
		case 'n': queries = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'k': records = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: serve_load [-c CLIENTS] [-n QUERIES] [-r ROUNDS] "
				"[-k RECORDS]\n");
			return 2;
		}
	}
	if (!clients || clients > 64 || !queries || !rounds || rounds > 16 ||
	    records < 2 * clients || stat("/proc/self/ns/net", &st)) {
		fprintf(stderr, "serve_load: bad arguments\n");
		return 2;
	}
	own_netns = (uint32_t)st.st_ino;
	for (r = 0; r < rounds; r++) {
		for (int arm = 0; arm < 2; arm++) {	/* echo, then mace: interleaved */
			struct arm_run a;

			if (run_arm(arm == 1, clients, queries, records, &a)) {
				fprintf(stderr, "serve_load: a client or the server failed\n");
				return 1;
			}
			p50[arm][r] = a.p50_us;
			p99[arm][r] = a.p99_us;
			qps[arm][r] = a.qps;
			lost += (uint64_t)clients * queries - a.answered;
			if (arm == 1)
				notfound += a.answered - a.found;
		}
	}
	printf("%-22s %10s %10s %12s\n", "arm (median of rounds)", "p50 us", "p99 us", "queries/s");
	printf("%-22s %10.1f %10.1f %12.0f\n", "unix echo (baseline)", median(p50[0], rounds),
	       median(p99[0], rounds), median(qps[0], rounds));
	printf("%-22s %10.1f %10.1f %12.0f\n", "mace serve --socket", median(p50[1], rounds),
	       median(p99[1], rounds), median(qps[1], rounds));
	printf("%u clients x %u queries x %u rounds per arm, %u records in the ring: "
	       "%llu answers lost, %llu not found\n", clients, queries, rounds, records,
	       (unsigned long long)lost, (unsigned long long)notfound);
	return lost || notfound ? 1 : 0;
}
