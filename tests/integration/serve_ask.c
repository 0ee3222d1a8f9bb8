/* SPDX-License-Identifier: MIT */
/*
 * serve_ask SOCKET ID SEQ AGO_S [NETNS]: asks a mace serve socket for the
 * overhead of ICMP echo ID/SEQ sent within the last AGO_S seconds, as the
 * caller (or about NETNS), and prints "answer=WORD egress=NS ingress=NS".
 * Exit 0 when the server answered, 1 otherwise.  For tests/integration/serve_socket.sh.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mace.h>

/* mace_client_overhead's return, as a word. */
static const char *word(int r)
{
	switch (r) {
	case 0: return "found";
	case -ENOENT: return "not-found";
	case -ENXIO: return "not-monitored";
	case -EACCES: return "denied";
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct mace_overhead o = { .sz = sizeof(o) };
	struct mace_probe p = { .sz = sizeof(p), .proto = IPPROTO_ICMP };
	struct mace_client *c;
	struct timespec ts;
	int r;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: serve_ask SOCKET ID SEQ AGO_S [NETNS]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	p.id = (uint16_t)atoi(argv[2]);
	p.seq = (uint32_t)atoi(argv[3]);
	p.recv_ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	p.sent_ns = p.recv_ns - (uint64_t)atoi(argv[4]) * 1000000000ull;
	p.netns = argc == 6 ? (uint32_t)strtoul(argv[5], NULL, 10) : 0;
	c = mace_client_open(argv[1]);
	if (!c) {
		fprintf(stderr, "serve_ask: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	r = mace_client_overhead(c, &p, 0, &o);
	mace_client_close(c);
	if (!word(r)) {
		fprintf(stderr, "serve_ask: %s\n", strerror(-r));
		return 1;
	}
	if (r == -ENOENT && (o.egress_how == MACE_MATCH_AMBIGUOUS ||
			     o.ingress_how == MACE_MATCH_AMBIGUOUS))
		printf("answer=ambiguous ");
	else
		printf("answer=%s ", word(r));
	printf("egress=%llu ingress=%llu\n", (unsigned long long)o.egress_ns,
	       (unsigned long long)o.ingress_ns);
	return 0;
}
