/* SPDX-License-Identifier: MIT */
/*
 * mace top: the terminal view.  This module alone owns the terminal: init,
 * colours, teardown (endwin on every exit path, fatal signals included), one
 * event loop that polls the session, the keyboard and a signalfd, and redraws
 * once a second or on a key or resize.  The session aggregates (in the
 * kernel when it correlates there): once a second its histograms feed the
 * model (top_model.c); no record per packet reaches us.
 */
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "top_model.h"
#include "top_session.h"

enum view_screen { SCREEN_TABLE, SCREEN_DETAIL, SCREEN_HELP };
enum { PAIR_HEAD = 1, PAIR_SORT, PAIR_SEL, PAIR_EG, PAIR_IN, PAIR_WARN };

struct view {
	struct top_model m;
	struct top_session ts;	/* the session, bound again as containers come and go */
	enum view_screen screen;
	unsigned int sel;	/* selected row (display order) */
	uint32_t sel_netns;	/* kept across re-sorts */
	unsigned int top;	/* first row shown */
	bool colour;
	const char *title;
};

static bool term_up;

static void term_end(void)
{
	if (term_up) {
		endwin();
		term_up = false;
	}
}

/* A crash must not leave the terminal raw: restore, then die as we would. */
static void fatal_signal(int sig)
{
	term_end();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void term_init(struct view *v)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	unsigned int i;

	setlocale(LC_ALL, "");
	initscr();
	term_up = true;
	atexit(term_end);
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], fatal_signal);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	v->colour = has_colors();
	if (v->colour) {
		start_color();
		use_default_colors();
		init_pair(PAIR_HEAD, COLOR_BLACK, COLOR_GREEN);
		init_pair(PAIR_SORT, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_SEL, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_EG, COLOR_GREEN, -1);
		init_pair(PAIR_IN, COLOR_CYAN, -1);
		init_pair(PAIR_WARN, COLOR_RED, -1);
	}
}

static void attr_pair(struct view *v, int pair, bool on)
{
	int a = v->colour ? COLOR_PAIR(pair) : A_REVERSE;

	if (on)
		attron(a);
	else
		attroff(a);
}

/* Microseconds with one decimal; "-" when unknown. */
static void fmt_us(char *buf, size_t size, double ns)
{
	if (ns < 0)
		snprintf(buf, size, "-");
	else if (ns >= 1e8)
		snprintf(buf, size, "%.0fms", ns / 1e6);
	else
		snprintf(buf, size, "%.1f", ns / 1e3);
}

static void fmt_value(char *buf, size_t size, const struct top_model *m,
		      const struct top_row *r, enum top_col c)
{
	double x = top_row_value(m, r, c);

	switch (c) {
	case TOP_COL_PPS:
		snprintf(buf, size, "%.0f", x);
		break;
	case TOP_COL_MATCH:
		if (x < 0)
			snprintf(buf, size, "-");
		else
			snprintf(buf, size, "%.1f", x);
		break;
	case TOP_COL_LOST:
		if (x < 0)
			snprintf(buf, size, "-");
		else
			snprintf(buf, size, "%.0f", x);
		break;
	default:
		fmt_us(buf, size, x);
	}
}

#define NAME_W 18
#define COL_W 9

static void draw_status(struct view *v)
{
	const struct mace_counters *c = &v->m.counters;
	char when[32];
	time_t t = time(NULL);

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
	if (v->ts.h.s)
		mvprintw(0, 0, "mace top - path %s, backend %s, %u container%s, latencies in us (%s)",
			 mace_session_path_name(v->ts.h.s), mace_session_backend_name(v->ts.h.s), v->m.n,
			 v->m.n == 1 ? "" : "s", v->m.show_total ? "total" : "last second");
	else
		mvprintw(0, 0, "mace top - %s", v->ts.h.note);
	mvprintw(0, COLS > 9 ? COLS - 9 : 0, "%s", when);
	mvprintw(1, 0, "events %llu  matched %llu (%.1f%%)  unmatched %llu  expired %llu  "
		 "replaced %llu  lost %llu  drops %llu",
		 (unsigned long long)c->events, (unsigned long long)c->matched,
		 c->events ? 100.0 * c->matched / c->events : 0.0,
		 (unsigned long long)c->unmatched, (unsigned long long)c->expired,
		 (unsigned long long)c->replaced, (unsigned long long)c->lost,
		 (unsigned long long)(c->user_drops + v->m.dropped));
	/* What no row can claim: packets never seen in a container, and losses. */
	if (v->m.have_unattributed)
		mvprintw(2, 0, "no container: events %llu matched %llu  ",
			 (unsigned long long)v->m.unattributed.events,
			 (unsigned long long)v->m.unattributed.matched);
	else
		mvprintw(2, 0, "per-container match: - (kernel correlation; --raw for it)  ");
	if (v->ts.h.follow)
		printw("rebinds %u (last %.0f ms, %u failed)  overlap %llu", v->ts.h.rebinds,
		       v->ts.h.last_rebind_ms, v->ts.h.rebind_failures,
		       (unsigned long long)v->ts.h.window_skipped);
	if (v->ts.h.note[0])
		printw("  %s", v->ts.h.note);
}

