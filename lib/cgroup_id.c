/* SPDX-License-Identifier: MIT */
/*
 * Container IDs from cgroup paths (/proc/PID/cgroup), for when no runtime API
 * answers.  The runtimes name a container's cgroup after its 64-hex ID:
 *
 *	systemd driver		docker-<id>.scope, libpod-<id>.scope,
 *				cri-containerd-<id>.scope, crio-<id>.scope
 *	cgroupfs driver		/docker/<id>, /libpod_parent/libpod-<id>,
 *				/kubepods/<qos>/pod<uid>/<id>
 *
 * A conmon scope (libpod-conmon-<id>, crio-conmon-<id>) is the monitor, not the
 * container, and names nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "container.h"

#define ID_LEN 64

static bool is_id(const char *s, size_t n)
{
	if (n != ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

struct prefix {
	const char *text;
	const char *runtime;
};

/* Longest first where one prefix starts another. */
static const struct prefix prefixes[] = {
	{ "cri-containerd-", "containerd" },
	{ "docker-", "docker" },
	{ "libpod-", "podman" },
	{ "crio-", "cri-o" },
};

/* One path component: "docker-<id>.scope", "<id>", ...; parent is the one
 * before it ("docker", "kubepods", "pod<uid>").  True if it names a container. */
static bool component_id(const char *c, size_t n, const char *parent, size_t pn,
			 bool kubepods, struct mace_cgroup_id *out)
{
	if (n > 6 && !memcmp(c + n - 6, ".scope", 6))
		n -= 6;
	for (unsigned int i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t pl = strlen(prefixes[i].text);

		if (n > pl && !memcmp(c, prefixes[i].text, pl) && is_id(c + pl, n - pl)) {
			snprintf(out->runtime, sizeof(out->runtime), "%s", prefixes[i].runtime);
			snprintf(out->id, sizeof(out->id), "%.*s", ID_LEN, c + pl);
			return true;
		}
	}
	if (!is_id(c, n))
		return false;
	/* A bare ID: docker's cgroupfs layout, or a pod's container under kubepods. */
	if (pn == 6 && !memcmp(parent, "docker", 6))
		snprintf(out->runtime, sizeof(out->runtime), "docker");
	else if (kubepods)
		snprintf(out->runtime, sizeof(out->runtime), "kubernetes");
	else
		return false;
	snprintf(out->id, sizeof(out->id), "%.*s", ID_LEN, c);
	return true;
}

int mace__cgroup_parse_line(const char *line, struct mace_cgroup_id *out)
{
	const char *path, *c, *end, *parent = "";
	size_t pn = 0;
	bool kubepods = false, found = false;

	memset(out, 0, sizeof(*out));
	/* hierarchy-ID:controllers:path */
	path = strchr(line, ':');
	path = path ? strchr(path + 1, ':') : NULL;
	if (!path || path[1] != '/')
		return -EINVAL;
	end = path + 1 + strcspn(path + 1, "\n");
	/* The innermost component naming a container wins (nested runtimes). */
	for (c = path + 1; c < end;) {
		const char *slash = memchr(c, '/', (size_t)(end - c));
		size_t n = slash ? (size_t)(slash - c) : (size_t)(end - c);
		struct mace_cgroup_id id;

		if (n >= 8 && !memcmp(c, "kubepods", 8))
			kubepods = true;
		if (n && component_id(c, n, parent, pn, kubepods, &id)) {
			*out = id;
			found = true;
		}
		parent = c;
		pn = n;
		c += n + 1;
	}
	return found ? 0 : -ENOENT;
}

int mace__cgroup_of_pid(int pid, struct mace_cgroup_id *out)
{
	char file[64], line[1024];
	int ret = -ENOENT;
	FILE *f;

	snprintf(file, sizeof(file), "/proc/%d/cgroup", pid);
	f = fopen(file, "re");
	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f))
		ret = mace__cgroup_parse_line(line, out);
	fclose(f);
	return ret;
}
