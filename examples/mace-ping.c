/* SPDX-License-Identifier: MIT */
/*
 * mace-ping: an ICMP echo prober that subtracts, per probe, the latency the
 * container's virtual network added (egress of the request + ingress of the
 * reply), as the MACE poster's RTT table does.  Written against include/mace.h
 * only.
 *
 *	mace-ping [-c N] [-i SEC] [-p PATH] [-b bpf|ftrace] [-s datagram|raw] [-U]
 *		  [--server SOCKET] DEST
 *
 * It traces by itself (root), or with --server asks `mace serve --socket`,
 * which answers about this container's own packets: no privileges then.
 *
 * Raw RTT: CLOCK_MONOTONIC read right before sendto() to the kernel's receive
 * timestamp (SO_TIMESTAMPNS, realtime, moved to monotonic with the session's
 * offset), so user-space wake-up time is not part of either figure; with -U,
 * to the time recvmsg() returned.  The default path is the one whose ends
 * match those stamps (mace_path_for_rx_stamp).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mace.h>

#define PAYLOAD 56
#define REPLY_TIMEOUT_NS 1000000000ull
/* After a reply, how long to wait for the records of its packets. */
#define RECORD_WAIT_NS 50000000ull

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mace-ping [-c N] [-i SEC] [-p PATH] [-b bpf|ftrace] "
		   "[-s datagram|raw] [-U] [--server SOCKET] DEST\n");
}

static uint16_t icmp_cksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

struct pinger {
	int fd;
	bool raw;
	bool user_rx;		/* RTT ends when recvmsg() returns, not at the kernel timestamp */
	uint16_t id;		/* echo id on the wire (the kernel's for datagram sockets) */
	struct sockaddr_in dest;
	struct mace_session *s;
	struct mace_client *client;	/* --server: asked instead of s */
	int64_t rt_offset;		/* realtime - monotonic, without a session */
};

/* Realtime minus monotonic, read where the two reads are closest. */
static int64_t realtime_offset(void)
{
	int64_t best = 0, gap = INT64_MAX;
	int i;

	for (i = 0; i < 5; i++) {
		struct timespec a, r, b;
		int64_t ta, tb, tr;

		clock_gettime(CLOCK_MONOTONIC, &a);
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_MONOTONIC, &b);
		ta = a.tv_sec * 1000000000ll + a.tv_nsec;
		tb = b.tv_sec * 1000000000ll + b.tv_nsec;
		tr = r.tv_sec * 1000000000ll + r.tv_nsec;
		if (tb - ta < gap) {
			gap = tb - ta;
			best = tr - (ta + (tb - ta) / 2);
		}
	}
	return best;
}

static int open_socket(struct pinger *p)
{
	struct sockaddr_in me = { .sin_family = AF_INET };
	socklen_t len = sizeof(me);
	int on = 1;

	p->fd = socket(AF_INET, p->raw ? SOCK_RAW : SOCK_DGRAM, IPPROTO_ICMP);
	if (p->fd < 0) {
		fprintf(stderr, "mace-ping: %s ICMP socket: %s%s\n", p->raw ? "raw" : "datagram",
			strerror(errno), p->raw ? "" :
			" (is this group in net.ipv4.ping_group_range?)");
		return -1;
	}
	if (setsockopt(p->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on))) {
		perror("mace-ping: SO_TIMESTAMPNS");
		return -1;
	}
	if (p->raw) {
		p->id = getpid() & 0xffff;
		return 0;
	}
	/* Binding picks the echo id the kernel will write into every request. */
	if (bind(p->fd, (struct sockaddr *)&me, sizeof(me)) ||
	    getsockname(p->fd, (struct sockaddr *)&me, &len)) {
		perror("mace-ping: bind");
		return -1;
	}
	p->id = ntohs(me.sin_port);
	return 0;
}

