// SPDX-License-Identifier: MIT
/*
 * cycles - N new/start/stop/free cycles of a live session in one process.
 *
 *	cycles NETNS COUNT [bpf|ftrace]
 *
 * Checks after the last cycle that the process holds no more fds than
 * before (and no BPF program/map/link fd), that no tracefs instance of this
 * pid is left, and that VmRSS stopped growing (the second half of the run
 * may not add more than a small slack).  Prints "PASS name"/"FAIL name: why"
 * lines for tests/run.sh.  Run under LeakSanitizer for the memory verdict.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mace.h"

#define TRACEFS "/sys/kernel/tracing"

struct fdcount {
	int all, bpf;
};

/* Every open fd, and how many are BPF objects (anon_inode:bpf-prog etc.). */
static int count_fds(struct fdcount *c)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], link[128];

	if (!d)
		return -errno;
	c->all = c->bpf = 0;
	while ((e = readdir(d))) {
		ssize_t n;

		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		c->all++;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			if (!strncmp(link, "anon_inode:bpf", 14))
				c->bpf++;
		}
	}
	closedir(d);
	return 0;
}

/* Instances named after this process (mace-PID or mace-PID-...). */
static int count_instances(void)
{
	DIR *d = opendir(TRACEFS "/instances");
	struct dirent *e;
	char me[32];
	size_t len;
	int n = 0;

	if (!d)
		return 0;
	len = snprintf(me, sizeof(me), "mace-%d", (int)getpid());
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, me, len) && (!e->d_name[len] || e->d_name[len] == '-'))
			n++;
	closedir(d);
	return n;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void on_record(const struct mace_record *rec, void *ctx)
{
	(*(unsigned long *)ctx)++;
}

int main(int argc, char **argv)
{
	struct mace_opts o = MACE_OPTS_INIT;
	struct fdcount before, after;
	unsigned long records = 0;
	long rss_half = 0, rss_end;
	int count, i, fails = 0;
	const char *name;

	if (argc < 3 || (count = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: cycles NETNS COUNT [bpf|ftrace]\n");
		return 2;
	}
	o.netns = argv[1];
	o.on_record = on_record;
	o.ctx = &records;
	o.backend = MACE_BACKEND_BPF;
	name = "stress_cycles_bpf";
	if (argc > 3 && !strcmp(argv[3], "ftrace")) {
		o.backend = MACE_BACKEND_FTRACE;
		name = "stress_cycles_ftrace";
	}
	if (count_fds(&before)) {
		printf("FAIL %s: cannot read /proc/self/fd: %s\n", name, strerror(errno));
		return 1;
	}
	for (i = 0; i < count; i++) {
		struct mace_session *s = mace_session_new(&o);
		int ret;

		if (!s) {
			printf("FAIL %s: cycle %d: mace_session_new: %s\n", name, i, strerror(errno));
			return 1;
		}
		ret = mace_session_start(s);
		if (ret) {
			printf("FAIL %s: cycle %d: mace_session_start: %s\n", name, i, strerror(-ret));
			mace_session_free(s);
			return 1;
		}
		ret = mace_session_poll(s, 0);
		if (ret < 0) {
			printf("FAIL %s: cycle %d: mace_session_poll: %s\n", name, i, strerror(-ret));
			fails++;
		}
		ret = mace_session_stop(s);
		if (ret) {
			printf("FAIL %s: cycle %d: mace_session_stop: %s\n", name, i, strerror(-ret));
			fails++;
		}
		/* Every other session is freed without an explicit stop. */
		if (i % 2 && mace_session_stop(s))
			fails++;
		mace_session_free(s);
		if (fails)
			return 1;
		if (i == count / 2)
			rss_half = rss_kb();
	}
	rss_end = rss_kb();
	count_fds(&after);
	if (after.all != before.all || after.bpf) {
		printf("FAIL %s_fds: %d fds before, %d after (%d BPF)\n", name, before.all, after.all,
		       after.bpf);
		fails++;
	} else {
		printf("PASS %s_fds (%d cycles, %d fds)\n", name, count, after.all);
	}
	if (count_instances()) {
		printf("FAIL %s_instances: %d instances mace-%d left\n", name, count_instances(),
		       (int)getpid());
		fails++;
	} else {
		printf("PASS %s_instances\n", name);
	}
	/* Allocator noise is a few hundred kB; a leak per cycle grows with count. */
	if (rss_half > 0 && rss_end - rss_half > 2048) {
		printf("FAIL %s_rss: VmRSS %ld kB at cycle %d, %ld kB at the end\n", name, rss_half,
		       count / 2, rss_end);
		fails++;
	} else {
		printf("PASS %s_rss (%ld kB at half, %ld kB at end)\n", name, rss_half, rss_end);
	}
	return fails ? 1 : 0;
}
