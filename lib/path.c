/* SPDX-License-Identifier: MIT */
/*
 * Event-path files: parser, loader and canonical writer.  The format is in
 * man/mace-paths.5.  Every rejection names file:line:col of the bad token.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mace_int.h"

#define MAX_LINE 1024		/* bytes per line, without the newline */
#define MAX_TOKENS 64		/* far more than any valid line needs */
#define MAX_FILE (1024 * 1024)	/* path files are a few hundred bytes */
#define MAX_LINENO 65535	/* struct mace_point.line is a __u16 */

static const char *const dir_names[2] = { "egress", "ingress" };

struct tok {
	const char *s;		/* not NUL-terminated */
	size_t len;
	unsigned int col;	/* 1-based */
};

struct parser {
	const char *file;
	char *err;
	size_t errlen;
	struct mace_path *p;
	unsigned int line;
	unsigned int eol_col;	/* column just past the line's last character */
	unsigned int path_line, desc_line, match_line;
	bool any_content;
	/* Per direction: where its start and end were declared (0: not yet). */
	unsigned int start_line[2], start_col[2], end_line[2], end_col[2];
};

static int perr(struct parser *ps, unsigned int line, unsigned int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int perr(struct parser *ps, unsigned int line, unsigned int col, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!ps->err || !ps->errlen)
		return -EINVAL;
	n = snprintf(ps->err, ps->errlen, "%s:%u:%u: ", ps->file, line, col);
	if (n >= 0 && (size_t)n < ps->errlen) {
		va_start(ap, fmt);
		vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool tok_is(const struct tok *t, const char *s)
{
	return t->len == strlen(s) && !memcmp(t->s, s, t->len);
}

/* Copies a token into buf as a C string; longer tokens are cut (messages only).
 * Bytes that would not show in a message (non-ASCII: a no-break space, a
 * stray byte-order mark) are written \xNN, so the quote shows what is wrong. */
static const char *tok_str(const struct tok *t, char *buf, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < t->len; i++) {
		unsigned char c = t->s[i];

		if (c > 0x20 && c < 0x7f) {
			if (o + 1 >= size)
				break;
			buf[o++] = c;
		} else {
			if (o + 4 >= size)
				break;
			snprintf(buf + o, 5, "\\x%02x", c);
			o += 4;
		}
	}
	buf[o] = '\0';
	return buf;
}

/* Splits one line into words and the one-character tokens '|' and '@'; '#' starts a comment. */
static int lex(struct parser *ps, const char *s, size_t len, struct tok *toks, unsigned int *ntok)
{
	unsigned int n = 0;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t start;

		if (c == ' ' || c == '\t') {
			i++;
			continue;
		}
		if (c == '#')
			break;
		if (c < 0x20 || c == 0x7f)
			return perr(ps, ps->line, i + 1, "control character 0x%02x", c);
		if (n == MAX_TOKENS)
			return perr(ps, ps->line, i + 1, "too many words on one line (at most %d)",
				    MAX_TOKENS);
		start = i;
		if (c == '|' || c == '@') {
			i++;
		} else {
			while (i < len) {
				c = s[i];
				if (c == ' ' || c == '\t' || c == '#' || c == '|' || c == '@' ||
				    c < 0x20 || c == 0x7f)
					break;
				i++;
			}
		}
		toks[n++] = (struct tok){ s + start, i - start, start + 1 };
	}
	*ntok = n;
	return 0;
}

