/* SPDX-License-Identifier: MIT */
/*
 * `mace serve --socket`: a unix stream socket answering "what did the
 * container's network add to this probe?" from rings of recent records.
 *
 * Scope: a caller is answered from the records of its own network
 * namespace, which the kernel tells: SO_PEERPIDFD gives a pidfd of the
 * process that connected (a pid number could be reused by then, a pidfd
 * cannot), and the pidfd gives its netns.  Only root in the server's own
 * netns may name another netns.
 *
 * One thread, non-blocking sockets, one request at a time per connection:
 * a slow or stuck client holds only its own connection, for a bounded time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mace_int.h"
#include "record_ring.h"
#include "serve_proto.h"
#include "serve_server.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77		/* Linux 6.5 */
#endif
#ifndef PIDFD_GET_NET_NAMESPACE
#define PIDFD_GET_NET_NAMESPACE _IO(0xFF, 4)	/* Linux 6.11 */
#endif
#ifndef PIDFD_GET_TIME_NAMESPACE
#define PIDFD_GET_TIME_NAMESPACE _IO(0xFF, 7)
#endif

#define REQUEST_TIMEOUT_NS (5 * 1000000000ull)	/* first byte to last of one request */
#define WRITE_TIMEOUT_NS (5 * 1000000000ull)	/* a reply the client does not read */
#define EXPIRE_EVERY_NS 100000000ull
#define MAX_RING_NETNS 256
#define IN_SIZE (MACE_SP_REQ_HDR + MACE_SP_MAX_REQ_BODY)

struct conn {
	struct conn *next;
	int fd;
	uint32_t netns;		/* the caller's, as the kernel told at accept */
	bool host_root;		/* uid 0 in the server's netns: may name any netns */
	uint8_t in[IN_SIZE];
	size_t in_len;
	uint64_t req_start, last_io;
	uint8_t *out;
	size_t out_len, out_off;
	uint64_t write_start;
	bool closing;		/* close once the reply is out */
	bool waiting;		/* a probe waits for its records */
	struct mace_sp_probe wait;
	uint32_t wait_netns;
	uint64_t wait_until;
	uint64_t wait_version;	/* of the ring when last looked at */
	uint32_t events;	/* epoll interest now */
};

struct mace_server {
	struct mace_server_opts o;
	int lfd, epfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;		/* the socket file we made, removed only if still it */
	ino_t ino;
	uint32_t own_netns, own_timens;
	struct conn *conns;
	unsigned int nconns;
	struct mace_rings *rings;
	uint64_t last_expire;
	struct mace_server_stats st;
};

uint64_t mace__server_max_bytes(unsigned int keep)
{
	return (uint64_t)(keep ? keep : 8192) * mace__rings_record_size() * MAX_RING_NETNS;
}

/* ---- the socket file -------------------------------------------------- */

