/* SPDX-License-Identifier: MIT */
/*
 * Labels of a container's series, from the container resolver: the
 * container's name (in a Kubernetes pod: the container's name in the pod,
 * with pod and namespace), else the ip netns name or "pid N".
 */
#include <string.h>

#include "cli.h"
#include "serve.h"

bool serve_container_labels(uint32_t netns, struct serve_labels *out)
{
	struct mace_container c;

	memset(out, 0, sizeof(*out));
	if (!netns) {
		/* packets never seen in a container */
		snprintf(out->container, sizeof(out->container), "none");
		return true;
	}
	if (cli_container_of(netns, &c)) {
		/* not known yet: asked again in the background */
		snprintf(out->container, sizeof(out->container), "netns:%u", netns);
		return false;
	}
	snprintf(out->container, sizeof(out->container), "%s",
		 c.pod[0] && c.pod_container[0] ? c.pod_container : c.name);
	snprintf(out->pod, sizeof(out->pod), "%s", c.pod);
	snprintf(out->namespace, sizeof(out->namespace), "%s", c.pod_namespace);
	return true;
}
