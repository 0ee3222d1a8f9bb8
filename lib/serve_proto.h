/* SPDX-License-Identifier: MIT */
/*
 * The wire protocol of `mace serve --socket`, shared by the server and the
 * client (mace_client_*).  Not installed; documented in mace-serve(8).
 *
 * A unix stream connection carries requests and replies, one reply per
 * request, in order.  All integers are little-endian.
 *
 * Request:  u8 version (1), u8 type, u16 body length, body
 * Reply:    u8 version (1), u8 type (the request's), u8 status, u8 0,
 *           u32 body length, body
 *
 * A request body is exactly the size its type says (at most
 * MACE_SP_MAX_REQ_BODY).  Anything else is malformed: the server answers
 * MACE_SP_ERROR with a message and closes the connection.
 */
#ifndef MACE_SERVE_PROTO_H
#define MACE_SERVE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "mace.h"

#define MACE_SP_VERSION 1
#define MACE_SP_REQ_HDR 4
#define MACE_SP_REP_HDR 8
#define MACE_SP_MAX_REQ_BODY 64
/* A reply's body: a window reply holds at most this many records. */
#define MACE_SP_MAX_RECORDS 1024
#define MACE_SP_RECORD_SIZE 136		/* one record on the wire */
#define MACE_SP_MAX_REP_BODY (8 + MACE_SP_MAX_RECORDS * MACE_SP_RECORD_SIZE)
#define MACE_SP_MAX_MSG 200		/* an error reply's message, bytes */
#define MACE_SP_MAX_WAIT_MS 10000	/* longest wait a probe request may ask */

enum mace_sp_type {
	MACE_SP_INFO = 1,	/* server version, path, backend */
	MACE_SP_PROBE = 2,	/* overhead of one probe */
	MACE_SP_WINDOW = 3,	/* records of a time window */
};

enum mace_sp_status {
	MACE_SP_FOUND = 0,	/* both directions matched (PROBE); records (WINDOW); INFO */
	MACE_SP_NOT_FOUND = 1,	/* a direction has no record (yet) */
	MACE_SP_AMBIGUOUS = 2,	/* a direction has several candidates: none is picked */
	MACE_SP_NOT_MONITORED = 3, /* the netns asked about is not traced by the server */
	MACE_SP_DENIED = 4,	/* another netns than the caller's, and the caller may not */
	MACE_SP_BUSY = 5,	/* a limit was reached; the connection is closed */
	MACE_SP_ERROR = 6,	/* malformed request; the connection is closed */
};

/* INFO: empty body.  Reply body: u16 version, char path[64], char backend[16]. */
#define MACE_SP_INFO_BODY 0
#define MACE_SP_INFO_REPLY 82

/*
 * PROBE body (36 bytes):
 *	u8 proto, u8 0, u16 id, u32 seq, u16 sport, u16 dport,
 *	u64 sent_ns, u64 recv_ns, u32 netns (0: the caller's), u32 wait_ms
 * Reply body (4 + 2 records): u8 egress_how, u8 ingress_how, u16 0,
 *	egress record, ingress record (all zero when that how is not a match)
 */
#define MACE_SP_PROBE_BODY 36
#define MACE_SP_PROBE_REPLY (4 + 2 * MACE_SP_RECORD_SIZE)
struct mace_sp_probe {
	struct mace_probe probe;
	uint32_t wait_ms;
};

/*
 * WINDOW body (24 bytes): u64 from_ns, u64 to_ns, u32 netns (0: the
 * caller's), u32 max records (1..MACE_SP_MAX_RECORDS).
 * Reply body: u32 count, u32 more (1: records past the last one exist in the
 * window; ask again from its ts_ns + 1), count records by start time.
 */
#define MACE_SP_WINDOW_BODY 24
struct mace_sp_window {
	uint64_t from_ns, to_ns;	/* start times in [from, to] */
	uint32_t netns;
	uint32_t max;
};

/* One parsed request. */
struct mace_sp_request {
	uint8_t type;
	union {
		struct mace_sp_probe probe;
		struct mace_sp_window window;
	};
};

/*
 * Parses the request at the start of buf.  Returns its total size (header +
 * body) when complete, 0 when more bytes are needed, or -EPROTO when it is
 * malformed (msg says why, '\0'-terminated).
 */
int mace__sp_parse_request(const uint8_t *buf, size_t len, struct mace_sp_request *req,
			  char *msg, size_t msglen);
/* Encodes a request into buf (at least MACE_SP_REQ_HDR + MACE_SP_MAX_REQ_BODY). */
size_t mace__sp_encode_request(const struct mace_sp_request *req, uint8_t *buf);

/* Reply header into buf (MACE_SP_REP_HDR bytes). */
void mace__sp_encode_reply_hdr(uint8_t *buf, uint8_t type, uint8_t status, uint32_t body_len);
/* Parses a reply header: 0, or -EPROTO if it is not one this client reads. */
int mace__sp_parse_reply_hdr(const uint8_t *buf, uint8_t *type, uint8_t *status,
			    uint32_t *body_len);

void mace__sp_put_record(uint8_t *buf, const struct mace_record *rec);
/* -EPROTO when the record's fields are out of range (nseg, dir). */
int mace__sp_get_record(const uint8_t *buf, struct mace_record *rec);

/* Little-endian helpers. */
static inline void mace__sp_put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}
static inline void mace__sp_put32(uint8_t *p, uint32_t v)
{
	mace__sp_put16(p, v);
	mace__sp_put16(p + 2, v >> 16);
}
static inline void mace__sp_put64(uint8_t *p, uint64_t v)
{
	mace__sp_put32(p, v);
	mace__sp_put32(p + 4, v >> 32);
}
static inline uint16_t mace__sp_get16(const uint8_t *p)
{
	return p[0] | (uint16_t)p[1] << 8;
}
static inline uint32_t mace__sp_get32(const uint8_t *p)
{
	return mace__sp_get16(p) | (uint32_t)mace__sp_get16(p + 2) << 16;
}
static inline uint64_t mace__sp_get64(const uint8_t *p)
{
	return mace__sp_get32(p) | (uint64_t)mace__sp_get32(p + 4) << 32;
}

#endif /* MACE_SERVE_PROTO_H */