static void draw_footer(struct view *v)
{
	const char *msg = cli_log_last();

	if (*msg) {
		if (v->colour)
			attron(COLOR_PAIR(PAIR_WARN));
		mvprintw(LINES - 2, 0, "%.*s", COLS, msg);
		if (v->colour)
			attroff(COLOR_PAIR(PAIR_WARN));
	}
	attr_pair(v, PAIR_HEAD, true);
	mvprintw(LINES - 1, 0, "%-*.*s", COLS, COLS,
		 " q quit  ? help  j/k select  s/S </> sort  r reverse  t total  Enter detail");
	attr_pair(v, PAIR_HEAD, false);
}

static void draw_table(struct view *v)
{
	unsigned int i, c, rows = LINES > 6 ? LINES - 6 : 1;
	char cell[32];
	int y = 3, x;

	/* Header: the sort column is marked and highlighted. */
	attr_pair(v, PAIR_HEAD, true);
	mvprintw(y, 0, "%-*s", COLS, "");
	for (c = 0, x = 0; c < TOP_NCOLS; c++) {
		bool sorted = c == v->m.sort;
		/* Names sort A-Z and numbers high first unless reversed. */
		bool down = (c != TOP_COL_NAME) != v->m.reverse;

		snprintf(cell, sizeof(cell), "%s%s", sorted ? (down ? "v" : "^") : "",
			 top_col_name(c));
		if (sorted) {
			attr_pair(v, PAIR_HEAD, false);
			attr_pair(v, PAIR_SORT, true);
		}
		if (c == TOP_COL_NAME)
			mvprintw(y, x, "%-*s", NAME_W, cell);
		else
			mvprintw(y, x, "%*s", COL_W, cell);
		if (sorted) {
			attr_pair(v, PAIR_SORT, false);
			attr_pair(v, PAIR_HEAD, true);
		}
		x += (c == TOP_COL_NAME ? NAME_W : COL_W) + 1;
	}
	attr_pair(v, PAIR_HEAD, false);

	if (!v->m.n)
		mvprintw(y + 2, 2, "waiting for packets...");
	if (v->sel < v->top)
		v->top = v->sel;
	if (v->sel >= v->top + rows)
		v->top = v->sel - rows + 1;
	for (i = v->top; i < v->m.n && i < v->top + rows; i++) {
		const struct top_row *r = top_model_row(&v->m, i);

		y++;
		if (i == v->sel)
			attr_pair(v, PAIR_SEL, true);
		mvprintw(y, 0, "%-*.*s", NAME_W, NAME_W, r->name);
		for (c = 1, x = NAME_W + 1; c < TOP_NCOLS; c++, x += COL_W + 1) {
			fmt_value(cell, sizeof(cell), &v->m, r, c);
			mvprintw(y, x, "%*s ", COL_W, cell);
		}
		if (r->gone_ns)
			printw("gone");
		if (i == v->sel) {
			printw("%*s", COLS > x ? COLS - x : 0, "");
			attr_pair(v, PAIR_SEL, false);
		}
	}
}

