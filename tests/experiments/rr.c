/* SPDX-License-Identifier: MIT */
/*
 * Request/response prober for the fidelity experiment: a UDP or TCP client
 * that times each exchange in user space, as most measurement tools do.
 *
 *	rr server udp|tcp PORT
 *	rr client udp|tcp IP PORT COUNT INTERVAL_S
 *
 * The client prints one line per probe, "seq=N rtt_ns=T sent_ns=S", with T
 * measured by CLOCK_MONOTONIC right before send() (S) and right after recv()
 * returns.  Each
 * request and response is one 64-byte message; TCP runs on one connection
 * with TCP_NODELAY, so each probe is one data segment each way.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG 64

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int full_io(int fd, char *buf, int tcp, int sending)
{
	size_t done = 0;

	do {
		ssize_t n = sending ? send(fd, buf + done, MSG - done, 0) :
				      recv(fd, buf + done, MSG - done, 0);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	} while (tcp && done < MSG);
	return 0;
}

static int serve(int tcp, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	char buf[MSG];
	int one = 1, fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || (tcp && listen(fd, 4))) {
		perror("rr server");
		return 1;
	}
	if (!tcp) {
		for (;;) {
			ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);

			if (n > 0)
				sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, plen);
		}
	}
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c < 0)
			continue;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while (!full_io(c, buf, 1, 0) && !full_io(c, buf, 1, 1))
			;
		close(c);
	}
}

static int probe(int tcp, const char *ip, int port, long count, double interval)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	char buf[MSG];
	int one = 1, fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	struct timeval tv = { .tv_sec = 1 };

	if (fd < 0 || inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "rr client: bad address '%s'\n", ip);
		return 2;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("rr client: connect");
		return 1;
	}
	for (long i = 1; i <= count; i++) {
		uint64_t t0, t1, next = mono_ns() + (uint64_t)(interval * 1e9);
		struct timespec ts;

		memset(buf, 0, sizeof(buf));
		snprintf(buf, sizeof(buf), "probe %ld", i);
		t0 = mono_ns();
		if (full_io(fd, buf, tcp, 1) || full_io(fd, buf, tcp, 0)) {
			printf("seq=%ld timeout\n", i);
			if (tcp)
				return 1;
		} else {
			t1 = mono_ns();
			printf("seq=%ld rtt_ns=%llu sent_ns=%llu\n", i, (unsigned long long)(t1 - t0),
			       (unsigned long long)t0);
		}
		fflush(stdout);
		t1 = mono_ns();
		if (next > t1) {
			ts.tv_sec = (time_t)((next - t1) / 1000000000ull);
			ts.tv_nsec = (long)((next - t1) % 1000000000ull);
			nanosleep(&ts, NULL);
		}
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int tcp = argc > 2 && !strcmp(argv[2], "tcp");

	if (argc == 4 && !strcmp(argv[1], "server"))
		return serve(tcp, atoi(argv[3]));
	if (argc == 7 && !strcmp(argv[1], "client"))
		return probe(tcp, argv[3], atoi(argv[4]), atol(argv[5]), atof(argv[6]));
	fprintf(stderr, "usage: rr server udp|tcp PORT | rr client udp|tcp IP PORT COUNT INTERVAL_S\n");
	return 2;
}
