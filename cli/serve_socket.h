/* SPDX-License-Identifier: MIT */
/*
 * mace serve --socket: the serve loop's side of the unix-socket server
 * (lib/serve_server.c).  Records go to the server's rings and, aggregated
 * here in user space, to the metrics.
 */
#ifndef MACE_CLI_SERVE_SOCKET_H
#define MACE_CLI_SERVE_SOCKET_H

#include "serve.h"

struct serve_socket;
/* Checks o's --socket options (--socket-group, --socket-keep, --socket-age),
 * creates the socket and adds its fd to sv's loop.  0, or EXIT_USAGE or
 * EXIT_RUNTIME after a message. */
int serve_socket_new(struct serve *sv, const struct cli_opts *o, struct serve_socket **out);
/* A mace_record_fn (ctx: the serve_socket). */
void serve_socket_record(const struct mace_record *rec, void *ctx);
/* Answers what the records that came since the last call allow (the loop
 * calls it after each drain of the session). */
void serve_socket_run(struct serve_socket *ss);
/* Hands the latencies aggregated since the last take to fn. */
void serve_socket_take(struct serve_socket *ss, mace_hist_fn fn, void *ctx);
/* Prints the server's counters, removes the socket, frees. */
void serve_socket_stop(struct serve_socket *ss);
/* The memory bound of the rings with --socket-keep N, for --help. */
unsigned long long serve_socket_max_mib(unsigned int keep);

#endif /* MACE_CLI_SERVE_SOCKET_H */