/* One direction's histogram as text bars, buckets merged to fit the lines. */
static int draw_hist(struct view *v, int y, int lines, const char *label,
		     const struct mace_hist *h, int pair)
{
	uint64_t lo, hi, cnt, total = 0, maxc = 0, glo[64], ghi[64], gc[64];
	unsigned int it = 0, nb = 0, per, g, ng = 0, k = 0;
	int width = COLS - 34;

	while (mace_hist_bucket(h, &it, &lo, &hi, &cnt)) {
		nb++;
		total += cnt;
	}
	mvprintw(y++, 0, "%s latency histogram (%llu packets, since start)", label,
		 (unsigned long long)total);
	if (!nb || lines < 2)
		return y;
	if (lines > 64)
		lines = 64;
	per = (nb + lines - 2) / (lines - 1);
	it = 0;
	while (mace_hist_bucket(h, &it, &lo, &hi, &cnt)) {
		g = k++ / per;
		if (g >= ng) {
			glo[g] = lo;
			gc[g] = 0;
			ng = g + 1;
		}
		ghi[g] = hi;
		gc[g] += cnt;
	}
	for (g = 0; g < ng; g++)
		if (gc[g] > maxc)
			maxc = gc[g];
	for (g = 0; g < ng; g++) {
		int n = width > 0 ? (int)((double)gc[g] / maxc * width + 0.5) : 0;

		mvprintw(y, 0, "%10.1f-%-10.1f %9llu ", glo[g] / 1e3, ghi[g] / 1e3,
			 (unsigned long long)gc[g]);
		if (v->colour)
			attron(COLOR_PAIR(pair));
		while (n-- > 0)
			addch('#');
		if (v->colour)
			attroff(COLOR_PAIR(pair));
		y++;
	}
	return y;
}

static void draw_series(struct view *v, int y, const char *label, const struct top_row *r,
			int dir)
{
	static const char levels[] = "_.-:=+*#%@";
	uint64_t maxv = 0;
	unsigned int i;

	for (i = 0; i < r->nhist; i++)
		if (r->p50_hist[dir][i] != TOP_NO_VALUE && r->p50_hist[dir][i] > maxv)
			maxv = r->p50_hist[dir][i];
	mvprintw(y, 0, "%-8s p50, last %3u s (max %8.1f us) |", label, r->nhist, maxv / 1e3);
	for (i = 0; i < r->nhist; i++) {
		uint64_t x = r->p50_hist[dir][i];

		if (x == TOP_NO_VALUE)
			addch(' ');
		else
			addch(levels[maxv ? x * 9 / maxv : 0]);
	}
	addch('|');
}

/* Who the row is: runtime, ID, image, and the pod's names.  Returns the next line. */
static int draw_identity(int y, uint32_t netns)
{
	struct mace_container c;

	if (cli_container_of(netns, &c) || !c.id[0])
		return y;
	mvprintw(y++, 0, " %s %.12s  name %s  image %s", c.runtime, c.id, c.name,
		 c.image[0] ? c.image : "?");
	if (c.pod[0])
		mvprintw(y++, 0, " pod %s  namespace %s  container %s", c.pod, c.pod_namespace,
			 c.pod_container[0] ? c.pod_container : "?");
	return y;
}

static void draw_detail(struct view *v)
{
	const struct top_row *r = top_model_row(&v->m, v->sel);
	int y = 3, per;

	if (!r) {
		v->screen = SCREEN_TABLE;
		return;
	}
	attr_pair(v, PAIR_HEAD, true);
	mvprintw(y++, 0, "%-*.*s", COLS, COLS, "");
	mvprintw(y - 1, 0, " %s (netns %u)  -  Esc or Enter: back", r->name, r->netns);
	attr_pair(v, PAIR_HEAD, false);
	y = draw_identity(y, r->netns);
	draw_series(v, y++, "egress", r, 0);
	draw_series(v, y++, "ingress", r, 1);
	y++;
	per = (LINES - y - 3) / 2;
	y = draw_hist(v, y, per, "egress", r->all[0], PAIR_EG);
	draw_hist(v, y, per, "ingress", r->all[1], PAIR_IN);
}

static void draw_help(struct view *v)
{
	static const char *const lines[] = {
		"mace top - keys",
		"",
		"  Up/Down, j/k     select a container",
		"  PgUp/PgDn, g/G   page, first, last",
		"  s or >           sort by the next column",
		"  S or <           sort by the previous column",
		"  r                reverse the sort order",
		"  t                latencies of the whole run / of the last second",
		"  Enter            detail: histogram and last 60 s of p50",
		"  Esc, Enter       back to the table",
		"  ?, h             this help",
		"  q                quit",
		"",
		"Columns: egress and ingress overhead (p50, p99, mean, us) per container",
		"netns, REC/s (records per second: one per packet and direction),",
		"matched/events and kernel-lost events.  Enter shows the runtime and ID.",
		"Match is per row (events of packets seen in that container); events of",
		"packets never seen in a container are on the third line.  Lost is the",
		"kernel's, per row only with one container.  Without --netns, containers",
		"that come are added within ~2 s; rows of those gone say so, then go.",
	};
	unsigned int i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		mvprintw(3 + i, 2, "%s", lines[i]);
}

