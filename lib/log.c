/* SPDX-License-Identifier: MIT */
/* The log hook: libmace never prints on its own, it calls this. */
#include <stdio.h>
#include <stdlib.h>

#include "mace_int.h"

static void log_stderr(enum mace_log_level level, const char *msg, void *ctx)
{
	if (level <= MACE_LOG_WARN)
		fprintf(stderr, "mace: %s\n", msg);
}

static mace_log_fn log_fn = log_stderr;
static void *log_ctx;

MACE_EXPORT void mace_set_log(mace_log_fn fn, void *ctx)
{
	log_fn = fn;
	log_ctx = ctx;
}

void mace__log(enum mace_log_level level, const char *fmt, ...)
{
	char *msg;
	va_list ap;
	int n;

	if (!log_fn)
		return;
	/* Not truncated: a verifier log passed on at debug level is long. */
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		log_fn(level, "(out of memory formatting a message)", log_ctx);
		return;
	}
	log_fn(level, msg, log_ctx);
	free(msg);
}

int mace__errf(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

#define STR_(x) #x
#define STR(x) STR_(x)

MACE_EXPORT const char *mace_version(void)
{
	return STR(MACE_VERSION_MAJOR) "." STR(MACE_VERSION_MINOR) "." STR(MACE_VERSION_PATCH);
}
