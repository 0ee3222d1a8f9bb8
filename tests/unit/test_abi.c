/* SPDX-License-Identifier: MIT */
/*
 * Structs sized by the caller (size_t sz first): callers built against an
 * older (smaller) or newer (larger) mace.h, through the exported functions.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "mace.h"
#include "t.h"

static char last_msg[512];

static void keep_msg(enum mace_log_level level, const char *msg, void *ctx)
{
	snprintf(last_msg, sizeof(last_msg), "%s", msg);
}

/* A newer header's struct: the known one, then a field this library lacks. */
struct newer_opts { struct mace_opts o; uint64_t future; };
struct newer_summary { struct mace_summary s; uint64_t future; };
struct newer_record { struct mace_record r; uint64_t future; };

TEST(newer_opts_with_zero_tail_are_accepted)
{
	struct newer_opts n = { .o.sz = sizeof(n) };

	/* past the options check, the file is what fails */
	errno = 0;
	CHECK(!mace_session_replay("/nonexistent/mace-abi-test.raw", &n.o));
	CHECK_EQ_U64(errno, ENOENT);
}

TEST(newer_opts_with_a_field_set_are_refused)
{
	struct newer_opts n = { .o.sz = sizeof(n), .future = 1 };

	last_msg[0] = '\0';
	errno = 0;
	CHECK(!mace_session_replay("/nonexistent/mace-abi-test.raw", &n.o));
	CHECK_EQ_U64(errno, EINVAL);
	CHECK(strstr(last_msg, "struct mace_opts") != NULL);
	CHECK(strstr(last_msg, "newer than the library") != NULL);
}

TEST(opts_without_sz_are_refused)
{
	struct mace_opts o = { .path = "inner-dev" };

	errno = 0;
	CHECK(!mace_session_replay("/nonexistent/mace-abi-test.raw", &o));
	CHECK_EQ_U64(errno, EINVAL);
	CHECK(strstr(last_msg, "sizeof(struct mace_opts)") != NULL);
}

/* An older caller knowing only count: nothing past its sz is written. */
TEST(older_summary_gets_what_fits)
{
	struct mace_hist *h = mace_hist_new();
	unsigned char buf[sizeof(struct mace_summary) + 16];
	struct mace_summary *s = (struct mace_summary *)buf;
	size_t old = offsetof(struct mace_summary, count) + sizeof(s->count);

	memset(buf, 0xaa, sizeof(buf));
	s->sz = old;
	mace_hist_add(h, 1000);
	mace_hist_add(h, 3000);
	CHECK_EQ_U64(mace_hist_summary(h, s), 0);
	CHECK_EQ_U64(s->sz, old);
	CHECK_EQ_U64(s->count, 2);
	for (size_t i = old; i < sizeof(buf); i++)
		CHECK(buf[i] == 0xaa);
	mace_hist_free(h);
}

TEST(newer_summary_has_its_unknown_fields_zeroed)
{
	struct mace_hist *h = mace_hist_new();
	struct newer_summary n;

	memset(&n, 0xaa, sizeof(n));
	n.s.sz = sizeof(n);
	mace_hist_add(h, 1000);
	CHECK_EQ_U64(mace_hist_summary(h, &n.s), 0);
	CHECK_EQ_U64(n.s.sz, sizeof(n));
	CHECK_EQ_U64(n.s.count, 1);
	CHECK_EQ_U64(n.s.max, 1000);
	CHECK_EQ_U64(n.future, 0);
	mace_hist_free(h);
}

TEST(output_without_sz_is_refused)
{
	struct mace_hist *h = mace_hist_new();
	struct mace_summary s = { .count = 7 };
	struct mace_counters c = { .events = 7 };

	CHECK_EQ_U64(mace_hist_summary(h, &s), (uint64_t)-EINVAL);
	CHECK_EQ_U64(s.count, 7);
	CHECK(strstr(last_msg, "struct mace_summary") != NULL);
	CHECK_EQ_U64(mace_session_counters(NULL, &c), (uint64_t)-EINVAL);
	CHECK_EQ_U64(c.events, 7);
	mace_hist_free(h);
}

static const char line[] = "1,2,egress,p,3,,17,,,0,0,0,0,0,0,0\n";

TEST(records_parse_into_older_and_newer_structs)
{
	struct newer_record n;
	unsigned char buf[sizeof(struct mace_record)];
	struct mace_record *old = (struct mace_record *)buf;
	size_t old_sz = offsetof(struct mace_record, latency_ns) + sizeof(old->latency_ns);
	char name[16];

	memset(&n, 0xaa, sizeof(n));
	n.r.sz = sizeof(n);
	CHECK_EQ_U64(mace_record_parse(line, MACE_FORMAT_CSV, &n.r, name, sizeof(name)), 0);
	CHECK_EQ_U64(n.r.latency_ns, 3);
	CHECK_EQ_U64(n.future, 0);

	memset(buf, 0xaa, sizeof(buf));
	old->sz = old_sz;
	CHECK_EQ_U64(mace_record_parse(line, MACE_FORMAT_CSV, old, name, sizeof(name)), 0);
	CHECK_EQ_U64(old->ts_ns, 1);
	CHECK_EQ_U64(old->latency_ns, 3);
	for (size_t i = old_sz; i < sizeof(buf); i++)
		CHECK(buf[i] == 0xaa);
}

TEST(records_to_format_follow_the_input_rule)
{
	struct newer_record n = { .r.sz = sizeof(n), .r.ts_ns = 5, .r.latency_ns = 9 };
	struct mace_record none = { .ts_ns = 5 };
	char out[512];

	CHECK(mace_record_format(&n.r, "p", MACE_FORMAT_CSV, out, sizeof(out)) > 0);
	CHECK(strncmp(out, "5,0,egress,p,9,", 15) == 0);
	n.future = 1;
	CHECK_EQ_U64(mace_record_format(&n.r, "p", MACE_FORMAT_CSV, out, sizeof(out)),
		     (uint64_t)-EINVAL);
	CHECK_EQ_U64(mace_record_format(&none, "p", MACE_FORMAT_CSV, out, sizeof(out)),
		     (uint64_t)-EINVAL);
}

int main(void)
{
	mace_set_log(keep_msg, NULL);
	RUN(newer_opts_with_zero_tail_are_accepted);
	RUN(newer_opts_with_a_field_set_are_refused);
	RUN(opts_without_sz_are_refused);
	RUN(older_summary_gets_what_fits);
	RUN(newer_summary_has_its_unknown_fields_zeroed);
	RUN(output_without_sz_is_refused);
	RUN(records_parse_into_older_and_newer_structs);
	RUN(records_to_format_follow_the_input_rule);
	return t_done();
}
