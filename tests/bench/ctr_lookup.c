/* SPDX-License-Identifier: MIT */
/*
 * Cost of naming containers: a first resolution (each running container is
 * listed and inspected once), then refreshes that only list (pids known),
 * then a lookup of a netns in the snapshot.  Prints key=value figures.
 *
 *	ctr_lookup ROUNDS		(sockets from DOCKER_HOST, CONTAINER_HOST)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "mace.h"

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5;
	double first[64], again[64], t;
	struct mace_container c = { .sz = sizeof(c) };
	struct stat st;
	const int lookups = 100000;

	if (rounds < 1 || rounds > 64)
		return 2;
	for (int r = 0; r < rounds; r++) {
		struct mace_containers *m;

		t = now_ms();
		m = mace_containers_new(NULL);
		first[r] = now_ms() - t;
		if (!m) {
			perror("mace_containers_new");
			return 1;
		}
		t = now_ms();
		if (mace_containers_refresh(m))
			return 1;
		again[r] = now_ms() - t;
		if (r == rounds - 1) {
			/* a lookup's cost (our own netns: the last found) */
			if (stat("/proc/self/ns/net", &st))
				return 1;
			t = now_ms();
			for (int i = 0; i < lookups; i++)
				mace_containers_find(m, (uint32_t)st.st_ino, &c);
			t = (now_ms() - t) * 1e6 / lookups;
		}
		mace_containers_free(m);
	}
	qsort(first, rounds, sizeof(first[0]), cmp);
	qsort(again, rounds, sizeof(again[0]), cmp);
	printf("first_ms=%.2f refresh_ms=%.2f lookup_ns=%.0f\n", first[rounds / 2],
	       again[rounds / 2], t);
	return 0;
}
