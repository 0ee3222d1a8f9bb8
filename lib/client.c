/* SPDX-License-Identifier: MIT */
/*
 * The client of `mace serve --socket`: a probe's overhead asked over a unix
 * socket, with no privileges and no BPF.  Blocking, one request at a time.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mace_int.h"
#include "serve_proto.h"

/* How long the server may take beyond the wait the request asks for. */
#define REPLY_SLACK_MS 2000

struct mace_client {
	int fd;
	struct sockaddr_un addr;	/* to connect again after an idle close */
	char path_name[64];
	char backend[16];
	struct mace_record last[2];	/* the records of the last answer */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_all(int fd, const uint8_t *b, size_t n)
{
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		b += w;
		n -= w;
	}
	return 0;
}

static int recv_all(int fd, uint8_t *b, size_t n, uint64_t deadline_ms)
{
	while (n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = mono_ms();
		ssize_t r;

		if (now >= deadline_ms)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)(deadline_ms - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		r = recv(fd, b, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ECONNRESET;
		b += r;
		n -= r;
	}
	return 0;
}

/*
 * Sends req and reads the reply of its type into body (at most max bytes).
 * Returns the reply's status, or -errno.  An error or busy reply (the
 * server closes then) is logged with the server's message.
 */
static int transact(struct mace_client *c, const struct mace_sp_request *req, uint8_t *body,
		    size_t max, uint32_t *len, int wait_ms)
{
	uint8_t buf[MACE_SP_REQ_HDR + MACE_SP_MAX_REQ_BODY], hdr[MACE_SP_REP_HDR];
	uint64_t deadline = mono_ms() + wait_ms + REPLY_SLACK_MS;
	uint8_t type, status;
	int r;

	r = send_all(c->fd, buf, mace__sp_encode_request(req, buf));
	if (r == -EPIPE || r == -ECONNRESET) {
		/* A server refusing a connection closes it after saying why. */
		if (recv_all(c->fd, hdr, sizeof(hdr), mono_ms() + 100))
			return r;
	} else if (r) {
		return r;
	} else {
		r = recv_all(c->fd, hdr, sizeof(hdr), deadline);
		if (r)
			return r;
	}
	if (mace__sp_parse_reply_hdr(hdr, &type, &status, len))
		return -EPROTO;
	if (status == MACE_SP_ERROR || status == MACE_SP_BUSY) {
		char msg[MACE_SP_MAX_MSG + 1] = "";

		if (*len <= MACE_SP_MAX_MSG && !recv_all(c->fd, (uint8_t *)msg, *len, deadline))
			msg[*len] = '\0';
		mace_err("client: the server %s: %s",
			 status == MACE_SP_BUSY ? "is busy" : "refused the request", msg);
		return status == MACE_SP_BUSY ? -EBUSY : -EPROTO;
	}
	if (type != req->type || *len > max)
		return -EPROTO;
	r = recv_all(c->fd, body, *len, deadline);
	return r ? r : status;
}

/* Connects and asks INFO: the server speaks this protocol and names its path. */
static int connect_server(struct mace_client *c)
{
	struct mace_sp_request req = { .type = MACE_SP_INFO };
	uint8_t body[MACE_SP_INFO_REPLY];
	uint32_t len;
	int r;

	if (c->fd >= 0)
		close(c->fd);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&c->addr, sizeof(c->addr))) {
		r = -errno;
		mace_err("client: %s: %s", c->addr.sun_path, strerror(errno));
		return r;
	}
	r = transact(c, &req, body, sizeof(body), &len, 0);
	if (r >= 0 && (r != MACE_SP_FOUND || len != MACE_SP_INFO_REPLY))
		r = -EPROTO;
	if (r < 0) {
		mace_err("client: %s: no answer from a mace server: %s", c->addr.sun_path,
			 strerror(-r));
		return r;
	}
	memcpy(c->path_name, body + 2, sizeof(c->path_name) - 1);
	memcpy(c->backend, body + 66, sizeof(c->backend) - 1);
	return 0;
}

/* A request, sent again on a new connection if the server had closed an
 * idle one (queries change nothing, so asking twice is harmless). */
static int ask(struct mace_client *c, const struct mace_sp_request *req, uint8_t *body,
	       size_t max, uint32_t *len, int wait_ms)
{
	int r = transact(c, req, body, max, len, wait_ms);

	if (r != -EPIPE && r != -ECONNRESET)
		return r;
	r = connect_server(c);
	return r ? r : transact(c, req, body, max, len, wait_ms);
}