/* Rows named before their container was known get its name (the resolver
 * refreshes in the background); rows that left keep theirs. */
static void rename_rows(struct view *v)
{
	for (unsigned int i = 0; i < v->m.n; i++) {
		struct top_row *r = &v->m.rows[i];
		char name[sizeof(r->name)];

		if (!r->gone_ns && strcmp(cli_netns_name(r->netns, name, sizeof(name)), r->name))
			memcpy(r->name, name, sizeof(name));
	}
}

static void redraw(struct view *v)
{
	erase();
	draw_status(v);
	if (v->screen == SCREEN_TABLE)
		draw_table(v);
	else if (v->screen == SCREEN_DETAIL)
		draw_detail(v);
	else
		draw_help(v);
	draw_footer(v);
	refresh();
}

static void keep_selection(struct view *v)
{
	unsigned int i;

	for (i = 0; i < v->m.n; i++) {
		if (top_model_row(&v->m, i)->netns == v->sel_netns) {
			v->sel = i;
			return;
		}
	}
	if (v->sel >= v->m.n)
		v->sel = v->m.n ? v->m.n - 1 : 0;
}

static void select_row(struct view *v, long i)
{
	if (i < 0 || !v->m.n)
		i = 0;
	else if (i >= (long)v->m.n)
		i = v->m.n - 1;
	v->sel = i;
	if (v->m.n)
		v->sel_netns = top_model_row(&v->m, i)->netns;
}

/* Returns false when the key asks to quit. */
static bool key(struct view *v, int ch)
{
	long page = LINES > 8 ? LINES - 6 : 1;

	if (v->screen != SCREEN_TABLE && ch != 'q' && ch != KEY_RESIZE) {
		if (ch == 27 || ch == '\n' || ch == '\r' || ch == KEY_ENTER || ch == '?' ||
		    ch == 'h' || ch == KEY_LEFT)
			v->screen = SCREEN_TABLE;
		return true;
	}
	switch (ch) {
	case 'q':
	case 'Q':
		return false;
	case KEY_UP: case 'k':
		select_row(v, (long)v->sel - 1);
		break;
	case KEY_DOWN: case 'j':
		select_row(v, (long)v->sel + 1);
		break;
	case KEY_PPAGE:
		select_row(v, (long)v->sel - page);
		break;
	case KEY_NPAGE:
		select_row(v, (long)v->sel + page);
		break;
	case KEY_HOME: case 'g':
		select_row(v, 0);
		break;
	case KEY_END: case 'G':
		select_row(v, (long)v->m.n - 1);
		break;
	case 's': case '>': case KEY_RIGHT:
		top_model_set_sort(&v->m, (v->m.sort + 1) % TOP_NCOLS, v->m.reverse);
		keep_selection(v);
		break;
	case 'S': case '<':
		top_model_set_sort(&v->m, (v->m.sort + TOP_NCOLS - 1) % TOP_NCOLS, v->m.reverse);
		keep_selection(v);
		break;
	case 'r':
		top_model_set_sort(&v->m, v->m.sort, !v->m.reverse);
		keep_selection(v);
		break;
	case 't':
		v->m.show_total = !v->m.show_total;
		top_model_sort(&v->m);
		keep_selection(v);
		break;
	case '\n': case '\r': case KEY_ENTER:
		if (v->m.n)
			v->screen = SCREEN_DETAIL;
		break;
	case '?': case 'h':
		v->screen = SCREEN_HELP;
		break;
	}
	return true;
}

