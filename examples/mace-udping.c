/* SPDX-License-Identifier: MIT */
/*
 * mace-udping: a UDP round-trip prober that corrects its own RTTs through
 * `mace serve --socket`, with no privileges: for each probe it asks the
 * server for the egress overhead of the datagram it sent and the ingress
 * overhead of the reply, by their ports.  Written against include/mace.h only.
 *
 *	mace-udping --server SOCKET [-c N] [-i SEC] [-w MS] DEST PORT
 *	mace-udping --echo PORT		(the other end: echoes every datagram)
 *
 * Each probe comes from a socket of its own, bound to the next port of a
 * range of PORTS, so no port repeats within a second of probes: a flow's
 * ports are what tells its records from the previous probe's (the kernel's
 * random ephemeral ports repeat now and then, and the answer is then
 * "ambiguous").
 * Raw RTT: CLOCK_MONOTONIC right before send() to the reply's receive time,
 * taken where the server's path ends (mace_path_for_rx_stamp): the kernel's
 * timestamp (SO_TIMESTAMPNS) for rx-stamp, else when recvmsg() returns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mace.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int64_t realtime_offset(void)
{
	struct timespec m, r;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	return (r.tv_sec - m.tv_sec) * 1000000000ll + (r.tv_nsec - m.tv_nsec);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mace-udping --server SOCKET [-c N] [-i SEC] [-w MS] DEST PORT\n"
		   "       mace-udping --echo PORT\n");
}

static int echo(const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(port)) };
	struct sockaddr_storage from;
	char buf[2048];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("mace-udping: echo");
		return 1;
	}
	while (!stop) {
		socklen_t len = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);

		if (n >= 0)
			sendto(fd, buf, n, 0, (struct sockaddr *)&from, len);
		else if (errno != EINTR)
			perror("mace-udping: recvfrom");
	}
	close(fd);
	return 0;
}

#define PORTS 4096
#define FIRST_PORT 40000

/* Binds fd to the next free port of the range; 0, or -1 if none is. */
static int bind_next_port(int fd)
{
	static unsigned int next;
	int tries;

	if (!next)
		next = (unsigned int)getpid();
	for (tries = 0; tries < 64; tries++) {
		struct sockaddr_in me = { .sin_family = AF_INET,
					  .sin_port = htons(FIRST_PORT + next++ % PORTS) };

		if (!bind(fd, (struct sockaddr *)&me, sizeof(me)))
			return 0;
		if (errno != EADDRINUSE)
			return -1;
	}
	return -1;
}

/* One probe: sends seq, waits for its echo.  1 and the times on a reply, 0
 * on timeout, -1 on error; *sport is the port it came from. */
static int probe_once(const struct sockaddr_in *dest, uint32_t seq, uint64_t *sent,
		      uint64_t *recv_ns, uint16_t *sport, bool kernel_rx, int64_t rt_offset)
{
	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	uint8_t buf[64], ctl[128];
	int fd, on = 1, r = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) ||
	    bind_next_port(fd) || connect(fd, (const struct sockaddr *)dest, sizeof(*dest)) ||
	    getsockname(fd, (struct sockaddr *)&me, &len)) {
		perror("mace-udping: socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*sport = ntohs(me.sin_port);
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &seq, sizeof(seq));
	*sent = mace_now_ns();
	if (send(fd, buf, sizeof(buf), 0) < 0) {
		perror("mace-udping: send");
		close(fd);
		return -1;
	}
	while (!stop && mace_now_ns() < *sent + 1000000000ull) {
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
				      .msg_controllen = sizeof(ctl) };
		struct pollfd p = { fd, POLLIN, 0 };
		struct cmsghdr *c;
		uint32_t got;
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recvmsg(fd, &msg, 0);
		if (n < (ssize_t)sizeof(got))
			continue;
		memcpy(&got, buf, sizeof(got));
		if (got != seq)
			continue;
		*recv_ns = mace_now_ns();
		for (c = CMSG_FIRSTHDR(&msg); kernel_rx && c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;

				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
				*recv_ns = (uint64_t)((int64_t)ts.tv_sec * 1000000000ll +
						      ts.tv_nsec - rt_offset);
			}
		}
		r = 1;
		break;
	}
	close(fd);
	return r;
}

