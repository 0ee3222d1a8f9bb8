/* SPDX-License-Identifier: MIT */
/*
 * A tiny test harness.  Each test prints "PASS name" or "FAIL name: why";
 * tests/run.sh counts those lines.
 *
 *	TEST(parses_header) { CHECK(x == 1); CHECK_EQ_U64(a, b); }
 *	int main(void) { RUN(parses_header); return t_done(); }
 */
#ifndef MACE_T_H
#define MACE_T_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int t_failures, t_failed_tests, t_skipped;
static const char *t_current;

#define TEST(name) static void name(void)
#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			if (!t_failures++)                                                 \
				printf("FAIL %s: %s:%d: %s\n", t_current, __FILE__,        \
				       __LINE__, #cond);                                   \
		}                                                                          \
	} while (0)
#define CHECK_EQ_U64(a, b)                                                                 \
	do {                                                                               \
		uint64_t t_a_ = (a), t_b_ = (b);                                           \
		if (t_a_ != t_b_ && !t_failures++)                                         \
			printf("FAIL %s: %s:%d: %s == %" PRIu64 ", want %" PRIu64 "\n",     \
			       t_current, __FILE__, __LINE__, #a, t_a_, t_b_);             \
	} while (0)
#define CHECK_STR(a, b)                                                                    \
	do {                                                                               \
		const char *t_a_ = (a), *t_b_ = (b);                                       \
		if ((!t_a_ || strcmp(t_a_, t_b_)) && !t_failures++)                        \
			printf("FAIL %s: %s:%d: %s == \"%s\", want \"%s\"\n", t_current,    \
			       __FILE__, __LINE__, #a, t_a_ ? t_a_ : "(null)", t_b_);      \
	} while (0)
/* Leaves the test as skipped (tests/run.sh: a failure under MACE_REQUIRE_KERNEL). */
#define SKIP(why)                                                                          \
	do {                                                                               \
		printf("SKIP %s: %s\n", t_current, why);                                   \
		t_skipped = 1;                                                             \
		return;                                                                    \
	} while (0)
#define RUN(name)                                                                          \
	do {                                                                               \
		t_current = #name;                                                         \
		t_failures = 0;                                                            \
		t_skipped = 0;                                                             \
		name();                                                                    \
		if (t_skipped)                                                             \
			;                                                                  \
		else if (t_failures)                                                       \
			t_failed_tests++;                                                  \
		else                                                                       \
			printf("PASS %s\n", #name);                                        \
		fflush(stdout);                                                            \
	} while (0)

static inline int t_done(void)
{
	return t_failed_tests ? 1 : 0;
}

#endif
