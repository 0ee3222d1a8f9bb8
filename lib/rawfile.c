/* SPDX-License-Identifier: MIT */
/*
 * Raw-event files, for replay.  Everything little-endian, field by field, so
 * files move between machines and compilers:
 *
 *	"MACERAW\0"  u32 version (1)  u32 header_len
 *	header (header_len bytes):
 *		u32 event_size (96)  u32 clock  s64 realtime_offset_ns
 *		char path[64]  char backend[16]  u32 ndev
 *		ndev x { u8 role  u32 netns  u32 ifindex  u32 container_netns
 *			 char name[16]  char netns_name[64] }
 *	events, event_size bytes each, in struct mace_event field order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mace_int.h"

#define MAGIC "MACERAW\0"
#define VERSION 1
#define EV_SIZE 96
#define HDR_FIXED (4 + 4 + 8 + 64 + 16 + 4)
#define DEV_SIZE (1 + 4 + 4 + 4 + 16 + 64)
#define WBUF (1u << 20)

_Static_assert(sizeof(struct mace_event) == EV_SIZE, "mace_event layout changed");

struct mace_raw_writer {
	int fd;
	int err;		/* first write error, sticky */
	size_t used;
	unsigned char buf[WBUF];
};

struct mace_raw_reader {
	FILE *f;
	unsigned long long nread;
	char file[256];
};

/* ---- little-endian helpers ---------------------------------------------- */

static unsigned char *put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = v >> (8 * i);
	return p + n;
}

static uint64_t get_le(const unsigned char **p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)(*p)[i] << (8 * i);
	*p += n;
	return v;
}

static unsigned char *put_bytes(unsigned char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

static void get_str(const unsigned char **p, char *dst, size_t n)
{
	memcpy(dst, *p, n);
	dst[n - 1] = '\0';	/* never trust the terminator */
	*p += n;
}

static void encode_event(unsigned char *p, const struct mace_event *ev)
{
	p = put_le(p, ev->ts, 8);
	p = put_le(p, ev->skb, 8);
	p = put_le(p, ev->key, 8);
	p = put_le(p, ev->netns, 4);
	p = put_le(p, ev->ifindex, 4);
	p = put_le(p, ev->tid, 4);
	p = put_le(p, ev->len, 4);
	p = put_le(p, ev->seq, 4);
	p = put_le(p, ev->cpu, 2);
	p = put_le(p, ev->id, 2);
	p = put_le(p, ev->sport, 2);
	p = put_le(p, ev->dport, 2);
	*p++ = ev->tp;
	*p++ = ev->role;
	*p++ = ev->proto;
	*p++ = ev->family;
	p = put_bytes(p, ev->src, 16);
	p = put_bytes(p, ev->dst, 16);
	p = put_le(p, ev->reserved[0], 4);
	put_le(p, ev->reserved[1], 4);
}

static void decode_event(const unsigned char *p, struct mace_event *ev)
{
	ev->ts = get_le(&p, 8);
	ev->skb = get_le(&p, 8);
	ev->key = get_le(&p, 8);
	ev->netns = get_le(&p, 4);
	ev->ifindex = get_le(&p, 4);
	ev->tid = get_le(&p, 4);
	ev->len = get_le(&p, 4);
	ev->seq = get_le(&p, 4);
	ev->cpu = get_le(&p, 2);
	ev->id = get_le(&p, 2);
	ev->sport = get_le(&p, 2);
	ev->dport = get_le(&p, 2);
	ev->tp = *p++;
	ev->role = *p++;
	ev->proto = *p++;
	ev->family = *p++;
	memcpy(ev->src, p, 16);
	memcpy(ev->dst, p + 16, 16);
	p += 32;
	ev->reserved[0] = get_le(&p, 4);
	ev->reserved[1] = get_le(&p, 4);
}

/* ---- writer ------------------------------------------------------------------ */

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!w)
			return -EIO;
		p += w;
		n -= w;
	}
	return 0;
}

