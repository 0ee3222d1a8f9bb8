/* SPDX-License-Identifier: MIT */
/*
 * The HTTP side of mace serve, on libmicrohttpd: one internal thread polls
 * non-blocking sockets, so a slow or vanished client holds only its own
 * connection (dropped after a timeout).  Handlers only pick up the latest
 * snapshot (a reference, under a mutex held for a pointer copy); they never
 * touch the sessions.  GET and HEAD of / and /metrics; 404 for other paths,
 * 405 for other methods.  /metrics is gzipped for clients that accept it
 * (Prometheus does), once per snapshot, by the first such scrape.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <zlib.h>

#include "serve.h"

#define CONNECTION_LIMIT 128
#define CONNECTION_TIMEOUT_S 10

/* What scrapes get until the next publish. */
struct snapshot {
	atomic_uint refs;
	char *metrics, *index;
	size_t mlen, ilen;
	pthread_mutex_t gz_lock;
	bool gz_done;		/* tried: gz is the metrics gzipped, or NULL */
	unsigned char *gz;
	size_t gzlen;
};

struct serve_http {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;
	struct snapshot *snap;
	char *err;			/* where the logger writes while starting */
	size_t errlen;
};

static void snap_put(void *cls)
{
	struct snapshot *s = cls;

	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&s->gz_lock);
	free(s->gz);
	free(s->metrics);
	free(s->index);
	free(s);
}

static struct snapshot *snap_get(struct serve_http *h)
{
	struct snapshot *s;

	pthread_mutex_lock(&h->lock);
	s = h->snap;
	if (s)
		atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&h->lock);
	return s;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
				  const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The metrics gzipped (zlib's gzip wrapper), or NULL if that failed. */
static unsigned char *gzip(const char *in, size_t len, size_t *outlen)
{
	z_stream z = { 0 };
	unsigned char *out;
	size_t cap;

	if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	cap = deflateBound(&z, len);
	out = malloc(cap);
	z.next_in = (unsigned char *)in;
	z.avail_in = len;
	z.next_out = out;
	z.avail_out = cap;
	if (!out || deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*outlen = z.total_out;
	deflateEnd(&z);
	return out;
}

/* Does the request's Accept-Encoding list gzip (with a q other than 0)? */
static bool accepts_gzip(struct MHD_Connection *conn)
{
	const char *ae = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_ACCEPT_ENCODING);
	const char *p = ae ? strstr(ae, "gzip") : NULL;

	if (!p)
		return false;
	p += 4;
	p += strspn(p, " \t");
	if (*p != ';')
		return true;
	p = strstr(p, "q=");
	return !p || strtod(p + 2, NULL) > 0;
}

static const unsigned char *snap_gz(struct snapshot *s, size_t *len)
{
	pthread_mutex_lock(&s->gz_lock);
	if (!s->gz_done) {
		s->gz = gzip(s->metrics, s->mlen, &s->gzlen);
		s->gz_done = true;
	}
	pthread_mutex_unlock(&s->gz_lock);
	*len = s->gzlen;
	return s->gz;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct serve_http *h = cls;
	bool metrics = !strcmp(url, "/metrics"), index = !strcmp(url, "/");
	const unsigned char *gz;
	struct MHD_Response *r;
	struct snapshot *s;
	enum MHD_Result ret;
	size_t len, gzlen;
	const char *body;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (!metrics && !index)
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found; try /metrics\n");
	s = snap_get(h);
	if (!s)
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "starting\n");
	body = metrics ? s->metrics : s->index;
	len = metrics ? s->mlen : s->ilen;
	gz = metrics && accepts_gzip(conn) ? snap_gz(s, &gzlen) : NULL;
	if (gz) {
		body = (const char *)gz;
		len = gzlen;
	}
	/* the response keeps the snapshot until it is sent (or the client gone) */
	r = MHD_create_response_from_buffer_with_free_callback_cls(len, (void *)body, snap_put, s);
	if (!r) {
		snap_put(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				metrics ? "text/plain; version=0.0.4; charset=utf-8"
					: "text/html; charset=utf-8");
	if (metrics)
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
	if (gz)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
	struct serve_http *h = cls;
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (h->err && !h->err[0])
		snprintf(h->err, h->errlen, "%s", msg);
	else
		fprintf(stderr, "mace: serve: http: %s\n", msg);
}

int serve_parse_listen(const char *s, void *ss, unsigned int *socklen)
{
	struct sockaddr_in6 *a6 = ss;
	struct sockaddr_in *a4 = ss;
	char host[64], *end;
	const char *colon;
	unsigned long port = SERVE_DEFAULT_PORT;
	size_t n;

	memset(ss, 0, sizeof(struct sockaddr_storage));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':'))
			return -EINVAL;
		n = close - s - 1;
		colon = close[1] ? close + 1 : NULL;
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, n);
		host[n] = '\0';
	} else {
		colon = strrchr(s, ':');
		n = colon ? (size_t)(colon - s) : strlen(s);
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, n);
		host[n] = '\0';
		if (!n)
			snprintf(host, sizeof(host), "0.0.0.0");	/* ":PORT": every address */
	}
	if (colon) {
		if (!colon[1] || colon[1] == '+' || colon[1] == '-')
			return -EINVAL;
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno || *end || port < 1 || port > 65535)
			return -EINVAL;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*socklen = sizeof(*a6);
		return 0;
	}
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*socklen = sizeof(*a4);
		return 0;
	}
	return -EINVAL;
}

struct serve_http *serve_http_start(const char *listen, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	unsigned int socklen, flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	struct serve_http *h;

	if (serve_parse_listen(listen, &ss, &socklen)) {
		snprintf(err, errlen, "bad listen address '%s' (ADDR:PORT, [ADDR6]:PORT, :PORT)",
			 listen);
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	err[0] = '\0';
	h->err = err;
	h->errlen = errlen;
	h->d = MHD_start_daemon(flags, ntohs(((struct sockaddr_in *)&ss)->sin_port), NULL, NULL,
				on_request, h,
				MHD_OPTION_EXTERNAL_LOGGER, on_log, h,	/* first: logs the rest */
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTION_LIMIT,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONNECTION_TIMEOUT_S,
				MHD_OPTION_END);
	h->err = NULL;
	if (!h->d) {
		if (!err[0])
			snprintf(err, errlen, "cannot listen on %s", listen);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return NULL;
	}
	return h;
}

void serve_http_publish(struct serve_http *h, char *metrics, size_t mlen, char *index,
			size_t ilen)
{
	struct snapshot *s = calloc(1, sizeof(*s)), *old;

	if (!s) {
		/* scrapes keep getting the previous snapshot */
		free(metrics);
		free(index);
		return;
	}
	atomic_init(&s->refs, 1);
	pthread_mutex_init(&s->gz_lock, NULL);
	s->metrics = metrics;
	s->mlen = mlen;
	s->index = index;
	s->ilen = ilen;
	pthread_mutex_lock(&h->lock);
	old = h->snap;
	h->snap = s;
	pthread_mutex_unlock(&h->lock);
	snap_put(old);
}

void serve_http_stop(struct serve_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	snap_put(h->snap);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
