/* SPDX-License-Identifier: MIT */
/* libFuzzer target: any bytes as a raw-event file, read to the end. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mace_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mace_raw_header h;	/* large: keep it off the stack */
	struct mace_raw_reader *r;
	struct mace_event ev;
	char err[512], name[64];
	int fd, rc;
	long n = 0;

	fd = memfd_create("fuzz_rawfile", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		perror("fuzz_rawfile: memfd");
		__builtin_trap();
	}
	snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
	r = mace__raw_open(name, &h, err, sizeof(err));
	if (r) {
		/* the header we hand out must be sane */
		if (h.binding.ndev > MACE_MAX_BOUND || h.path[sizeof(h.path) - 1] ||
		    h.backend[sizeof(h.backend) - 1])
			__builtin_trap();
		while ((rc = mace__raw_next(r, &ev, err, sizeof(err))) == 1) {
			if (ev.tp >= MACE_TP_COUNT || ev.role >= MACE_ROLE_COUNT)
				__builtin_trap();
			n++;
		}
		if (rc < 0 && !err[0])
			__builtin_trap();	/* an error always says why */
		mace__raw_free(r);
	} else if (!err[0]) {
		__builtin_trap();
	}
	close(fd);
	(void)n;
	return 0;
}
