/* SPDX-License-Identifier: MIT */
/*
 * Container identity, internal side: cgroup-path IDs and the runtimes' APIs.
 */
#ifndef MACE_CONTAINER_H
#define MACE_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>

#include "mace.h"

/* cgroup_id.c */
struct mace_cgroup_id {
	char runtime[16];	/* "docker", "podman", "containerd", "cri-o", "kubernetes" */
	char id[72];
};
/* One line of /proc/PID/cgroup.  0, -ENOENT (no container there) or -EINVAL. */
int mace__cgroup_parse_line(const char *line, struct mace_cgroup_id *out);
/* The first line of /proc/PID/cgroup naming a container.  0 or -errno. */
int mace__cgroup_of_pid(int pid, struct mace_cgroup_id *out);

/* container_api.c: one runtime's Engine API over its unix socket */
struct ctr_api;
struct ctr_api_entry {
	char id[72];
	char name[128];
	char image[256];
	char pod[128], pod_namespace[64], pod_container[64];
	int pid;
};
/* runtime: "docker" or "podman".  socket: its unix socket path. */
struct ctr_api *mace__ctr_api_new(const char *runtime, const char *socket, unsigned int timeout_ms);
/*
 * The running containers with their pids (inspected once per ID and pid).
 * -ENOENT/-ECONNREFUSED if nobody is there (quiet), other -errno after
 * saying why once.  *v is owned by api, valid until the next call.
 */
int mace__ctr_api_list(struct ctr_api *api, const struct ctr_api_entry **v, unsigned int *n);
const char *mace__ctr_api_runtime(const struct ctr_api *api);
void mace__ctr_api_free(struct ctr_api *api);

#endif