/* A socket file left by a run that died may go; anything else stays. */
static int clear_stale(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket (refusing to replace it)",
			 path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	strcpy(a.sun_path, path);
	r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	close(fd);
	if (!r) {
		snprintf(err, errlen, "%s: another server answers there", path);
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (unlink(path) && errno != ENOENT) {
		snprintf(err, errlen, "removing the stale socket %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Binds with nobody able to connect yet, then opens the permissions through
 * an O_PATH handle of the very file (never through a name that a symlink
 * could have replaced). */
static int make_socket(struct mace_server *srv, char *err, size_t errlen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char proc[64];
	struct stat st;
	mode_t old;
	int r, pfd;

	srv->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->lfd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	strcpy(a.sun_path, srv->path);
	old = umask(0177);
	r = bind(srv->lfd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r) {
		r = -errno;
		snprintf(err, errlen, "bind %s: %s", srv->path, strerror(errno));
		return r;
	}
	pfd = open(srv->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0 || fstat(pfd, &st) || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s changed under us after bind", srv->path);
		if (pfd >= 0)
			close(pfd);
		return -EEXIST;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	r = 0;
	if (srv->o.group != (gid_t)-1 && chown(proc, -1, srv->o.group))
		r = -errno;
	if (!r && chmod(proc, srv->o.group != (gid_t)-1 ? 0660 : 0666))
		r = -errno;
	close(pfd);
	if (r) {
		snprintf(err, errlen, "setting the mode of %s: %s", srv->path, strerror(-r));
		return r;
	}
	if (listen(srv->lfd, 128)) {
		r = -errno;
		snprintf(err, errlen, "listen %s: %s", srv->path, strerror(errno));
		return r;
	}
	return 0;
}

static void remove_socket(struct mace_server *srv)
{
	struct stat st;

	if (!srv->ino || lstat(srv->path, &st))
		return;
	if (st.st_dev == srv->dev && st.st_ino == srv->ino && unlink(srv->path))
		mace_warn("serve: removing %s: %s", srv->path, strerror(errno));
}

/* ---- who is calling ------------------------------------------------------ */

/* A namespace of the process behind pidfd (ns: "net" or "time", cmd its
 * ioctl).  Without the ioctl (before Linux 6.11): through /proc/PID, trusted
 * only if the process still lives after the read, when its pid cannot have
 * been reused. */
static int pidfd_ns(int pidfd, unsigned long cmd, const char *ns, uint32_t *ino)
{
	char path[64], line[128];
	struct stat st;
	FILE *f;
	int nsfd, pid = -1;

	nsfd = ioctl(pidfd, cmd, 0);
	if (nsfd >= 0) {
		int r = fstat(nsfd, &st) ? -errno : 0;

		close(nsfd);
		*ino = (uint32_t)st.st_ino;
		return r;
	}
	if (errno != ENOTTY && errno != EINVAL)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	fclose(f);
	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, ns);
	if (stat(path, &st))
		return -errno;
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0))
		return -errno;
	*ino = (uint32_t)st.st_ino;
	return 0;
}

/* The caller's netns, and whether its CLOCK_MONOTONIC is the server's.
 * 0, or -errno when the kernel cannot tell. */
static int identify(struct mace_server *srv, struct conn *c, bool *same_clock)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uint32_t timens;
	int pidfd, r;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -errno;
	len = sizeof(pidfd);
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len))
		return -errno;
	r = pidfd_ns(pidfd, PIDFD_GET_NET_NAMESPACE, "net", &c->netns);
	if (!r)
		r = pidfd_ns(pidfd, PIDFD_GET_TIME_NAMESPACE, "time", &timens);
	close(pidfd);
	if (r)
		return r;
	*same_clock = timens == srv->own_timens;
	c->host_root = cred.uid == 0 && c->netns == srv->own_netns;
	return 0;
}

/* ---- connections ----------------------------------------------------------- */

static void set_events(struct mace_server *srv, struct conn *c)
{
	uint32_t ev = 0;
	struct epoll_event e;

	if (c->out_off < c->out_len)
		ev = EPOLLOUT;
	else if (!c->waiting && !c->closing)
		ev = EPOLLIN;
	if (ev == c->events)
		return;
	e.events = ev;
	e.data.ptr = c;
	if (!epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &e))
		c->events = ev;
}

static void conn_close(struct mace_server *srv, struct conn *c)
{
	struct conn **p;

	for (p = &srv->conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
	srv->nconns--;
}

/* Writes what is pending.  false if the connection went. */
static bool flush_out(struct mace_server *srv, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!c->write_start)
				c->write_start = mace_now_ns();
			set_events(srv, c);
			return true;
		}
		if (n <= 0) {
			conn_close(srv, c);
			return false;
		}
		c->out_off += n;
		c->last_io = mace_now_ns();
	}
	c->out_len = c->out_off = 0;
	c->write_start = 0;
	if (c->closing) {
		conn_close(srv, c);
		return false;
	}
	set_events(srv, c);
	return true;
}

/* Room for a reply of body_len after what is pending; NULL if no memory. */
static uint8_t *reply(struct conn *c, uint8_t type, uint8_t status, uint32_t body_len)
{
	size_t need = c->out_len + MACE_SP_REP_HDR + body_len;
	uint8_t *p;

	p = realloc(c->out, need);
	if (!p)
		return NULL;
	c->out = p;
	p += c->out_len;
	mace__sp_encode_reply_hdr(p, type, status, body_len);
	c->out_len = need;
	return p + MACE_SP_REP_HDR;
}

