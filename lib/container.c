/* SPDX-License-Identifier: MIT */
/*
 * Whose netns it is: every netns found in /proc and /run/netns, named by the
 * runtimes' APIs, else by the cgroup path of its lowest task, else by its ip
 * netns name, else by that task.  Lookups read the last snapshot under a
 * lock and never wait for a daemon: a thread (or the caller, with
 * mace_containers_refresh) builds the next one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "container.h"
#include "mace_int.h"
#include "netns.h"

#define DEFAULT_DOCKER_SOCK "/run/docker.sock"
#define DEFAULT_PODMAN_SOCK "/run/podman/podman.sock"
#define DEFAULT_TIMEOUT_MS 500

struct snapshot {
	unsigned int n, cap;
	struct mace_container *v;
};

struct mace_containers {
	struct ctr_api *api[2];		/* docker, podman; NULL: not asked */
	pthread_mutex_t refresh_lock;	/* one refresh at a time (the APIs' handles) */
	pthread_mutex_t lock;		/* snap, stop, wanted */
	pthread_cond_t cond;
	struct snapshot snap;
	unsigned int refresh_ms;
	bool thread, stop, wanted;
	pthread_t tid;
};

/* unix://PATH from an environment variable, else def. */
static const char *socket_path(const char *given, const char *env, const char *def)
{
	const char *v = getenv(env);

	if (given)
		return given;
	if (v && !strncmp(v, "unix://", 7))
		return v + 7;
	return def;
}

static struct mace_container *snap_get(struct snapshot *s, __u32 netns)
{
	for (unsigned int i = 0; i < s->n; i++)
		if (s->v[i].netns == netns)
			return &s->v[i];
	return NULL;
}

static struct mace_container *snap_add(struct snapshot *s, __u32 netns)
{
	struct mace_container *c = snap_get(s, netns);

