/* SPDX-License-Identifier: MIT */
/*
 * Container identity without a daemon: cgroup paths in the formats each
 * runtime writes, and the resolver's answers when no runtime is there.
 * (tests/integration/containers.sh asks real dockerd and podman.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "container.h"
#include "mace_int.h"
#include "t.h"

#define ID1 "ac5561415f8a6d04a20c9420c12de2c56ba9f606ed0db864bf3ece97eca0784a"
#define ID2 "cc257b6afc7cd835610a130ebf59b10b9c175e46bf496699d9c3c543c04dc50a"

static struct mace_cgroup_id cg;

static int parse(const char *line)
{
	return mace__cgroup_parse_line(line, &cg);
}

/* Lines as dockerd 20.10 wrote them here (cgroup v1, cgroupfs driver), and
 * as it writes them with cgroup v2 and with the systemd driver. */
TEST(docker_lines)
{
	CHECK(parse("4:memory:/docker/" ID1 "\n") == 0);
	CHECK_STR(cg.runtime, "docker");
	CHECK_STR(cg.id, ID1);
	CHECK(parse("0::/docker/" ID2) == 0);
	CHECK_STR(cg.id, ID2);
	CHECK(parse("0::/system.slice/docker-" ID1 ".scope") == 0);
	CHECK_STR(cg.runtime, "docker");
	CHECK_STR(cg.id, ID1);
	/* docker in docker: the innermost container */
	CHECK(parse("0::/docker/" ID1 "/docker/" ID2) == 0);
	CHECK_STR(cg.id, ID2);
}

/* podman 4.3 here (cgroupfs), and with systemd; conmon is not the container. */
TEST(podman_lines)
{
	CHECK(parse("4:memory:/libpod_parent/libpod-" ID2) == 0);
	CHECK_STR(cg.runtime, "podman");
	CHECK_STR(cg.id, ID2);
	CHECK(parse("0::/machine.slice/libpod-" ID1 ".scope/container") == 0);
	CHECK_STR(cg.id, ID1);
	CHECK(parse("0::/machine.slice/libpod-conmon-" ID1 ".scope") == -ENOENT);
}

/* Kubernetes: containerd and CRI-O under kubepods, systemd and cgroupfs. */
TEST(kubernetes_lines)
{
	CHECK(parse("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
		    "5d0c3a5e_1c4b_4f3e_9a8b_2f1e6d7c8b9a.slice/cri-containerd-" ID1
		    ".scope") == 0);
	CHECK_STR(cg.runtime, "containerd");
	CHECK_STR(cg.id, ID1);
	CHECK(parse("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
		    "5d0c3a5e_1c4b.slice/crio-" ID2 ".scope") == 0);
	CHECK_STR(cg.runtime, "cri-o");
	CHECK_STR(cg.id, ID2);
	CHECK(parse("0::/kubepods.slice/kubepods-burstable.slice/crio-conmon-" ID2 ".scope") ==
	      -ENOENT);
	CHECK(parse("11:pids:/kubepods/besteffort/pod5d0c3a5e-1c4b-4f3e/" ID1) == 0);
	CHECK_STR(cg.runtime, "kubernetes");
	CHECK_STR(cg.id, ID1);
}

TEST(not_a_container)
{
	CHECK(parse("0::/") == -ENOENT);
	CHECK(parse("0::/init.scope") == -ENOENT);
	CHECK(parse("0::/user.slice/user-0.slice/session-3.scope") == -ENOENT);
	/* an ID must be 64 hex digits */
	CHECK(parse("0::/system.slice/docker-ac5561415f8a.scope") == -ENOENT);
	CHECK(parse("0::/system.slice/docker-" ID1 "0.scope") == -ENOENT);
	CHECK(parse("0::/" ID1) == -ENOENT);	/* a bare ID, but under no runtime */
	CHECK(parse("garbage") == -EINVAL);
	CHECK(parse("1:cpu") == -EINVAL);
}

static unsigned int warnings;
static void count_warnings(enum mace_log_level lvl, const char *msg, void *ctx)
{
	warnings += lvl <= MACE_LOG_WARN;
}

/* No runtime here: quiet, and every netns is still named (ours by a pid). */
TEST(no_runtime_is_quiet)
{
	struct mace_containers_opts o = MACE_CONTAINERS_OPTS_INIT;
	struct mace_container c = { .sz = sizeof(c) };
	struct mace_containers *m;
	char err[256];
	struct stat st;

	o.docker_socket = "/nonexistent/docker.sock";
	o.podman_socket = "/nonexistent/podman.sock";
	warnings = 0;
	mace_set_log(count_warnings, NULL);
	m = mace_containers_new(&o);
	CHECK(m != NULL);
	CHECK_EQ_U64(warnings, 0);
	CHECK(stat("/proc/self/ns/net", &st) == 0);
	CHECK(mace_containers_find(m, (uint32_t)st.st_ino, &c) == 0);
	CHECK(c.netns == (uint32_t)st.st_ino);
	CHECK(c.name[0] != '\0');
	CHECK(mace_containers_find(m, 1, &c) == -ENOENT);
	CHECK(mace_containers_select(m, "mace-no-such-container", &c, err, sizeof(err)) ==
	      -ENOENT);
	CHECK(strstr(err, "no container 'mace-no-such-container'") != NULL);
	mace_containers_free(m);
	mace_set_log(NULL, NULL);
}

/* A smaller caller struct gets only what fits. */
TEST(output_size_is_respected)
{
	struct mace_containers_opts o = MACE_CONTAINERS_OPTS_INIT;
	struct mace_containers *m;
	struct {
		struct mace_container c;
		char guard[8];
	} out;
	size_t small = offsetof(struct mace_container, runtime);
	struct stat st;

	o.docker_socket = "";
	o.podman_socket = "";
	m = mace_containers_new(&o);
	CHECK(m != NULL);
	memset(&out, 0x5a, sizeof(out));
	out.c.sz = small;
	CHECK(stat("/proc/self/ns/net", &st) == 0);
	CHECK(mace_containers_find(m, (uint32_t)st.st_ino, &out.c) == 0);
	CHECK(out.c.netns == (uint32_t)st.st_ino);
	CHECK((unsigned char)out.c.runtime[0] == 0x5a);
	CHECK((unsigned char)out.guard[0] == 0x5a);
	mace_containers_free(m);
}

TEST(label)
{
	struct mace_container c = { .sz = sizeof(c) };
	char buf[64];

	strcpy(c.name, "k8s_app_web-0_shop_1");
	CHECK_STR(mace_container_label(&c, buf, sizeof(buf)), "k8s_app_web-0_shop_1");
	strcpy(c.pod, "web-0");
	strcpy(c.pod_namespace, "shop");
	CHECK_STR(mace_container_label(&c, buf, sizeof(buf)), "web-0/shop");
}

int main(void)
{
	RUN(docker_lines);
	RUN(podman_lines);
	RUN(kubernetes_lines);
	RUN(not_a_container);
	RUN(no_runtime_is_quiet);
	RUN(output_size_is_respected);
	RUN(label);
	return t_done();
}
