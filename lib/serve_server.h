/* SPDX-License-Identifier: MIT */
/*
 * The unix-socket server of `mace serve --socket`: answers each caller about
 * the records of its own network namespace (serve_proto.h, mace-serve(8)).
 * Single-threaded; the caller polls mace__server_fd and calls
 * mace__server_poll.  Not installed.
 */
#ifndef MACE_SERVE_SERVER_H
#define MACE_SERVE_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "mace.h"

struct mace_server_opts {
	const char *socket_path;
	gid_t group;		/* (gid_t)-1: mode 0666; else mode 0660 and this group */
	unsigned int keep;	/* records per container netns; 0: 8192 */
	uint64_t max_age_ns;	/* 0: 60 s */
	unsigned int max_conns;	/* 0: 256 */
	unsigned int max_conns_netns; /* per caller netns; 0: 16 */
	unsigned int idle_ms;	/* a connection without a request is closed after; 0: 60 s */
	const char *path_name, *backend_name; /* said to clients (INFO) */
	/* Is netns traced?  Asked per query. */
	bool (*monitored)(uint32_t netns, void *ctx);
	void *ctx;
};

struct mace_server_stats {
	uint64_t accepted, refused_busy, unidentified;
	uint64_t other_clock;	/* refused: another time namespace */
	uint64_t requests, malformed, slow;
	uint64_t answers[7];	/* by enum mace_sp_status */
	uint64_t records, evicted, expired, dropped;
	unsigned int conns, rings;
	uint64_t ring_bytes;
};

struct mace_server;
/* Creates the socket (refusing to replace anything but a stale socket) and
 * the rings.  NULL + errno; why in err. */
struct mace_server *mace__server_new(const struct mace_server_opts *opts, char *err,
				    size_t errlen);
/* Readable when mace__server_poll has work. */
int mace__server_fd(const struct mace_server *srv);
/* Handles ready connections, due waits and timeouts.  0 or -errno. */
int mace__server_poll(struct mace_server *srv, int timeout_ms);
/* Keeps a record for the queries (records of no container are not kept). */
void mace__server_add(struct mace_server *srv, const struct mace_record *rec);
void mace__server_stats(const struct mace_server *srv, struct mace_server_stats *out);
/* Closes every connection, removes the socket file, frees. */
void mace__server_free(struct mace_server *srv);
/* Bytes the rings may hold at most with these options (for --help). */
uint64_t mace__server_max_bytes(unsigned int keep);

#endif /* MACE_SERVE_SERVER_H */
