/* SPDX-License-Identifier: MIT */
/*
 * print_hook NETNS: libbpf's print hook is the process's.  A caller that set
 * its own must find it in place after mace_session_new and _start (libmace's
 * hook only lives while it loads and attaches), while libmace's log still
 * got libbpf's messages of the load.  Prints "libbpf messages N" or why not.
 */
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mace.h"

static unsigned int via_mace;

static int callers_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static void on_log(enum mace_log_level level, const char *msg, void *ctx)
{
	if (!strncmp(msg, "libbpf: ", 8))
		via_mace++;
	else if (level <= MACE_LOG_WARN)
		fprintf(stderr, "mace: %s\n", msg);
}

static int still_ours(const char *after)
{
	libbpf_print_fn_t now = libbpf_set_print(callers_print);

	if (now != callers_print) {
		printf("the caller's libbpf print hook was replaced after %s\n", after);
		return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct mace_opts o = MACE_OPTS_INIT;
	struct mace_session *s;
	int ok;

	if (argc != 2) {
		fprintf(stderr, "usage: print_hook NETNS\n");
		return 2;
	}
	mace_set_log(on_log, NULL);
	libbpf_set_print(callers_print);
	o.netns = argv[1];
	o.backend = MACE_BACKEND_BPF;
	s = mace_session_new(&o);
	if (!s) {
		printf("mace_session_new failed\n");
		return 1;
	}
	ok = still_ours("mace_session_new");
	ok = ok && !mace_session_start(s) && still_ours("mace_session_start");
	mace_session_stop(s);
	mace_session_free(s);
	ok = ok && still_ours("mace_session_free");
	if (ok && !via_mace)
		printf("no libbpf message reached the mace log during the load\n");
	if (!ok || !via_mace)
		return 1;
	printf("libbpf messages %u\n", via_mace);
	return 0;
}
