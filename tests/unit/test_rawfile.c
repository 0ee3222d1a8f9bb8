/* SPDX-License-Identifier: MIT */
/* Raw-event files: round trips and every kind of corruption. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mace_int.h"
#include "t.h"

static char dir[64], file[128];

static struct mace_event ev_n(int i)
{
	struct mace_event e;

	memset(&e, 0, sizeof(e));
	e.ts = 0x0102030405060708ULL + i;
	e.skb = 0xffff888012345600ULL + i;
	e.key = 0xdeadbeefcafef00dULL ^ i;
	e.netns = 4026532001u;
	e.ifindex = 7;
	e.tid = 1234 + i;
	e.len = 84;
	e.seq = i;
	e.cpu = i % 4;
	e.id = 99;
	e.sport = 1000;
	e.dport = 2000;
	e.tp = 1 + i % (MACE_TP_COUNT - 1);
	e.role = 1 + i % (MACE_ROLE_COUNT - 1);
	e.proto = 17;
	e.family = 10;
	for (int j = 0; j < 16; j++) {
		e.src[j] = j;
		e.dst[j] = 255 - j;
	}
	return e;
}

static void header(struct mace_raw_header *h, unsigned int ndev)
{
	memset(h, 0, sizeof(*h));
	h->version = 1;
	h->clock = 1;
	h->realtime_offset_ns = -1234567890123LL;
	strcpy(h->path, "inner-dev");
	strcpy(h->backend, "bpf");
	h->binding.ndev = ndev;
	for (unsigned int i = 0; i < ndev; i++) {
		h->binding.dev[i].role = 1 + i % (MACE_ROLE_COUNT - 1);
		h->binding.dev[i].netns = 4026531840u + i;
		h->binding.dev[i].ifindex = i + 2;
		h->binding.dev[i].container_netns = i;
		snprintf(h->binding.dev[i].name, 16, "veth%u", i);
		snprintf(h->binding.dev[i].netns_name, 64, "ctr%u", i);
	}
}

static int write_file(unsigned int ndev, int nev)
{
	struct mace_raw_header h;
	struct mace_raw_writer *w;

	header(&h, ndev);
	w = mace__raw_create(file, &h);
	if (!w)
		return -errno;
	for (int i = 0; i < nev; i++) {
		struct mace_event e = ev_n(i);
		int err = mace__raw_write(w, &e);

		if (err) {
			mace__raw_close(w);
			return err;
		}
	}
	return mace__raw_close(w);
}

/* Reads everything; returns events read, or -(1000 + events) on an error. */
static int read_all(char *err, size_t errlen)
{
	struct mace_raw_header h;
	struct mace_raw_reader *r = mace__raw_open(file, &h, err, errlen);
	struct mace_event e;
	int n = 0, rc;

	if (!r)
		return -1;
	while ((rc = mace__raw_next(r, &e, err, errlen)) == 1)
		n++;
	mace__raw_free(r);
	return rc < 0 ? -(1000 + n) : n;
}

static void patch(long off, const void *bytes, size_t n)
{
	int fd = open(file, O_WRONLY);

	CHECK(fd >= 0 && pwrite(fd, bytes, n, off) == (ssize_t)n);
	close(fd);
}

static off_t size_of(void)
{
	struct stat st;

	return stat(file, &st) ? -1 : st.st_size;
}

TEST(round_trip)
{
	struct mace_raw_header h, want;
	struct mace_raw_reader *r;
	struct mace_event e, x;
	char err[256] = "";
	struct stat st;
	int n = 0, rc;

	CHECK_EQ_U64(write_file(3, 50000), 0);
	CHECK(stat(file, &st) == 0 && (st.st_mode & 0777) == 0644);
	r = mace__raw_open(file, &h, err, sizeof(err));
	CHECK(r != NULL);
	if (!r)
		return;
	header(&want, 3);
	CHECK(!memcmp(&h, &want, sizeof(h)));
	while ((rc = mace__raw_next(r, &e, err, sizeof(err))) == 1) {
		x = ev_n(n++);
		if (memcmp(&e, &x, sizeof(e)))
			break;
	}
	CHECK_EQ_U64(rc, 0);
	CHECK_EQ_U64(n, 50000);
	mace__raw_free(r);
	mace__raw_free(NULL);
	/* little-endian on disk whatever the host: the first ts byte is 0x08 */
	{
		unsigned char b;
		int fd = open(file, O_RDONLY);
		long off = 16 + 100 + 3 * 93;

		CHECK(pread(fd, &b, 1, off) == 1 && b == 0x08);
		close(fd);
		CHECK_EQ_U64(size_of(), off + 50000 * 96);
	}
	/* empty recording, no devices */
	CHECK_EQ_U64(write_file(0, 0), 0);
	CHECK_EQ_U64(read_all(err, sizeof(err)), 0);
}

