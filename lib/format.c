/* SPDX-License-Identifier: MIT */
/*
 * Record formats: CSV (with a header line) and JSON lines, with the same
 * field names, and parsers that read both back.
 *
 * CSV: segments as "a;b;c" ("-" for an unseen waypoint, "" if none); the path
 * is quoted (RFC 4180) only if it needs to be.  JSON: segments as an array
 * (null for unseen).  Both: dir "egress"/"ingress", proto as a name or a
 * number, addresses as text, empty when the family is unknown.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "mace_int.h"

/* The fields of a record line, in their order: the one list the CSV header,
 * the JSON keys, the writer and the parsers follow. */
#define RECORD_FIELDS(X)                                                          \
	X(TS, "ts_ns") X(NETNS, "netns") X(DIR, "dir") X(PATH, "path")             \
	X(LAT, "latency_ns") X(SEGS, "segments") X(PROTO, "proto") X(SRC, "src")   \
	X(DST, "dst") X(ID, "id") X(SPORT, "sport") X(DPORT, "dport") X(SEQ, "seq") \
	X(LEN, "len") X(CPU_START, "cpu_start") X(CPU_END, "cpu_end")

#define AS_ENUM(id, name) F_##id,
enum { RECORD_FIELDS(AS_ENUM) NFIELDS };
#undef AS_ENUM
#define AS_NAME(id, name) { name, sizeof(name) - 1 },
static const struct {
	const char *s;
	size_t n;
} field_names[NFIELDS] = { RECORD_FIELDS(AS_NAME) };
#undef AS_NAME
#define AS_CSV(id, name) "," name
static const char csv_header[] = RECORD_FIELDS(AS_CSV) "\n";
/* A record's line with its container's names after the record's fields
 * (mace_record_format_container); parsers read and drop them. */
#define CONTAINER_FIELDS(X) X(CT_NAME, "container") X(CT_POD, "pod") X(CT_NAMESPACE, "namespace")
#define AS_ONE(id, name) +1
enum { NCONTAINER = 0 CONTAINER_FIELDS(AS_ONE) };
#undef AS_ONE
static const char csv_header_container[] =
	RECORD_FIELDS(AS_CSV) CONTAINER_FIELDS(AS_CSV) "\n";
#undef AS_CSV

static const struct {
	uint8_t num;
	const char *name;
} protos[] = {
	{ IPPROTO_ICMP, "icmp" }, { IPPROTO_TCP, "tcp" }, { IPPROTO_UDP, "udp" },
	{ IPPROTO_ICMPV6, "icmpv6" },
};

MACE_EXPORT const char *mace_csv_header(void)
{
	return csv_header + 1;	/* no comma before the first */
}

/*
 * snprintf-like appender: keeps counting past the end of the buffer.  The
 * record writer runs once per packet, so it appends with hand-written
 * integer formatting instead of a printf per field.
 */
struct out {
	char *buf;
	size_t size, len;
};

static void put_mem(struct out *o, const char *s, size_t n)
{
	if (o->len < o->size) {
		size_t room = o->size - o->len - 1;	/* keep the terminator */

		memcpy(o->buf + o->len, s, n < room ? n : room);
		o->buf[o->len + (n < room ? n : room)] = '\0';
	}
	o->len += n;
}

static void put_str(struct out *o, const char *s)
{
	put_mem(o, s, strlen(s));
}

static void put_ch(struct out *o, char c)
{
	put_mem(o, &c, 1);
}

/* Decimal digits of v at the end of t[24]; returns where they start. */
static char *fmt_u64(char t[24], uint64_t v)
{
	char *p = t + 24;

	do {
		*--p = '0' + v % 10;
		v /= 10;
	} while (v);
	return p;
}

static void put_u64(struct out *o, uint64_t v)
{
	char t[24], *p = fmt_u64(t, v);

	put_mem(o, p, t + 24 - p);
}

static void put_addr(struct out *o, uint8_t family, const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN];

	if (family == AF_INET) {
		/* The common case, without inet_ntop's snprintf. */
		char *q = s;

		for (int i = 0; i < 4; i++) {
			char t[24], *p = fmt_u64(t, a[i]);

			if (i)
				*q++ = '.';
			while (p < t + 24)
				*q++ = *p++;
		}
		put_mem(o, s, q - s);
	} else if (family == AF_INET6 && inet_ntop(AF_INET6, a, s, sizeof(s))) {
		put_str(o, s);
	}
}