static int loop(struct view *v, const struct cli_opts *o, int sfd)
{
	uint64_t next = mace_now_ns() + 1000000000ull, end = 0;
	struct pollfd pfd[3] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
		{ .fd = mace_session_fd(v->ts.h.s), .events = POLLIN },
	};
	struct signalfd_siginfo si;
	int r, ch;

	if (o->duration > 0)
		end = mace_now_ns() + (uint64_t)(o->duration * 1e9);
	redraw(v);
	for (;;) {
		uint64_t t = mace_now_ns();
		bool dirty = false;

		if (end && t >= end)
			return EXIT_OK;
		r = poll(pfd, pfd[2].fd >= 0 ? 3 : 2, 100);
		if (r < 0 && errno != EINTR) {
			term_end();
			fprintf(stderr, "mace: top: poll: %s\n", strerror(errno));
			return EXIT_RUNTIME;
		}
		if (read(sfd, &si, sizeof(si)) == sizeof(si))
			return EXIT_OK;	/* SIGINT, SIGTERM, SIGHUP: leave cleanly */
		if (pfd[0].revents & (POLLHUP | POLLERR))
			return EXIT_OK;	/* the terminal went away */
		r = cli_handover_poll(&v->ts.h);
		if (r == -ENODEV && v->ts.h.follow) {
			/* the last container left: wait for new ones */
			r = cli_handover_lost(&v->ts.h);
			if (r < 0)
				snprintf(v->ts.h.note, sizeof(v->ts.h.note),
					 "retiring the session: %s", strerror(-r));
			pfd[2].fd = -1;
			r = 0;
		}
		if (r < 0) {
			term_end();
			fprintf(stderr, "mace: top: %s\n", strerror(-r));
			return EXIT_RUNTIME;
		}
		while ((ch = getch()) != ERR) {
			if (!key(v, ch))
				return EXIT_OK;
			dirty = true;
		}
		t = mace_now_ns();
		if (t >= next && cli_handover_tick(&v->ts.h)) {
			/* with no session, failing to bind just means still none */
			pfd[2].fd = v->ts.h.s ? mace_session_fd(v->ts.h.s) : -1;
			t = mace_now_ns();
		}
		if (t >= next) {
			r = cli_handover_take(&v->ts.h);
			if (r < 0) {
				term_end();
				fprintf(stderr, "mace: top: reading the histograms: %s\n",
					strerror(-r));
				return EXIT_RUNTIME;
			}
			top_session_update_counters(&v->ts, t);
			rename_rows(v);
			top_model_tick(&v->m, t);
			keep_selection(v);
			if (v->m.n && !v->sel_netns)
				select_row(v, 0);
			next = t + 1000000000ull;
			dirty = true;
		}
		if (dirty)
			redraw(v);
	}
}

int cmd_top(int argc, char **argv)
{
	struct view v = { .screen = SCREEN_TABLE };
	struct mace_counters c = { .sz = sizeof(c) };
	struct cli_opts o;
	sigset_t mask;
	int rc, sfd = -1, r;

	cli_block_signals();	/* before anything is set up: see loop.c */
	rc = cli_parse(argc, argv, CO_SEL, &o);
	if (rc)
		return rc;
	if (o.nargs) {
		fprintf(stderr, "mace: top: unexpected argument '%s'\n", o.args[0]);
		return EXIT_USAGE;
	}
	rc = cli_check_path(&o);
	if (rc)
		return rc;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "mace: top: needs a terminal (use mace record or mace stat)\n");
		return EXIT_USAGE;
	}
	top_model_init(&v.m, cli_netns_name);
	o.aggregate = true;
	if (top_session_open(&v.ts, &o, &v.m)) {
		top_model_fini(&v.m);
		return EXIT_RUNTIME;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	cli_block_signals();	/* done by cli_session_open already; kept explicit */
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		fprintf(stderr, "mace: top: signalfd: %s\n", strerror(errno));
		rc = EXIT_RUNTIME;
		goto out;
	}
	r = mace_session_start(v.ts.h.s);
	if (r < 0) {
		fprintf(stderr, "mace: top: cannot start tracing: %s\n", strerror(-r));
		rc = EXIT_RUNTIME;
		goto out;
	}
	cli_log_hold(true);
	term_init(&v);
	rc = loop(&v, &o, sfd);
	term_end();
	cli_log_hold(false);
	r = v.ts.h.s ? mace_session_stop(v.ts.h.s) : 0;
	if (r < 0) {
		fprintf(stderr, "mace: top: stopping: %s\n", strerror(-r));
		rc = EXIT_RUNTIME;
	}
	cli_handover_counters(&v.ts.h, &c);
	cli_print_counters(stderr, &c);
out:
	if (sfd >= 0)
		close(sfd);
	cli_unblock_signals();
	cli_handover_free(&v.ts.h);
	top_model_fini(&v.m);
	return rc;
}