static int wflush(struct mace_raw_writer *w)
{
	if (!w->err && w->used)
		w->err = write_all(w->fd, w->buf, w->used);
	w->used = 0;
	return w->err;
}

struct mace_raw_writer *mace__raw_create(const char *file, const struct mace_raw_header *h)
{
	const struct mace_binding *b = &h->binding;
	struct mace_raw_writer *w;
	unsigned char *p;
	unsigned int ndev = b->ndev;
	struct stat st;
	int err;

	if (ndev > MACE_MAX_BOUND) {
		mace_err("%s: binding has %u devices, at most %d", file, ndev, MACE_MAX_BOUND);
		errno = EINVAL;
		return NULL;
	}
	w = malloc(sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	/* a planted symlink must not redirect the recording */
	w->fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		err = errno;
		mace_err("%s: %s", file, strerror(err));
		free(w);
		errno = err;
		return NULL;
	}
	/* A file someone left group/world-writable does not stay so. */
	if (!fstat(w->fd, &st) && S_ISREG(st.st_mode) && (st.st_mode & 022) &&
	    fchmod(w->fd, st.st_mode & 0755)) {
		err = errno;
		mace_err("%s: cannot chmod: %s", file, strerror(err));
		close(w->fd);
		free(w);
		errno = err;
		return NULL;
	}
	w->err = 0;
	p = w->buf;
	p = put_bytes(p, MAGIC, 8);
	p = put_le(p, VERSION, 4);
	p = put_le(p, HDR_FIXED + ndev * DEV_SIZE, 4);
	p = put_le(p, EV_SIZE, 4);
	p = put_le(p, h->clock, 4);
	p = put_le(p, (uint64_t)h->realtime_offset_ns, 8);
	p = put_bytes(p, h->path, 64);
	p = put_bytes(p, h->backend, 16);
	p = put_le(p, ndev, 4);
	for (unsigned int i = 0; i < ndev; i++) {
		const struct mace_bound_dev *d = &b->dev[i];

		*p++ = d->role;
		p = put_le(p, d->netns, 4);
		p = put_le(p, d->ifindex, 4);
		p = put_le(p, d->container_netns, 4);
		p = put_bytes(p, d->name, 16);
		p = put_bytes(p, d->netns_name, 64);
	}
	w->used = p - w->buf;
	return w;
}

int mace__raw_write(struct mace_raw_writer *w, const struct mace_event *ev)
{
	if (w->err)
		return w->err;
	if (w->used + EV_SIZE > WBUF && wflush(w))
		return w->err;
	encode_event(w->buf + w->used, ev);
	w->used += EV_SIZE;
	return 0;
}

int mace__raw_close(struct mace_raw_writer *w)
{
	int err;

	if (!w)
		return 0;
	err = wflush(w);
	if (close(w->fd) && !err)
		err = -errno;
	free(w);
	return err;
}

/* ---- reader ------------------------------------------------------------------ */

#define FAIL(e, ...)                                          \
	do {                                                  \
		snprintf(err, errlen, __VA_ARGS__);           \
		errno = (e);                                  \
		goto fail;                                    \
	} while (0)