static void put_proto(struct out *o, uint8_t proto, bool json)
{
	for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
		if (protos[i].num == proto) {
			if (json)
				put_ch(o, '"');
			put_str(o, protos[i].name);
			if (json)
				put_ch(o, '"');
			return;
		}
	put_u64(o, proto);
}

static void put_csv_path(struct out *o, const char *p)
{
	if (!strpbrk(p, ",\"\r\n")) {
		put_str(o, p);
		return;
	}
	put_ch(o, '"');
	for (; *p; p++) {
		if (*p == '"')
			put_ch(o, '"');
		put_ch(o, *p);
	}
	put_ch(o, '"');
}

static void put_json_str(struct out *o, const char *p)
{
	static const char hex[] = "0123456789abcdef";

	put_ch(o, '"');
	for (; *p; p++) {
		unsigned char ch = *p;

		if (ch == '"' || ch == '\\') {
			put_ch(o, '\\');
			put_ch(o, ch);
		} else if (ch < 0x20) {
			char u[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };

			put_mem(o, u, sizeof(u));
		} else {
			put_ch(o, ch);
		}
	}
	put_ch(o, '"');
}

#define PUT_LIT(o, s) put_mem(o, s, sizeof(s) - 1)

/* What comes before field i: a comma but for the first, and its JSON key. */
static void put_key(struct out *o, int i, bool json)
{
	if (json) {
		put_ch(o, i ? ',' : '{');
		put_ch(o, '"');
		put_mem(o, field_names[i].s, field_names[i].n);
		PUT_LIT(o, "\":");
	} else if (i) {
		put_ch(o, ',');
	}
}

/* A text field: quoted in JSON, as is in CSV. */
static void put_text(struct out *o, const char *s, bool json)
{
	if (json)
		put_ch(o, '"');
	put_str(o, s);
	if (json)
		put_ch(o, '"');
}

static void put_addr_field(struct out *o, uint8_t family, const uint8_t *a, bool json)
{
	if (json)
		put_ch(o, '"');
	put_addr(o, family, a);
	if (json)
		put_ch(o, '"');
}

/* The container's columns (CSV) or fields (JSON), after the record's. */
static void put_container(struct out *o, const struct mace_container *ct, bool json)
{
	const char *v[] = { ct->name, ct->pod, ct->pod_namespace };
	static const char *const keys[] = { ",\"container\":", ",\"pod\":", ",\"namespace\":" };

	_Static_assert(ARRAY_SIZE(v) == NCONTAINER, "one value per container field");
	/* every field always, as in CSV: "" when not a Kubernetes container */
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		if (json) {
			put_str(o, keys[i]);
			put_json_str(o, v[i]);
		} else {
			put_ch(o, ',');
			put_csv_path(o, v[i]);
		}
	}
}

MACE_EXPORT const char *mace_csv_header_container(void)
{
	return csv_header_container + 1;
}

MACE_EXPORT int mace_record_format(const struct mace_record *rec, const char *path_name,
				   enum mace_format fmt, char *buf, size_t size)
{
	return mace_record_format_container(rec, path_name, NULL, fmt, buf, size);
}

MACE_EXPORT int mace_record_format_container(const struct mace_record *rec, const char *path_name,
					     const struct mace_container *ct,
					     enum mace_format fmt, char *buf, size_t size)
{
	struct out o = { buf, size, 0 };
	bool json = fmt == MACE_FORMAT_JSON;
	struct mace_record copy;
	const struct mace_record *r = &copy;
	struct mace_container ct_copy;