static unsigned int edit_distance(const char *a, size_t la, const char *b)
{
	unsigned int row[MAX_LINE + 1];
	size_t lb = strlen(b);

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		unsigned int diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned int up = row[j];
			unsigned int best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static int unknown_tp(struct parser *ps, const struct tok *t)
{
	const char *colon = memchr(t->s, ':', t->len);
	const char *name = colon ? colon + 1 : t->s;
	size_t len = t->len - (name - t->s);
	const struct mace_tp_info *best = NULL;
	unsigned int best_d = ~0u;
	char buf[80];

	/* Names are short: a long token is not a typo of any of them. */
	if (len <= 64) {
		for (int i = 1; i < MACE_TP_COUNT; i++) {
			const struct mace_tp_info *info = mace__tp_info(i);
			unsigned int d = edit_distance(name, len, info->name);

			if (d < best_d) {
				best_d = d;
				best = info;
			}
		}
	}
	tok_str(t, buf, sizeof(buf));
	if (best && best_d <= 3 && best_d * 3 <= strlen(best->name))
		return perr(ps, ps->line, t->col, "unknown tracepoint '%s' (did you mean '%s%s%s'?)",
			    buf, colon ? best->system : "", colon ? ":" : "", best->name);
	return perr(ps, ps->line, t->col, "unknown tracepoint '%s' (see mace-paths(5))", buf);
}

static int unknown_role(struct parser *ps, const struct tok *t)
{
	char buf[80], list[128] = "";
	size_t n = 0;

	for (int i = 1; i < MACE_ROLE_COUNT; i++)
		n += snprintf(list + n, sizeof(list) - n, "%s%s", i > 1 ? ", " : "",
			      mace__role_name(i));
	tok_str(t, buf, sizeof(buf));
	return perr(ps, ps->line, t->col, "unknown role '%s' (roles: %s)", buf, list);
}

static int parse_path_line(struct parser *ps, const struct tok *t, unsigned int n)
{
	char buf[80];

	if (ps->path_line)
		return perr(ps, ps->line, t[0].col, "second 'path' line (first at line %u)",
			    ps->path_line);
	if (n < 2)
		return perr(ps, ps->line, ps->eol_col, "missing path name after 'path'");
	if (t[1].len >= sizeof(ps->p->name))
		return perr(ps, ps->line, t[1].col, "path name longer than %zu characters",
			    sizeof(ps->p->name) - 1);
	for (size_t i = 0; i < t[1].len; i++) {
		unsigned char c = t[1].s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return perr(ps, ps->line, t[1].col + i,
				    "invalid character '%c' in path name (use letters, digits, '-', '_', '.')",
				    c >= 0x20 && c < 0x7f ? c : '?');
	}
	if (n > 2)
		return perr(ps, ps->line, t[2].col, "unexpected '%s' after the path name",
			    tok_str(&t[2], buf, sizeof(buf)));
	memcpy(ps->p->name, t[1].s, t[1].len);
	ps->p->name[t[1].len] = '\0';
	ps->path_line = ps->line;
	return 0;
}

/* The description is the raw rest of the line (up to a comment), trimmed. */
static int parse_description(struct parser *ps, const struct tok *kw, const char *line, size_t len)
{
	size_t b = kw->s + kw->len - line, e;

	if (ps->desc_line)
		return perr(ps, ps->line, kw->col, "second 'description' line (first at line %u)",
			    ps->desc_line);
	for (e = b; e < len && line[e] != '#'; e++)
		;
	while (b < e && (line[b] == ' ' || line[b] == '\t'))
		b++;
	while (e > b && (line[e - 1] == ' ' || line[e - 1] == '\t'))
		e--;
	if (b == e)
		return perr(ps, ps->line, ps->eol_col, "missing text after 'description'");
	if (e - b >= sizeof(ps->p->description))
		return perr(ps, ps->line, b + 1, "description longer than %zu characters",
			    sizeof(ps->p->description) - 1);
	memcpy(ps->p->description, line + b, e - b);
	ps->p->description[e - b] = '\0';
	ps->desc_line = ps->line;
	return 0;
}

static int parse_match(struct parser *ps, const struct tok *t, unsigned int n)
{
	unsigned int m = 0;
	char buf[80];

	if (ps->match_line)
		return perr(ps, ps->line, t[0].col, "second 'match' line (first at line %u)",
			    ps->match_line);
	if (n < 2)
		return perr(ps, ps->line, ps->eol_col, "missing method after 'match' (skb, key)");
	for (unsigned int i = 1; i < n; i++) {
		unsigned int bit;

		if (tok_is(&t[i], "skb"))
			bit = MACE_PATH_MATCH_SKB;
		else if (tok_is(&t[i], "key"))
			bit = MACE_PATH_MATCH_KEY;
		else
			return perr(ps, ps->line, t[i].col,
				    "unknown match method '%s' (expected skb or key)",
				    tok_str(&t[i], buf, sizeof(buf)));
		if (m & bit)
			return perr(ps, ps->line, t[i].col, "match method '%s' given twice",
				    tok_str(&t[i], buf, sizeof(buf)));
		m |= bit;
	}
	ps->p->match = m;
	ps->match_line = ps->line;
	return 0;
}

/* The point a line overlaps with (same role, a tracepoint in common), or NULL. */
static const struct mace_point *find_overlap(const struct mace_path *p, __u32 mask, __u8 role)
{
	for (int d = 0; d < 2; d++)
		for (unsigned int i = 0; i < p->dir[d].npoints; i++)
			if (p->dir[d].pt[i].role == role && (p->dir[d].pt[i].tp_mask & mask))
				return &p->dir[d].pt[i];
	return NULL;
}

enum pos { POS_START, POS_VIA, POS_END };
static const char *const pos_names[] = { "start", "via", "end" };

/* DIR POS TP['|'TP...] '@'ROLE */
static int parse_point(struct parser *ps, int d, const struct tok *t, unsigned int n)
{
	struct mace_dirpath *dp = &ps->p->dir[d];
	const struct tok *role_tok = NULL, *tp_tok[MAX_TOKENS];
	unsigned int ntp = 0, i;
	struct mace_point pt = { 0 };
	int kind = -1, pos;
	char buf[80], buf2[80];

	if (n < 2)
		return perr(ps, ps->line, ps->eol_col, "expected start, via or end after '%s'",
			    dir_names[d]);
	for (pos = 0; pos < 3; pos++)
		if (tok_is(&t[1], pos_names[pos]))
			break;
	if (pos == 3)
		return perr(ps, ps->line, t[1].col,
			    "unknown position '%s' after '%s' (expected start, via or end)",
			    tok_str(&t[1], buf, sizeof(buf)), dir_names[d]);

	/* Tracepoint alternatives, then the role. */
	for (i = 2;; i++) {
		if (i >= n || tok_is(&t[i], "|") || tok_is(&t[i], "@"))
			return perr(ps, ps->line, i < n ? t[i].col : ps->eol_col,
				    "expected a tracepoint after '%s'",
				    tok_str(&t[i - 1], buf, sizeof(buf)));
		tp_tok[ntp++] = &t[i];
		if (++i >= n)
			return perr(ps, ps->line, ps->eol_col, "expected '@ROLE' after '%s'",
				    tok_str(&t[i - 1], buf, sizeof(buf)));
		if (tok_is(&t[i], "@"))
			break;
		if (!tok_is(&t[i], "|"))
			return perr(ps, ps->line, t[i].col, "expected '|' or '@ROLE' before '%s'",
				    tok_str(&t[i], buf, sizeof(buf)));
	}
	if (++i >= n || tok_is(&t[i], "|") || tok_is(&t[i], "@"))
		return perr(ps, ps->line, i < n ? t[i].col : ps->eol_col,
			    "expected a role after '@'");
	role_tok = &t[i];
	if (++i < n)
		return perr(ps, ps->line, t[i].col, "unexpected '%s' after the role",
			    tok_str(&t[i], buf, sizeof(buf)));

	for (i = 0; i < ntp; i++) {
		char name[80];
		enum mace_tp tp;
		const struct mace_tp_info *info;

		if (tp_tok[i]->len >= sizeof(name))
			return unknown_tp(ps, tp_tok[i]);
		tp = mace__tp_by_name(tok_str(tp_tok[i], name, sizeof(name)));
		info = mace__tp_info(tp);
		if (!info)
			return unknown_tp(ps, tp_tok[i]);
		if (pt.tp_mask & (1u << tp))
			return perr(ps, ps->line, tp_tok[i]->col, "tracepoint '%s' listed twice",
				    name);
		if (kind >= 0 && (kind == MACE_TPK_PACKET) != (info->kind == MACE_TPK_PACKET))
			return perr(ps, ps->line, tp_tok[i]->col,
				    "'%s' mixes syscall and packet tracepoints in one point", name);
		if (info->kind == MACE_TPK_SYS_ENTER && (d != MACE_EGRESS || pos != POS_START))
			return perr(ps, ps->line, tp_tok[i]->col,
				    "'%s' is a send syscall: it can only be an egress start", name);
		if (info->kind == MACE_TPK_SYS_EXIT && (d != MACE_INGRESS || pos != POS_END))
			return perr(ps, ps->line, tp_tok[i]->col,
				    "'%s' is a receive syscall: it can only be an ingress end", name);
		kind = info->kind;
		pt.tp_mask |= 1u << tp;
	}

	if (role_tok->len >= sizeof(buf))
		return unknown_role(ps, role_tok);
	pt.role = mace__role_by_name(tok_str(role_tok, buf, sizeof(buf)));
	if (pt.role == MACE_ROLE_NONE)
		return unknown_role(ps, role_tok);
	if (kind != MACE_TPK_PACKET && pt.role != MACE_ROLE_CONTAINER)
		return perr(ps, ps->line, role_tok->col,
			    "syscall points take @container (the task's netns), not @%s", buf);
	pt.line = ps->line;

	/* Order: one start, then vias, then one end. */
	if (pos == POS_START && ps->start_line[d])
		return perr(ps, ps->line, t[1].col, "second %s start (first at line %u)",
			    dir_names[d], ps->start_line[d]);
	if (pos != POS_START && !ps->start_line[d])
		return perr(ps, ps->line, t[1].col, "%s %s before its start", dir_names[d],
			    pos_names[pos]);
	if (pos == POS_END && ps->end_line[d])
		return perr(ps, ps->line, t[1].col, "second %s end (first at line %u)", dir_names[d],
			    ps->end_line[d]);
	if (pos != POS_START && ps->end_line[d])
		return perr(ps, ps->line, t[1].col, "%s %s after its end (line %u)", dir_names[d],
			    pos_names[pos], ps->end_line[d]);
	if (dp->npoints == MACE_MAX_POINTS)
		return perr(ps, ps->line, t[0].col, "%s has more than %d points", dir_names[d],
			    MACE_MAX_POINTS);
	for (i = 0; i < ntp; i++) {
		const struct mace_point *o;
		char name[80];

		tok_str(tp_tok[i], name, sizeof(name));
		o = find_overlap(ps->p, 1u << mace__tp_by_name(name), pt.role);
		if (o)
			return perr(ps, ps->line, tp_tok[i]->col,
				    "duplicate point '%s @%s' (already at line %u)", name,
				    tok_str(role_tok, buf2, sizeof(buf2)), o->line);
	}

	dp->pt[dp->npoints++] = pt;
	if (pos == POS_START) {
		ps->start_line[d] = ps->line;
		ps->start_col[d] = t[0].col;
	} else if (pos == POS_END) {
		ps->end_line[d] = ps->line;
		ps->end_col[d] = t[0].col;
	}
	return 0;
}

static int parse_line(struct parser *ps, const char *line, size_t len)
{
	struct tok t[MAX_TOKENS];
	unsigned int n = 0;
	char buf[80];
	int ret;

	ps->eol_col = len + 1;
	ret = lex(ps, line, len, t, &n);
	if (ret || !n)
		return ret;
	ps->any_content = true;
	if (tok_is(&t[0], "path"))
		return parse_path_line(ps, t, n);
	if (tok_is(&t[0], "description"))
		return parse_description(ps, &t[0], line, len);
	if (tok_is(&t[0], "match"))
		return parse_match(ps, t, n);
	if (tok_is(&t[0], "egress"))
		return parse_point(ps, MACE_EGRESS, t, n);
	if (tok_is(&t[0], "ingress"))
		return parse_point(ps, MACE_INGRESS, t, n);
	return perr(ps, ps->line, t[0].col,
		    "unknown keyword '%s' (expected path, description, match, egress or ingress)",
		    tok_str(&t[0], buf, sizeof(buf)));
}

static int parse_text(struct parser *ps, const char *text, size_t len)
{
	size_t off = 0;
	int ret;

	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t llen = end - off;

		if (++ps->line > MAX_LINENO)
			return perr(ps, ps->line, 1, "more than %d lines", MAX_LINENO);
		/* Tolerate CRLF line ends. */
		if (llen && text[off + llen - 1] == '\r')
			llen--;
		if (llen > MAX_LINE)
			return perr(ps, ps->line, MAX_LINE + 1, "line longer than %d characters",
				    MAX_LINE);
		ret = parse_line(ps, text + off, llen);
		if (ret)
			return ret;
		off = end + 1;
	}

	if (!ps->any_content)
		return perr(ps, 1, 1, "empty path file (no 'path' line)");
	if (!ps->path_line)
		return perr(ps, 1, 1, "missing 'path NAME' line");
	for (int d = 0; d < 2; d++)
		if (ps->start_line[d] && !ps->end_line[d])
			return perr(ps, ps->start_line[d], ps->start_col[d],
				    "%s has a start but no end", dir_names[d]);
	if (!ps->p->dir[MACE_EGRESS].npoints && !ps->p->dir[MACE_INGRESS].npoints)
		return perr(ps, ps->path_line, 1, "path '%s' has no egress or ingress points",
			    ps->p->name);

	/* A syscall has no skb: the correlator binds it to the first packet event
	 * of the same task, so that direction needs a packet point of the container. */
	for (int d = 0; d < 2; d++) {
		const struct mace_dirpath *dp = &ps->p->dir[d];
		const struct mace_point *sys = NULL;
		unsigned int col = d == MACE_EGRESS ? ps->start_col[d] : ps->end_col[d];
		bool pkt = false;

		for (unsigned int i = 0; i < dp->npoints; i++) {
			/* All tracepoints of one point are of one kind. */
			int tp = __builtin_ctz(dp->pt[i].tp_mask);

			if (mace__tp_info(tp)->kind != MACE_TPK_PACKET)
				sys = &dp->pt[i];
			else if (dp->pt[i].role == MACE_ROLE_CONTAINER)
				pkt = true;
		}
		if (sys && !pkt)
			return perr(ps, sys->line, col,
				    "%s syscall point needs a packet point @container in the same direction (to bind the task to its packet)",
				    dir_names[d]);
	}
	return 0;
}