static int send_echo(struct pinger *p, uint16_t seq, uint64_t *sent_ns)
{
	uint8_t pkt[sizeof(struct icmphdr) + PAYLOAD];
	struct icmphdr *h = (struct icmphdr *)pkt;
	size_t i;

	memset(pkt, 0, sizeof(pkt));
	h->type = ICMP_ECHO;
	h->un.echo.id = htons(p->id);
	h->un.echo.sequence = htons(seq);
	for (i = sizeof(*h); i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)i;
	h->checksum = icmp_cksum(pkt, sizeof(pkt));
	*sent_ns = mace_now_ns();
	if (sendto(p->fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&p->dest,
		   sizeof(p->dest)) < 0) {
		fprintf(stderr, "mace-ping: sendto %s: %s\n", inet_ntoa(p->dest.sin_addr),
			strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Reads one datagram.  1: our reply to seq (recv_ns set), 0: something else,
 * -1: error.  recv_ns is the kernel's receive timestamp, or with user_rx the
 * time recvmsg() returned: a path that ends at the receive syscall's exit
 * (syscalls) must be subtracted from an RTT that ends there too.
 */
static int read_reply(struct pinger *p, uint16_t seq, uint64_t *recv_ns)
{
	uint8_t buf[1500], ctl[256];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	const struct icmphdr *h;
	struct cmsghdr *c;
	ssize_t n = recvmsg(p->fd, &msg, MSG_DONTWAIT);
	uint64_t user_ns = mace_now_ns();
	size_t off = 0;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (p->raw) {	/* raw sockets see the IP header and every ICMP message */
		if (n < (ssize_t)sizeof(struct iphdr))
			return 0;
		off = (buf[0] & 0x0f) * 4;
	}
	if (n < (ssize_t)(off + sizeof(*h)))
		return 0;
	h = (const struct icmphdr *)(buf + off);
	if (h->type != ICMP_ECHOREPLY || ntohs(h->un.echo.sequence) != seq ||
	    (p->raw && ntohs(h->un.echo.id) != p->id))
		return 0;
	*recv_ns = 0;
	if (p->user_rx) {
		*recv_ns = user_ns;
		return 1;
	}
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			int64_t rt;

			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			rt = (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
			*recv_ns = (uint64_t)(rt - (p->s ? mace_session_realtime_offset(p->s)
							   : p->rt_offset));
		}
	}
	if (!*recv_ns) {	/* no kernel timestamp: fall back to now, and say so */
		fprintf(stderr, "mace-ping: reply %u without SO_TIMESTAMPNS\n", seq);
		*recv_ns = mace_now_ns();
	}
	return 1;
}

/* Polls the session and the socket until the reply arrives or deadline passes. */
static int wait_reply(struct pinger *p, uint16_t seq, uint64_t deadline, uint64_t *recv_ns)
{
	struct pollfd fds[2] = { { p->fd, POLLIN, 0 },
				 { p->s ? mace_session_fd(p->s) : -1, POLLIN, 0 } };
	uint64_t now;
	int r;

	while (!stop && (now = mace_now_ns()) < deadline) {
		int ms = (int)((deadline - now) / 1000000) + 1;

		/* The session may hold records that never wake its fd: poll it often. */
		if (poll(fds, fds[1].fd >= 0 ? 2 : 1, ms < 10 ? ms : 10) < 0 && errno != EINTR) {
			perror("mace-ping: poll");
			return -1;
		}
		r = p->s ? mace_session_poll(p->s, 0) : 0;
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "mace-ping: session: %s\n", strerror(-r));
			return -1;
		}
		if (fds[0].revents & POLLIN) {
			r = read_reply(p, seq, recv_ns);
			if (r)
				return r;
		}
	}
	return 0;
}

static const char *how_name(enum mace_match_how how)
{
	switch (how) {
	case MACE_MATCH_KEY: return "key";
	case MACE_MATCH_WINDOW: return "window";
	case MACE_MATCH_AMBIGUOUS: return "ambiguous";
	default: return "no record";
	}
}

