/* SPDX-License-Identifier: MIT */
/*
 * UDP ping-pong for the overhead benchmark.
 *
 *	pingpong server PORT                 echo every datagram back (until killed)
 *	pingpong client IP PORT COUNT [GAP_US]  print the median, p10, p90 RTT in ns
 *	pingpong flood IP PORT SECONDS SIZE [PPS]  send as fast as possible (or at PPS
 *	                                     packets/s), print packets sent
 *
 * The client times each probe with CLOCK_MONOTONIC around sendto/recv, so
 * the figure includes both directions of the container's network path.  It
 * first sends WARMUP untimed probes: caches, and a tracer that has just
 * attached, settle before the timed ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int udp_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0) {
		perror("pingpong: socket");
		exit(1);
	}
	return fd;
}

static struct sockaddr_in addr_of(const char *ip, const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(port)) };

	if (ip && inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "pingpong: bad address '%s'\n", ip);
		exit(2);
	}
	return a;
}

static int server(const char *port)
{
	struct sockaddr_in a = addr_of(NULL, port), peer;
	socklen_t plen;
	char buf[2048];
	int fd = udp_socket();

	if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("pingpong: bind");
		return 1;
	}
	for (;;) {
		plen = sizeof(peer);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);
		if (n >= 0)
			sendto(fd, buf, n, 0, (struct sockaddr *)&peer, plen);
	}
}

#define WARMUP 200

static int client(const char *ip, const char *port, long count, long gap_us)
{
	struct sockaddr_in a = addr_of(ip, port);
	struct timeval tv = { .tv_sec = 1 };
	uint64_t *rtt = calloc(count, sizeof(*rtt));
	char buf[64] = { 0 };
	long got = 0;
	int fd = udp_socket();

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("pingpong: connect");
		return 1;
	}
	for (long i = -WARMUP; i < count; i++) {
		memcpy(buf, &i, sizeof(i));	/* a distinct payload per probe */
		uint64_t t0 = now_ns();
		if (send(fd, buf, sizeof(buf), 0) < 0 || recv(fd, buf, sizeof(buf), 0) < 0)
			continue;
		if (i >= 0)
			rtt[got++] = now_ns() - t0;
		if (gap_us)
			usleep(gap_us);
	}
	if (!got) {
		fprintf(stderr, "pingpong: no replies\n");
		return 1;
	}
	qsort(rtt, got, sizeof(*rtt), cmp_u64);
	printf("%llu %llu %llu %ld\n", (unsigned long long)rtt[got / 2],
	       (unsigned long long)rtt[got / 10], (unsigned long long)rtt[got * 9 / 10], got);
	free(rtt);
	return 0;
}

static int flood(const char *ip, const char *port, double seconds, int size, double pps)
{
	struct sockaddr_in a = addr_of(ip, port);
	char buf[1500] = { 0 };
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(seconds * 1e9), sent = 0, now;
	int fd = udp_socket();

	if (size < 1 || size > (int)sizeof(buf))
		size = 64;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("pingpong: connect");
		return 1;
	}
	while ((now = now_ns()) < end) {
		/* Paced: spin until this packet is due (no sleep: timer slack). */
		if (pps > 0 && sent >= (now - t0) * pps / 1e9)
			continue;
		memcpy(buf, &sent, sizeof(sent));
		if (send(fd, buf, size, 0) == size)
			sent++;
		else if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED)
			break;
	}
	printf("%llu\n", (unsigned long long)sent);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(argv[2]);
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "client"))
		return client(argv[2], argv[3], atol(argv[4]), argc == 6 ? atol(argv[5]) : 0);
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "flood"))
		return flood(argv[2], argv[3], atof(argv[4]), atoi(argv[5]),
			     argc == 7 ? atof(argv[6]) : 0);
	fprintf(stderr, "usage: pingpong server PORT | client IP PORT COUNT [GAP_US] | "
			"flood IP PORT SECONDS SIZE [PPS]\n");
	return 2;
}
