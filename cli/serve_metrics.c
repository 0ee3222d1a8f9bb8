/* SPDX-License-Identifier: MIT */
/*
 * The metrics mace serve exports: per container and direction a cumulative
 * latency histogram, fed with the sessions' histograms; the session counters;
 * the exporter's own process figures.  Rendered as the Prometheus text
 * exposition format 0.0.4 and as a small landing page.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "serve.h"

static const char *const dir_names[2] = { "egress", "ingress" };

void serve_metrics_init(struct serve_metrics *m, uint64_t grace_ns)
{
	memset(m, 0, sizeof(*m));
	m->grace_ns = grace_ns;
}

void serve_metrics_fini(struct serve_metrics *m)
{
	free(m->c);
	memset(m, 0, sizeof(*m));
}

static struct serve_container *container(struct serve_metrics *m, uint32_t netns)
{
	struct serve_container *c;

	for (unsigned int i = 0; i < m->n; i++)
		if (m->c[i].netns == netns)
			return &m->c[i];
	if (m->n == m->cap) {
		unsigned int cap = m->cap ? m->cap * 2 : 16;

		c = realloc(m->c, cap * sizeof(*c));
		if (!c)
			return NULL;
		m->c = c;
		m->cap = cap;
	}
	c = &m->c[m->n++];
	memset(c, 0, sizeof(*c));
	c->netns = netns;
	c->named = serve_container_labels(netns, &c->labels);
	return c;
}

/* Index of the first le (2^k ns) a latency in [lo, ...] is under; the
 * library's buckets never straddle a power of two from 128 ns up, so the
 * bucket's lower bound decides for all of it. */
static unsigned int le_index(uint64_t lo)
{
	unsigned int k;

	if (lo < (1ull << SERVE_LE_MIN_SHIFT))
		return 0;
	k = 64 - __builtin_clzll(lo);	/* lo < 2^k */
	return k > SERVE_LE_MAX_SHIFT ? SERVE_NLE : k - SERVE_LE_MIN_SHIFT;
}

void serve_metrics_add_hist(uint32_t netns, enum mace_dir dir, const struct mace_hist *h,
			    void *ctx)
{
	struct serve_metrics *m = ctx;
	struct serve_container *c;
	struct serve_series *s;
	struct mace_summary sum = { .sz = sizeof(sum) };
	uint64_t lo, hi, cnt;
	unsigned int it = 0;

	if (mace_hist_summary(h, &sum) < 0) {
		m->dropped++;	/* cannot happen with a histogram the library gave */
		return;
	}
	c = dir <= MACE_INGRESS ? container(m, netns) : NULL;
	if (!c) {
		m->dropped += sum.count;
		return;
	}
	s = &c->dir[dir];
	c->has[dir] = true;
	while (mace_hist_bucket(h, &it, &lo, &hi, &cnt))
		s->bucket[le_index(lo)] += cnt;
	s->count += sum.count;
	s->sum_ns += (long double)sum.mean * sum.count;
}

void serve_metrics_update(struct serve_metrics *m, uint64_t now_ns,
			  bool (*bound)(uint32_t netns, void *ctx), void *ctx)
{
	unsigned int i, j;

	for (i = 0, j = 0; i < m->n; i++) {
		struct serve_container *c = &m->c[i];

		/* A name that came late replaces the placeholder: the series
		 * start again under it, with the counts so far. */
		if (!c->named)
			c->named = serve_container_labels(c->netns, &c->labels);
		if (bound(c->netns, ctx))
			c->gone_ns = 0;
		else if (!c->gone_ns)
			c->gone_ns = now_ns;
		if (c->gone_ns && now_ns - c->gone_ns >= m->grace_ns) {
			/* its series disappear; their counts stay in a counter */
			m->removed += c->dir[0].count + c->dir[1].count;
			continue;
		}
		if (i != j)
			m->c[j] = *c;
		j++;
	}
	m->n = j;
}