MACE_EXPORT struct mace_path *mace_path_parse(const char *text, size_t len, const char *filename,
					      char *err, size_t errlen)
{
	struct parser ps = {
		.file = filename ? filename : "<input>", .err = err, .errlen = errlen
	};
	struct mace_path *p;

	if (err && errlen)
		err[0] = '\0';
	if (!text && len) {
		perr(&ps, 1, 1, "no text given");
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		if (err && errlen)
			snprintf(err, errlen, "%s: out of memory", ps.file);
		errno = ENOMEM;
		return NULL;
	}
	p->match = MACE_PATH_MATCH_SKB | MACE_PATH_MATCH_KEY;
	snprintf(p->file, sizeof(p->file), "%s", ps.file);
	ps.p = p;
	/* A UTF-8 byte-order mark (some editors write one) is no content;
	 * columns of the first line count from after it. */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) {
		text += 3;
		len -= 3;
	}
	if (parse_text(&ps, text, len)) {
		free(p);
		errno = EINVAL;
		return NULL;
	}
	return p;
}

static struct mace_path *load_file(const char *file, char *err, size_t errlen)
{
	struct mace_path *p = NULL;
	char *buf = NULL;
	size_t len = 0;
	struct stat st;
	int fd, e;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		e = errno;
		goto fail;
	}
	if (fstat(fd, &st)) {
		e = errno;
		goto fail;
	}
	/* A FIFO or a device could block or never end: path files are files. */
	if (!S_ISREG(st.st_mode)) {
		if (err && errlen)
			snprintf(err, errlen, "%s: is a %s, not a regular file; path files are "
				 "read from regular files only", file,
				 S_ISDIR(st.st_mode) ? "directory" :
				 S_ISFIFO(st.st_mode) ? "FIFO" : S_ISCHR(st.st_mode) ?
				 "character device" : S_ISBLK(st.st_mode) ? "block device" :
				 S_ISSOCK(st.st_mode) ? "socket" : "special file");
		e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto out;
	}
	buf = malloc(MAX_FILE + 1);
	if (!buf) {
		e = ENOMEM;
		goto fail;
	}
	/* Read to EOF rather than trusting st_size (/proc, a growing file). */
	for (;;) {
		ssize_t r = read(fd, buf + len, MAX_FILE + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			goto fail;
		}
		if (!r)
			break;
		len += r;
		if (len > MAX_FILE) {
			if (err && errlen)
				snprintf(err, errlen, "%s: larger than %d bytes; not a path file",
					 file, MAX_FILE);
			e = EFBIG;
			goto out;
		}
	}
	close(fd);
	fd = -1;
	p = mace_path_parse(buf, len, file, err, errlen);
	e = errno;
	goto out;
