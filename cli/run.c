/* SPDX-License-Identifier: MIT */
/* What mace record, stat and replay share: one session's records to a file, a summary or both. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"

/* Both sinks of one run: the record writer and the statistics. */
struct sinks {
	struct cli_writer *w;
	struct cli_stats *st;
	uint64_t records;
};

static void on_record(const struct mace_record *rec, void *ctx)
{
	struct sinks *k = ctx;

	k->records++;
	if (k->w)
		cli_writer_record(rec, k->w);
	if (k->st)
		cli_stats_record(rec, k->st);
}

static int flush(void *ctx)
{
	struct sinks *k = ctx;

	return k->w ? cli_writer_flush(k->w) : 0;
}

int cli_run(struct cli_opts *o, const char *replay_file, bool records, bool stats)
{
	struct cli_writer w = { .fmt = o->format };
	struct sinks k = { 0 };
	struct mace_session *shown;
	struct cli_loop l = { 0 };
	struct mace_counters c = { .sz = sizeof(c) };
	int rc, r;

	rc = cli_check_path(o);
	if (rc)
		return rc;
	if (records) {
		w.f = cli_open_output(o->cmd, o->output);
		if (!w.f)
			return EXIT_RUNTIME;
		k.w = &w;
	}
	if (stats) {
		k.st = cli_stats_new();
		if (!k.st) {
			fprintf(stderr, "mace: %s: %s\n", o->cmd, strerror(errno));
			rc = EXIT_RUNTIME;
			goto out;
		}
	}
	/* A summary alone needs no records: the session keeps histograms. */
	o->aggregate = stats && !records;
	/* following: all containers, or one by name */
	l.h.o = o;
	l.h.follow = !replay_file && !o->netns;
	l.h.on_record = on_record;
	l.h.record_ctx = &k;
	l.h.on_hist = cli_stats_hist;
	l.h.ctx = k.st;
	rc = cli_handover_open(&l.h, replay_file, false);
	if (rc)
		goto out;
	snprintf(w.path, sizeof(w.path), "%s", mace_session_path_name(l.h.s));
	/* a replay names the netns as they are known now */
	w.named = true;
	if (k.w && o->format == MACE_FORMAT_CSV)
		fputs(cli_writer_header(&w), w.f);
	l.o = o;
	l.after_poll = flush;
	l.ctx = &k;
	l.progress = true;
	l.nrecords = o->aggregate ? NULL : &k.records;
	rc = cli_loop_run(&l);
	r = cli_handover_take(&l.h);
	if (r < 0) {
		fprintf(stderr, "mace: %s: reading the histograms: %s\n", o->cmd, strerror(-r));
		rc = EXIT_RUNTIME;
	}

	if (w.err && w.err != EPIPE) {
		fprintf(stderr, "mace: %s: writing %s: %s\n", o->cmd,
			o->output ? o->output : "standard output", strerror(w.err));
		rc = EXIT_RUNTIME;
	}
	cli_handover_counters(&l.h, &c);
	/* the last session, or the last whose containers all left */
	shown = l.h.s ? l.h.s : l.h.lost;
	if (k.st)
		cli_stats_print(k.st, shown, &c, o->json, stdout);
	cli_print_counters(stderr, &c);
	if (l.stop_signal)
		fprintf(stderr, "mace: stopped by %s\n", strsignal(l.stop_signal));
	if (o->child_argv && l.child_status >= 0) {
		fprintf(stderr, "mace: '%s' exited with status %d; %llu records\n",
			o->child_argv[0], l.child_status, (unsigned long long)k.records);
		if (rc == EXIT_OK)
			rc = l.child_status;
	}
	cli_handover_free(&l.h);
out:
	cli_stats_free(k.st);
	if (w.f && w.f != stdout && fclose(w.f) && rc == EXIT_OK) {
		fprintf(stderr, "mace: %s: closing %s: %s\n", o->cmd, o->output, strerror(errno));
		rc = EXIT_RUNTIME;
	}
	free(w.buf);
	cli_writer_free(&w);
	return rc;
}

int cli_no_args(const struct cli_opts *o)
{
	if (o->nargs) {
		fprintf(stderr, "mace: %s: unexpected argument '%s'\n", o->cmd, o->args[0]);
		return EXIT_USAGE;
	}
	return 0;
}
