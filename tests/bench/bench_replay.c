/* SPDX-License-Identifier: MIT */
/*
 * Replay benchmark: how fast the correlator eats events on one core, and
 * that its memory does not grow with the length of the stream.
 *
 *	bench_replay [-n EVENTS] [-m ringbuf|percpu]
 *
 * Events are synthesized in chunks of 1 M (generation is not timed) and
 * pushed into one correlator: egress queue@container -> queue@bridge ->
 * xmit@outer, ingress receive@outer -> receive@container, 4 CPUs, skb
 * addresses recycled from small per-CPU pools, 1% of packets lose their end
 * (they expire or are evicted), 0.5% are seen only at their end (unmatched).
 * ringbuf: one ring in nearly time order (adjacent swaps), as the BPF ring
 * buffer feeds them.  percpu: each CPU's events of the next 2 us in turn, as
 * per-CPU buffers read without merging feed them.  Prints one "RESULT key=value ..." line.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "mace_int.h"

#define CHUNK (1u << 20)
#define NCPU 4
#define POOL 128
#define BIT(tp) (1u << (tp))

static uint64_t nrecords, latency_sum;

static void on_record(const struct mace_record *r, void *ctx)
{
	nrecords++;
	latency_sum += r->latency_ns;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int by_ts(const void *a, const void *b)
{
	const struct mace_event *x = a, *y = b;

	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static struct mace_event *out;
static size_t nout;

static void ev(uint64_t ts, int tp, int role, uint64_t skb, uint64_t key, int cpu, uint64_t pkt)
{
	struct mace_event *e = &out[nout++];

	memset(e, 0, sizeof(*e));
	e->ts = ts;
	e->tp = tp;
	e->role = role;
	e->skb = skb;
	e->key = key;
	e->cpu = cpu;
	e->netns = 4026532001u;
	e->tid = 1000 + cpu;
	e->len = 84;
	e->proto = 17;
	e->family = 2;
	e->sport = 40000 + (pkt & 1023);
	e->dport = 53;
}

/* Packets from *pkt on until about CHUNK events are in out[], in time order. */
static void generate(uint64_t *pkt, uint64_t *skb_rr)
{
	nout = 0;
	while (nout + 8 < CHUNK) {
		uint64_t i = (*pkt)++, t = 1000000 + i * 100, r = rnd();
		int cpu = r % NCPU, lose = (r >> 8) % 200;
		uint64_t skb = 0xffff888000000000ULL + (cpu * POOL + skb_rr[cpu]++ % POOL) * 0x100;
		uint64_t key = (i * 0x9e3779b97f4a7c15ULL) | 1;
		uint64_t l1 = 500 + (r >> 16) % 2000, l2 = 1500 + (r >> 32) % 15000;

		if (i & 1) {	/* egress */
			if (lose != 1)
				ev(t, MACE_TP_NET_DEV_QUEUE, MACE_ROLE_CONTAINER, skb, key, cpu, i);
			ev(t + l1, MACE_TP_NET_DEV_QUEUE, MACE_ROLE_BRIDGE, skb, key, cpu, i);
			if (lose > 2)
				ev(t + l1 + l2, MACE_TP_NET_DEV_XMIT, MACE_ROLE_OUTER, skb, key,
				   cpu, i);
		} else {	/* ingress */
			skb += 0x80;
			if (lose != 1)
				ev(t, MACE_TP_NETIF_RECEIVE_SKB, MACE_ROLE_OUTER, skb, key, cpu, i);
			if (lose > 2)
				ev(t + l2, MACE_TP_NETIF_RECEIVE_SKB, MACE_ROLE_CONTAINER, skb,
				   key, (cpu + 1) % NCPU, i);
		}
	}
	qsort(out, nout, sizeof(*out), by_ts);
}

