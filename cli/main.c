/* SPDX-License-Identifier: MIT */
/* mace: the command table, help, version and the log hook. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;
	const char *help;
};

#define SEL_SYN "[-p PATH] [--netns NS | --container NAME] [--outer DEV]\n" \
		"              [-b auto|bpf|ftrace] [-d SEC] [-w RAWFILE] [--raw]"
#define SEL_HELP                                                                           \
	"  -p, --path PATH       shipped path name or path file (default inner-dev)\n"      \
	"      --netns NS        container netns: ip netns NAME, PATH or PID\n"             \
	"                        (default: every netns with a veth peer here)\n"            \
	"      --container NAME  the netns of a container: name, pod, ID or ID prefix\n"    \
	"                        (Docker, Podman APIs; DOCKER_HOST, CONTAINER_HOST)\n"      \
	"      --outer DEV       outer device, DEV or DEV@NETNS (default: default route)\n" \
	"  -b, --backend B       auto, bpf or ftrace (default auto)\n"                      \
	"  -d, --duration SEC    stop after SEC seconds\n"                                  \
	"  -w, --write-raw FILE  also save raw events for mace replay\n"                    \
	"      --raw             correlate in user space even where the kernel could\n"

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "record", cmd_record, "record " SEL_SYN " [-F csv|json] [-o FILE] [-- CMD ...]",
	  "Prints one record per packet and direction (CSV with a header, or JSON lines).\n"
	  SEL_HELP
	  "  -F, --format F        csv (default) or json\n"
	  "  -o, --output FILE     write records to FILE (not a symlink) instead of stdout\n"
	  "  -- CMD ...            run CMD, stop when it exits and return its status\n" },
	{ "stat", cmd_stat, "stat " SEL_SYN " [-j] [-- CMD ...]",
	  "Summary per direction (and per netns when several): count, mean, mode,\n"
	  "stddev, min, p50, p90, p99, p99.9, max in microseconds, and the counters.\n"
	  SEL_HELP
	  "  -j, --json            JSON output (nanoseconds)\n"
	  "  -- CMD ...            run CMD, stop when it exits and return its status\n" },
	{ "top", cmd_top, "top " SEL_SYN,
	  "Live view, one row per container netns; press ? inside for keys.\n" SEL_HELP },
	{ "serve", cmd_serve, "serve " SEL_SYN "\n              [--listen ADDR:PORT] [--grace SEC]"
	  " [--socket PATH [--socket-group GROUP]\n              [--socket-keep N] [--socket-age SEC]]",
	  "Serves per-container overhead to Prometheus: GET /metrics (text format\n"
	  "0.0.4) and a landing page at /.  Follows containers as top does.\n" SEL_HELP
	  "      --listen A:PORT   where to listen (default 127.0.0.1:10127;\n"
	  "                        [ADDR6]:PORT, :PORT for every address)\n"
	  "      --grace SEC       a removed container's series stay SEC (default 120)\n"
	  "      --socket PATH     also answer unprivileged tools about their own\n"
	  "                        container's packets on this unix socket (mace-serve(8));\n"
	  "                        with it, HTTP only if --listen is given\n"
	  "      --socket-group G  socket mode 0660 and group G (default mode 0666)\n"
	  "      --socket-keep N   records kept per container (default 8192); memory:\n"
	  "                        at most N x 144 bytes per container, 256 containers\n"
	  "                        (default: 1.2 MiB each, 288 MiB in all)\n"
	  "      --socket-age SEC  records kept at most SEC seconds (default 60)\n" },
	{ "paths", cmd_paths, "paths [--check [--netns NS] [--outer DEV]] [FILE|NAME ...]",
	  "Lists the shipped paths, or validates path files (exit 1 if any is bad).\n"
	  "  --check               also bind the path's roles (as record would) and name\n"
	  "                        the points no packet can fire on that topology\n"
	  "                        (exit 1 if there are any)\n" },
	{ "replay", cmd_replay, "replay FILE [-p PATH] [-F csv|json] [-o FILE] [--stat [-j]]",
	  "Re-correlates raw events saved by record -w.\n"
	  "  -p, --path PATH       correlate with another path than the recorded one\n"
	  "  -F, --format F        csv (default) or json\n"
	  "  -o, --output FILE     write records to FILE\n"
	  "      --stat            print the summary instead of the records\n"
	  "  -j, --json            summary as JSON\n" },
	{ "plot", cmd_plot, "plot FILE.csv -o OUT.svg|OUT.png",
	  "Plots egress and ingress overhead per packet over time and their\n"
	  "distributions with gnuplot.\n" },
	{ "adjust", cmd_adjust,
	  "adjust [-p PATH] [--netns NS] [-b B] [-U] [-I ID] -- CMD ...\n"
	  "       mace adjust -i RECORDS [-U] [-I ID] [PING_OUTPUT]",
	  "Appends adjusted=RTT-egress-ingress to each reply line of iputils ping output,\n"
	  "joined by icmp_seq with the records of the same probes, and summarises raw\n"
	  "and adjusted RTTs.  With a command, runs it under a session on the path that\n"
	  "matches ping's stamps (rx-stamp; inner-dev for ping -U) and adjusts its output.\n"
	  "  -p, --path PATH       another path (the matching one is said on stderr)\n"
	  "  -U                    ping timed replies in user space (ping -U)\n"
	  "  -i FILE               records written by mace record, CSV or JSON\n"
	  "  -I ID                 only echo requests with this id (several pingers)\n" },
	{ "help", cmd_help, "help [COMMAND]", "Shows help for a command.\n" },
};

void cli_usage(FILE *f, const char *cmd)
{
	unsigned int i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (cmd && !strcmp(cmd, commands[i].name)) {
			fprintf(f, "Usage: mace %s\n\n%s", commands[i].synopsis, commands[i].help);
			return;
		}
	}
	fprintf(f, "Usage: mace [-v] COMMAND [OPTIONS]\n       mace --version\n\nCommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  mace %s\n", commands[i].synopsis);
	fprintf(f, "\nExit status: 0 ok, 1 runtime error, 2 usage error.  See mace(8).\n");
}

static int cmd_help(int argc, char **argv)
{
	unsigned int i;

	if (argc > 2) {
		fprintf(stderr, "mace: help: unexpected argument '%s'\n", argv[2]);
		return EXIT_USAGE;
	}
	if (argc == 2) {
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (!strcmp(argv[1], commands[i].name))
				break;
		if (i == sizeof(commands) / sizeof(commands[0])) {
			fprintf(stderr, "mace: help: unknown command '%s'\n", argv[1]);
			return EXIT_USAGE;
		}
	}
	cli_usage(stdout, argc == 2 ? argv[1] : NULL);
	return EXIT_OK;
}

/* While the terminal view runs, messages are kept for its status line. */
static bool log_held;
static bool verbose;
static char log_last[256];

