/* SPDX-License-Identifier: MIT */
/*
 * The serve socket (lib/serve_server.c) and its client (lib/client.c) over a
 * real unix socket: answers, waits, scope, limits, the socket file, and bad
 * clients (malformed, truncated, oversized, slow) while others are answered.
 * The server runs in a child process, fed with synthetic records.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mace_int.h"
#include "serve_proto.h"
#include "serve_server.h"
#include "t.h"

#define MS 1000000ull
#define OTHER_NETNS 12345u	/* a "container" only root in this netns may name */
#define LATE_MS 300		/* seq 2's records come this late */
#define IDLE_MS 1500		/* the server closes connections idle this long */

static char dir[64], sock[128];
static uint32_t own_netns;
static uint64_t t0;
static pid_t server;

static uint64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static bool monitored(uint32_t netns, void *ctx)
{
	return netns == own_netns || netns == OTHER_NETNS;
}

static struct mace_record rec(uint32_t netns, int dir, uint64_t ts, uint64_t lat, uint32_t seq)
{
	struct mace_record r = { .sz = sizeof(r), .ts_ns = ts, .latency_ns = lat, .dir = dir, .nseg = 1,
				 .proto = IPPROTO_ICMP, .id = 7, .seq = seq, .netns = netns };
	r.seg_ns[0] = lat;
	return r;
}

static void add(struct mace_server *srv, struct mace_record r)
{
	mace__server_add(srv, &r);
}

static void run_server(void)
{
	struct mace_server_opts o = { .socket_path = sock, .group = (gid_t)-1,
				      .max_conns_netns = 8, .idle_ms = IDLE_MS,
				      .path_name = "inner-dev",
				      .backend_name = "test", .monitored = monitored };
	struct mace_server *srv;
	bool late = false;
	char err[256];

	srv = mace__server_new(&o, err, sizeof(err));
	if (!srv) {
		fprintf(stderr, "server: %s\n", err);
		_exit(1);
	}
	add(srv, rec(own_netns, MACE_EGRESS, t0 + 10000, 11000, 1));
	add(srv, rec(own_netns, MACE_INGRESS, t0 + 500000, 21000, 1));
	add(srv, rec(own_netns, MACE_EGRESS, t0 + 10000, 11000, 3));
	add(srv, rec(own_netns, MACE_EGRESS, t0 + 20000, 12000, 3));
	add(srv, rec(own_netns, MACE_INGRESS, t0 + 500000, 21000, 3));
	add(srv, rec(OTHER_NETNS, MACE_EGRESS, t0 + 10000, 31000, 1));
	add(srv, rec(OTHER_NETNS, MACE_INGRESS, t0 + 500000, 41000, 1));
	for (;;) {
		if (mace__server_poll(srv, 20))
			_exit(1);
		if (!late && mono() > t0 + LATE_MS * MS) {
			add(srv, rec(own_netns, MACE_EGRESS, t0 + 10000, 15000, 2));
			add(srv, rec(own_netns, MACE_INGRESS, t0 + 500000, 25000, 2));
			late = true;
		}
	}
}

static void print_warnings(enum mace_log_level level, const char *msg, void *ctx)
{
	if (level <= MACE_LOG_WARN)
		fprintf(stderr, "mace: %s\n", msg);
}