fail:
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", file, strerror(e));
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	errno = e;
	return p;
}

MACE_EXPORT struct mace_path *mace_path_load(const char *name_or_file, char *err, size_t errlen)
{
	struct mace_path *p;
	char names[512];
	size_t n = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!name_or_file || !*name_or_file) {
		if (err && errlen)
			snprintf(err, errlen, "no path name or file given");
		errno = EINVAL;
		return NULL;
	}
	for (unsigned int i = 0; i < mace__builtin_path_count; i++) {
		if (strcmp(mace__builtin_paths[i].name, name_or_file))
			continue;
		p = mace_path_parse(mace__builtin_paths[i].text, strlen(mace__builtin_paths[i].text),
				    "<builtin>", err, errlen);
		if (!p)
			mace_err("shipped path '%s' does not parse: %s", name_or_file, err ? err : "");
		return p;
	}
	if (strchr(name_or_file, '/') || access(name_or_file, F_OK) == 0)
		return load_file(name_or_file, err, errlen);

	/* A bare word that is neither: most likely a mistyped shipped name. */
	for (unsigned int i = 0; i < mace__builtin_path_count && n < sizeof(names); i++)
		n += snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "",
			      mace__builtin_paths[i].name);
	if (err && errlen)
		snprintf(err, errlen, "%s: not a shipped path (%s) nor a readable file: %s",
			 name_or_file, names, strerror(ENOENT));
	errno = ENOENT;
	return NULL;
}