void cli_log_hold(bool hold)
{
	log_held = hold;
}

const char *cli_log_last(void)
{
	return log_last;
}

static void log_hook(enum mace_log_level level, const char *msg, void *ctx)
{
	static const char *const lvl[] = { "error: ", "warning: ", "", "debug: " };

	if (level > MACE_LOG_WARN && !verbose)
		return;
	if (log_held && level <= MACE_LOG_INFO) {
		snprintf(log_last, sizeof(log_last), "%s%s", lvl[level], msg);
		return;
	}
	if (!log_held)
		fprintf(stderr, "mace: %s%s\n", lvl[level], msg);
}

int main(int argc, char **argv)
{
	unsigned int i;
	int a = 1;

	for (; a < argc && argv[a][0] == '-'; a++) {
		if (!strcmp(argv[a], "--version") || !strcmp(argv[a], "-V")) {
			printf("mace %d.%d.%d (libmace %s)\n", MACE_VERSION_MAJOR, MACE_VERSION_MINOR,
			       MACE_VERSION_PATCH, mace_version());
			return EXIT_OK;
		}
		if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help")) {
			cli_usage(stdout, NULL);
			return EXIT_OK;
		}
		if (!strcmp(argv[a], "-v") || !strcmp(argv[a], "--verbose")) {
			verbose = true;
			continue;
		}
		fprintf(stderr, "mace: unknown option '%s'\n", argv[a]);
		cli_usage(stderr, NULL);
		return EXIT_USAGE;
	}
	if (a == argc) {
		cli_usage(stderr, NULL);
		return EXIT_USAGE;
	}
	mace_set_log(log_hook, NULL);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[a], commands[i].name))
			return commands[i].run(argc - a, argv + a);
	fprintf(stderr, "mace: unknown command '%s'\n", argv[a]);
	cli_usage(stderr, NULL);
	return EXIT_USAGE;
}
