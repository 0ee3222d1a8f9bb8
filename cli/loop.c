/* SPDX-License-Identifier: MIT */
/*
 * One capture from start to stop: poll() on the session fd and a signalfd
 * (SIGINT, SIGTERM, SIGCHLD), optional child command, duration, progress.
 * Records go straight to the caller's callback; nothing here prints them.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

static volatile int stop_requested;
static sigset_t orig_mask;
static bool blocked;

/* Blocked as the capturing commands begin, before anything is set up (which
 * may take seconds), so a signal sent meanwhile neither kills us with a
 * tracefs instance in place nor is lost (a script's background job has
 * SIGINT ignored: only a blocked signal stays pending), and the loop's
 * signalfd gets it: a clean stop with counters.  One that comes before
 * (while the program loads) kills a process that has set up nothing. */
void cli_block_signals(void)
{
	sigset_t mask;

	if (blocked)
		return;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, &orig_mask);
	blocked = true;
}

void cli_unblock_signals(void)
{
	if (blocked)
		sigprocmask(SIG_SETMASK, &orig_mask, NULL);
	blocked = false;
}

void cli_request_stop(void)
{
	stop_requested = 1;
}

/* The counters in the order people read them; text and JSON share it. */
static const struct {
	const char *name;
	size_t off;
} counter_fields[] = {
#define F(x) { #x, offsetof(struct mace_counters, x) },
	MACE_COUNTER_FIELDS(F)
#undef F
};

static unsigned long long counter_at(const struct mace_counters *c, size_t i)
{
	return *(const uint64_t *)((const char *)c + counter_fields[i].off);
}

void cli_print_counters(FILE *f, const struct mace_counters *c)
{
	fputs("mace: counters:", f);
	for (size_t i = 0; i < sizeof(counter_fields) / sizeof(counter_fields[0]); i++)
		fprintf(f, " %s %llu", counter_fields[i].name, counter_at(c, i));
	fputc('\n', f);
}

void cli_counters_json(FILE *f, const struct mace_counters *c)
{
	for (size_t i = 0; i < sizeof(counter_fields) / sizeof(counter_fields[0]); i++)
		fprintf(f, "%c\"%s\":%llu", i ? ',' : '{', counter_fields[i].name, counter_at(c, i));
	fputc('}', f);
}

struct mace_session *cli_session_open(const struct cli_opts *o, const char *replay_file,
				      mace_record_fn fn, void *ctx)
{
	static char ctr_netns[64];
	struct mace_session *s;
	struct mace_opts mo;

	/* Asked each time: a restarted container keeps its name, not its netns. */
	if (!replay_file && o->container &&
	    cli_select_container(o->cmd, o->container, ctr_netns, sizeof(ctr_netns)))
		return NULL;
	cli_block_signals();
	cli_fill_mace_opts(o, &mo);
	mo.on_record = fn;
	mo.ctx = ctx;
	if (!replay_file) {
		mo.containers = cli_containers();
		if (o->container)
			mo.netns = ctr_netns;
	}
	if (replay_file)
		s = mace_session_replay(replay_file, &mo);
	else
		s = mace_session_new(&mo);
	if (!s) {
		cli_unblock_signals();
		/* The library said why through the log hook; add what failed. */
		fprintf(stderr, "mace: %s: cannot %s: %s\n", o->cmd,
			replay_file ? "replay" : "start a session", strerror(errno));
		return NULL;
	}
	if (!replay_file)
		mace_session_describe(s, stderr);
	return s;
}

static int spawn(char **argv, const sigset_t *oldmask, pid_t *pid)
{
	int fds[2], err = 0;
	ssize_t n;

	/* A close-on-exec pipe tells the parent whether exec worked. */
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	*pid = fork();
	if (*pid < 0) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (*pid == 0) {
		sigset_t m = *oldmask;

		close(fds[0]);
		/* Held by cli_session_open; the command gets them as usual. */
		sigdelset(&m, SIGINT);
		sigdelset(&m, SIGTERM);
		sigdelset(&m, SIGHUP);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &m, NULL);
		execvp(argv[0], argv);
		err = errno;
		n = write(fds[1], &err, sizeof(err));
		(void)n;
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], &err, sizeof(err));
	close(fds[0]);
	return n == sizeof(err) ? -err : 0;
}

static int shell_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

static void progress(struct cli_loop *l, uint64_t start, uint64_t *last_t, uint64_t *last_n)
{
	uint64_t t = mace_now_ns(), n;
	struct mace_counters c = { .sz = sizeof(c) };
	double dt;

	if (t - *last_t < 1000000000ull)
		return;
	if (l->nrecords) {
		n = *l->nrecords;
	} else {
		cli_handover_counters(&l->h, &c);
		n = c.records;
	}
	dt = (t - *last_t) / 1e9;
	fprintf(stderr, "\rmace: %.0f s, %llu records, %.0f/s   ", (t - start) / 1e9,
		(unsigned long long)n, (n - *last_n) / dt);
	*last_t = t;
	*last_n = n;
}

void cli_counters_add(struct mace_counters *into, const struct mace_counters *c)
{
	for (size_t i = 0; i < sizeof(counter_fields) / sizeof(counter_fields[0]); i++)
		*(uint64_t *)((char *)into + counter_fields[i].off) += counter_at(c, i);
}

uint64_t cli_interfaces_signature(void)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	uint64_t h = 1469598103934665603ull;

	if (!ifs)
		return 0;
	for (i = ifs; i->if_index; i++) {
		const char *p;

		h = (h ^ i->if_index) * 1099511628211ull;
		for (p = i->if_name; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
	}
	if_freenameindex(ifs);
	return h;
}