MACE_EXPORT void mace_path_free(struct mace_path *path)
{
	free(path);
}

MACE_EXPORT const char *mace_path_name(const struct mace_path *path)
{
	return path ? path->name : NULL;
}

MACE_EXPORT const char *mace_path_description(const struct mace_path *path)
{
	return path ? path->description : NULL;
}

MACE_EXPORT const char *mace_path_builtin_name(unsigned int i)
{
	return i < mace__builtin_path_count ? mace__builtin_paths[i].name : NULL;
}

MACE_EXPORT int mace_path_write(const struct mace_path *path, FILE *out)
{
	if (!path || !out)
		return -EINVAL;
	fprintf(out, "path %s\n", path->name);
	if (path->description[0])
		fprintf(out, "description %s\n", path->description);
	fprintf(out, "match%s%s\n", path->match & MACE_PATH_MATCH_SKB ? " skb" : "",
		path->match & MACE_PATH_MATCH_KEY ? " key" : "");
	for (int d = 0; d < 2; d++) {
		const struct mace_dirpath *dp = &path->dir[d];

		for (unsigned int i = 0; i < dp->npoints; i++) {
			const char *pos = i == 0 ? "start" : i + 1 == dp->npoints ? "end" : "via";
			bool first = true;

			fprintf(out, "%-7s %-5s ", dir_names[d], pos);
			for (int tp = 1; tp < MACE_TP_COUNT; tp++) {
				if (!(dp->pt[i].tp_mask & (1u << tp)))
					continue;
				fprintf(out, "%s%s", first ? "" : "|", mace__tp_info(tp)->name);
				first = false;
			}
			fprintf(out, " @%s\n", mace__role_name(dp->pt[i].role));
		}
	}
	if (fflush(out) || ferror(out))
		return -(errno ? errno : EIO);
	return 0;
}

__u32 mace__path_tp_mask(const struct mace_path *path)
{
	__u32 m = 0;

	for (int d = 0; d < 2; d++)
		for (unsigned int i = 0; i < path->dir[d].npoints; i++)
			m |= path->dir[d].pt[i].tp_mask;
	return m;
}

__u32 mace__path_role_mask(const struct mace_path *path)
{
	__u32 m = 0;

	for (int d = 0; d < 2; d++)
		for (unsigned int i = 0; i < path->dir[d].npoints; i++)
			m |= 1u << path->dir[d].pt[i].role;
	return m;
}

bool mace__path_allows_kernel_corr(const struct mace_path *path)
{
	for (int tp = 1; tp < MACE_TP_COUNT; tp++)
		if ((mace__path_tp_mask(path) & (1u << tp)) &&
		    mace__tp_info(tp)->kind != MACE_TPK_PACKET)
			return false;
	return path->match == MACE_PATH_MATCH_SKB;
}
