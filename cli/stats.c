/* SPDX-License-Identifier: MIT */
/*
 * Summaries per direction and, when records come from several containers,
 * per (netns, direction): count, mean, mode, sample deviation, min,
 * p50/p90/p99/p99.9, max.  Text in microseconds, JSON in nanoseconds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct stat_group {
	uint32_t netns;
	uint8_t dir;
	struct mace_hist *h;
};

struct cli_stats {
	struct stat_group *g;
	unsigned int n, cap;
	struct mace_hist *total[2];
	int err;		/* ENOMEM while aggregating: reported, never silent */
	uint64_t dropped;
};

struct cli_stats *cli_stats_new(void)
{
	struct cli_stats *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->total[0] = mace_hist_new();
	st->total[1] = mace_hist_new();
	if (!st->total[0] || !st->total[1]) {
		cli_stats_free(st);
		errno = ENOMEM;
		return NULL;
	}
	return st;
}

void cli_stats_free(struct cli_stats *st)
{
	unsigned int i;

	if (!st)
		return;
	for (i = 0; i < st->n; i++)
		mace_hist_free(st->g[i].h);
	free(st->g);
	mace_hist_free(st->total[0]);
	mace_hist_free(st->total[1]);
	free(st);
}

static struct stat_group *group(struct cli_stats *st, uint32_t netns, uint8_t dir)
{
	struct stat_group *g;
	unsigned int i;

	for (i = 0; i < st->n; i++)
		if (st->g[i].netns == netns && st->g[i].dir == dir)
			return &st->g[i];
	if (st->n == st->cap) {
		unsigned int cap = st->cap ? st->cap * 2 : 8;

		g = realloc(st->g, cap * sizeof(*g));
		if (!g)
			return NULL;
		st->g = g;
		st->cap = cap;
	}
	g = &st->g[st->n];
	g->h = mace_hist_new();
	if (!g->h)
		return NULL;
	g->netns = netns;
	g->dir = dir;
	st->n++;
	return g;
}

void cli_stats_record(const struct mace_record *rec, void *ctx)
{
	struct cli_stats *st = ctx;
	struct stat_group *g;

	if (rec->dir > MACE_INGRESS) {
		st->dropped++;
		return;
	}
	g = group(st, rec->netns, rec->dir);
	if (!g) {
		st->err = ENOMEM;
		st->dropped++;
		return;
	}
	mace_hist_add(g->h, rec->latency_ns);
	mace_hist_add(st->total[rec->dir], rec->latency_ns);
}

void cli_stats_hist(uint32_t netns, enum mace_dir dir, const struct mace_hist *h, void *ctx)
{
	struct cli_stats *st = ctx;
	struct stat_group *g = group(st, netns, dir);
	struct mace_summary sum = { .sz = sizeof(sum) };

	if (!g) {
		mace_hist_summary(h, &sum);
		st->err = ENOMEM;
		st->dropped += sum.count;
		return;
	}
	mace_hist_merge(g->h, h);
	mace_hist_merge(st->total[dir], h);
}

static const char *dir_name(unsigned int dir)
{
	return dir == MACE_EGRESS ? "egress" : "ingress";
}

static int cmp_group(const void *a, const void *b)
{
	const struct stat_group *x = a, *y = b;

	if (x->netns != y->netns)
		return x->netns < y->netns ? -1 : 1;
	return x->dir - y->dir;
}

static void text_row(FILE *f, const char *who, unsigned int dir, const struct mace_hist *h)
{
	struct mace_summary s = { .sz = sizeof(s) };

	mace_hist_summary(h, &s);
	fprintf(f, "%-16s %-7s %9llu", who, dir_name(dir), (unsigned long long)s.count);
	if (!s.count) {
		fprintf(f, "\n");
		return;
	}
	fprintf(f, " %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f\n", s.mean / 1e3,
		s.mode / 1e3, s.stddev / 1e3, s.min / 1e3, s.p50 / 1e3, s.p90 / 1e3,
		s.p99 / 1e3, s.p999 / 1e3, s.max / 1e3);
}