MACE_EXPORT struct mace_client *mace_client_open(const char *socket_path)
{
	struct mace_client *c;
	int r;

	if (!socket_path || strlen(socket_path) >= sizeof(c->addr.sun_path)) {
		errno = socket_path ? ENAMETOOLONG : EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = -1;
	c->addr.sun_family = AF_UNIX;
	strcpy(c->addr.sun_path, socket_path);
	r = connect_server(c);
	if (r) {
		mace_client_close(c);
		errno = -r;
		return NULL;
	}
	return c;
}

MACE_EXPORT void mace_client_close(struct mace_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

MACE_EXPORT const char *mace_client_path_name(const struct mace_client *c)
{
	return c ? c->path_name : NULL;
}

static bool how_valid(uint8_t how)
{
	return how <= MACE_MATCH_AMBIGUOUS;
}

/* A reply's status as mace_session_overhead's return value. */
static int status_errno(int status)
{
	switch (status) {
	case MACE_SP_FOUND:
		return 0;
	case MACE_SP_NOT_FOUND:
	case MACE_SP_AMBIGUOUS:
		return -ENOENT;
	case MACE_SP_NOT_MONITORED:
		return -ENXIO;
	case MACE_SP_DENIED:
		return -EACCES;
	}
	return -EPROTO;
}

MACE_EXPORT int mace_client_overhead(struct mace_client *c, const struct mace_probe *probe,
				    int timeout_ms, struct mace_overhead *out)
{
	struct mace_sp_request req = { .type = MACE_SP_PROBE };
	struct mace_overhead o = { .sz = sizeof(o) };
	uint8_t body[MACE_SP_PROBE_REPLY];
	uint32_t len;
	int r;

	if (!c || !probe || !out || timeout_ms < 0 || timeout_ms > MACE_SP_MAX_WAIT_MS)
		return -EINVAL;
	memset(c->last, 0, sizeof(c->last));
	r = MACE_ABI_IN(mace_probe, &req.probe.probe, probe);
	if (r)
		return r;
	if (req.probe.probe.recv_ns < req.probe.probe.sent_ns)
		return -EINVAL;
	req.probe.wait_ms = timeout_ms;
	r = ask(c, &req, body, sizeof(body), &len, timeout_ms);
	if (r < 0)
		return r;
	if (r == MACE_SP_NOT_MONITORED || r == MACE_SP_DENIED) {
		if (len)
			return -EPROTO;
	} else if (len != MACE_SP_PROBE_REPLY || !how_valid(body[0]) || !how_valid(body[1]) ||
		   mace__sp_get_record(body + 4, &c->last[0]) ||
		   mace__sp_get_record(body + 4 + MACE_SP_RECORD_SIZE, &c->last[1])) {
		memset(c->last, 0, sizeof(c->last));
		return -EPROTO;
	} else {
		o.egress_how = body[0];
		o.ingress_how = body[1];
		if (o.egress_how == MACE_MATCH_KEY || o.egress_how == MACE_MATCH_WINDOW)
			o.egress_ns = c->last[0].latency_ns;
		if (o.ingress_how == MACE_MATCH_KEY || o.ingress_how == MACE_MATCH_WINDOW)
			o.ingress_ns = c->last[1].latency_ns;
	}
	return MACE_ABI_OUT(mace_overhead, out, &o) ?: status_errno(r);
}

MACE_EXPORT int mace_client_records(const struct mace_client *c, struct mace_record *egress,
				   struct mace_record *ingress)
{
	int r = 0;

	if (!c)
		return -EINVAL;
	if (egress)
		r = MACE_ABI_OUT(mace_record, egress, &c->last[0]);
	if (ingress && !r)
		r = MACE_ABI_OUT(mace_record, ingress, &c->last[1]);
	return r;
}

MACE_EXPORT int mace_client_window(struct mace_client *c, uint32_t netns, uint64_t from_ns,
				   uint64_t to_ns, struct mace_record *recs, unsigned int max,
				   bool *more)
{
	struct mace_sp_request req = { .type = MACE_SP_WINDOW };
	uint8_t *body;
	uint32_t len, n, i;
	size_t stride;
	int r;

	if (!c || !recs || !max || to_ns < from_ns || recs[0].sz < sizeof(size_t))
		return -EINVAL;
	stride = recs[0].sz;
	if (max > MACE_SP_MAX_RECORDS)
		max = MACE_SP_MAX_RECORDS;
	req.window = (struct mace_sp_window){ from_ns, to_ns, netns, max };
	body = malloc(8 + (size_t)max * MACE_SP_RECORD_SIZE);
	if (!body)
		return -ENOMEM;
	r = ask(c, &req, body, 8 + (size_t)max * MACE_SP_RECORD_SIZE, &len, 0);
	if (r == MACE_SP_NOT_MONITORED || r == MACE_SP_DENIED) {
		free(body);
		return status_errno(r);
	}
	if (r >= 0 && (len < 8 || (n = mace__sp_get32(body)) > max ||
		       len != 8 + n * MACE_SP_RECORD_SIZE))
		r = -EPROTO;
	for (i = 0; r >= 0 && i < n; i++) {
		struct mace_record rec, *dst = (struct mace_record *)((char *)recs + i * stride);

		dst->sz = stride;
		if (mace__sp_get_record(body + 8 + i * MACE_SP_RECORD_SIZE, &rec))
			r = -EPROTO;
		else
			r = MACE_ABI_OUT(mace_record, dst, &rec);
	}
	if (r >= 0) {
		if (more)
			*more = mace__sp_get32(body + 4) != 0;
		r = (int)n;
	}
	free(body);
	return r;
}
