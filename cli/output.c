/* SPDX-License-Identifier: MIT */
/* Record output: CSV or JSON lines to stdout or a file that is not a symlink. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

FILE *cli_open_output(const char *cmd, const char *file)
{
	struct stat st;
	FILE *f;
	int fd;

	if (!file || !strcmp(file, "-"))
		return stdout;
	/* O_NOFOLLOW: a planted symlink must not redirect a root-owned write. */
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "mace: %s: cannot write '%s': %s\n", cmd, file,
			errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return NULL;
	}
	/* A file someone left group/world-writable does not stay so. */
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && (st.st_mode & 022) &&
	    fchmod(fd, st.st_mode & 0755)) {
		fprintf(stderr, "mace: %s: cannot chmod '%s': %s\n", cmd, file, strerror(errno));
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "w");
	if (!f) {
		fprintf(stderr, "mace: %s: '%s': %s\n", cmd, file, strerror(errno));
		close(fd);
		return NULL;
	}
	/* Records arrive by the hundred thousand per second: write in 1 MiB
	 * batches (the writer flushes after every drain anyway). */
	if (setvbuf(f, NULL, _IOFBF, 1 << 20)) {
		fprintf(stderr, "mace: %s: '%s': cannot set a buffer\n", cmd, file);
		fclose(f);
		return NULL;
	}
	return f;
}

/* The last containers looked up, so a record costs no lock: entries are
 * asked again after a second (a container restarted, a new one named). */
#define NAME_SLOTS 64
struct cli_name_cache {
	struct {
		uint32_t netns;
		time_t at;
		struct mace_container c;
	} v[NAME_SLOTS];
};

static const struct mace_container *container_of(struct cli_writer *w, uint32_t netns)
{
	unsigned int slot = netns % NAME_SLOTS;
	time_t now = time(NULL);

	if (!w->names) {
		w->names = calloc(1, sizeof(*w->names));
		if (!w->names)
			return NULL;	/* names are extra: records go on without */
	}
	if (w->names->v[slot].netns != netns || w->names->v[slot].at != now) {
		struct mace_container *c = &w->names->v[slot].c;

		if (cli_container_of(netns, c)) {
			memset(c, 0, sizeof(*c));
			c->sz = sizeof(*c);
		}
		w->names->v[slot].netns = netns;
		w->names->v[slot].at = now;
	}
	return &w->names->v[slot].c;
}

const char *cli_writer_header(const struct cli_writer *w)
{
	return w->named ? mace_csv_header_container() : mace_csv_header();
}

void cli_writer_free(struct cli_writer *w)
{
	free(w->names);
	w->names = NULL;
}

void cli_writer_record(const struct mace_record *rec, void *ctx)
{
	struct cli_writer *w = ctx;
	const char *name = w->path;
	const struct mace_container *ct = NULL;
	int n;

	if (w->err)
		return;
	if (w->named) {
		static const struct mace_container none = { .sz = sizeof(none) };

		ct = container_of(w, rec->netns);
		if (!ct)
			ct = &none;
	}
	n = mace_record_format_container(rec, name, ct, w->fmt, w->buf, w->size);
	if (n >= 0 && (size_t)n >= w->size) {
		char *nb = realloc(w->buf, n + 1);

		if (!nb) {
			w->err = ENOMEM;
			return;
		}
		w->buf = nb;
		w->size = n + 1;
		n = mace_record_format_container(rec, name, ct, w->fmt, w->buf, w->size);
	}
	if (n < 0) {
		w->err = -n;
		return;
	}
	if (fwrite(w->buf, 1, n, w->f) != (size_t)n)
		w->err = errno ? errno : EIO;
	w->records++;
}

int cli_writer_flush(void *ctx)
{
	struct cli_writer *w = ctx;

	if (!w->err && fflush(w->f))
		w->err = errno;
	if (!w->err)
		return 0;
	if (w->err == EPIPE) {
		/* The reader went away (mace record | head): a clean stop. */
		cli_request_stop();
		return -EPIPE;
	}
	return -w->err;
}