/* Looks the probe up, polling the session until its records are in or time runs out. */
static int lookup(struct pinger *p, struct mace_probe *probe, struct mace_overhead *o)
{
	uint64_t deadline = mace_now_ns() + RECORD_WAIT_NS;
	int r;

	if (p->client)	/* the server waits for the records; -ENXIO: not monitored */
		return mace_client_overhead(p->client, probe, RECORD_WAIT_NS / 1000000, o);
	for (;;) {
		r = mace_session_overhead(p->s, probe, o);
		if (r != -ENOENT || o->egress_how == MACE_MATCH_AMBIGUOUS ||
		    o->ingress_how == MACE_MATCH_AMBIGUOUS || mace_now_ns() >= deadline || stop)
			return r;
		r = mace_session_poll(p->s, 2);
		if (r < 0 && r != -EINTR)
			return r;
	}
}

static void summary_line(const char *what, struct mace_hist *h)
{
	struct mace_summary s = { .sz = sizeof(s) };

	mace_hist_summary(h, &s);
	if (!s.count) {
		printf("%-10s %6s %10s %10s %10s\n", what, "0", "-", "-", "-");
		return;
	}
	printf("%-10s %6" PRIu64 " %10.3f %10.3f %10.3f\n", what, s.count, s.mean / 1e3,
	       s.mode / 1e3, s.count > 1 ? s.stddev / 1e3 : NAN);
}