	if (!rec || MACE_ABI_IN(mace_record, &copy, rec) ||
	    (fmt != MACE_FORMAT_CSV && fmt != MACE_FORMAT_JSON) || r->dir > MACE_INGRESS ||
	    r->nseg > MACE_MAX_SEGMENTS)
		return -EINVAL;
	/* a caller's struct of another size: what it lacks is "" */
	if (ct && MACE_ABI_IN(mace_container, &ct_copy, ct))
		return -EINVAL;
	if (ct)
		ct = &ct_copy;
	if (!path_name)
		path_name = "";
	if (size)
		buf[0] = '\0';
	put_key(&o, F_TS, json);
	put_u64(&o, r->ts_ns);
	put_key(&o, F_NETNS, json);
	put_u64(&o, r->netns);
	put_key(&o, F_DIR, json);
	put_text(&o, r->dir == MACE_EGRESS ? "egress" : "ingress", json);
	put_key(&o, F_PATH, json);
	if (json)
		put_json_str(&o, path_name);
	else
		put_csv_path(&o, path_name);
	put_key(&o, F_LAT, json);
	put_u64(&o, r->latency_ns);
	put_key(&o, F_SEGS, json);
	if (json)
		put_ch(&o, '[');
	for (unsigned int i = 0; i < r->nseg; i++) {
		if (i)
			put_ch(&o, json ? ',' : ';');
		if (r->seg_ns[i] != MACE_SEG_UNKNOWN)
			put_u64(&o, r->seg_ns[i]);
		else if (json)
			PUT_LIT(&o, "null");
		else
			put_ch(&o, '-');
	}
	if (json)
		put_ch(&o, ']');
	put_key(&o, F_PROTO, json);
	put_proto(&o, r->proto, json);
	put_key(&o, F_SRC, json);
	put_addr_field(&o, r->family, r->src, json);
	put_key(&o, F_DST, json);
	put_addr_field(&o, r->family, r->dst, json);
	{
		/* F_ID .. F_CPU_END, in the list's order */
		const uint64_t tail[] = { r->id, r->sport, r->dport, r->seq, r->len,
					  r->cpu_start, r->cpu_end };

		_Static_assert(ARRAY_SIZE(tail) == NFIELDS - F_ID, "one value per field");
		for (size_t i = 0; i < ARRAY_SIZE(tail); i++) {
			put_key(&o, F_ID + i, json);
			put_u64(&o, tail[i]);
		}
	}
	if (ct)
		put_container(&o, ct, json);
	if (json)
		put_ch(&o, '}');
	put_ch(&o, '\n');
	return o.len > INT_MAX ? -EOVERFLOW : (int)o.len;
}

/* ---- parsing ---------------------------------------------------------------- */

/* A field's text: [s, s + n).  Strings are already unquoted into scratch. */
struct field {
	const char *s;
	size_t n;
	bool is_null, is_str, present;
	uint64_t segs[MACE_MAX_SEGMENTS];
	int nseg;		/* -1: not an array */
};

