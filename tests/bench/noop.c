/* SPDX-License-Identifier: MIT */
/*
 * noop OBJECT TRACEPOINT...: attach the no-op programs of OBJECT (noop.bpf.o)
 * to the named packet tracepoints, print "attached N", and keep them there
 * until SIGINT or SIGTERM.  The benchmarks' floor for mace's overhead.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* True if section "tp_btf/NAME" names one of the tracepoints asked for. */
static int wanted(const char *sec, int n, char **tps)
{
	const char *name = strchr(sec, '/');

	for (int i = 0; name && i < n; i++)
		if (!strcmp(name + 1, tps[i]))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct bpf_link *links[64];
	struct bpf_object *obj;
	struct bpf_program *p;
	sigset_t mask, old;
	int attached = 0;

	if (argc < 3 || argc - 2 > 64) {
		fprintf(stderr, "usage: noop OBJECT TRACEPOINT...\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "noop: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(p, obj)
		bpf_program__set_autoload(p, wanted(bpf_program__section_name(p), argc - 2,
						    argv + 2));
	if (bpf_object__load(obj)) {
		fprintf(stderr, "noop: loading %s failed\n", argv[1]);
		bpf_object__close(obj);
		return 1;
	}
	bpf_object__for_each_program(p, obj) {
		if (!bpf_program__autoload(p))
			continue;
		links[attached] = bpf_program__attach(p);
		if (!links[attached]) {
			fprintf(stderr, "noop: attaching %s: %s\n", bpf_program__section_name(p),
				strerror(errno));
			break;
		}
		attached++;
	}
	if (attached != argc - 2) {
		fprintf(stderr, "noop: %d of %d tracepoints attached\n", attached, argc - 2);
		goto out;
	}
	/* Signals blocked until sigsuspend: none slips in before the wait. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("attached %d\n", attached);
	fflush(stdout);
	while (!stop)
		sigsuspend(&old);
out:
	for (int i = 0; i < attached; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	return attached == argc - 2 ? 0 : 1;
}