int main(int argc, char **argv)
{
	struct mace_opts opts = MACE_OPTS_INIT;
	struct pinger p = { .fd = -1 };
	struct mace_hist *h_raw = mace_hist_new(), *h_adj = mace_hist_new();
	struct addrinfo hints = { .ai_family = AF_INET }, *ai;
	unsigned long count = 0, sent = 0, replies = 0, adjusted = 0, negative = 0, i;
	double adj_sum = 0, adj_ss = 0;	/* signed adjusted RTTs, us */
	double interval = 1.0;
	struct mace_counters c = { .sz = sizeof(c) };
	static const struct option long_opts[] = {
		{ "server", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	const char *server = NULL;
	struct stat ns;
	int opt, r, ret = 1;
	char *end;

	opts.netns = "/proc/self/ns/net";
	while ((opt = getopt_long(argc, argv, "c:i:p:b:s:Uh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			count = strtoul(optarg, &end, 10);
			if (*end || !count) {
				fprintf(stderr, "mace-ping: bad count '%s'\n", optarg);
				return 2;
			}
			break;
		case 'i':
			interval = strtod(optarg, &end);
			if (*end || !(interval >= 0.001 && interval <= 3600)) {
				fprintf(stderr, "mace-ping: bad interval '%s' (0.001..3600 s)\n",
					optarg);
				return 2;
			}
			break;
		case 'p':
			opts.path = optarg;
			break;
		case 'b':
			if (!strcmp(optarg, "bpf")) {
				opts.backend = MACE_BACKEND_BPF;
			} else if (!strcmp(optarg, "ftrace")) {
				opts.backend = MACE_BACKEND_FTRACE;
			} else {
				fprintf(stderr, "mace-ping: bad backend '%s' (bpf, ftrace)\n", optarg);
				return 2;
			}
			break;
		case 's':
			if (strcmp(optarg, "datagram") && strcmp(optarg, "raw")) {
				fprintf(stderr, "mace-ping: bad socket '%s' (datagram, raw)\n", optarg);
				return 2;
			}
			p.raw = !strcmp(optarg, "raw");
			break;
		case 'U':
			p.user_rx = true;
			break;
		case 'S':
			server = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (!h_raw || !h_adj) {
		perror("mace-ping");
		return 1;
	}
	r = getaddrinfo(argv[optind], NULL, &hints, &ai);
	if (r) {
		fprintf(stderr, "mace-ping: %s: %s\n", argv[optind], gai_strerror(r));
		return 2;
	}
	memcpy(&p.dest, ai->ai_addr, sizeof(p.dest));
	freeaddrinfo(ai);
	if (stat(opts.netns, &ns)) {
		perror("mace-ping: /proc/self/ns/net");
		return 1;
	}

	if (server) {
		/* The server's path decides where replies must be timed. */
		p.client = mace_client_open(server);
		if (!p.client)
			goto out;	/* the log hook said why */
		p.rt_offset = realtime_offset();
		if (!strcmp(mace_client_path_name(p.client), mace_path_for_rx_stamp(MACE_RX_USER)))
			p.user_rx = true;
		else if (!strcmp(mace_client_path_name(p.client),
				 mace_path_for_rx_stamp(MACE_RX_KERNEL)))
			p.user_rx = false;
		fprintf(stderr, "mace-ping: the server's path is %s: replies timed %s\n",
			mace_client_path_name(p.client),
			p.user_rx ? "when recvmsg() returns" : "by SO_TIMESTAMPNS");
	} else {
		if (!opts.path) {
			opts.path = mace_path_for_rx_stamp(p.user_rx ? MACE_RX_USER : MACE_RX_KERNEL);
			fprintf(stderr, "mace-ping: path %s: replies timed %s (-p overrides)\n",
				opts.path, p.user_rx ? "when recvmsg() returns" : "by SO_TIMESTAMPNS");
		}
		p.s = mace_session_new(&opts);
		if (!p.s && (errno == EPERM || errno == EACCES)) {
			fprintf(stderr, "mace-ping: tracing needs privileges (root, or CAP_BPF and "
				"CAP_PERFMON); without them, ask a mace serve daemon: "
				"--server SOCKET (see mace-serve(8))\n");
			goto out;
		}
		if (!p.s)
			goto out;	/* the log hook said why */
		r = mace_session_keep(p.s, 4096);
		if (!r)
			r = mace_session_start(p.s);
		if (r) {
			fprintf(stderr, "mace-ping: starting the session: %s\n", strerror(-r));
			goto out;
		}
		mace_session_describe(p.s, stderr);
	}
	/* A path ending at the receive syscall's exit needs an RTT ending there too. */
	p.user_rx |= !strncmp(p.s ? mace_session_path_name(p.s) : mace_client_path_name(p.client),
			      "syscalls", 8);
	if (open_socket(&p))
		goto out;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	printf("MACE-PING %s: id %u, %s socket, path %s, backend %s, receive time %s "
	       "(times in us)\n", inet_ntoa(p.dest.sin_addr), p.id, p.raw ? "raw" : "datagram",
	       p.s ? mace_session_path_name(p.s) : mace_client_path_name(p.client),
	       p.s ? mace_session_backend_name(p.s) : server,
	       p.user_rx ? "at recvmsg() return" : "SO_TIMESTAMPNS");
	for (i = 0; !stop && (!count || i < count); i++) {
		uint16_t seq = (uint16_t)(i + 1);
		uint64_t start = mace_now_ns(), next = start + (uint64_t)(interval * 1e9);
		struct mace_probe probe = { .sz = sizeof(probe), .proto = IPPROTO_ICMP, .id = p.id,
					    .seq = seq, .netns = p.client ? 0 : (uint32_t)ns.st_ino };
		struct mace_overhead o = { .sz = sizeof(o) };
		uint64_t rtt;

		if (send_echo(&p, seq, &probe.sent_ns))
			goto out;
		sent++;
		r = wait_reply(&p, seq, probe.sent_ns + REPLY_TIMEOUT_NS, &probe.recv_ns);
		if (r < 0)
			goto out;
		if (r == 0) {
			if (!stop)
				printf("seq=%u timeout\n", seq);
			goto pace;
		}
		replies++;
		rtt = probe.recv_ns > probe.sent_ns ? probe.recv_ns - probe.sent_ns : 0;
		mace_hist_add(h_raw, rtt);
		r = lookup(&p, &probe, &o);
		if (r == 0 && (o.egress_ns + o.ingress_ns < rtt ||
			       (o.egress_how == MACE_MATCH_KEY && o.ingress_how == MACE_MATCH_KEY))) {
			int64_t adj = (int64_t)rtt - (int64_t)(o.egress_ns + o.ingress_ns);

			adjusted++;
			adj_sum += adj / 1e3;
			adj_ss += (adj / 1e3) * (adj / 1e3);
			if (adj >= 0)
				mace_hist_add(h_adj, (uint64_t)adj);
			else
				negative++;
			printf("seq=%u raw=%.3f egress=%.3f ingress=%.3f adjusted=%.3f%s\n", seq,
			       rtt / 1e3, o.egress_ns / 1e3, o.ingress_ns / 1e3, adj / 1e3,
			       adj < 0 ? " (negative: the path measured more than the RTT)" : "");
		} else if (r == 0) {
			/* A time-window guess with more overhead than RTT: not this probe's. */
			printf("seq=%u raw=%.3f overhead unknown (egress %.3f + ingress %.3f "
			       "exceeds the RTT)\n", seq, rtt / 1e3, o.egress_ns / 1e3,
			       o.ingress_ns / 1e3);
		} else if (r == -ENXIO) {
			printf("seq=%u raw=%.3f overhead unknown (the server does not monitor "
			       "this container)\n", seq, rtt / 1e3);
		} else if (r == -ENOENT) {
			printf("seq=%u raw=%.3f overhead unknown (egress: %s, ingress: %s)\n", seq,
			       rtt / 1e3, how_name(o.egress_how), how_name(o.ingress_how));
		} else {
			fprintf(stderr, "mace-ping: overhead lookup: %s\n", strerror(-r));
			goto out;
		}
pace:
		fflush(stdout);
		/* Keep draining the session between probes so the kernel ring never fills. */
		while (!stop && (!count || i + 1 < count) && mace_now_ns() < next) {
			uint64_t left = (next - mace_now_ns()) / 1000000;

			if (!p.s) {
				usleep(left > 10 ? 10000 : left * 1000);
				continue;
			}
			r = mace_session_poll(p.s, left > 10 ? 10 : (int)left);
			if (r < 0 && r != -EINTR) {
				fprintf(stderr, "mace-ping: session: %s\n", strerror(-r));
				goto out;
			}
		}
	}
	ret = 0;
out:
	if (sent) {
		printf("--- %s: %lu sent, %lu replies, %lu adjusted ---\n",
		       inet_ntoa(p.dest.sin_addr), sent, replies, adjusted);
		if (negative)
			printf("%lu adjusted RTTs are negative: the path's ends lie outside the "
			       "probe's stamps\n", negative);
		printf("%-10s %6s %10s %10s %10s\n", "us", "count", "mean", "mode", "sdev");
		summary_line("raw", h_raw);
		if (negative) {
			/* The histogram holds the others: mean and deviation from sums. */
			double mean = adj_sum / adjusted;

			printf("%-10s %6lu %10.3f %10s %10.3f\n", "adjusted", adjusted, mean, "-",
			       adjusted > 1 ? sqrt((adj_ss - adjusted * mean * mean) /
						   (adjusted - 1)) : NAN);
		} else {
			summary_line("adjusted", h_adj);
		}
	}
	if (p.s) {
		r = mace_session_stop(p.s);
		if (r && !ret) {
			fprintf(stderr, "mace-ping: stopping the session: %s\n", strerror(-r));
			ret = 1;
		}
		mace_session_counters(p.s, &c);
		/* every event in one of the counters, so the line adds up */
		fprintf(stderr, "mace-ping: %" PRIu64 " records, %" PRIu64 " events, %" PRIu64
			" matched, %" PRIu64 " unmatched, %" PRIu64 " expired, %" PRIu64
			" replaced, %" PRIu64 " duplicates, %" PRIu64 " pending, %" PRIu64
			" lost, %" PRIu64 " user drops\n", c.records, c.events, c.matched,
			c.unmatched, c.expired, c.replaced, c.duplicates, c.pending, c.lost,
			c.user_drops);
	}
	if (p.fd >= 0)
		close(p.fd);
	mace_client_close(p.client);
	mace_session_free(p.s);
	mace_hist_free(h_raw);
	mace_hist_free(h_adj);
	return ret;
}