TEST(corruptions_are_named)
{
	char err[256];
	unsigned char b4[4];

	/* wrong magic */
	CHECK_EQ_U64(write_file(1, 10), 0);
	patch(0, "X", 1);
	CHECK(read_all(err, sizeof(err)) == -1 && strstr(err, "bad magic") && strstr(err, file));
	/* unsupported version */
	CHECK_EQ_U64(write_file(1, 10), 0);
	patch(8, "\x02\0\0\0", 4);
	CHECK(read_all(err, sizeof(err)) == -1 && strstr(err, "unsupported version 2"));
	CHECK_EQ_U64(errno, ENOTSUP);
	/* header too short / too long */
	CHECK_EQ_U64(write_file(1, 10), 0);
	patch(12, "\x10\0\0\0", 4);
	CHECK(read_all(err, sizeof(err)) == -1 && strstr(err, "header too short"));
	patch(12, "\xff\xff\xff\x7f", 4);
	CHECK(read_all(err, sizeof(err)) == -1 && strstr(err, "header too long"));
	/* header length disagrees with the device count */
	b4[0] = (100 + 93 + 96) & 0xff;
	b4[1] = (100 + 93 + 96) >> 8;
	b4[2] = b4[3] = 0;
	patch(12, b4, 4);
	CHECK(read_all(err, sizeof(err)) == -1 && strstr(err, "header too long for 1 devices"));
	/* impossible device count, impossible role */
	CHECK_EQ_U64(write_file(1, 10), 0);
	patch(16 + 96, "\xff\xff\0\0", 4);
	CHECK(read_all(err, sizeof(err)) == -1 && strstr(err, "bound devices"));
	CHECK_EQ_U64(write_file(1, 10), 0);
	patch(16 + 100, "\x63", 1);
	CHECK(read_all(err, sizeof(err)) == -1 && strstr(err, "invalid role 99"));
	/* file ends inside the header */
	CHECK_EQ_U64(write_file(1, 0), 0);
	CHECK(truncate(file, 50) == 0);
	CHECK(read_all(err, sizeof(err)) == -1 && strstr(err, "ends inside"));
	CHECK(truncate(file, 5) == 0);
	CHECK(read_all(err, sizeof(err)) == -1 && strstr(err, "bad magic"));
	/* truncated event: the 7 before it are kept */
	CHECK_EQ_U64(write_file(1, 8), 0);
	CHECK(truncate(file, size_of() - 10) == 0);
	CHECK_EQ_U64(read_all(err, sizeof(err)), (uint64_t)-(1000 + 7));
	CHECK(strstr(err, "truncated after 7 events (86 of 96 bytes)") != NULL);
	/* impossible tracepoint and role in event 3 */
	CHECK_EQ_U64(write_file(0, 8), 0);
	patch(16 + 100 + 3 * 96 + 52, "\x40", 1);
	CHECK_EQ_U64(read_all(err, sizeof(err)), (uint64_t)-(1000 + 3));
	CHECK(strstr(err, "event 3 has impossible tracepoint 64") != NULL);
	CHECK_EQ_U64(write_file(0, 8), 0);
	patch(16 + 100 + 5 * 96 + 53, "\x07", 1);
	CHECK_EQ_U64(read_all(err, sizeof(err)), (uint64_t)-(1000 + 5));
	CHECK(strstr(err, "impossible role 7") != NULL);
	/* missing file */
	unlink(file);
	CHECK(read_all(err, sizeof(err)) == -1 && strstr(err, "No such file"));
}

/* A file cut inside the 16-byte preamble, after the magic: named as such,
 * whatever the missing bytes would have said. */
TEST(preamble_truncated)
{
	char err[256];

	for (off_t len = 8; len < 16; len++) {
		CHECK_EQ_U64(write_file(1, 10), 0);
		CHECK(truncate(file, len) == 0);
		err[0] = '\0';
		CHECK(read_all(err, sizeof(err)) == -1);
		if (!strstr(err, "file ends inside the preamble"))
			printf("# cut at %d: %s\n", (int)len, err);
		CHECK(strstr(err, "file ends inside the preamble") != NULL);
	}
}

TEST(writer_refuses_symlinks_and_reports_enospc)
{
	struct mace_raw_header h;
	struct mace_raw_writer *w;
	char link[160];
	int err = 0;

	header(&h, 0);
	snprintf(link, sizeof(link), "%s/link", dir);
	CHECK(symlink(file, link) == 0);
	mace_set_log(NULL, NULL);
	CHECK(mace__raw_create(link, &h) == NULL && errno == ELOOP);
	unlink(link);
	h.binding.ndev = MACE_MAX_BOUND + 1;
	CHECK(mace__raw_create(file, &h) == NULL && errno == EINVAL);
	header(&h, 0);
	/* /dev/full: every write fails with ENOSPC, seen by write or close */
	w = mace__raw_create("/dev/full", &h);
	if (!w) {
		printf("SKIP writer_enospc: /dev/full: %s\n", strerror(errno));
		return;
	}
	for (int i = 0; i < 100000 && !err; i++) {
		struct mace_event e = ev_n(i);

		err = mace__raw_write(w, &e);
	}
	CHECK_EQ_U64(err, (uint64_t)-ENOSPC);
	CHECK_EQ_U64(mace__raw_close(w), (uint64_t)-ENOSPC);
	w = mace__raw_create("/dev/full", &h);
	CHECK(w && mace__raw_close(w) == -ENOSPC);	/* header only: close reports it */
	CHECK_EQ_U64(mace__raw_close(NULL), 0);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/mace-rawtest.XXXXXX");
	if (!mkdtemp(dir)) {
		printf("FAIL rawfile_setup: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(file, sizeof(file), "%s/rec.raw", dir);
	RUN(round_trip);
	RUN(corruptions_are_named);
	RUN(preamble_truncated);
	RUN(writer_refuses_symlinks_and_reports_enospc);
	unlink(file);
	rmdir(dir);
	return t_done();
}