	if (c)
		return c;
	if (s->n == s->cap) {
		unsigned int cap = s->cap ? s->cap * 2 : 64;
		struct mace_container *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	c = &s->v[s->n++];
	memset(c, 0, sizeof(*c));
	c->sz = sizeof(*c);
	c->netns = netns;
	return c;
}

static int add_named(const char *path, const char *name, __u32 ino, void *arg)
{
	struct mace_container *c = snap_add(arg, ino);

	if (!c)
		return -ENOMEM;
	if (!c->name[0])
		snprintf(c->name, sizeof(c->name), "%s", name);
	return 0;
}

static int add_pid(const char *pid, __u32 ino, void *arg)
{
	struct mace_container *c = snap_add(arg, ino);
	int p = atoi(pid);

	if (!c)
		return -ENOMEM;
	if (!c->pid || p < c->pid)
		c->pid = p;
	return 0;
}

static int api_entries(struct snapshot *s, struct ctr_api *api)
{
	const struct ctr_api_entry *v;
	unsigned int n;
	int ret = mace__ctr_api_list(api, &v, &n);

	for (unsigned int i = 0; i < n; i++) {
		char p[64];
		struct stat st;
		struct mace_container *c;

		snprintf(p, sizeof(p), "/proc/%d/ns/net", v[i].pid);
		if (stat(p, &st))
			continue;	/* exited since */
		c = snap_add(s, (__u32)st.st_ino);
		if (!c)
			return -ENOMEM;
		/* containers sharing a netns (a pod): the first named keeps it */
		if (c->id[0])
			continue;
		snprintf(c->runtime, sizeof(c->runtime), "%s", mace__ctr_api_runtime(api));
		snprintf(c->id, sizeof(c->id), "%s", v[i].id);
		snprintf(c->name, sizeof(c->name), "%s", v[i].name);
		snprintf(c->image, sizeof(c->image), "%s", v[i].image);
		snprintf(c->pod, sizeof(c->pod), "%s", v[i].pod);
		snprintf(c->pod_namespace, sizeof(c->pod_namespace), "%s", v[i].pod_namespace);
		snprintf(c->pod_container, sizeof(c->pod_container), "%s", v[i].pod_container);
		if (!c->pid || v[i].pid < c->pid)
			c->pid = v[i].pid;
	}
	/* a runtime that is not there is no error */
	return ret == -ENOENT || ret == -ECONNREFUSED ? 0 : ret;
}

/* Builds a snapshot: APIs first, then cgroup paths, ip netns names, pids. */
static int build(struct mace_containers *m, struct snapshot *s)
{
	int ret;

	s->n = 0;
	for (unsigned int i = 0; i < ARRAY_SIZE(m->api); i++) {
		if (!m->api[i])
			continue;
		ret = api_entries(s, m->api[i]);
		/* other errors were said by the API; /proc still names */
		if (ret == -ENOMEM)
			return ret;
	}
	ret = mace__netns_for_each_named(add_named, s);
	if (!ret)
		ret = mace__netns_for_each_pid(add_pid, s);
	if (ret)
		return ret;
	for (unsigned int i = 0; i < s->n; i++) {
		struct mace_container *c = &s->v[i];
		struct mace_cgroup_id cg;

		if (c->id[0] || !c->pid || mace__cgroup_of_pid(c->pid, &cg))
			continue;
		snprintf(c->runtime, sizeof(c->runtime), "%s", cg.runtime);
		snprintf(c->id, sizeof(c->id), "%s", cg.id);
		if (!c->name[0])
			snprintf(c->name, sizeof(c->name), "%.12s", cg.id);
	}
	for (unsigned int i = 0; i < s->n; i++)
		if (!s->v[i].name[0])
			snprintf(s->v[i].name, sizeof(s->v[i].name), "pid %d", s->v[i].pid);
	return 0;
}

MACE_EXPORT int mace_containers_refresh(struct mace_containers *m)
{
	struct snapshot next = { 0 }, old;
	int ret;

	if (!m)
		return -EINVAL;
	pthread_mutex_lock(&m->refresh_lock);
	/* reuse the capacity of nothing: the old snapshot is still being read */
	ret = build(m, &next);
	pthread_mutex_unlock(&m->refresh_lock);
	if (ret) {
		free(next.v);
		return ret;
	}
	pthread_mutex_lock(&m->lock);
	old = m->snap;
	m->snap = next;
	pthread_mutex_unlock(&m->lock);
	free(old.v);
	return 0;
}

static void *refresher(void *arg)
{
	struct mace_containers *m = arg;

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		struct timespec t;

		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += m->refresh_ms / 1000;
		t.tv_nsec += (long)(m->refresh_ms % 1000) * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		while (!m->stop && !m->wanted &&
		       pthread_cond_timedwait(&m->cond, &m->lock, &t) != ETIMEDOUT)
			;
		if (m->stop)
			break;
		m->wanted = false;
		pthread_mutex_unlock(&m->lock);
		mace_containers_refresh(m);
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

MACE_EXPORT struct mace_containers *
mace_containers_new(const struct mace_containers_opts *opts)
{
	struct mace_containers_opts o;
	const char *sock[2];
	static const char *const runtime[2] = { "docker", "podman" };
	struct mace_containers *m;
	int ret;

	if (MACE_ABI_IN(mace_containers_opts, &o, opts)) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	pthread_mutex_init(&m->refresh_lock, NULL);
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	sock[0] = socket_path(o.docker_socket, "DOCKER_HOST", DEFAULT_DOCKER_SOCK);
	sock[1] = socket_path(o.podman_socket, "CONTAINER_HOST", DEFAULT_PODMAN_SOCK);
	for (unsigned int i = 0; i < 2; i++) {
		if (!*sock[i])
			continue;
		m->api[i] = mace__ctr_api_new(runtime[i], sock[i],
					o.timeout_ms ? o.timeout_ms : DEFAULT_TIMEOUT_MS);
		if (!m->api[i])
			goto fail;
	}
	ret = mace_containers_refresh(m);
	if (ret) {
		errno = -ret;
		goto fail;
	}
	m->refresh_ms = o.refresh_ms;
	if (m->refresh_ms) {
		ret = pthread_create(&m->tid, NULL, refresher, m);
		if (ret) {
			errno = ret;
			goto fail;
		}
		m->thread = true;
	}
	return m;
fail:
	ret = errno;
	mace_containers_free(m);
	errno = ret;
	return NULL;
}

static int copy_out(const struct mace_container *c, struct mace_container *out)
{
	return MACE_ABI_OUT(mace_container, out, c);
}

MACE_EXPORT int mace_containers_find(struct mace_containers *m, uint32_t netns,
				     struct mace_container *out)
{
	const struct mace_container *c;
	int ret = -ENOENT;

	if (!m || !out)
		return -EINVAL;
	pthread_mutex_lock(&m->lock);
	c = snap_get(&m->snap, netns);
	if (c) {
		ret = copy_out(c, out);
	} else if (m->thread) {
		/* a new netns: look again now, off this thread */
		m->wanted = true;
		pthread_cond_signal(&m->cond);
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

MACE_EXPORT const char *mace_container_label(const struct mace_container *c, char *buf,
					     size_t size)
{
	if (c->pod[0] && c->pod_namespace[0])
		snprintf(buf, size, "%s/%s", c->pod, c->pod_namespace);
	else
		snprintf(buf, size, "%s", c->name);
	return buf;
}

/* Edits (insert, delete, replace) from a to b, up to 64 characters each. */
static unsigned int distance(const char *a, const char *b)
{
	unsigned int row[65], la = strlen(a), lb = strlen(b);

	if (la > 64 || lb > 64)
		return ~0u;
	for (unsigned int j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned int i = 1; i <= la; i++) {
		unsigned int diag = row[0];

		row[0] = i;
		for (unsigned int j = 1; j <= lb; j++) {
			unsigned int up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* Close to spec: a typo away (one edit in three characters), or containing it. */
static bool close_to(const char *name, const char *spec)
{
	size_t n = strlen(spec);

	return *name && (strstr(name, spec) || distance(name, spec) <= (n < 3 ? 1 : n / 3));
}

static void list_names(char *err, size_t errlen, const struct mace_container *const *v,
		       unsigned int n)
{
	size_t len = strlen(err);

	for (unsigned int i = 0; i < n && len + 1 < errlen; i++) {
		snprintf(err + len, errlen - len, "%s%s (%s %.12s)", i ? ", " : ": ", v[i]->name,
			 v[i]->runtime, v[i]->id);
		len = strlen(err);
	}
}

MACE_EXPORT int mace_containers_select(struct mace_containers *m, const char *spec,
			   struct mace_container *out, char *err, size_t errlen)
{
	const struct mace_container *hits[8], *close[8];
	unsigned int nhits = 0, nclose = 0, ncontainers = 0;
	size_t slen = spec ? strlen(spec) : 0;
	int ret = 0;

	if (!m || !out || !spec || (!err && errlen))
		return -EINVAL;
	if (errlen)
		err[0] = '\0';
	pthread_mutex_lock(&m->lock);
	for (int pass = 0; pass < 2 && !nhits; pass++) {
		for (unsigned int i = 0; i < m->snap.n; i++) {
			const struct mace_container *c = &m->snap.v[i];
			bool hit;

			if (!c->id[0])
				continue;	/* not a container */
			ncontainers += !pass;
			/* exact names and IDs first, then ID prefixes */
			if (!pass)
				hit = !strcmp(c->name, spec) || !strcmp(c->id, spec) ||
				      !strcmp(c->pod, spec);
			else
				hit = slen && !strncmp(c->id, spec, slen);
			if (hit && nhits < ARRAY_SIZE(hits))
				hits[nhits++] = c;
			else if (hit)
				nhits++;
			else if (!pass && nclose < ARRAY_SIZE(close) &&
				 (close_to(c->name, spec) || close_to(c->id, spec)))
				close[nclose++] = c;
		}
	}
	if (nhits == 1) {
		ret = copy_out(hits[0], out);
	} else if (nhits > 1) {
		ret = -EEXIST;
		if (errlen) {
			snprintf(err, errlen, "container '%s' is ambiguous, %u match", spec, nhits);
			list_names(err, errlen, hits, nhits < ARRAY_SIZE(hits) ? nhits :
				   ARRAY_SIZE(hits));
		}
	} else {
		ret = -ENOENT;
		if (errlen) {
			snprintf(err, errlen, "no container '%s' among %u%s", spec, ncontainers,
				 nclose ? "; close matches" : " (see docker ps, podman ps)");
			list_names(err, errlen, close, nclose);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return ret;
}

void mace__binding_name_containers(struct mace_binding *b, struct mace_containers *m)
{
	for (unsigned int i = 0; i < b->ndev; i++) {
		struct mace_bound_dev *d = &b->dev[i];
		struct mace_container c = { .sz = sizeof(c) };
		char label[sizeof(c.pod) + sizeof(c.pod_namespace)];

		if (d->role != MACE_ROLE_CONTAINER || mace_containers_find(m, d->netns, &c) ||
		    !c.id[0])
			continue;
		mace_container_label(&c, label, sizeof(label));
		snprintf(d->netns_name, sizeof(d->netns_name), "%.*s",
			 (int)sizeof(d->netns_name) - 1, label);
	}
}

MACE_EXPORT void mace_containers_free(struct mace_containers *m)
{
	if (!m)
		return;
	if (m->thread) {
		pthread_mutex_lock(&m->lock);
		m->stop = true;
		pthread_cond_signal(&m->cond);
		pthread_mutex_unlock(&m->lock);
		pthread_join(m->tid, NULL);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(m->api); i++)
		mace__ctr_api_free(m->api[i]);
	pthread_mutex_destroy(&m->refresh_lock);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cond);
	free(m->snap.v);
	free(m);
}
