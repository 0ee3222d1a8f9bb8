/* SPDX-License-Identifier: MIT */
/* Option parsing shared by the subcommands: one grammar, bad arguments named. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { OPT_NETNS = 256, OPT_OUTER, OPT_RAW, OPT_STAT, OPT_CONTAINER, OPT_LISTEN, OPT_GRACE,
       OPT_SOCKET, OPT_SOCKET_GROUP, OPT_SOCKET_KEEP, OPT_SOCKET_AGE };

static const struct option long_opts[] = {
	{ "path", required_argument, NULL, 'p' },
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "container", required_argument, NULL, OPT_CONTAINER },
	{ "outer", required_argument, NULL, OPT_OUTER },
	{ "backend", required_argument, NULL, 'b' },
	{ "format", required_argument, NULL, 'F' },
	{ "output", required_argument, NULL, 'o' },
	{ "write-raw", required_argument, NULL, 'w' },
	{ "duration", required_argument, NULL, 'd' },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "json", no_argument, NULL, 'j' },
	{ "stat", no_argument, NULL, OPT_STAT },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
	{ "socket-keep", required_argument, NULL, OPT_SOCKET_KEEP },
	{ "socket-age", required_argument, NULL, OPT_SOCKET_AGE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cli_parse_duration(const char *s, double *out)
{
	char *end;
	double v;

	/* Plain decimal seconds only: strtod also takes hex, "inf" and spaces. */
	if (s[strspn(s, "0123456789.eE+-")])
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 1e9)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Is option c allowed under the accept mask? */
static bool allowed(int c, unsigned int accept)
{
	switch (c) {
	case 'p':
		return accept & (CO_SEL | CO_PATH);
	case OPT_NETNS: case OPT_CONTAINER: case OPT_OUTER: case 'b': case 'd': case 'w': case OPT_RAW:
		return accept & CO_SEL;
	case 'F':
		return accept & CO_OUT;
	case 'o':
		return accept & (CO_OUT | CO_OUTFILE);
	case 'j':
		return accept & CO_JSON;
	case OPT_STAT:
		return accept & CO_STAT;
	case 'i': case 'I': case 'U':
		return accept & CO_ADJUST;
	case OPT_LISTEN: case OPT_GRACE:
	case OPT_SOCKET: case OPT_SOCKET_GROUP: case OPT_SOCKET_KEEP: case OPT_SOCKET_AGE:
		return accept & CO_SERVE;
	case 'h':
		return true;
	}
	return false;
}

static int bad(const struct cli_opts *o, const char *what, const char *arg)
{
	fprintf(stderr, "mace: %s: %s '%s'\n", o->cmd, what, arg);
	fprintf(stderr, "Try 'mace help %s'.\n", o->cmd);
	return EXIT_USAGE;
}