/* Reorders out[] as the backends feed it. */
static void feed_order(bool percpu, struct mace_event *tmp)
{
	if (!percpu) {
		for (size_t i = 0; i + 1 < nout; i++)
			if (rnd() % 10 == 0) {
				struct mace_event t = out[i];

				out[i] = out[i + 1];
				out[i + 1] = t;
				i++;
			}
		return;
	}
	/* each round, every CPU's buffer yields its events of the next 2 us */
	size_t pos[NCPU] = { 0 }, n = 0;
	uint64_t until = out[0].ts;

	while (n < nout) {
		until += 2000;
		for (int cpu = 0; cpu < NCPU; cpu++) {
			while (pos[cpu] < nout && out[pos[cpu]].ts < until) {
				if (out[pos[cpu]].cpu == cpu)
					tmp[n++] = out[pos[cpu]];
				pos[cpu]++;
			}
		}
	}
	memcpy(out, tmp, nout * sizeof(*out));
}

int main(int argc, char **argv)
{
	uint64_t want = 10000000, pkt = 0, skb_rr[NCPU] = { 0 }, done = 0;
	struct mace_path path;
	struct mace_corr_opts o = { .path = &path, .emit = on_record };
	struct mace_correlator *c;
	struct mace_counters k;
	struct mace_event *tmp;
	struct rusage ru;
	bool percpu = false;
	double t = 0, t0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-n"))
			want = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "-m"))
			percpu = !strcmp(argv[i + 1], "percpu");
	}
	memset(&path, 0, sizeof(path));
	strcpy(path.name, "bench");
	path.match = MACE_PATH_MATCH_SKB | MACE_PATH_MATCH_KEY;
	path.dir[0].npoints = 3;
	path.dir[0].pt[0] = (struct mace_point){ BIT(MACE_TP_NET_DEV_QUEUE), MACE_ROLE_CONTAINER };
	path.dir[0].pt[1] = (struct mace_point){ BIT(MACE_TP_NET_DEV_QUEUE), MACE_ROLE_BRIDGE };
	path.dir[0].pt[2] = (struct mace_point){ BIT(MACE_TP_NET_DEV_XMIT), MACE_ROLE_OUTER };
	path.dir[1].npoints = 2;
	path.dir[1].pt[0] = (struct mace_point){ BIT(MACE_TP_NETIF_RECEIVE_SKB), MACE_ROLE_OUTER };
	path.dir[1].pt[1] = (struct mace_point){ BIT(MACE_TP_NETIF_RECEIVE_SKB),
						 MACE_ROLE_CONTAINER };
	out = malloc(CHUNK * sizeof(*out));
	tmp = malloc(CHUNK * sizeof(*tmp));
	c = mace__corr_new(&o);
	if (!out || !tmp || !c) {
		fprintf(stderr, "bench_replay: out of memory\n");
		return 1;
	}
	while (done < want) {
		generate(&pkt, skb_rr);
		feed_order(percpu, tmp);
		if (nout > want - done)
			nout = want - done;
		t0 = now();
		for (size_t i = 0; i < nout; i++)
			mace__corr_push(c, &out[i]);
		t += now() - t0;
		done += nout;
	}
	t0 = now();
	mace__corr_flush(c);
	t += now() - t0;
	memset(&k, 0, sizeof(k));
	mace__corr_counters(c, &k);
	getrusage(RUSAGE_SELF, &ru);
	if (k.events != done || k.pending ||
	    k.events != k.matched + k.unmatched + k.expired + k.replaced + k.duplicates) {
		fprintf(stderr, "bench_replay: counters do not add up\n");
		return 1;
	}
	printf("RESULT mode=%s events=%llu sec=%.3f mevps=%.2f rss_mb=%.1f input_mb=%.1f "
	       "records=%llu matched=%llu unmatched=%llu expired=%llu replaced=%llu "
	       "mean_ns=%.0f\n",
	       percpu ? "percpu" : "ringbuf", (unsigned long long)done, t, done / t / 1e6,
	       ru.ru_maxrss / 1024.0, 2.0 * CHUNK * sizeof(*out) / 1048576.0,
	       (unsigned long long)k.records, (unsigned long long)k.matched,
	       (unsigned long long)k.unmatched, (unsigned long long)k.expired,
	       (unsigned long long)k.replaced, nrecords ? (double)latency_sum / nrecords : 0);
	mace__corr_free(c);
	free(out);
	free(tmp);
	return 0;
}
