/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the mace command: option parsing, the session event loop,
 * record output, statistics, netns names.  One file per subcommand uses them.
 */
#ifndef MACE_CLI_H
#define MACE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mace.h"

/* Exit codes (docs/DESIGN.md, Command line). */
#define EXIT_OK 0
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/* Which options a subcommand accepts. */
#define CO_SEL 0x01	/* -p --netns --container --outer -b -d -w --raw */
#define CO_OUT 0x02	/* -F -o */
#define CO_JSON 0x04	/* -j */
#define CO_CMD 0x08	/* -- CMD ... */
#define CO_STAT 0x10	/* --stat */
#define CO_PATH 0x20	/* -p alone (replay) */
#define CO_OUTFILE 0x40	/* -o alone (plot) */
#define CO_ADJUST 0x80	/* -i RECORDS, -I ID, -U (adjust) */
#define CO_SERVE 0x100	/* --listen --grace --socket* */

struct cli_opts {
	const char *cmd;	/* subcommand name, for messages */
	const char *path, *netns, *outer, *save_file, *output;
	const char *container;	/* --container NAME|ID|ID-PREFIX */
	enum mace_backend_kind backend;
	enum mace_format format;
	double duration;	/* seconds; 0: until stopped */
	bool user_corr;		/* --raw: correlate in user space */
	bool json, stat;
	bool aggregate;		/* set by the command: histograms, no records */
	const char *records;	/* -i: records to join with a tool's output */
	int echo_id;		/* -I: the pinger's echo id, or -1 */
	bool user_rx;		/* -U: the tool timed replies in user space */
	const char *listen;	/* serve: ADDR:PORT */
	double grace;		/* serve: seconds a removed container's series stay; 0: default */
	const char *socket;	/* serve: --socket PATH */
	const char *socket_group; /* serve: --socket-group GROUP */
	unsigned int socket_keep; /* serve: records per container; 0: default */
	double socket_age;	/* serve: seconds records are kept; 0: default */
	char **child_argv;	/* after "--", NULL-terminated; NULL if none */
	char **args;		/* positional arguments */
	int nargs;
};

/* opts.c */
/* Parses argv (argv[0] is the subcommand).  Returns 0 or EXIT_USAGE after
 * printing a message naming the bad argument. */
int cli_parse(int argc, char **argv, unsigned int accept, struct cli_opts *o);
int cli_parse_duration(const char *s, double *out);
/* Checks the path names a shipped path or a valid file; prints the parser's
 * message.  0 or EXIT_USAGE. */
int cli_check_path(const struct cli_opts *o);
void cli_fill_mace_opts(const struct cli_opts *o, struct mace_opts *mo);

/* loop.c (struct cli_loop in loop.h) */
/* SIGINT, SIGTERM, SIGHUP, SIGCHLD blocked (for a signalfd) / as before. */
void cli_block_signals(void);
void cli_unblock_signals(void);
/* Asks the running loop to stop (output closed: EPIPE). */
void cli_request_stop(void);
/* Opens a live (replay_file NULL) or replay session, prints the binding.
 * NULL on error (reported). */
struct mace_session *cli_session_open(const struct cli_opts *o, const char *replay_file,
				      mace_record_fn fn, void *ctx);
void cli_print_counters(FILE *f, const struct mace_counters *c);
/* into += c, field by field. */
void cli_counters_add(struct mace_counters *into, const struct mace_counters *c);
/* The current netns's interfaces, hashed: a container whose veth peer is
 * here cannot come or go without changing it. */
uint64_t cli_interfaces_signature(void);
void cli_counters_json(FILE *f, const struct mace_counters *c);

/* output.c */
/* Opens FILE for writing, refusing symlinks; "-" or NULL is stdout. */
FILE *cli_open_output(const char *cmd, const char *file);
struct cli_writer {
	FILE *f;
	enum mace_format fmt;
	/* the path's name, copied: a followed run replaces its sessions */
	char path[64];
	int err;		/* first write error (errno) */
	uint64_t records;
	char *buf;
	size_t size;
	bool named;		/* records carry their container's name, pod and namespace */
	struct cli_name_cache *names;
};
/* The CSV header of w's records. */
const char *cli_writer_header(const struct cli_writer *w);
void cli_writer_free(struct cli_writer *w);
void cli_writer_record(const struct mace_record *rec, void *ctx);
/* Flushes; on EPIPE asks the loop to stop.  Returns 0 or -errno. */
int cli_writer_flush(void *ctx);

/* stats.c: latency summaries */
struct cli_stats;
struct cli_stats *cli_stats_new(void);
void cli_stats_record(const struct mace_record *rec, void *ctx);
/* An aggregating session's histograms into st (a mace_hist_fn, ctx st). */
void cli_stats_hist(uint32_t netns, enum mace_dir dir, const struct mace_hist *h, void *ctx);
/* s: the session whose path and silent points are said; c: the counters of
 * the run (of every session, when sessions were replaced). */
void cli_stats_print(struct cli_stats *st, struct mace_session *s,
		     const struct mace_counters *c, bool json, FILE *f);
void cli_stats_free(struct cli_stats *st);

/* netns_name.c: container names, else "ctr1" (ip netns name), "pid 1234", or the inode */
const char *cli_netns_name(uint32_t netns, char *buf, size_t size);
/* The process's resolver (made on first use, refreshed by a thread); NULL
 * if it could not be made (said once). */
struct mace_containers *cli_containers(void);
/* 0 or -ENOENT (not known yet: asked again in the background). */
int cli_container_of(uint32_t netns, struct mace_container *out);
/* --container SPEC: the netns path of that container into netns (for
 * --netns).  EXIT_OK, or EXIT_RUNTIME after saying why, with close matches. */
int cli_select_container(const char *cmd, const char *spec, char *netns, size_t size);
/* The same, quiet: 0, or -errno with why in err.  fresh: ask the runtimes
 * first (a rebind after a restart). */
int cli_container_netns(const char *spec, bool fresh, char *netns, size_t size, char *err,
			size_t errlen);

/* run.c: one live (replay_file NULL) or replay session into a record file
 * (records), a summary (stats) or both, with the counters and exit status the
 * commands share. */
int cli_run(struct cli_opts *o, const char *replay_file, bool records, bool stats);
/* EXIT_USAGE with a message if the command got arguments, else 0. */
int cli_no_args(const struct cli_opts *o);

/* Subcommands, one file each: cmd_NAME.c (help is in main.c). */
int cmd_record(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_paths(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_adjust(int argc, char **argv);
int cmd_serve(int argc, char **argv);
void cli_usage(FILE *f, const char *cmd);

/* main.c: log messages are held instead of printed while the terminal view runs */
void cli_log_hold(bool hold);
const char *cli_log_last(void);

#endif /* MACE_CLI_H */