static void json_obj(FILE *f, const char *who, uint32_t netns, unsigned int dir,
		     const struct mace_hist *h)
{
	struct mace_summary s = { .sz = sizeof(s) };

	mace_hist_summary(h, &s);
	fprintf(f, "{\"netns\":%u,\"name\":\"%s\",\"dir\":\"%s\",\"count\":%llu,"
		"\"mean_ns\":%.1f,\"mode_ns\":%llu,\"stddev_ns\":%.1f,\"min_ns\":%llu,"
		"\"p50_ns\":%llu,\"p90_ns\":%llu,\"p99_ns\":%llu,\"p999_ns\":%llu,\"max_ns\":%llu}",
		netns, who, dir_name(dir), (unsigned long long)s.count, s.mean,
		(unsigned long long)s.mode, s.stddev, (unsigned long long)s.min,
		(unsigned long long)s.p50, (unsigned long long)s.p90, (unsigned long long)s.p99,
		(unsigned long long)s.p999, (unsigned long long)s.max);
}

/* Netns names come from ip netns or /proc: plain text, but keep JSON valid. */
static void json_safe(char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			*s = '_';
}

/* Points of the path that never fired: "silent: NOTE" lines, or JSON strings. */
struct silent_out {
	FILE *f;
	bool json;
	unsigned int n;
};

static void print_silent(const char *note, void *ctx)
{
	struct silent_out *o = ctx;
	char buf[1024];

	if (!o->json) {
		fprintf(o->f, "silent: %s\n", note);
		return;
	}
	snprintf(buf, sizeof(buf), "%s", note);
	json_safe(buf);
	fprintf(o->f, "%s\"%s\"", o->n++ ? "," : "", buf);
}

void cli_stats_print(struct cli_stats *st, struct mace_session *s,
		     const struct mace_counters *run, bool json, FILE *f)
{
	struct silent_out so = { .f = f, .json = json };
	struct mace_counters c = *run;
	bool several;
	unsigned int i, d;
	char name[64];

	qsort(st->g, st->n, sizeof(*st->g), cmp_group);
	/* a container started late in the run may not be named yet: ask now */
	for (i = 0; i < st->n; i++) {
		struct mace_container ct;

		if (cli_container_of(st->g[i].netns, &ct) && cli_containers()) {
			mace_containers_refresh(cli_containers());
			break;
		}
	}
	several = st->n && st->g[0].netns != st->g[st->n - 1].netns;
	c.user_drops += st->dropped;
	if (st->err)
		fprintf(stderr, "mace: %s: %llu records not counted: %s\n", "stat",
			(unsigned long long)st->dropped, strerror(st->err));

	if (json) {
		fprintf(f, "{\"path\":\"%s\",\"backend\":\"%s\",\"total\":[",
			mace_session_path_name(s), mace_session_backend_name(s));
		for (d = 0; d < 2; d++) {
			fputs(d ? "," : "", f);
			json_obj(f, "all", 0, d, st->total[d]);
		}
		fputs("],\"netns\":[", f);
		for (i = 0; i < st->n; i++) {
			cli_netns_name(st->g[i].netns, name, sizeof(name));
			json_safe(name);
			fputs(i ? "," : "", f);
			json_obj(f, name, st->g[i].netns, st->g[i].dir, st->g[i].h);
		}
		fputs("],\"counters\":", f);
		cli_counters_json(f, &c);
		fputs(",\"silent\":[", f);
		mace_session_silent_points(s, print_silent, &so);
		fputs("]}\n", f);
		return;
	}
	fprintf(f, "path %s, backend %s; latencies in microseconds\n",
		mace_session_path_name(s), mace_session_backend_name(s));
	fprintf(f, "%-16s %-7s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "netns", "dir",
		"count", "mean", "mode", "stddev", "min", "p50", "p90", "p99", "p99.9", "max");
	for (d = 0; d < 2; d++)
		text_row(f, "all", d, st->total[d]);
	if (several) {
		for (i = 0; i < st->n; i++)
			text_row(f, cli_netns_name(st->g[i].netns, name, sizeof(name)),
				 st->g[i].dir, st->g[i].h);
	}
	fprintf(f, "counters: events %llu matched %llu unmatched %llu expired %llu "
		"replaced %llu duplicates %llu pending %llu collisions %llu lost %llu "
		"user_drops %llu slot_collisions %llu\n",
		(unsigned long long)c.events, (unsigned long long)c.matched,
		(unsigned long long)c.unmatched, (unsigned long long)c.expired,
		(unsigned long long)c.replaced, (unsigned long long)c.duplicates,
		(unsigned long long)c.pending, (unsigned long long)c.collisions,
		(unsigned long long)c.lost, (unsigned long long)c.user_drops,
		(unsigned long long)c.slot_collisions);
	mace_session_silent_points(s, print_silent, &so);
}