static void reply_error(struct mace_server *srv, struct conn *c, uint8_t type, uint8_t status,
			const char *msg)
{
	size_t n = strnlen(msg, MACE_SP_MAX_MSG);
	uint8_t *b = reply(c, type, status, n);

	if (b)
		memcpy(b, msg, n);
	srv->st.answers[status]++;
	c->closing = true;
}

/* The netns a request is about, or a status that ends it. */
static int scope(struct mace_server *srv, const struct conn *c, uint32_t asked, uint32_t *netns)
{
	*netns = asked ? asked : c->netns;
	if (*netns != c->netns && !c->host_root)
		return MACE_SP_DENIED;
	if (!srv->o.monitored(*netns, srv->o.ctx))
		return MACE_SP_NOT_MONITORED;
	return -1;
}

static int probe_status(const struct mace_overhead *o)
{
	bool e = o->egress_how == MACE_MATCH_KEY || o->egress_how == MACE_MATCH_WINDOW;
	bool i = o->ingress_how == MACE_MATCH_KEY || o->ingress_how == MACE_MATCH_WINDOW;

	if (o->egress_how == MACE_MATCH_AMBIGUOUS || o->ingress_how == MACE_MATCH_AMBIGUOUS)
		return MACE_SP_AMBIGUOUS;
	return e && i ? MACE_SP_FOUND : MACE_SP_NOT_FOUND;
}

/* Answers a probe now, or (wait) leaves it waiting while it may still come. */
static void answer_probe(struct mace_server *srv, struct conn *c, bool final)
{
	const struct mace_record *eg = NULL, *in = NULL;
	struct mace_overhead o;
	uint8_t *b;
	int status;

	c->wait_version = mace__rings_version(srv->rings, c->wait_netns);
	mace__rings_probe(srv->rings, c->wait_netns, &c->wait.probe, &o, &eg, &in);
	status = probe_status(&o);
	if (status == MACE_SP_NOT_FOUND && !final) {
		c->waiting = true;
		set_events(srv, c);
		return;
	}
	c->waiting = false;
	b = reply(c, MACE_SP_PROBE, status, MACE_SP_PROBE_REPLY);
	if (!b) {
		c->closing = true;
		return;
	}
	memset(b, 0, MACE_SP_PROBE_REPLY);
	b[0] = o.egress_how;
	b[1] = o.ingress_how;
	if (eg)
		mace__sp_put_record(b + 4, eg);
	if (in)
		mace__sp_put_record(b + 4 + MACE_SP_RECORD_SIZE, in);
	srv->st.answers[status]++;
}

static void answer_window(struct mace_server *srv, struct conn *c, uint32_t netns,
			  const struct mace_sp_window *w)
{
	struct mace_record *recs = malloc(w->max * sizeof(*recs));
	bool more = false;
	uint8_t *b;
	int n = -ENOMEM, i;

	if (recs)
		n = mace__rings_window(srv->rings, netns, w->from_ns, w->to_ns, recs, w->max,
				      &more);
	if (n < 0) {
		free(recs);
		reply_error(srv, c, MACE_SP_WINDOW, MACE_SP_BUSY, "out of memory");
		return;
	}
	b = reply(c, MACE_SP_WINDOW, n ? MACE_SP_FOUND : MACE_SP_NOT_FOUND,
		  8 + n * MACE_SP_RECORD_SIZE);
	if (b) {
		mace__sp_put32(b, n);
		mace__sp_put32(b + 4, more);
		for (i = 0; i < n; i++)
			mace__sp_put_record(b + 8 + i * MACE_SP_RECORD_SIZE, &recs[i]);
	} else {
		c->closing = true;
	}
	srv->st.answers[n ? MACE_SP_FOUND : MACE_SP_NOT_FOUND]++;
	free(recs);
}

