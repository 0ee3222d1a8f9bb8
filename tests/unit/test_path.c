/* SPDX-License-Identifier: MIT */
/* Event-path files: shipped paths, round trips, every rejection's file:line:col. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mace_int.h"
#include "../path_eq.h"
#include "t.h"

/* The source tree, from this file's name (tests are built from the top). */
static char srcdir[512];

static void find_srcdir(void)
{
	const char *f = __FILE__, *p = strstr(f, "tests/unit/test_path.c");

	snprintf(srcdir, sizeof(srcdir), "%.*s", p ? (int)(p - f) : 0, f);
	if (!srcdir[0])
		strcpy(srcdir, ".");
}

static char *write_str(const struct mace_path *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (mace_path_write(p, f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

static struct mace_path *parse_str(const char *s, char *err, size_t errlen)
{
	return mace_path_parse(s, strlen(s), "t.path", err, errlen);
}

TEST(shipped_paths_parse_and_round_trip)
{
	const char *want[] = { "bridge-nat", "inner-dev", "max-dev", "max-dev-auto", "routed",
			       "rx-stamp", "syscalls", "syscalls-any", "vxlan-overlay" };
	unsigned int n = 0;
	char err[512];

	for (const char *name; (name = mace_path_builtin_name(n)); n++) {
		struct mace_path *p = mace_path_load(name, err, sizeof(err)), *q;
		char *text, *text2;

		CHECK_STR(err, "");
		CHECK(p != NULL);
		if (!p)
			continue;
		CHECK_STR(mace_path_name(p), name);
		CHECK_STR(p->file, "<builtin>");
		CHECK(strlen(mace_path_description(p)) > 10);
		CHECK(p->dir[MACE_EGRESS].npoints >= 2 && p->dir[MACE_INGRESS].npoints >= 2);
		text = write_str(p);
		CHECK(text != NULL);
		q = text ? parse_str(text, err, sizeof(err)) : NULL;
		CHECK_STR(err, "");
		CHECK(q && same_path(p, q));
		/* Canonical: writing the reparsed path gives the same text. */
		text2 = q ? write_str(q) : NULL;
		CHECK(text && text2 && !strcmp(text, text2));
		free(text);
		free(text2);
		mace_path_free(q);
		mace_path_free(p);
	}
	CHECK_EQ_U64(n, ARRAY_SIZE(want));
	for (unsigned int i = 0; i < ARRAY_SIZE(want); i++) {
		bool found = false;

		for (unsigned int j = 0; mace_path_builtin_name(j); j++)
			found |= !strcmp(mace_path_builtin_name(j), want[i]);
		CHECK(found);
	}
	CHECK(mace_path_builtin_name(n) == NULL);
}

/* The path a tool's receive stamp asks for: kernel stamps end ingress at the
 * container device's receive entry, user-space stamps at its protocol
 * handler; egress is the same for both. */
TEST(path_for_rx_stamp)
{
	const __u32 rx_entries = (1u << MACE_TP_NETIF_RX_ENTRY) |
				 (1u << MACE_TP_NAPI_GRO_RECEIVE_ENTRY) |
				 (1u << MACE_TP_NETIF_RECEIVE_SKB_ENTRY);
	char err[256];
	struct mace_path *k, *u;

	CHECK_STR(mace_path_for_rx_stamp(MACE_RX_KERNEL), "rx-stamp");
	CHECK_STR(mace_path_for_rx_stamp(MACE_RX_USER), "inner-dev");
	CHECK(mace_path_for_rx_stamp((enum mace_rx_stamp)7) == NULL);
	k = mace_path_load(mace_path_for_rx_stamp(MACE_RX_KERNEL), err, sizeof(err));
	u = mace_path_load(mace_path_for_rx_stamp(MACE_RX_USER), err, sizeof(err));
	CHECK(k && u);
	if (!k || !u)
		goto out;
	CHECK(k->match == MACE_PATH_MATCH_SKB && mace__path_allows_kernel_corr(k));
	CHECK_EQ_U64(k->dir[MACE_EGRESS].npoints, 2);
	for (unsigned int i = 0; i < 2; i++) {
		CHECK_EQ_U64(k->dir[MACE_EGRESS].pt[i].tp_mask, u->dir[MACE_EGRESS].pt[i].tp_mask);
		CHECK_EQ_U64(k->dir[MACE_EGRESS].pt[i].role, u->dir[MACE_EGRESS].pt[i].role);
	}
	CHECK_EQ_U64(k->dir[MACE_INGRESS].npoints, 2);
	CHECK_EQ_U64(k->dir[MACE_INGRESS].pt[0].role, MACE_ROLE_OUTER);
	CHECK_EQ_U64(k->dir[MACE_INGRESS].pt[1].role, MACE_ROLE_CONTAINER);
	for (unsigned int i = 0; i < 2; i++) {
		__u32 m = k->dir[MACE_INGRESS].pt[i].tp_mask;

		/* the entries, never a protocol handler after the backlog */
		CHECK_EQ_U64(m & rx_entries, rx_entries);
		CHECK(!(m & (1u << MACE_TP_NETIF_RECEIVE_SKB)));
		CHECK(!(m & (1u << MACE_TP_NETIF_RX)));
	}
out:
	mace_path_free(k);
	mace_path_free(u);
}

TEST(inner_dev_is_the_poster_path)
{
	char err[256];
	struct mace_path *p = mace_path_load("inner-dev", err, sizeof(err));
	const struct mace_dirpath *e, *i;

	CHECK(p != NULL);
	if (!p)
		return;
	e = &p->dir[MACE_EGRESS];
	i = &p->dir[MACE_INGRESS];
	CHECK_EQ_U64(e->npoints, 2);
	CHECK_EQ_U64(e->pt[0].tp_mask, 1u << MACE_TP_NET_DEV_XMIT);
	CHECK_EQ_U64(e->pt[0].role, MACE_ROLE_CONTAINER);
	CHECK_EQ_U64(e->pt[1].tp_mask, 1u << MACE_TP_NET_DEV_XMIT);
	CHECK_EQ_U64(e->pt[1].role, MACE_ROLE_OUTER);
	CHECK_EQ_U64(i->npoints, 2);
	CHECK_EQ_U64(i->pt[0].tp_mask, 1u << MACE_TP_NETIF_RECEIVE_SKB);
	CHECK_EQ_U64(i->pt[0].role, MACE_ROLE_OUTER);
	CHECK_EQ_U64(i->pt[1].tp_mask, 1u << MACE_TP_NETIF_RECEIVE_SKB);
	CHECK_EQ_U64(i->pt[1].role, MACE_ROLE_CONTAINER);
	CHECK_EQ_U64(mace__path_tp_mask(p),
		     (1u << MACE_TP_NET_DEV_XMIT) | (1u << MACE_TP_NETIF_RECEIVE_SKB));
	CHECK_EQ_U64(mace__path_role_mask(p), (1u << MACE_ROLE_CONTAINER) | (1u << MACE_ROLE_OUTER));
	CHECK_EQ_U64(p->match, MACE_PATH_MATCH_SKB);
	CHECK(mace__path_allows_kernel_corr(p));
	/* Declared on lines 8..11 of paths/inner-dev.path. */
	CHECK_EQ_U64(e->pt[0].line, 8);
	CHECK_EQ_U64(i->pt[1].line, 11);
	mace_path_free(p);
}

/* Kernel correlation also needs every start to end within the 32-bit time
 * offsets of the kernel's records, and no wish for raw events. */
TEST(kernel_corr_choice)
{
	char err[256];
	struct mace_path *p = mace_path_load("inner-dev", err, sizeof(err));
	struct mace_opts o = MACE_OPTS_INIT;

	CHECK(p != NULL);
	if (!p)
		return;
	o.expire_ns = 1000000000;
	CHECK(mace__use_kernel_corr(&o, p));
	o.expire_ns = MACE_BPF_MAX_SPAN_NS;
	CHECK(mace__use_kernel_corr(&o, p));
	o.expire_ns = MACE_BPF_MAX_SPAN_NS + 1;
	CHECK(!mace__use_kernel_corr(&o, p));
	o.expire_ns = 1000000000;
	o.raw_events = true;
	CHECK(!mace__use_kernel_corr(&o, p));
	o.raw_events = false;
	o.save_file = "/tmp/unused.raw";
	CHECK(!mace__use_kernel_corr(&o, p));
	mace_path_free(p);
}

TEST(syscall_paths)
{
	char err[256];
	struct mace_path *p = mace_path_load("syscalls", err, sizeof(err));
	struct mace_path *q = mace_path_load("syscalls-any", err, sizeof(err));

	CHECK(p && q);
	if (!p || !q)
		goto out;
	CHECK(!mace__path_allows_kernel_corr(p));
	CHECK(!mace__path_allows_kernel_corr(q));
	CHECK_EQ_U64(p->dir[MACE_EGRESS].pt[0].tp_mask, 1u << MACE_TP_SYS_ENTER_SENDTO);
	CHECK_EQ_U64(p->dir[MACE_EGRESS].pt[0].role, MACE_ROLE_CONTAINER);
	CHECK_EQ_U64(p->dir[MACE_INGRESS].npoints, 3);
	CHECK_EQ_U64(p->dir[MACE_INGRESS].pt[2].tp_mask, 1u << MACE_TP_SYS_EXIT_RECVMMSG);
	CHECK_EQ_U64(q->dir[MACE_EGRESS].pt[0].tp_mask,
		     (1u << MACE_TP_SYS_ENTER_SENDTO) | (1u << MACE_TP_SYS_ENTER_SENDMSG) |
			     (1u << MACE_TP_SYS_ENTER_SENDMMSG) | (1u << MACE_TP_SYS_ENTER_WRITE));
	CHECK_EQ_U64(q->dir[MACE_INGRESS].pt[2].tp_mask,
		     (1u << MACE_TP_SYS_EXIT_RECVFROM) | (1u << MACE_TP_SYS_EXIT_RECVMSG) |
			     (1u << MACE_TP_SYS_EXIT_RECVMMSG) | (1u << MACE_TP_SYS_EXIT_READ));
out:
	mace_path_free(p);
	mace_path_free(q);
}

TEST(alternatives_and_masks)
{
	char err[256];
	struct mace_path *p = mace_path_load("max-dev-auto", err, sizeof(err));
	__u32 rx = (1u << MACE_TP_NAPI_GRO_RECEIVE_ENTRY) | (1u << MACE_TP_NETIF_RECEIVE_SKB_ENTRY) |
		   (1u << MACE_TP_NETIF_RX_ENTRY) | (1u << MACE_TP_NAPI_GRO_FRAGS_ENTRY) |
		   (1u << MACE_TP_NETIF_RECEIVE_SKB_LIST_ENTRY);

	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_EQ_U64(p->dir[MACE_INGRESS].pt[0].tp_mask, rx);
	CHECK_EQ_U64(p->dir[MACE_INGRESS].pt[0].role, MACE_ROLE_OUTER);
	CHECK_EQ_U64(mace__path_tp_mask(p), rx | (1u << MACE_TP_NET_DEV_QUEUE) |
						   (1u << MACE_TP_NET_DEV_XMIT) |
						   (1u << MACE_TP_NETIF_RECEIVE_SKB));
	CHECK_EQ_U64(p->match, MACE_PATH_MATCH_SKB | MACE_PATH_MATCH_KEY);
	/* Packet points only, but the content key is needed: user-space correlation. */
	CHECK(!mace__path_allows_kernel_corr(p));
	mace_path_free(p);

	p = mace_path_load("bridge-nat", err, sizeof(err));
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_EQ_U64(p->dir[MACE_EGRESS].npoints, 5);
	CHECK_EQ_U64(mace__path_role_mask(p), (1u << MACE_ROLE_CONTAINER) |
						     (1u << MACE_ROLE_HOST_VETH) |
						     (1u << MACE_ROLE_BRIDGE) | (1u << MACE_ROLE_OUTER));
	CHECK(mace__path_allows_kernel_corr(p));
	mace_path_free(p);
}

TEST(format_details)
{
	/* Spaces around '|' and '@', system prefixes, comments, CRLF, no match line. */
	const char *text = "  # a comment\r\n"
			   "path  my.path_1   # trailing comment\n"
			   "\tdescription   spaced  words\t # c\n"
			   "ingress start net:netif_rx_entry | netif_receive_skb_entry@ outer\r\n"
			   "ingress end netif_receive_skb @container\n";
	char err[256];
	struct mace_path *p = parse_str(text, err, sizeof(err));

	CHECK_STR(err, "");
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_STR(p->name, "my.path_1");
	CHECK_STR(p->description, "spaced  words");
	CHECK_STR(p->file, "t.path");
	CHECK_EQ_U64(p->match, MACE_PATH_MATCH_SKB | MACE_PATH_MATCH_KEY);
	CHECK_EQ_U64(p->dir[MACE_EGRESS].npoints, 0);
	CHECK_EQ_U64(p->dir[MACE_INGRESS].npoints, 2);
	CHECK_EQ_U64(p->dir[MACE_INGRESS].pt[0].tp_mask,
		     (1u << MACE_TP_NETIF_RX_ENTRY) | (1u << MACE_TP_NETIF_RECEIVE_SKB_ENTRY));
	CHECK_EQ_U64(p->dir[MACE_INGRESS].pt[0].line, 4);
	CHECK(!mace__path_allows_kernel_corr(p));
	mace_path_free(p);

	p = parse_str("path k\nmatch key\negress start syscalls:sys_enter_write @container\n"
		      "egress end net_dev_queue@container\n",
		      err, sizeof(err));
	CHECK_STR(err, "");
	CHECK(p && p->match == MACE_PATH_MATCH_KEY && p->dir[MACE_EGRESS].npoints == 2);
	mace_path_free(p);

	/* A full direction of MACE_MAX_POINTS points. */
	p = parse_str("path full\n"
		      "egress start net_dev_queue @container\n"
		      "egress via net_dev_start_xmit @container\n"
		      "egress via net_dev_xmit @container\n"
		      "egress via netif_receive_skb @host-veth\n"
		      "egress via netif_receive_skb @bridge\n"
		      "egress via net_dev_start_xmit @tunnel\n"
		      "egress via net_dev_queue @outer\n"
		      "egress end net_dev_xmit @outer\n",
		      err, sizeof(err));
	CHECK_STR(err, "");
	CHECK(p && p->dir[MACE_EGRESS].npoints == MACE_MAX_POINTS);
	mace_path_free(p);
}

struct bad {
	const char *text;
	const char *msg;	/* after "t.path:" */
};

#define P "path t\n"
#define EG "egress start net_dev_xmit @container\negress end net_dev_xmit @outer\n"

static const struct bad bad[] = {
	{ "", "1:1: empty path file (no 'path' line)" },
	{ "# only\n\n   \n", "1:1: empty path file (no 'path' line)" },
	{ EG, "1:1: missing 'path NAME' line" },
	{ "path\n" EG, "1:5: missing path name after 'path'" },
	{ P "path u\n" EG, "2:1: second 'path' line (first at line 1)" },
	{ "path a b\n", "1:8: unexpected 'b' after the path name" },
	{ "path a/b\n", "1:7: invalid character '/' in path name (use letters, digits, '-', '_', '.')" },
	{ "path 0123456789012345678901234567890123456789012345678901234567890123\n",
	  "1:6: path name longer than 63 characters" },
	{ P, "1:1: path 't' has no egress or ingress points" },
	{ P "frobnicate 1\n", "2:1: unknown keyword 'frobnicate' (expected path, description, match, egress or ingress)" },
	{ P "description\n" EG, "2:12: missing text after 'description'" },
	{ P "description a\ndescription b\n", "3:1: second 'description' line (first at line 2)" },
	{ P "match\n", "2:6: missing method after 'match' (skb, key)" },
	{ P "match skb cookie\n", "2:11: unknown match method 'cookie' (expected skb or key)" },
	{ P "match key key\n", "2:11: match method 'key' given twice" },
	{ P "match skb\nmatch key\n", "3:1: second 'match' line (first at line 2)" },
	{ P "egress  start net_dev_xmitt @container\n",
	  "2:15: unknown tracepoint 'net_dev_xmitt' (did you mean 'net_dev_xmit'?)" },
	{ P "egress start net:netif_recieve_skb @outer\n",
	  "2:14: unknown tracepoint 'net:netif_recieve_skb' (did you mean 'net:netif_receive_skb'?)" },
	{ P "egress start net:sys_enter_sendto @container\n",
	  "2:14: unknown tracepoint 'net:sys_enter_sendto' (did you mean 'syscalls:sys_enter_sendto'?)" },
	{ P "egress start kfree_skb @container\n",
	  "2:14: unknown tracepoint 'kfree_skb' (see mace-paths(5))" },
	{ P "egress start net_dev_xmit @contianer\n",
	  "2:28: unknown role 'contianer' (roles: container, host-veth, bridge, tunnel, tun, outer)" },
	{ P "egress begin net_dev_xmit @container\n",
	  "2:8: unknown position 'begin' after 'egress' (expected start, via or end)" },
	{ P "egress\n", "2:7: expected start, via or end after 'egress'" },
	{ P "egress start\n", "2:13: expected a tracepoint after 'start'" },
	{ P "egress start @container\n", "2:14: expected a tracepoint after 'start'" },
	{ P "egress start net_dev_xmit\n", "2:26: expected '@ROLE' after 'net_dev_xmit'" },
	{ P "egress start net_dev_xmit container\n",
	  "2:27: expected '|' or '@ROLE' before 'container'" },
	{ P "egress start net_dev_xmit| @container\n", "2:28: expected a tracepoint after '|'" },
	{ P "egress start net_dev_xmit @\n", "2:28: expected a role after '@'" },
	{ P "egress start net_dev_xmit @container extra\n",
	  "2:38: unexpected 'extra' after the role" },
	{ P "egress start net_dev_xmit @container @outer\n",
	  "2:38: unexpected '@' after the role" },
	{ P "egress start net_dev_xmit|net_dev_xmit @container\n",
	  "2:27: tracepoint 'net_dev_xmit' listed twice" },
	{ P "egress start net_dev_xmit @container\n",
	  "2:1: egress has a start but no end" },
	{ P "egress end net_dev_xmit @outer\n", "2:8: egress end before its start" },
	{ P "ingress via netif_receive_skb @bridge\n", "2:9: ingress via before its start" },
	{ P EG "egress via net_dev_queue @outer\n", "4:8: egress via after its end (line 3)" },
	{ P EG "egress end net_dev_queue @outer\n", "4:8: second egress end (first at line 3)" },
	{ P EG "egress start net_dev_queue @outer\n", "4:8: second egress start (first at line 2)" },
	{ P EG "ingress start net_dev_xmit @outer\n",
	  "4:15: duplicate point 'net_dev_xmit @outer' (already at line 3)" },
	{ P "egress start net_dev_queue @container\n"
	    "egress via net_dev_start_xmit|net_dev_queue @container\n",
	  "3:31: duplicate point 'net_dev_queue @container' (already at line 2)" },
	{ P "egress start net_dev_queue @container\n"
	    "egress via net_dev_start_xmit @container\n"
	    "egress via net_dev_xmit @container\n"
	    "egress via netif_receive_skb @host-veth\n"
	    "egress via netif_receive_skb @bridge\n"
	    "egress via net_dev_start_xmit @tunnel\n"
	    "egress via net_dev_queue @outer\n"
	    "egress via net_dev_xmit @outer\n"
	    "egress end net_dev_xmit @tun\n",
	  "10:1: egress has more than 8 points" },
	{ P "ingress start sys_enter_sendto @container\n",
	  "2:15: 'sys_enter_sendto' is a send syscall: it can only be an egress start" },
	{ P "egress start net_dev_queue @container\negress end sys_enter_sendto @container\n",
	  "3:12: 'sys_enter_sendto' is a send syscall: it can only be an egress start" },
	{ P "egress start sys_exit_recvmsg @container\n",
	  "2:14: 'sys_exit_recvmsg' is a receive syscall: it can only be an ingress end" },
	{ P "egress start sys_enter_sendto|net_dev_queue @container\n",
	  "2:31: 'net_dev_queue' mixes syscall and packet tracepoints in one point" },
	{ P "egress start sys_enter_sendto @outer\n",
	  "2:32: syscall points take @container (the task's netns), not @outer" },
	{ P "egress start sys_enter_sendto @container\negress end net_dev_xmit @outer\n",
	  "2:1: egress syscall point needs a packet point @container in the same direction (to bind the task to its packet)" },
	{ P "ingress start netif_receive_skb @outer\n  ingress end sys_exit_read @container\n",
	  "3:3: ingress syscall point needs a packet point @container in the same direction (to bind the task to its packet)" },
	{ P "egress\tstart\x01\n", "2:13: control character 0x01" },
	{ P "description a\0b\n", "2:14: control character 0x00" },
};

TEST(errors_name_file_line_col)
{
	char err[512], want[512];

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		/* Lengths come from the text, so embedded NULs reach the parser. */
		size_t len = strlen(bad[i].text);
		struct mace_path *p;

		if (strstr(bad[i].msg, "0x00"))
			len += 1 + strlen(bad[i].text + len + 1);
		errno = 0;
		p = mace_path_parse(bad[i].text, len, "t.path", err, sizeof(err));
		snprintf(want, sizeof(want), "t.path:%s", bad[i].msg);
		CHECK(p == NULL);
		CHECK_EQ_U64(errno, EINVAL);
		CHECK_STR(err, want);
		mace_path_free(p);
	}
}

TEST(long_lines_and_many_lines)
{
	char err[256];
	size_t n;
	char *text = malloc(70000 * 2 + 100);
	struct mace_path *p;

	CHECK(text != NULL);
	if (!text)
		return;
	/* 1025 characters on one line. */
	memcpy(text, P, strlen(P));
	memset(text + strlen(P), 'x', 1025);
	text[strlen(P) + 1025] = '\n';
	p = mace_path_parse(text, strlen(P) + 1026, "t.path", err, sizeof(err));
	CHECK(!p);
	CHECK_STR(err, "t.path:2:1025: line longer than 1024 characters");

	/* Blank lines are fine, up to the 16-bit line numbers points carry. */
	snprintf(text, 200, P EG);
	n = strlen(text);
	memset(text + n, '\n', 20000);
	p = mace_path_parse(text, n + 20000, "t.path", err, sizeof(err));
	CHECK(p != NULL);
	mace_path_free(p);
	memset(text + n, '\n', 70000);
	p = mace_path_parse(text, n + 70000, "t.path", err, sizeof(err));
	CHECK(!p);
	CHECK_STR(err, "t.path:65536:1: more than 65535 lines");
	free(text);
}

TEST(error_buffers)
{
	char err[16];
	struct mace_path *p;

	/* NULL or tiny buffers: still rejected, never overrun. */
	p = parse_str("path\n", NULL, 0);
	CHECK(!p && errno == EINVAL);
	p = parse_str("path\n", err, sizeof(err));
	CHECK(!p);
	CHECK_STR(err, "t.path:1:5: mis");
	p = mace_path_parse("path x", 6, NULL, err, sizeof(err));
	CHECK(!p);
	CHECK_STR(err, "<input>:1:1: pa");
	CHECK(mace_path_parse(NULL, 0, "t.path", NULL, 0) == NULL);
	mace_path_free(NULL);
	CHECK(mace_path_name(NULL) == NULL);
	CHECK(mace_path_write(NULL, stdout) == -EINVAL);
}

TEST(load_files_and_unknown_names)
{
	char err[512], want[600], file[] = "/tmp/mace-test-path.XXXXXX";
	const char *typo = P "egress start net_dev_xmit @container\negress end net_dev_xmitt @outer\n";
	struct mace_path *p;
	int fd;

	p = mace_path_load("inner-devv", err, sizeof(err));
	CHECK(!p);
	CHECK_EQ_U64(errno, ENOENT);
	/* The message lists every shipped name. */
	snprintf(want, sizeof(want), "inner-devv: not a shipped path (");
	for (unsigned int i = 0; mace_path_builtin_name(i); i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%s", i ? ", " : "",
			 mace_path_builtin_name(i));
	snprintf(want + strlen(want), sizeof(want) - strlen(want),
		 ") nor a readable file: No such file or directory");
	CHECK_STR(err, want);
	CHECK(strstr(err, "inner-dev, ") && strstr(err, "vxlan-overlay"));
	p = mace_path_load("/nonexistent/x.path", err, sizeof(err));
	CHECK(!p && errno == ENOENT);
	CHECK_STR(err, "/nonexistent/x.path: No such file or directory");
	p = mace_path_load("/tmp", err, sizeof(err));
	CHECK(!p && errno == EISDIR);
	CHECK_STR(err, "/tmp: is a directory, not a regular file; path files are read from "
		  "regular files only");
	p = mace_path_load("", err, sizeof(err));
	CHECK(!p && errno == EINVAL);

	fd = mkstemp(file);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(write(fd, typo, strlen(typo)) == (ssize_t)strlen(typo));
	p = mace_path_load(file, err, sizeof(err));
	CHECK(!p && errno == EINVAL);
	snprintf(want, sizeof(want),
		 "%s:3:12: unknown tracepoint 'net_dev_xmitt' (did you mean 'net_dev_xmit'?)", file);
	CHECK_STR(err, want);
	CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
	CHECK(write(fd, P EG, strlen(P EG)) == (ssize_t)strlen(P EG));
	close(fd);
	p = mace_path_load(file, err, sizeof(err));
	CHECK(p != NULL);
	CHECK_STR(err, "");
	CHECK(p && !strcmp(p->file, file) && p->dir[MACE_EGRESS].npoints == 2);
	mace_path_free(p);
	unlink(file);
}

/* Only regular files are read: a FIFO with no writer must not block (the
 * alarm fails the test rather than hanging it), a device is refused. */
TEST(load_regular_files_only)
{
	char dir[] = "/tmp/mace-test-XXXXXX", fifo[64], err[512], want[600];
	struct mace_path *p;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(fifo, sizeof(fifo), "%s/f.path", dir);
	CHECK(mkfifo(fifo, 0600) == 0);
	alarm(5);
	p = mace_path_load(fifo, err, sizeof(err));
	alarm(0);
	CHECK(!p && errno == EINVAL);
	snprintf(want, sizeof(want), "%s: is a FIFO, not a regular file; path files are read "
		 "from regular files only", fifo);
	CHECK_STR(err, want);
	unlink(fifo);
	rmdir(dir);
	p = mace_path_load("/dev/null", err, sizeof(err));
	CHECK(!p && errno == EINVAL);
	CHECK_STR(err, "/dev/null: is a character device, not a regular file; path files are "
		  "read from regular files only");
}

/* A leading UTF-8 byte-order mark is skipped; bytes that would not show in a
 * message are quoted as \xNN. */
TEST(bom_skipped_and_unprintable_bytes_escaped)
{
	static const char bom[] = "\xef\xbb\xbfpath b\n" EG;
	static const char nbsp[] = "path b\negress\xc2\xa0start net_dev_xmit @container\n";
	static const char mid_bom[] = "path b\n\xef\xbb\xbf" "egress start x @container\n";
	char err[512];
	struct mace_path *p;

	p = mace_path_parse(bom, strlen(bom), "bom.path", err, sizeof(err));
	CHECK(p != NULL);
	CHECK_STR(err, "");
	CHECK(p && p->dir[MACE_EGRESS].npoints == 2);
	mace_path_free(p);
	p = mace_path_parse(nbsp, strlen(nbsp), "nbsp.path", err, sizeof(err));
	CHECK(!p);
	CHECK_STR(err, "nbsp.path:2:1: unknown keyword 'egress\\xc2\\xa0start' (expected path, "
		  "description, match, egress or ingress)");
	p = mace_path_parse(mid_bom, strlen(mid_bom), "mid.path", err, sizeof(err));
	CHECK(!p);
	CHECK_STR(err, "mid.path:2:1: unknown keyword '\\xef\\xbb\\xbfegress' (expected path, "
		  "description, match, egress or ingress)");
}

/* Each tests/data/bad-paths/NAME.path starts with "# expect: LINE:COL: MESSAGE". */
TEST(bad_path_examples)
{
	char dir[600], file[1200], line[512], err[2048], want[2048];
	unsigned int n = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/tests/data/bad-paths", srcdir);
	d = opendir(dir);
	CHECK(d != NULL);
	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct mace_path *p;
		FILE *f;

		if (l < 6 || strcmp(de->d_name + l - 5, ".path"))
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, de->d_name);
		f = fopen(file, "r");
		CHECK(f != NULL);
		if (!f)
			continue;
		line[0] = '\0';
		CHECK(fgets(line, sizeof(line), f) != NULL);
		fclose(f);
		/* a file about byte-order marks starts with one */
		if (!strncmp(line, "\xef\xbb\xbf", 3))
			memmove(line, line + 3, strlen(line + 3) + 1);
		CHECK(!strncmp(line, "# expect: ", 10));
		line[strcspn(line, "\n")] = '\0';
		snprintf(want, sizeof(want), "%s:%s", file, line + 10);
		p = mace_path_load(file, err, sizeof(err));
		CHECK(p == NULL);
		CHECK_STR(err, want);
		mace_path_free(p);
		n++;
	}
	closedir(d);
	CHECK(n >= 10);
}