static int connect_raw(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(a.sun_path, sock);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads one reply header (and skips its body); the status, or -1 at EOF/timeout. */
static int read_status(int fd, int timeout_s)
{
	struct timeval tv = { .tv_sec = timeout_s };
	uint8_t h[MACE_SP_REP_HDR], body[512];
	uint8_t type, status;
	uint32_t len;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (recv(fd, h, sizeof(h), MSG_WAITALL) != sizeof(h) ||
	    mace__sp_parse_reply_hdr(h, &type, &status, &len))
		return -1;
	while (len) {
		ssize_t n = recv(fd, body, len < sizeof(body) ? len : sizeof(body), 0);

		if (n <= 0)
			return -1;
		len -= n;
	}
	return status;
}

static bool at_eof(int fd)
{
	char c;
	struct timeval tv = { .tv_sec = 2 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return recv(fd, &c, 1, 0) == 0;
}

static struct mace_probe icmp(uint32_t seq)
{
	struct mace_probe p = { .sz = sizeof(p), .proto = IPPROTO_ICMP, .id = 7, .seq = seq,
				.sent_ns = t0, .recv_ns = t0 + 1000 * MS };
	return p;
}

static int ask(struct mace_client *c, struct mace_probe p, int timeout_ms,
	       struct mace_overhead *o)
{
	o->sz = sizeof(*o);
	return mace_client_overhead(c, &p, timeout_ms, o);
}

TEST(answers)
{
	struct mace_client *c = mace_client_open(sock);
	struct mace_record recs[8] = { { .sz = sizeof(recs[0]) } }, eg = { .sz = sizeof(eg) },
			   in = { .sz = sizeof(in) };
	struct mace_probe p;
	struct mace_overhead a;
	bool more;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_STR(mace_client_path_name(c), "inner-dev");
	CHECK(ask(c, icmp(1), 0, &a) == 0);
	CHECK_EQ_U64(a.egress_ns, 11000);
	CHECK_EQ_U64(a.ingress_ns, 21000);
	CHECK(a.egress_how == MACE_MATCH_KEY);
	CHECK(mace_client_records(c, &eg, &in) == 0);
	CHECK_EQ_U64(eg.seg_ns[0], 11000);
	CHECK_EQ_U64(in.netns, own_netns);
	CHECK_EQ_U64(in.sz, sizeof(in));
	CHECK(ask(c, icmp(99), 0, &a) == -ENOENT);
	CHECK(a.egress_how == MACE_MATCH_NONE && a.ingress_how == MACE_MATCH_NONE);
	CHECK(mace_client_records(c, &eg, NULL) == 0);
	CHECK_EQ_U64(eg.ts_ns, 0);
	CHECK(ask(c, icmp(3), 0, &a) == -ENOENT);
	CHECK(a.egress_how == MACE_MATCH_AMBIGUOUS);
	CHECK_EQ_U64(a.egress_ns, 0);
	CHECK(a.ingress_how == MACE_MATCH_KEY);
	CHECK(mace_client_window(c, 0, t0, t0 + 20000, recs, 8, &more) == 3);
	CHECK(!more);
	CHECK(recs[1].sz == sizeof(recs[1]) && recs[1].ts_ns == t0 + 10000);
	CHECK(mace_client_window(c, 0, t0, t0 + 20000, recs, 2, &more) == 2);
	CHECK(more);
	p = icmp(1);
	p.sz = 0;	/* a caller that did not set sz is refused (and told, here not) */
	mace_set_log(NULL, NULL);
	CHECK(mace_client_overhead(c, &p, 0, &a) == -EINVAL);
	mace_set_log(print_warnings, NULL);
	mace_client_close(c);
}

/* A probe whose records come later is answered when they do. */
TEST(waits_for_records)
{
	struct mace_client *c = mace_client_open(sock);
	struct mace_overhead a;
	uint64_t t;

	if (!c) {
		CHECK(c != NULL);
		return;
	}
	t = mono();
	CHECK(ask(c, icmp(2), 5000, &a) == 0);
	CHECK_EQ_U64(a.egress_ns, 15000);
	CHECK(mono() - t < 4000 * MS);
	t = mono();
	CHECK(ask(c, icmp(98), 200, &a) == -ENOENT);
	CHECK(mono() - t >= 200 * MS);
	mace_client_close(c);
}

/* Only root in the server's netns may name another netns. */
TEST(scope)
{
	struct mace_client *c = mace_client_open(sock);
	struct mace_overhead a;
	struct mace_probe p = icmp(1);
	int st;
	pid_t pid;

	if (!c) {
		CHECK(c != NULL);
		return;
	}
	p.netns = OTHER_NETNS;
	if (geteuid() == 0) {
		CHECK(ask(c, p, 0, &a) == 0);
		CHECK_EQ_U64(a.egress_ns, 31000);
	} else {
		CHECK(ask(c, p, 0, &a) == -EACCES);
	}
	p.netns = 999;	/* not monitored */
	CHECK(ask(c, p, 0, &a) == (geteuid() == 0 ? -ENXIO : -EACCES));
	mace_client_close(c);
	if (geteuid() != 0)
		return;
	/* The same question from uid 65534 in this netns is denied. */
	pid = fork();
	if (pid == 0) {
		struct mace_client *u;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		u = mace_client_open(sock);
		p.netns = OTHER_NETNS;
		_exit(!u || ask(u, p, 0, &a) != -EACCES ? 3 : 0);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Bad clients get an error and are closed; the others are answered meanwhile. */
TEST(bad_clients)
{
	struct mace_client *c = mace_client_open(sock);
	struct mace_overhead a;
	uint8_t req[MACE_SP_REQ_HDR + MACE_SP_MAX_REQ_BODY];
	struct mace_sp_request q = { .type = MACE_SP_PROBE };
	int slow, fd, i;
	size_t n;
	uint64_t t, worst = 0;

	if (!c) {
		CHECK(c != NULL);
		return;
	}
	q.probe.probe = icmp(1);
	n = mace__sp_encode_request(&q, req);

	fd = connect_raw();	/* malformed: unknown type */
	CHECK(write(fd, "\x01\x09\x00\x00", 4) == 4);
	CHECK(read_status(fd, 2) == MACE_SP_ERROR);
	CHECK(at_eof(fd));
	close(fd);
	fd = connect_raw();	/* oversized: a body far over the limit */
	CHECK(write(fd, "\x01\x02\xff\xff", 4) == 4);
	CHECK(read_status(fd, 2) == MACE_SP_ERROR);
	close(fd);
	fd = connect_raw();	/* wrong version */
	CHECK(write(fd, "\x07", 1) == 1);
	CHECK(read_status(fd, 2) == MACE_SP_ERROR);
	close(fd);
	fd = connect_raw();	/* truncated: half a request, then gone */
	CHECK(write(fd, req, n / 2) == (ssize_t)(n / 2));
	close(fd);
	fd = connect_raw();	/* a valid request and a bad one pipelined */
	memcpy(req + n, "\x01\x63\x00\x00", 4);
	CHECK(write(fd, req, n + 4) == (ssize_t)n + 4);
	CHECK(read_status(fd, 2) == MACE_SP_FOUND);
	CHECK(read_status(fd, 2) == MACE_SP_ERROR);
	close(fd);

	/* One byte a second: the others are answered at once meanwhile, and
	 * the slow one is cut off after 5 s. */
	slow = connect_raw();
	for (i = 0; i < 7; i++) {
		if (send(slow, req + i, 1, MSG_NOSIGNAL) != 1)
			break;
		t = mono();
		CHECK(ask(c, icmp(1), 0, &a) == 0);
		if (mono() - t > worst)
			worst = mono() - t;
		sleep(1);
	}
	CHECK(i >= 5);
	CHECK(worst < 500 * MS);
	CHECK(read_status(slow, 2) == MACE_SP_ERROR);
	close(slow);
	CHECK(ask(c, icmp(1), 0, &a) == 0);
	mace_client_close(c);
}

/* An idle connection is closed; the client connects again by itself. */
TEST(idle_reconnect)
{
	struct mace_client *c = mace_client_open(sock);
	struct mace_overhead a;
	int fd = connect_raw();

	CHECK(c != NULL && fd >= 0);
	if (!c)
		return;
	CHECK(ask(c, icmp(1), 0, &a) == 0);
	usleep((IDLE_MS + 500) * 1000);
	CHECK(at_eof(fd));
	CHECK(ask(c, icmp(1), 0, &a) == 0);
	CHECK_EQ_U64(a.egress_ns, 11000);
	close(fd);
	mace_client_close(c);
}

/* Past the per-netns connection limit a caller is told the server is busy. */
TEST(connection_limit)
{
	struct mace_client *c[8];
	int i, fd;

	for (i = 0; i < 8; i++) {
		c[i] = mace_client_open(sock);
		CHECK(c[i] != NULL);
	}
	fd = connect_raw();
	CHECK(read_status(fd, 2) == MACE_SP_BUSY);
	close(fd);
	mace_client_close(c[0]);
	usleep(100000);
	c[0] = mace_client_open(sock);
	CHECK(c[0] != NULL);
	for (i = 0; i < 8; i++)
		mace_client_close(c[i]);
}

/* Never through a symlink or over a file; a stale socket is replaced. */
TEST(socket_file)
{
	struct mace_server_opts o = { .socket_path = NULL, .group = (gid_t)-1,
				      .monitored = monitored };
	char p[160], target[160], err[256];
	struct mace_server *srv;
	struct stat st;
	int fd;

	CHECK(stat(sock, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0666);
	snprintf(p, sizeof(p), "%s/link", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	CHECK(symlink(target, p) == 0);
	o.socket_path = p;
	srv = mace__server_new(&o, err, sizeof(err));
	CHECK(!srv && errno == EEXIST && strstr(err, "not a socket"));
	CHECK(lstat(target, &st) && errno == ENOENT);
	unlink(p);
	fd = creat(p, 0600);
	close(fd);
	CHECK(!mace__server_new(&o, err, sizeof(err)) && errno == EEXIST);
	unlink(p);
	o.socket_path = sock;	/* a live server is there */
	CHECK(!mace__server_new(&o, err, sizeof(err)) && errno == EADDRINUSE);

	/* A socket nobody listens on is stale; ours is removed at exit. */
	srv = NULL;
	o.socket_path = p;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		strcpy(a.sun_path, p);
		CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	}
	close(fd);
	srv = mace__server_new(&o, err, sizeof(err));
	CHECK(srv != NULL);
	mace__server_free(srv);
	CHECK(lstat(p, &st) && errno == ENOENT);
}

int main(void)
{
	struct stat st;
	int status, rc;

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/mace-serve.XXXXXX");
	if (!mkdtemp(dir) || stat("/proc/self/ns/net", &st)) {
		perror("test_serve_server");
		return 1;
	}
	chmod(dir, 0755);	/* uid 65534 connects too */
	own_netns = (uint32_t)st.st_ino;
	snprintf(sock, sizeof(sock), "%s/mace.sock", dir);
	t0 = mono();
	server = fork();
	if (server == 0)
		run_server();
	for (int i = 0; i < 100 && stat(sock, &st); i++)
		usleep(20000);
	usleep(50000);
	RUN(answers);
	RUN(waits_for_records);
	RUN(scope);
	RUN(bad_clients);
	usleep(100000);	/* the server has seen the bad clients go */
	RUN(connection_limit);
	RUN(idle_reconnect);
	RUN(socket_file);
	rc = t_done();
	kill(server, SIGTERM);
	waitpid(server, &status, 0);
	unlink(sock);
	rmdir(dir);
	return rc;
}