static void answer_info(struct mace_server *srv, struct conn *c)
{
	uint8_t *b = reply(c, MACE_SP_INFO, MACE_SP_FOUND, MACE_SP_INFO_REPLY);

	if (!b) {
		c->closing = true;
		return;
	}
	memset(b, 0, MACE_SP_INFO_REPLY);
	mace__sp_put16(b, MACE_SP_VERSION);
	strncpy((char *)b + 2, srv->o.path_name ? srv->o.path_name : "", 63);
	strncpy((char *)b + 66, srv->o.backend_name ? srv->o.backend_name : "", 15);
	srv->st.answers[MACE_SP_FOUND]++;
}

static void handle(struct mace_server *srv, struct conn *c, const struct mace_sp_request *req)
{
	uint32_t netns = 0;
	int status = -1;

	srv->st.requests++;
	if (req->type == MACE_SP_PROBE)
		status = scope(srv, c, req->probe.probe.netns, &netns);
	else if (req->type == MACE_SP_WINDOW)
		status = scope(srv, c, req->window.netns, &netns);
	if (status >= 0) {
		uint8_t *b = reply(c, req->type, status, 0);

		if (!b)
			c->closing = true;
		srv->st.answers[status]++;
		return;
	}
	switch (req->type) {
	case MACE_SP_INFO:
		answer_info(srv, c);
		break;
	case MACE_SP_PROBE:
		c->wait = req->probe;
		c->wait_netns = netns;
		c->wait_until = mace_now_ns() + (uint64_t)req->probe.wait_ms * 1000000ull;
		answer_probe(srv, c, req->probe.wait_ms == 0);
		break;
	case MACE_SP_WINDOW:
		answer_window(srv, c, netns, &req->window);
		break;
	}
}

/* Runs the requests that are complete in c->in, one at a time: a request
 * waits until the reply before it is out.  false if the connection went. */
static bool run_requests(struct mace_server *srv, struct conn *c)
{
	while (!c->waiting && !c->closing) {
		struct mace_sp_request req;
		char msg[MACE_SP_MAX_MSG];
		int n;

		if (c->out_len) {
			if (!flush_out(srv, c))
				return false;
			if (c->out_len)
				return true;	/* the rest when the socket is writable */
			continue;
		}
		n = c->in_len ? mace__sp_parse_request(c->in, c->in_len, &req, msg, sizeof(msg)) : 0;
		if (n == 0)
			break;
		if (n < 0) {
			srv->st.malformed++;
			reply_error(srv, c, c->in_len > 1 ? c->in[1] : 0, MACE_SP_ERROR, msg);
			break;
		}
		memmove(c->in, c->in + n, c->in_len - n);
		c->in_len -= n;
		c->req_start = c->in_len ? mace_now_ns() : 0;
		handle(srv, c, &req);
	}
	if (c->out_len)
		return flush_out(srv, c);
	if (c->closing) {
		conn_close(srv, c);
		return false;
	}
	set_events(srv, c);
	return true;
}

static void on_readable(struct mace_server *srv, struct conn *c)
{
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(srv, c);
		return;
	}
	if (!c->in_len)
		c->req_start = mace_now_ns();
	c->in_len += n;
	c->last_io = mace_now_ns();
	run_requests(srv, c);
}

static void refuse(struct mace_server *srv, int fd, uint8_t status, const char *msg)
{
	uint8_t b[MACE_SP_REP_HDR + MACE_SP_MAX_MSG];
	size_t n = strnlen(msg, MACE_SP_MAX_MSG);
	ssize_t w;

	mace__sp_encode_reply_hdr(b, 0, status, n);
	memcpy(b + MACE_SP_REP_HDR, msg, n);
	w = send(fd, b, MACE_SP_REP_HDR + n, MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)w;	/* best effort: the connection is refused either way */
	close(fd);
	srv->st.answers[status]++;
}

static unsigned int conns_of(const struct mace_server *srv, uint32_t netns)
{
	const struct conn *c;
	unsigned int n = 0;

	for (c = srv->conns; c; c = c->next)
		n += c->netns == netns;
	return n;
}