struct mace_raw_reader *mace__raw_open(const char *file, struct mace_raw_header *h, char *err,
				       size_t errlen)
{
	unsigned char pre[16], *hdr = NULL;
	const unsigned char *p;
	struct mace_raw_reader *r;
	uint32_t version, hlen, evsize, ndev;
	size_t got;

	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "%s: out of memory", file);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(r->file, sizeof(r->file), "%s", file);
	r->f = fopen(file, "rbe");
	if (!r->f) {
		int e = errno;

		FAIL(e, "%s: %s", file, strerror(e));
	}
	setvbuf(r->f, NULL, _IOFBF, 1 << 20);
	got = fread(pre, 1, sizeof(pre), r->f);
	if (got < 8 || memcmp(pre, MAGIC, 8))
		FAIL(EINVAL, "%s: not a mace raw-event file (bad magic)", file);
	if (got < sizeof(pre))
		FAIL(EINVAL, "%s: file ends inside the preamble", file);
	p = pre + 8;
	version = get_le(&p, 4);
	hlen = get_le(&p, 4);
	if (version != VERSION)
		FAIL(ENOTSUP, "%s: unsupported version %u (this mace reads %d)", file, version,
		     VERSION);
	if (hlen < HDR_FIXED)
		FAIL(EINVAL, "%s: header too short (%u bytes, at least %d)", file, hlen, HDR_FIXED);
	if (hlen > HDR_FIXED + MACE_MAX_BOUND * DEV_SIZE)
		FAIL(EINVAL, "%s: header too long (%u bytes, at most %d)", file, hlen,
		     HDR_FIXED + MACE_MAX_BOUND * DEV_SIZE);
	hdr = malloc(hlen);
	if (!hdr)
		FAIL(ENOMEM, "%s: out of memory", file);
	if (fread(hdr, 1, hlen, r->f) != hlen)
		FAIL(EINVAL, "%s: file ends inside the %u-byte header", file, hlen);
	memset(h, 0, sizeof(*h));
	p = hdr;
	h->version = version;
	evsize = get_le(&p, 4);
	h->clock = get_le(&p, 4);
	h->realtime_offset_ns = (int64_t)get_le(&p, 8);
	get_str(&p, h->path, sizeof(h->path));
	get_str(&p, h->backend, sizeof(h->backend));
	ndev = get_le(&p, 4);
	if (evsize != EV_SIZE)
		FAIL(EINVAL, "%s: event size %u, expected %d", file, evsize, EV_SIZE);
	if (ndev > MACE_MAX_BOUND)
		FAIL(EINVAL, "%s: %u bound devices, at most %d", file, ndev, MACE_MAX_BOUND);
	if (hlen < HDR_FIXED + ndev * DEV_SIZE)
		FAIL(EINVAL, "%s: header too short for %u devices (%u bytes)", file, ndev, hlen);
	if (hlen > HDR_FIXED + ndev * DEV_SIZE)
		FAIL(EINVAL, "%s: header too long for %u devices (%u bytes)", file, ndev, hlen);
	h->binding.ndev = ndev;
	for (unsigned int i = 0; i < ndev; i++) {
		struct mace_bound_dev *d = &h->binding.dev[i];

		d->role = *p++;
		if (d->role >= MACE_ROLE_COUNT)
			FAIL(EINVAL, "%s: device %u has invalid role %u", file, i, d->role);
		d->netns = get_le(&p, 4);
		d->ifindex = get_le(&p, 4);
		d->container_netns = get_le(&p, 4);
		get_str(&p, d->name, sizeof(d->name));
		get_str(&p, d->netns_name, sizeof(d->netns_name));
	}
	free(hdr);
	return r;
fail:
	free(hdr);
	mace__raw_free(r);
	return NULL;
}

int mace__raw_next(struct mace_raw_reader *r, struct mace_event *ev, char *err, size_t errlen)
{
	unsigned char buf[EV_SIZE];
	size_t got = fread(buf, 1, EV_SIZE, r->f);

	if (got != EV_SIZE) {
		if (ferror(r->f)) {
			snprintf(err, errlen, "%s: read error after %llu events", r->file,
				 r->nread);
			return -EIO;
		}
		if (!got)
			return 0;
		snprintf(err, errlen, "%s: truncated after %llu events (%zu of %d bytes)",
			 r->file, r->nread, got, EV_SIZE);
		return -EINVAL;
	}
	decode_event(buf, ev);
	if (ev->tp >= MACE_TP_COUNT || ev->role >= MACE_ROLE_COUNT) {
		snprintf(err, errlen, "%s: event %llu has impossible %s %u", r->file, r->nread,
			 ev->tp >= MACE_TP_COUNT ? "tracepoint" : "role",
			 ev->tp >= MACE_TP_COUNT ? ev->tp : ev->role);
		return -EINVAL;
	}
	r->nread++;
	return 1;
}

void mace__raw_free(struct mace_raw_reader *r)
{
	if (!r)
		return;
	if (r->f)
		fclose(r->f);
	free(r);
}