static int parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!n || n > 20)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (s[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_proto(const struct field *f, uint8_t *out)
{
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
		if (strlen(protos[i].name) == f->n && !memcmp(protos[i].name, f->s, f->n)) {
			*out = protos[i].num;
			return 0;
		}
	if (parse_u64(f->s, f->n, 255, &v))
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_addr(const struct field *f, uint8_t *family, uint8_t *a)
{
	char s[INET6_ADDRSTRLEN];
	uint8_t fam;

	memset(a, 0, 16);
	if (!f->n) {
		fam = 0;
	} else {
		if (f->n >= sizeof(s))
			return -EINVAL;
		memcpy(s, f->s, f->n);
		s[f->n] = '\0';
		fam = memchr(s, ':', f->n) ? AF_INET6 : AF_INET;
		if (inet_pton(fam, s, a) != 1)
			return -EINVAL;
	}
	if (*family != 0xff && *family != fam)
		return -EINVAL;	/* src and dst of different families */
	*family = fam;
	return 0;
}

/* CSV segments "a;b;-" into f->segs. */
static int split_segs(struct field *f)
{
	const char *p = f->s, *end = f->s + f->n;

	f->nseg = 0;
	if (!f->n)
		return 0;
	for (;;) {
		const char *q = memchr(p, ';', end - p);
		size_t n = q ? (size_t)(q - p) : (size_t)(end - p);

		if (f->nseg == MACE_MAX_SEGMENTS)
			return -EINVAL;
		if (n == 1 && *p == '-')
			f->segs[f->nseg] = MACE_SEG_UNKNOWN;
		else if (parse_u64(p, n, UINT64_MAX - 1, &f->segs[f->nseg]))
			return -EINVAL;
		f->nseg++;
		if (!q)
			return 0;
		p = q + 1;
	}
}

static int fill(struct field *f, struct mace_record *r, char *path_name, size_t path_size)
{
	uint64_t v;

	memset(r, 0, sizeof(*r));
#define NUM(idx, max, dst)                                               \
	do {                                                              \
		if (f[idx].is_str || f[idx].nseg >= 0 || f[idx].is_null ||    \
		    parse_u64(f[idx].s, f[idx].n, (max), &v))                 \
			return -EINVAL;                                           \
		dst = v;                                                  \
	} while (0)
	NUM(F_TS, UINT64_MAX, r->ts_ns);
	NUM(F_NETNS, UINT32_MAX, r->netns);
	NUM(F_LAT, UINT64_MAX, r->latency_ns);
	NUM(F_ID, UINT16_MAX, r->id);
	NUM(F_SPORT, UINT16_MAX, r->sport);
	NUM(F_DPORT, UINT16_MAX, r->dport);
	NUM(F_SEQ, UINT32_MAX, r->seq);
	NUM(F_LEN, UINT32_MAX, r->len);
	NUM(F_CPU_START, UINT16_MAX, r->cpu_start);
	NUM(F_CPU_END, UINT16_MAX, r->cpu_end);
#undef NUM
	if (f[F_DIR].n == 6 && !memcmp(f[F_DIR].s, "egress", 6))
		r->dir = MACE_EGRESS;
	else if (f[F_DIR].n == 7 && !memcmp(f[F_DIR].s, "ingress", 7))
		r->dir = MACE_INGRESS;
	else
		return -EINVAL;
	if (f[F_SEGS].nseg < 0)
		return -EINVAL;
	for (int i = 0; i < MACE_MAX_SEGMENTS; i++)
		r->seg_ns[i] = i < f[F_SEGS].nseg ? f[F_SEGS].segs[i] : MACE_SEG_UNKNOWN;
	r->nseg = f[F_SEGS].nseg;
	if (f[F_PROTO].nseg >= 0 || f[F_PROTO].is_null || parse_proto(&f[F_PROTO], &r->proto))
		return -EINVAL;
	r->family = 0xff;
	if (parse_addr(&f[F_SRC], &r->family, r->src) || parse_addr(&f[F_DST], &r->family, r->dst))
		return -EINVAL;
	if (f[F_PATH].nseg >= 0 || f[F_PATH].is_null || memchr(f[F_PATH].s, '\0', f[F_PATH].n))
		return -EINVAL;
	if (path_name && path_size) {
		size_t n = f[F_PATH].n < path_size - 1 ? f[F_PATH].n : path_size - 1;

		memcpy(path_name, f[F_PATH].s, n);
		path_name[n] = '\0';
	}
	return 0;
}

/* Splits one CSV line; quoted fields are unquoted into scratch. */
static int split_csv(const char *line, struct field *f, char *scratch, size_t scratch_size)
{
	const char *p = line;
	size_t used = 0;
	int n = 0;

	for (;;) {
		struct field *cur;

		if (n == NFIELDS + NCONTAINER)
			return -EINVAL;
		/* the container's columns are not part of a record */
		cur = n < NFIELDS ? &f[n] : &f[NFIELDS];
		n++;
		cur->nseg = -1;
		if (*p == '"') {
			cur->s = scratch + used;
			cur->n = 0;
			for (p++;; p++) {
				if (!*p)
					return -EINVAL;
				if (*p == '"') {
					if (p[1] != '"')
						break;
					p++;
				}
				if (used + 1 >= scratch_size)
					return -EINVAL;
				scratch[used++] = *p;
				cur->n++;
			}
			p++;
			cur->is_str = false;	/* CSV has no types */
		} else {
			cur->s = p;
			while (*p && *p != ',' && *p != '\n' && *p != '\r' && *p != '"')
				p++;
			cur->n = p - cur->s;
			if (*p == '"')
				return -EINVAL;
		}
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p == '\r')
			p++;
		if (*p == '\n')
			p++;
		if (*p)
			return -EINVAL;
		break;
	}
	if (n != NFIELDS && n != NFIELDS + NCONTAINER)
		return -EINVAL;
	return split_segs(&f[F_SEGS]);
}

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* A JSON string at p (after the quote) into scratch; returns the end or NULL. */
static const char *json_str(const char *p, char *scratch, size_t cap, size_t *used, size_t *len)
{
	size_t n = 0;

	for (;; p++) {
		unsigned int u;
		char ch = *p;

		if (!ch || (unsigned char)ch < 0x20)
			return NULL;
		if (ch == '"')
			break;
		if (ch == '\\') {
			p++;
			switch (*p) {
			case '"': case '\\': case '/': ch = *p; break;
			case 'b': ch = '\b'; break;
			case 'f': ch = '\f'; break;
			case 'n': ch = '\n'; break;
			case 'r': ch = '\r'; break;
			case 't': ch = '\t'; break;
			case 'u':
				u = 0;
				for (int i = 1; i <= 4; i++) {
					char h = p[i];

					u <<= 4;
					if (h >= '0' && h <= '9')
						u |= h - '0';
					else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
						u |= (h | 0x20) - 'a' + 10;
					else
						return NULL;
				}
				/* we only write \u00XX; others are not ours */
				if (!u || u > 0x7f)
					return NULL;
				ch = u;
				p += 4;
				break;
			default:
				return NULL;
			}
		}
		if (*used + 1 >= cap)
			return NULL;
		scratch[(*used)++] = ch;
		n++;
	}
	*len = n;
	return p + 1;
}

static int split_json(const char *line, struct field *f, char *scratch, size_t cap)
{
	const char *p = ws(line);
	size_t used = 0;

	if (*p++ != '{')
		return -EINVAL;
	p = ws(p);
	if (*p == '}')
		return -EINVAL;
	for (;;) {
		struct field tmp, *cur = &tmp;
		size_t klen, kstart = used;
		int idx = -1;

		if (*p++ != '"' || !(p = json_str(p, scratch, cap, &used, &klen)))
			return -EINVAL;
		for (int i = 0; i < NFIELDS; i++)
			if (field_names[i].n == klen &&
			    !memcmp(field_names[i].s, scratch + kstart, klen))
				idx = i;
		used = kstart;
		if (idx >= 0) {
			cur = &f[idx];
			if (cur->present)
				return -EINVAL;	/* same key twice */
		}
		memset(cur, 0, sizeof(*cur));
		cur->present = true;
		cur->nseg = -1;
		p = ws(p);
		if (*p++ != ':')
			return -EINVAL;
		p = ws(p);
		if (*p == '"') {
			cur->s = scratch + used;
			cur->is_str = true;
			if (!(p = json_str(p + 1, scratch, cap, &used, &cur->n)))
				return -EINVAL;
		} else if (*p == '[') {
			cur->nseg = 0;
			p = ws(p + 1);
			while (*p != ']') {
				const char *s = p;

				if (cur->nseg == MACE_MAX_SEGMENTS)
					return -EINVAL;
				if (!strncmp(p, "null", 4)) {
					cur->segs[cur->nseg] = MACE_SEG_UNKNOWN;
					p += 4;
				} else {
					while (*p >= '0' && *p <= '9')
						p++;
					if (parse_u64(s, p - s, UINT64_MAX - 1, &cur->segs[cur->nseg]))
						return -EINVAL;
				}
				cur->nseg++;
				p = ws(p);
				if (*p == ',') {
					p = ws(p + 1);
					if (*p == ']')
						return -EINVAL;
				} else if (*p != ']') {
					return -EINVAL;
				}
			}
			p++;
		} else if (!strncmp(p, "null", 4)) {
			cur->is_null = true;
			p += 4;
		} else {
			cur->s = p;
			while (*p >= '0' && *p <= '9')
				p++;
			cur->n = p - cur->s;
			if (!cur->n)
				return -EINVAL;
		}
		p = ws(p);
		if (*p == ',') {
			p = ws(p + 1);
			continue;
		}
		if (*p++ != '}')
			return -EINVAL;
		break;
	}
	if (*ws(p))
		return -EINVAL;
	for (int i = 0; i < NFIELDS; i++)
		if (!f[i].present)
			return -EINVAL;
	/* proto may be a number or a name; other strings must be strings */
	if (!f[F_DIR].is_str || !f[F_PATH].is_str || !f[F_SRC].is_str || !f[F_DST].is_str)
		return -EINVAL;
	return 0;
}

MACE_EXPORT int mace_record_parse(const char *line, enum mace_format fmt, struct mace_record *rec,
				  char *path_name, size_t path_size)
{
	struct field f[NFIELDS + 1];	/* + one for the container columns, unused */
	struct mace_record r = { .sz = sizeof(r) };
	char scratch[1024];
	int err;

	if (!line || !rec)
		return -EINVAL;
	memset(f, 0, sizeof(f));
	if (fmt == MACE_FORMAT_CSV)
		err = split_csv(line, f, scratch, sizeof(scratch));
	else if (fmt == MACE_FORMAT_JSON)
		err = split_json(line, f, scratch, sizeof(scratch));
	else
		err = -EINVAL;
	if (err)
		return err;
	err = fill(f, &r, path_name, path_size);
	if (err)
		return err;
	return MACE_ABI_OUT(mace_record, rec, &r);
}