unsigned int serve_metrics_bound(const struct serve_metrics *m)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < m->n; i++)
		n += m->c[i].netns && !m->c[i].gone_ns;
	return n;
}

/* A label value: backslash, double quote and newline escaped. */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void labels(FILE *f, const struct serve_container *c, const char *dir, const char *path)
{
	fputs("{container=\"", f);
	label_value(f, c->labels.container);
	if (c->labels.pod[0]) {
		fputs("\",pod=\"", f);
		label_value(f, c->labels.pod);
	}
	if (c->labels.namespace[0]) {
		fputs("\",namespace=\"", f);
		label_value(f, c->labels.namespace);
	}
	fprintf(f, "\",direction=\"%s\",path=\"", dir);
	label_value(f, path);
	fputc('"', f);
}

static void histogram(FILE *f, const struct serve_metrics *m)
{
	fputs("# HELP mace_overhead_seconds Latency the container's network path added to each "
	      "packet (end point minus start point), since the container was first seen.\n"
	      "# TYPE mace_overhead_seconds histogram\n", f);
	for (unsigned int i = 0; i < m->n; i++) {
		const struct serve_container *c = &m->c[i];

		for (unsigned int d = 0; d < 2; d++) {
			const struct serve_series *s = &c->dir[d];
			uint64_t cum = 0;

			if (!c->has[d])
				continue;
			for (unsigned int k = 0; k < SERVE_NLE; k++) {
				cum += s->bucket[k];
				fputs("mace_overhead_seconds_bucket", f);
				labels(f, c, dir_names[d], m->path);
				/* 2^k ns: at most 10 significant digits, exact */
				fprintf(f, ",le=\"%.10g\"} %llu\n",
					(double)(1ull << (k + SERVE_LE_MIN_SHIFT)) * 1e-9,
					(unsigned long long)cum);
			}
			fputs("mace_overhead_seconds_bucket", f);
			labels(f, c, dir_names[d], m->path);
			/* from the buckets, so the test that it is _count means something */
			cum += s->bucket[SERVE_NLE];
			fprintf(f, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
			fputs("mace_overhead_seconds_sum", f);
			labels(f, c, dir_names[d], m->path);
			fprintf(f, "} %.15Lg\n", s->sum_ns * 1e-9L);
			fputs("mace_overhead_seconds_count", f);
			labels(f, c, dir_names[d], m->path);
			fprintf(f, "} %llu\n", (unsigned long long)s->count);
		}
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	family(f, name, type, help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static void counters(FILE *f, const struct serve_metrics *m)
{
	const struct mace_counters *c = &m->counters;
	const struct {
		const char *outcome;
		uint64_t v;
	} out[] = {
		{ "matched", c->matched }, { "unmatched", c->unmatched },
		{ "expired", c->expired }, { "replaced", c->replaced },
		{ "duplicate", c->duplicates },
	};

	family(f, "mace_events_total", "counter",
	       "Tracepoint events the correlator consumed, by outcome; with "
	       "mace_pending_events they add up to every event.");
	for (unsigned int i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		fprintf(f, "mace_events_total{outcome=\"%s\"} %llu\n", out[i].outcome,
			(unsigned long long)out[i].v);
	one(f, "mace_pending_events", "gauge", "Events of packets still in flight.", c->pending);
	one(f, "mace_lost_events_total", "counter",
	    "Events the kernel dropped (ring or buffer full).", c->lost);
	one(f, "mace_dropped_events_total", "counter",
	    "Events or records dropped in user space.", c->user_drops + m->dropped);
	one(f, "mace_records_total", "counter",
	    "Packets measured (one per packet and direction).", c->records);
	one(f, "mace_handover_skipped_records_total", "counter",
	    "Records a session left to the session that replaced it (counted there).",
	    m->window_skipped);
	one(f, "mace_removed_records_total", "counter",
	    "Records in the series of containers removed after the grace period.", m->removed);
	one(f, "mace_rebinds_total", "counter",
	    "Times the containers were bound again because some came or went.", m->rebinds);
	one(f, "mace_rebind_failures_total", "counter", "Rebinds that failed.",
	    m->rebind_failures);
	one(f, "mace_containers", "gauge", "Containers bound now that have series.",
	    serve_metrics_bound(m));
	family(f, "mace_build_info", "gauge", "The mace version, always 1.");
	fprintf(f, "mace_build_info{version=\"%d.%d.%d\",libmace=\"%s\"} 1\n",
		MACE_VERSION_MAJOR, MACE_VERSION_MINOR, MACE_VERSION_PATCH, mace_version());
}

/* The usual process_* figures, from getrusage and /proc/self. */
static void process(FILE *f, const struct serve_metrics *m)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned long long vsz = 0, rss = 0;
	unsigned int fds = 0;
	struct rusage ru;
	struct rlimit rl;
	struct dirent *de;
	FILE *statm;
	DIR *d;

	if (!getrusage(RUSAGE_SELF, &ru)) {
		family(f, "process_cpu_seconds_total", "counter",
		       "Total user and system CPU time spent in seconds.");
		fprintf(f, "process_cpu_seconds_total %.6f\n",
			ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
				(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	}
	statm = fopen("/proc/self/statm", "r");
	if (statm && fscanf(statm, "%llu %llu", &vsz, &rss) == 2) {
		family(f, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
		fprintf(f, "process_virtual_memory_bytes %llu\n", vsz * page);
		family(f, "process_resident_memory_bytes", "gauge",
		       "Resident memory size in bytes.");
		fprintf(f, "process_resident_memory_bytes %llu\n", rss * page);
	}
	if (statm)
		fclose(statm);
	d = opendir("/proc/self/fd");
	if (d) {
		while ((de = readdir(d)))
			fds += de->d_name[0] != '.';
		closedir(d);
		/* less the one opendir holds */
		one(f, "process_open_fds", "gauge", "Number of open file descriptors.", fds - 1);
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl))
		one(f, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
		    rl.rlim_cur);
	family(f, "process_start_time_seconds", "gauge",
	       "Start time of the process since unix epoch in seconds.");
	fprintf(f, "process_start_time_seconds %.3f\n", m->start_time);
}

int serve_metrics_render(const struct serve_metrics *m, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);

	if (!f)
		return -errno;
	histogram(f, m);
	counters(f, m);
	process(f, m);
	if (fclose(f))
		return -errno;
	return 0;
}

static void html_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else
			fputc(*s, f);
	}
}

int serve_index_render(const struct serve_metrics *m, const char *describe, char **buf,
		       size_t *len)
{
	FILE *f = open_memstream(buf, len);

	if (!f)
		return -errno;
	fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>mace serve</title>"
		"</head>\n<body>\n<h1>mace serve</h1>\n"
		"<p>Per-container network overhead: <a href=\"/metrics\">/metrics</a></p>\n"
		"<p>mace %d.%d.%d, path ", MACE_VERSION_MAJOR, MACE_VERSION_MINOR,
		MACE_VERSION_PATCH);
	html_text(f, m->path ? m->path : "-");
	fputs(", backend ", f);
	html_text(f, m->backend ? m->backend : "-");
	fprintf(f, ", %u container%s bound</p>\n<ul>\n", serve_metrics_bound(m),
		serve_metrics_bound(m) == 1 ? "" : "s");
	for (unsigned int i = 0; i < m->n; i++) {
		const struct serve_container *c = &m->c[i];

		fputs("<li>", f);
		html_text(f, c->labels.container);
		fprintf(f, " (netns %u): %llu egress, %llu ingress packets%s</li>\n", c->netns,
			(unsigned long long)c->dir[0].count, (unsigned long long)c->dir[1].count,
			c->gone_ns ? ", gone" : "");
	}
	fputs("</ul>\n<pre>\n", f);
	html_text(f, describe ? describe : "no container bound\n");
	fputs("</pre>\n</body></html>\n", f);
	if (fclose(f))
		return -errno;
	return 0;
}