static void on_accept(struct mace_server *srv)
{
	struct epoll_event e;
	bool same_clock = false;
	struct conn *c;
	int fd, i, r;

	for (i = 0; i < 64; i++) {
		fd = accept4(srv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				mace_warn("serve: accept: %s", strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			refuse(srv, fd, MACE_SP_BUSY, "out of memory");
			continue;
		}
		c->fd = fd;
		r = identify(srv, c, &same_clock);
		if (r) {
			srv->st.unidentified++;
			mace_warn("serve: a caller's network namespace is unknown (%s): refused",
				  strerror(-r));
			refuse(srv, fd, MACE_SP_ERROR,
			       "the server cannot tell this caller's network namespace");
			free(c);
			continue;
		}
		if (!same_clock) {
			/* Its probe times would be compared with another clock's:
			 * wrong answers are worse than none. */
			srv->st.other_clock++;
			refuse(srv, fd, MACE_SP_ERROR, "the caller is in another time namespace: "
			       "its CLOCK_MONOTONIC is not the server's");
			free(c);
			continue;
		}
		if (srv->nconns >= srv->o.max_conns ||
		    conns_of(srv, c->netns) >= srv->o.max_conns_netns) {
			srv->st.refused_busy++;
			refuse(srv, fd, MACE_SP_BUSY, "too many connections");
			free(c);
			continue;
		}
		e.events = c->events = EPOLLIN;
		e.data.ptr = c;
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &e)) {
			refuse(srv, fd, MACE_SP_BUSY, "out of resources");
			free(c);
			continue;
		}
		c->last_io = mace_now_ns();
		c->next = srv->conns;
		srv->conns = c;
		srv->nconns++;
		srv->st.accepted++;
	}
}

/* Waits that are due or may be answered now, partial requests too slow,
 * replies not read, idle connections. */
static void timers(struct mace_server *srv, uint64_t now)
{
	struct conn *c, *next;

	for (c = srv->conns; c; c = next) {
		next = c->next;
		if (c->waiting) {
			/* looked at again only when its netns got records */
			if (now >= c->wait_until ||
			    mace__rings_version(srv->rings, c->wait_netns) != c->wait_version)
				answer_probe(srv, c, now >= c->wait_until);
			if (!c->waiting)
				run_requests(srv, c);
		} else if (c->out_len && c->write_start && now - c->write_start > WRITE_TIMEOUT_NS) {
			srv->st.slow++;
			conn_close(srv, c);
		} else if (c->in_len && now - c->req_start > REQUEST_TIMEOUT_NS) {
			srv->st.slow++;
			reply_error(srv, c, 0, MACE_SP_ERROR, "request not complete within 5 s");
			flush_out(srv, c);
		} else if (!c->in_len && !c->out_len &&
			   now - c->last_io > srv->o.idle_ms * 1000000ull) {
			conn_close(srv, c);
		}
	}
}

/* Milliseconds until the next timer is due (at most max). */
static int next_timer(const struct mace_server *srv, uint64_t now, int max)
{
	const struct conn *c;
	uint64_t due = now + (uint64_t)max * 1000000ull;

	for (c = srv->conns; c; c = c->next) {
		if (c->waiting && mace__rings_version(srv->rings, c->wait_netns) != c->wait_version)
			return 0;	/* its records may have come */
		if (c->waiting && c->wait_until < due)
			due = c->wait_until;
		if (c->in_len && c->req_start + REQUEST_TIMEOUT_NS < due)
			due = c->req_start + REQUEST_TIMEOUT_NS;
	}
	return due <= now ? 0 : (int)((due - now + 999999) / 1000000);
}