int cli_parse(int argc, char **argv, unsigned int accept, struct cli_opts *o)
{
	int c, i, end = argc;

	memset(o, 0, sizeof(*o));
	o->cmd = argv[0];
	o->format = MACE_FORMAT_CSV;
	o->echo_id = -1;

	/* "--" ends our options; what follows is the command to run. */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			end = i;
			break;
		}
	}
	if (end < argc) {
		if (!(accept & CO_CMD))
			return bad(o, "does not run a command; unexpected", "--");
		if (end + 1 == argc)
			return bad(o, "missing command after", "--");
		o->child_argv = argv + end + 1;
	}

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(end, argv, ":p:b:F:o:w:d:jhi:I:U", long_opts, NULL)) != -1) {
		/* A separate argument ("-o FILE") moved optind past the option itself. */
		const char *opt = optarg && optarg == argv[optind - 1] && optind >= 2 ?
				  argv[optind - 2] : argv[optind - 1];

		if (c == '?')
			return bad(o, "unknown option", optopt ? (char[]){ '-', optopt, 0 } : opt);
		if (c == ':')
			return bad(o, "missing argument for", opt);
		if (!allowed(c, accept))
			return bad(o, "option not accepted here", opt);
		switch (c) {
		case 'h':
			cli_usage(stdout, o->cmd);
			exit(EXIT_OK);
		case 'p':
			o->path = optarg;
			break;
		case OPT_NETNS:
			if (!*optarg)
				return bad(o, "bad netns", optarg);
			o->netns = optarg;
			break;
		case OPT_CONTAINER:
			if (!*optarg)
				return bad(o, "bad container", optarg);
			o->container = optarg;
			break;
		case OPT_OUTER:
			if (!*optarg)
				return bad(o, "bad outer device", optarg);
			o->outer = optarg;
			break;
		case 'b':
			if (!strcmp(optarg, "auto"))
				o->backend = MACE_BACKEND_AUTO;
			else if (!strcmp(optarg, "bpf"))
				o->backend = MACE_BACKEND_BPF;
			else if (!strcmp(optarg, "ftrace"))
				o->backend = MACE_BACKEND_FTRACE;
			else
				return bad(o, "bad backend (auto, bpf, ftrace)", optarg);
			break;
		case 'F':
			if (!strcmp(optarg, "csv"))
				o->format = MACE_FORMAT_CSV;
			else if (!strcmp(optarg, "json"))
				o->format = MACE_FORMAT_JSON;
			else
				return bad(o, "bad format (csv, json)", optarg);
			break;
		case 'o':
			if (!*optarg)
				return bad(o, "bad output file", optarg);
			o->output = optarg;
			break;
		case 'w':
			if (!*optarg)
				return bad(o, "bad raw file", optarg);
			o->save_file = optarg;
			break;
		case 'd':
			if (cli_parse_duration(optarg, &o->duration))
				return bad(o, "bad duration", optarg);
			break;
		case OPT_RAW:
			o->user_corr = true;
			break;
		case 'j':
			o->json = true;
			break;
		case OPT_STAT:
			o->stat = true;
			break;
		case 'i':
			if (!*optarg)
				return bad(o, "bad records file", optarg);
			o->records = optarg;
			break;
		case 'I': {
			char *e;
			long id = strtol(optarg, &e, 0);

			if (!*optarg || *e || id < 0 || id > 0xffff)
				return bad(o, "bad echo id (0..65535)", optarg);
			o->echo_id = (int)id;
			break;
		}
		case 'U':
			o->user_rx = true;
			break;
		case OPT_LISTEN:
			if (!*optarg)
				return bad(o, "bad listen address", optarg);
			o->listen = optarg;
			break;
		case OPT_GRACE:
			if (cli_parse_duration(optarg, &o->grace))
				return bad(o, "bad grace period", optarg);
			break;
		case OPT_SOCKET:
			if (!*optarg)
				return bad(o, "bad socket path", optarg);
			o->socket = optarg;
			break;
		case OPT_SOCKET_GROUP:
			if (!*optarg)
				return bad(o, "bad socket group", optarg);
			o->socket_group = optarg;
			break;
		case OPT_SOCKET_KEEP: {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || !*optarg || *end || optarg[0] == '-' || !v || v > 1u << 24)
				return bad(o, "bad record count (1..16777216)", optarg);
			o->socket_keep = (unsigned int)v;
			break;
		}
		case OPT_SOCKET_AGE:
			if (cli_parse_duration(optarg, &o->socket_age) || o->socket_age > 86400)
				return bad(o, "bad record age (seconds, up to 86400)", optarg);
			break;
		}
	}
	if (o->netns && o->container)
		return bad(o, "--container and --netns name one netns each; give one, not", "both");
	o->args = argv + optind;
	o->nargs = end - optind;
	return 0;
}

int cli_check_path(const struct cli_opts *o)
{
	struct mace_path *p;
	char err[512] = "";

	if (!o->path)
		return 0;
	p = mace_path_load(o->path, err, sizeof(err));
	if (!p) {
		fprintf(stderr, "mace: %s: %s\n", o->cmd,
			*err ? err : "bad path");
		return EXIT_USAGE;
	}
	mace_path_free(p);
	return 0;
}

void cli_fill_mace_opts(const struct cli_opts *o, struct mace_opts *mo)
{
	struct mace_opts init = MACE_OPTS_INIT;

	*mo = init;
	mo->path = o->path;
	mo->netns = o->netns;
	mo->outer = o->outer;
	mo->backend = o->backend;
	mo->raw_events = o->user_corr;
	mo->save_file = o->save_file;
	mo->aggregate = o->aggregate;
}
