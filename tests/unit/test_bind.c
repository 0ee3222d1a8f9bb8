/* SPDX-License-Identifier: MIT */
/*
 * Binding: spec and argument errors, lookups, description.  Needs no
 * privileges.  With --bind it is also the driver tests/integration/testbed.sh
 * uses to check bindings on the netns testbed as root:
 *
 *	test_bind --bind NETNS|- OUTER|- ROLE[,ROLE...]|all
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mace_int.h"
#include "t.h"

static struct mace_binding b;
static char err[256];

static __u32 mask(enum mace_role r)
{
	return 1u << r;
}

TEST(unknown_name_is_named)
{
	int ret = mace__bind("mace-no-such-netns", NULL, mask(MACE_ROLE_CONTAINER), &b, err,
			     sizeof(err));

	CHECK(ret == -ENOENT);
	CHECK(strstr(err, "netns 'mace-no-such-netns'") != NULL);
	CHECK(strstr(err, "/run/netns") != NULL);
	CHECK_EQ_U64(b.ndev, 0);
}

TEST(missing_pid_is_named)
{
	int ret = mace__bind("2147483646", NULL, mask(MACE_ROLE_CONTAINER), &b, err, sizeof(err));

	CHECK(ret == -ESRCH);
	CHECK(strstr(err, "no process 2147483646") != NULL);
}

TEST(path_that_is_no_netns)
{
	int ret = mace__bind("/dev/null", NULL, mask(MACE_ROLE_CONTAINER), &b, err, sizeof(err));

	CHECK(ret == -EINVAL);
	CHECK(strstr(err, "/dev/null is not a network namespace") != NULL);
	ret = mace__bind("/proc/self/ns/uts", NULL, mask(MACE_ROLE_CONTAINER), &b, err,
			 sizeof(err));
	CHECK(ret == -EINVAL);
	CHECK(strstr(err, "not a network namespace") != NULL);
}

TEST(missing_path_is_named)
{
	int ret = mace__bind("/nonexistent/ns", NULL, mask(MACE_ROLE_CONTAINER), &b, err,
			     sizeof(err));

	CHECK(ret == -ENOENT);
	CHECK(strstr(err, "netns '/nonexistent/ns': /nonexistent/ns:") != NULL);
}

TEST(empty_and_dot_specs)
{
	CHECK(mace__bind("", NULL, mask(MACE_ROLE_CONTAINER), &b, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "empty") != NULL);
	CHECK(mace__bind("..", NULL, mask(MACE_ROLE_CONTAINER), &b, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "netns '..'") != NULL);
}

TEST(outer_spec_errors)
{
	__u32 r = mask(MACE_ROLE_OUTER);

	CHECK(mace__bind(NULL, "averyveryverylongname", r, &b, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "longer than 15") != NULL);
	CHECK(mace__bind(NULL, "@1", r, &b, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "outer '@1': no device name") != NULL);
	CHECK(mace__bind(NULL, "lo@mace-no-such-netns", r, &b, err, sizeof(err)) == -ENOENT);
	CHECK(strstr(err, "outer 'mace-no-such-netns'") != NULL);
	CHECK(mace__bind(NULL, "mace-nodev0", r, &b, err, sizeof(err)) == -ENODEV);
	CHECK(strstr(err, "outer 'mace-nodev0': no device mace-nodev0 in netns") != NULL);
	CHECK_EQ_U64(b.ndev, 0);
}

/* Loopback exists in every netns with ifindex 1: a binding that works
 * anywhere, without privileges. */
TEST(outer_override_in_own_netns)
{
	struct stat st;
	char spec[32];
	int ret;

	CHECK(stat("/proc/self/ns/net", &st) == 0);
	ret = mace__bind(NULL, "lo", mask(MACE_ROLE_OUTER), &b, err, sizeof(err));
	CHECK(ret == 0);
	if (ret)
		printf("# %s\n", err);
	CHECK_EQ_U64(b.ndev, 1);
	CHECK_EQ_U64(b.dev[0].role, MACE_ROLE_OUTER);
	CHECK_STR(b.dev[0].name, "lo");
	CHECK_EQ_U64(b.dev[0].ifindex, 1);
	CHECK_EQ_U64(b.dev[0].netns, (__u32)st.st_ino);
	CHECK_EQ_U64(b.dev[0].container_netns, 0);
	CHECK(b.dev[0].netns_name[0] != '\0');
	/* The same through DEV@PID. */
	snprintf(spec, sizeof(spec), "lo@%d", (int)getpid());
	ret = mace__bind(NULL, spec, mask(MACE_ROLE_OUTER), &b, err, sizeof(err));
	CHECK(ret == 0);
	CHECK_EQ_U64(b.ndev, 1);
	CHECK_EQ_U64(b.dev[0].netns, (__u32)st.st_ino);
}