static const char *unknown_why(int r, const struct mace_overhead *o)
{
	if (r == -ENXIO)
		return "this container is not monitored";
	if (r == 0)
		return "egress + ingress exceed the RTT";
	if (o->egress_how == MACE_MATCH_AMBIGUOUS || o->ingress_how == MACE_MATCH_AMBIGUOUS)
		return "ambiguous";
	return "no record";
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "server", required_argument, NULL, 'S' },
		{ "echo", required_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 },
	};
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *ai;
	struct mace_hist *h_raw = mace_hist_new(), *h_adj = mace_hist_new();
	unsigned long count = 10, sent = 0, replies = 0, adjusted = 0, i;
	const char *server = NULL;
	double interval = 1.0;
	int wait_ms = 100, opt, r, ret = 1;
	struct sockaddr_in dest;
	struct mace_client *c;
	struct mace_summary s = { .sz = sizeof(s) };
	bool kernel_rx;
	int64_t rt_offset;
	char *end;
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART: recvfrom returns */

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while ((opt = getopt_long(argc, argv, "c:i:w:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'S':
			server = optarg;
			break;
		case 'E':
			return echo(optarg);
		case 'c':
			count = strtoul(optarg, &end, 10);
			if (*end || !count) {
				fprintf(stderr, "mace-udping: bad count '%s'\n", optarg);
				return 2;
			}
			break;
		case 'i':
			interval = strtod(optarg, &end);
			if (*end || !(interval >= 0.001 && interval <= 3600)) {
				fprintf(stderr, "mace-udping: bad interval '%s'\n", optarg);
				return 2;
			}
			break;
		case 'w':
			wait_ms = (int)strtol(optarg, &end, 10);
			if (*end || wait_ms < 0 || wait_ms > 10000) {
				fprintf(stderr, "mace-udping: bad wait '%s' (0..10000 ms)\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 2) {
		usage(stderr);
		return 2;
	}
	if (!server) {
		fprintf(stderr, "mace-udping: needs a mace serve socket: --server SOCKET "
			"(see mace-serve(8))\n");
		return 2;
	}
	r = getaddrinfo(argv[optind], argv[optind + 1], &hints, &ai);
	if (r) {
		fprintf(stderr, "mace-udping: %s: %s\n", argv[optind], gai_strerror(r));
		return 2;
	}
	memcpy(&dest, ai->ai_addr, sizeof(dest));
	freeaddrinfo(ai);
	c = mace_client_open(server);
	if (!c || !h_raw || !h_adj)
		goto out;	/* the log hook said why */
	rt_offset = realtime_offset();
	kernel_rx = !strcmp(mace_client_path_name(c), mace_path_for_rx_stamp(MACE_RX_KERNEL));
	printf("MACE-UDPING %s:%u: path %s, receive time %s (times in us)\n",
	       inet_ntoa(dest.sin_addr), ntohs(dest.sin_port), mace_client_path_name(c),
	       kernel_rx ? "SO_TIMESTAMPNS" : "at recvmsg() return");
	for (i = 0; !stop && i < count; i++) {
		struct mace_probe p = { .sz = sizeof(p), .proto = IPPROTO_UDP,
					.dport = ntohs(dest.sin_port) };
		struct mace_overhead o = { .sz = sizeof(o) };
		uint64_t next = mace_now_ns() + (uint64_t)(interval * 1e9), rtt;

		r = probe_once(&dest, (uint32_t)i + 1, &p.sent_ns, &p.recv_ns, &p.sport, kernel_rx,
			       rt_offset);
		if (r < 0)
			goto out;
		sent++;
		if (r == 0) {
			printf("seq=%lu timeout\n", i + 1);
			goto pace;
		}
		replies++;
		rtt = p.recv_ns > p.sent_ns ? p.recv_ns - p.sent_ns : 0;
		mace_hist_add(h_raw, rtt);
		r = mace_client_overhead(c, &p, wait_ms, &o);
		if (r && r != -ENOENT && r != -ENXIO && r != -EACCES) {
			fprintf(stderr, "mace-udping: asking the server: %s\n", strerror(-r));
			goto out;
		}
		if (r == 0 && o.egress_ns + o.ingress_ns < rtt) {
			uint64_t adj = rtt - o.egress_ns - o.ingress_ns;

			adjusted++;
			mace_hist_add(h_adj, adj);
			printf("seq=%lu sport=%u raw=%.3f egress=%.3f ingress=%.3f adjusted=%.3f\n",
			       i + 1, p.sport, rtt / 1e3, o.egress_ns / 1e3, o.ingress_ns / 1e3,
			       adj / 1e3);
		} else {
			printf("seq=%lu sport=%u raw=%.3f overhead unknown (%s)\n", i + 1, p.sport,
			       rtt / 1e3, unknown_why(r, &o));
		}
pace:
		fflush(stdout);
		while (!stop && i + 1 < count && mace_now_ns() < next)
			usleep(1000);
	}
	ret = 0;
out:
	if (sent) {
		printf("--- %s: %lu sent, %lu replies, %lu adjusted ---\n",
		       inet_ntoa(dest.sin_addr), sent, replies, adjusted);
		mace_hist_summary(h_raw, &s);
		printf("raw      p50 %.3f p99 %.3f\n", s.p50 / 1e3, s.p99 / 1e3);
		mace_hist_summary(h_adj, &s);
		printf("adjusted p50 %.3f p99 %.3f\n", s.p50 / 1e3, s.p99 / 1e3);
	}
	mace_client_close(c);
	mace_hist_free(h_raw);
	mace_hist_free(h_adj);
	return ret;
}