/* Following: a new session when the containers changed, said as it takes over. */
static void follow(struct cli_loop *l)
{
	int r = cli_handover_tick(&l->h);

	if (r > 0) {
		fprintf(stderr, "mace: %s: the containers changed; now tracing:\n", l->o->cmd);
		mace_session_describe(l->h.s, stderr);
		if (l->h.note[0])
			fprintf(stderr, "mace: %s: %s\n", l->o->cmd, l->h.note);
	} else if (r < 0 && r != -ENOENT && r != -ENODEV) {
		fprintf(stderr, "mace: %s: binding again: %s\n", l->o->cmd, strerror(-r));
	}
}

int cli_loop_run(struct cli_loop *l)
{
	const struct cli_opts *o = l->o;
	bool live = mace_session_fd(l->h.s) >= 0;
	bool show = l->progress && isatty(STDERR_FILENO);
	uint64_t start, deadline = 0, last_t, last_n = 0;
	sigset_t mask;
	struct pollfd pfd[2];
	pid_t child = 0;
	int sfd, rc = EXIT_OK, r, status;
	uint64_t next_look = 0;	/* following: when to look at the containers again */

	l->child_status = -1;
	l->stop_signal = 0;
	stop_requested = 0;
	/* Writes to a closed pipe fail with EPIPE instead of killing us. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	cli_block_signals();
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		fprintf(stderr, "mace: %s: signalfd: %s\n", o->cmd, strerror(errno));
		rc = EXIT_RUNTIME;
		goto out_mask;
	}

	r = mace_session_start(l->h.s);
	if (r < 0) {
		fprintf(stderr, "mace: %s: cannot start tracing: %s\n", o->cmd, strerror(-r));
		rc = EXIT_RUNTIME;
		goto out_sfd;
	}
	if (o->child_argv) {
		r = spawn(o->child_argv, &orig_mask, &child);
		if (r < 0) {
			fprintf(stderr, "mace: %s: cannot run '%s': %s\n", o->cmd,
				o->child_argv[0], strerror(-r));
			if (child > 0)
				waitpid(child, NULL, 0);
			child = 0;
			rc = EXIT_RUNTIME;
			goto out_stop;
		}
	}
	start = last_t = mace_now_ns();
	if (o->duration > 0)
		deadline = start + (uint64_t)(o->duration * 1e9);

	pfd[0].fd = sfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = mace_session_fd(l->h.s);
	pfd[1].events = POLLIN;
	while (!stop_requested) {
		int timeout = live ? 100 : 0;
		struct signalfd_siginfo si;

		if (deadline) {
			uint64_t t = mace_now_ns();

			if (t >= deadline)
				break;
			if ((deadline - t) / 1000000 < (uint64_t)timeout)
				timeout = (deadline - t) / 1000000;
		}
		if (poll(pfd, live ? 2 : 1, timeout) < 0 && errno != EINTR) {
			fprintf(stderr, "mace: %s: poll: %s\n", o->cmd, strerror(errno));
			rc = EXIT_RUNTIME;
			break;
		}
		while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo != SIGCHLD)
				l->stop_signal = si.ssi_signo;
		}
		if (child > 0 && waitpid(child, &status, WNOHANG) == child) {
			l->child_status = shell_status(status);
			child = 0;
		}
		/* Drain what is ready even when stopping: those packets happened. */
		r = cli_handover_poll(&l->h);
		if (r == -ENODATA)
			break;
		if (r == -ENODEV && l->h.follow) {
			fprintf(stderr, "mace: %s: no bound container is left; waiting for new "
				"ones\n", o->cmd);
			r = cli_handover_lost(&l->h);
			if (r < 0)
				fprintf(stderr, "mace: %s: retiring the session: %s\n", o->cmd,
					strerror(-r));
			r = 0;
			pfd[1].fd = -1;
		}
		if (r == -ENODEV) {
			/* the library named the netns that went; stop with the counters */
			fprintf(stderr, "mace: %s: stopping: no bound container is left\n", o->cmd);
			rc = EXIT_RUNTIME;
			break;
		}
		if (r < 0) {
			fprintf(stderr, "mace: %s: %s\n", o->cmd, strerror(-r));
			rc = EXIT_RUNTIME;
			break;
		}
		if (l->after_poll && l->after_poll(l->ctx) < 0 && !stop_requested) {
			rc = EXIT_RUNTIME;
			break;
		}
		if (l->stop_signal || (o->child_argv && child == 0))
			break;
		if (l->h.follow && mace_now_ns() >= next_look) {
			follow(l);
			pfd[1].fd = l->h.s ? mace_session_fd(l->h.s) : -1;
			next_look = mace_now_ns() + 1000000000ull;
		}
		if (show)
			progress(l, start, &last_t, &last_n);
	}
	if (show)
		fputc('\n', stderr);

out_stop:
	r = l->h.s ? mace_session_stop(l->h.s) : 0;
	if (r < 0) {
		fprintf(stderr, "mace: %s: stopping: %s\n", o->cmd, strerror(-r));
		rc = EXIT_RUNTIME;
	}
	if (l->after_poll && l->after_poll(l->ctx) < 0 && !stop_requested)
		rc = EXIT_RUNTIME;
	if (child > 0) {
		/* We stop first (signal, duration, EPIPE): the command goes too. */
		kill(child, SIGTERM);
		if (waitpid(child, &status, 0) == child)
			l->child_status = shell_status(status);
	}
out_sfd:
	close(sfd);
out_mask:
	cli_unblock_signals();
	return rc;
}