TEST(bad_arguments)
{
	CHECK(mace__bind(NULL, NULL, 0, NULL, err, sizeof(err)) == -EINVAL);
	CHECK(mace__bind(NULL, NULL, 0, &b, NULL, 10) == -EINVAL);
}

static void fill(void)
{
	static const struct mace_bound_dev d[] = {
		{ MACE_ROLE_CONTAINER, 100, 2, 100, "eth0", "ctr1" },
		{ MACE_ROLE_HOST_VETH, 1, 7, 100, "veth1", "pid 1" },
		{ MACE_ROLE_CONTAINER, 200, 2, 200, "eth0", "ctr2" },
		{ MACE_ROLE_OUTER, 1, 3, 0, "ens3", "pid 1" },
	};

	memset(&b, 0, sizeof(b));
	memcpy(b.dev, d, sizeof(d));
	b.ndev = ARRAY_SIZE(d);
}

TEST(find_by_netns_and_ifindex)
{
	fill();
	/* Same name and ifindex in two netns: the inode tells them apart. */
	CHECK(mace__binding_find(&b, 100, 2) == &b.dev[0]);
	CHECK(mace__binding_find(&b, 200, 2) == &b.dev[2]);
	CHECK(mace__binding_find(&b, 1, 3) == &b.dev[3]);
	CHECK(mace__binding_find(&b, 1, 2) == NULL);
	CHECK(mace__binding_find(&b, 300, 2) == NULL);
	CHECK(mace__binding_find(NULL, 100, 2) == NULL);
}

TEST(is_container)
{
	fill();
	CHECK(mace__binding_is_container(&b, 100));
	CHECK(mace__binding_is_container(&b, 200));
	CHECK(!mace__binding_is_container(&b, 1));	/* the host holds no container device */
	CHECK(!mace__binding_is_container(&b, 0));
}

TEST(describe_names_everything)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	fill();
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK(mace__binding_describe(&b, f) == 0);
	fclose(f);
	CHECK(strstr(text, "container eth0            ifindex 2    netns ctr1 (inode 100)\n") != NULL);
	CHECK(strstr(text, "host-veth veth1           ifindex 7    netns pid 1 (inode 1) "
			   "for container netns 100\n") != NULL);
	CHECK(strstr(text, "outer     ens3            ifindex 3    netns pid 1 (inode 1)\n") != NULL);
	CHECK(strstr(text, "ctr2 (inode 200)") != NULL);
	free(text);
}

/* --bind NETNS|- OUTER|- ROLES: prints the binding or the error. */
static int drive(char **argv)
{
	const char *ns = strcmp(argv[0], "-") ? argv[0] : NULL;
	const char *outer = strcmp(argv[1], "-") ? argv[1] : NULL;
	char *roles = strdup(argv[2]), *save = NULL;
	__u32 m = 0;
	int ret;

	for (char *r = strtok_r(roles, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
		if (!strcmp(r, "all"))
			continue;
		if (mace__role_by_name(r) == MACE_ROLE_NONE) {
			fprintf(stderr, "test_bind: unknown role '%s'\n", r);
			free(roles);
			return 2;
		}
		m |= 1u << mace__role_by_name(r);
	}
	free(roles);
	ret = mace__bind(ns, outer, m, &b, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "test_bind: %s (%s)\n", err, strerror(-ret));
		return 1;
	}
	return mace__binding_describe(&b, stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "--bind"))
		return drive(argv + 2);
	RUN(unknown_name_is_named);
	RUN(missing_pid_is_named);
	RUN(path_that_is_no_netns);
	RUN(missing_path_is_named);
	RUN(empty_and_dot_specs);
	RUN(outer_spec_errors);
	RUN(outer_override_in_own_netns);
	RUN(bad_arguments);
	RUN(find_by_netns_and_ifindex);
	RUN(is_container);
	RUN(describe_names_everything);
	return t_done();
}