/* The path files shown in EXAMPLES of man/mace-paths.5 are valid. */
TEST(man_page_examples_parse)
{
	char file[600], line[1100], text[8192], err[512];
	size_t len = 0;
	unsigned int n = 0;
	bool in = false;
	FILE *f;

	snprintf(file, sizeof(file), "%s/man/mace-paths.5", srcdir);
	f = fopen(file, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, ".Bd -literal -offset indent", 27)) {
			in = true;
			len = 0;
		} else if (in && !strncmp(line, ".Ed", 3)) {
			struct mace_path *p;

			in = false;
			/* Only blocks that are path files (not shell or diagnostics). */
			if (strncmp(text, "path ", 5) && strncmp(text, "# ", 2))
				continue;
			p = mace_path_parse(text, len, "man", err, sizeof(err));
			CHECK_STR(err, "");
			CHECK(p != NULL);
			mace_path_free(p);
			n++;
		} else if (in && len + strlen(line) < sizeof(text)) {
			memcpy(text + len, line, strlen(line) + 1);
			len += strlen(line);
		}
	}
	fclose(f);
	CHECK(n >= 3);
}

int main(void)
{
	find_srcdir();
	mace_set_log(NULL, NULL);
	RUN(shipped_paths_parse_and_round_trip);
	RUN(inner_dev_is_the_poster_path);
	RUN(path_for_rx_stamp);
	RUN(kernel_corr_choice);
	RUN(syscall_paths);
	RUN(alternatives_and_masks);
	RUN(format_details);
	RUN(errors_name_file_line_col);
	RUN(long_lines_and_many_lines);
	RUN(error_buffers);
	RUN(load_files_and_unknown_names);
	RUN(load_regular_files_only);
	RUN(bom_skipped_and_unprintable_bytes_escaped);
	RUN(bad_path_examples);
	RUN(man_page_examples_parse);
	return t_done();
}