int mace__server_poll(struct mace_server *srv, int timeout_ms)
{
	struct epoll_event ev[64];
	uint64_t now = mace_now_ns();
	int n, i;

	if (timeout_ms < 0 || timeout_ms > 1000)
		timeout_ms = 1000;
	n = epoll_wait(srv->epfd, ev, 64, next_timer(srv, now, timeout_ms));
	if (n < 0 && errno != EINTR)
		return -errno;
	for (i = 0; i < n; i++) {
		struct conn *c = ev[i].data.ptr, *k;

		if (!c) {
			on_accept(srv);
			continue;
		}
		/* An earlier event of this batch may have closed it. */
		for (k = srv->conns; k && k != c; k = k->next)
			;
		if (!k)
			continue;
		if (ev[i].events & (EPOLLERR | EPOLLHUP) && !(ev[i].events & EPOLLIN))
			conn_close(srv, c);
		else if (ev[i].events & EPOLLOUT && flush_out(srv, c))
			run_requests(srv, c);
		else if (ev[i].events & EPOLLIN)
			on_readable(srv, c);
	}
	now = mace_now_ns();
	if (now - srv->last_expire > EXPIRE_EVERY_NS) {
		mace__rings_expire(srv->rings, now);
		srv->last_expire = now;
	}
	timers(srv, now);
	return 0;
}

void mace__server_add(struct mace_server *srv, const struct mace_record *rec)
{
	if (rec->netns)
		mace__rings_add(srv->rings, rec);	/* failures are counted as drops */
}

int mace__server_fd(const struct mace_server *srv)
{
	return srv->epfd;
}

void mace__server_stats(const struct mace_server *srv, struct mace_server_stats *out)
{
	struct mace_rings_stats rs;

	*out = srv->st;
	mace__rings_stats(srv->rings, &rs);
	out->records = rs.added;
	out->evicted = rs.evicted;
	out->expired = rs.expired;
	out->dropped = rs.dropped;
	out->rings = rs.rings;
	out->ring_bytes = rs.bytes;
	out->conns = srv->nconns;
}

struct mace_server *mace__server_new(const struct mace_server_opts *opts, char *err,
				    size_t errlen)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };
	struct mace_server *srv;
	struct stat st;
	int r;

	err[0] = '\0';
	if (!opts->socket_path || !opts->socket_path[0] || !opts->monitored) {
		snprintf(err, errlen, "serve: no socket path");
		errno = EINVAL;
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->o = *opts;
	srv->lfd = srv->epfd = -1;
	if (!srv->o.keep)
		srv->o.keep = 8192;
	if (!srv->o.max_age_ns)
		srv->o.max_age_ns = 60 * 1000000000ull;
	if (!srv->o.max_conns)
		srv->o.max_conns = 256;
	if (!srv->o.max_conns_netns)
		srv->o.max_conns_netns = 16;
	if (!srv->o.idle_ms)
		srv->o.idle_ms = 60000;
	if (strlen(opts->socket_path) >= sizeof(srv->path)) {
		snprintf(err, errlen, "%s: socket path longer than %zu bytes", opts->socket_path,
			 sizeof(srv->path) - 1);
		r = -ENAMETOOLONG;
		goto fail;
	}
	strcpy(srv->path, opts->socket_path);
	if (stat("/proc/self/ns/net", &st)) {
		r = -errno;
		snprintf(err, errlen, "/proc/self/ns/net: %s", strerror(errno));
		goto fail;
	}
	srv->own_netns = (uint32_t)st.st_ino;
	if (stat("/proc/self/ns/time", &st)) {
		r = -errno;
		snprintf(err, errlen, "/proc/self/ns/time: %s", strerror(errno));
		goto fail;
	}
	srv->own_timens = (uint32_t)st.st_ino;
	srv->rings = mace__rings_new(srv->o.keep, MAX_RING_NETNS, srv->o.max_age_ns);
	if (!srv->rings) {
		r = -errno;
		snprintf(err, errlen, "record rings: %s", strerror(errno));
		goto fail;
	}
	r = clear_stale(srv->path, err, errlen);
	if (!r)
		r = make_socket(srv, err, errlen);
	if (r)
		goto fail;
	srv->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epfd < 0 || epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->lfd, &e)) {
		r = -errno;
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	return srv;
fail:
	mace__server_free(srv);
	errno = -r;
	return NULL;
}

void mace__server_free(struct mace_server *srv)
{
	if (!srv)
		return;
	while (srv->conns)
		conn_close(srv, srv->conns);
	if (srv->lfd >= 0) {
		remove_socket(srv);
		close(srv->lfd);
	}
	if (srv->epfd >= 0)
		close(srv->epfd);
	mace__rings_free(srv->rings);
	free(srv);
}
