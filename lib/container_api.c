/* SPDX-License-Identifier: MIT */
/*
 * One container runtime's Engine API over its unix socket (Docker, and
 * Podman's compatible service): GET /containers/json lists the running
 * containers with their names, images and labels; GET /containers/{id}/json
 * gives the pid, asked once per container start.  libcurl speaks HTTP,
 * json-c reads the answers; every request has a timeout, so a hung daemon
 * costs at most that.
 */
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container.h"
#include "mace_int.h"

#define MAX_ANSWER (16u << 20)	/* a list of thousands of containers fits */

struct ctr_api {
	char runtime[16];
	char *socket;
	CURL *curl;
	char *buf;
	size_t len, cap;
	bool said;		/* an error was said: say the next only after a success */
	struct ctr_api_entry *v, *old;
	unsigned int n, cap_v, nold, cap_old;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_ret;

static void curl_init(void)
{
	curl_init_ret = curl_global_init(CURL_GLOBAL_NOTHING);
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct ctr_api *a = arg;
	size_t len = size * n;

	if (a->len + len + 1 > MAX_ANSWER)
		return 0;	/* curl fails the transfer */
	if (a->len + len + 1 > a->cap) {
		size_t cap = a->cap ? a->cap : 16384;
		char *b;

		while (cap < a->len + len + 1)
			cap *= 2;
		b = realloc(a->buf, cap);
		if (!b)
			return 0;
		a->buf = b;
		a->cap = cap;
	}
	memcpy(a->buf + a->len, p, len);
	a->len += len;
	a->buf[a->len] = '\0';
	return len;
}

struct ctr_api *mace__ctr_api_new(const char *runtime, const char *socket, unsigned int timeout_ms)
{
	struct ctr_api *a;

	pthread_once(&curl_once, curl_init);
	if (curl_init_ret != CURLE_OK) {
		errno = ENOMEM;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	snprintf(a->runtime, sizeof(a->runtime), "%s", runtime);
	a->socket = strdup(socket);
	a->curl = curl_easy_init();
	if (!a->socket || !a->curl) {
		mace__ctr_api_free(a);
		errno = ENOMEM;
		return NULL;
	}
	curl_easy_setopt(a->curl, CURLOPT_UNIX_SOCKET_PATH, a->socket);
	curl_easy_setopt(a->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(a->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	/* no SIGALRM for timeouts: we may run in a thread */
	curl_easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, a);
	return a;
}

const char *mace__ctr_api_runtime(const struct ctr_api *a)
{
	return a->runtime;
}

/* GET path; the parsed answer, or NULL with *ret set. */
static json_object *get(struct ctr_api *a, const char *path, int *ret)
{
	char url[512];
	long status = 0;
	CURLcode rc;
	json_object *j;

	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(a->curl, CURLOPT_URL, url);
	a->len = 0;
	rc = curl_easy_perform(a->curl);
	if (rc == CURLE_COULDNT_CONNECT) {
		/* no socket, or nobody listening: this runtime is not here */
		struct stat st;

		*ret = stat(a->socket, &st) ? -ENOENT : -ECONNREFUSED;
		return NULL;
	}
	if (rc != CURLE_OK) {
		*ret = rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
		if (!a->said)
			mace_warn("%s API at %s: GET %s: %s", a->runtime, a->socket, path,
				  curl_easy_strerror(rc));
		a->said = true;
		return NULL;
	}
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status == 404 && strcmp(path, "/containers/json")) {
		*ret = -ENOENT;	/* the container went meanwhile */
		return NULL;
	}
	j = status == 200 ? json_tokener_parse(a->buf ? a->buf : "") : NULL;
	if (!j) {
		*ret = -EPROTO;
		if (!a->said)
			mace_warn("%s API at %s: GET %s: %s%ld: %.200s", a->runtime, a->socket,
				  path, status == 200 ? "unreadable JSON, HTTP " : "HTTP ",
				  status, a->buf && a->len ? a->buf : "(empty)");
		a->said = true;
		return NULL;
	}
	return j;
}

static const char *str(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return "";
	return json_object_get_string(v);
}

static json_object *member(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* The pid of a container from its inspection; 0 if not running. */
static int inspect_pid(struct ctr_api *a, const char *id, int *ret)
{
	char path[160];
	json_object *j;
	int pid;

	snprintf(path, sizeof(path), "/containers/%s/json", id);
	j = get(a, path, ret);
	if (!j)
		return 0;
	pid = json_object_get_int(member(member(j, "State"), "Pid"));
	json_object_put(j);
	*ret = 0;
	return pid;
}

/* The pid known from the last list, if that process still lives. */
static int known_pid(const struct ctr_api *a, const char *id)
{
	char p[64];

	for (unsigned int i = 0; i < a->nold; i++) {
		if (strcmp(a->old[i].id, id))
			continue;
		snprintf(p, sizeof(p), "/proc/%d", a->old[i].pid);
		return a->old[i].pid > 0 && !access(p, F_OK) ? a->old[i].pid : 0;
	}
	return 0;
}

static void fill(struct ctr_api_entry *e, json_object *c)
{
	json_object *names = member(c, "Names"), *labels = member(c, "Labels");
	const char *name = "";

	memset(e, 0, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", str(c, "Id"));
	if (names && json_object_is_type(names, json_type_array) &&
	    json_object_array_length(names) > 0)
		name = json_object_get_string(json_object_array_get_idx(names, 0));
	if (name && *name == '/')
		name++;		/* Docker's names start with '/' */
	snprintf(e->name, sizeof(e->name), "%s", name ? name : "");
	snprintf(e->image, sizeof(e->image), "%s", str(c, "Image"));
	snprintf(e->pod, sizeof(e->pod), "%s", str(labels, "io.kubernetes.pod.name"));
	snprintf(e->pod_namespace, sizeof(e->pod_namespace), "%s",
		 str(labels, "io.kubernetes.pod.namespace"));
	snprintf(e->pod_container, sizeof(e->pod_container), "%s",
		 str(labels, "io.kubernetes.container.name"));
}

int mace__ctr_api_list(struct ctr_api *a, const struct ctr_api_entry **out, unsigned int *nout)
{
	struct ctr_api_entry *t;
	json_object *j;
	size_t n;
	int ret = 0;

	*out = NULL;
	*nout = 0;
	j = get(a, "/containers/json", &ret);
	if (!j)
		return ret;
	if (!json_object_is_type(j, json_type_array)) {
		json_object_put(j);
		if (!a->said)
			mace_warn("%s API at %s: GET /containers/json: not a list", a->runtime,
				  a->socket);
		a->said = true;
		return -EPROTO;
	}
	/* this list becomes the old one, for the pids already known */
	t = a->old;
	a->old = a->v;
	a->nold = a->n;
	a->v = t;
	a->n = 0;
	n = a->cap_old;
	a->cap_old = a->cap_v;
	a->cap_v = (unsigned int)n;
	n = json_object_array_length(j);
	if (n > a->cap_v) {
		t = realloc(a->v, n * sizeof(*t));
		if (!t) {
			json_object_put(j);
			return -ENOMEM;
		}
		a->v = t;
		a->cap_v = (unsigned int)n;
	}
	for (size_t i = 0; i < n; i++) {
		struct ctr_api_entry *e = &a->v[a->n];
		int r = 0;

		fill(e, json_object_array_get_idx(j, i));
		if (!e->id[0])
			continue;
		e->pid = known_pid(a, e->id);
		if (!e->pid)
			e->pid = inspect_pid(a, e->id, &r);
		if (r == -ENOENT || (!r && e->pid <= 0))
			continue;	/* gone or stopped meanwhile */
		if (r) {
			ret = r;
			break;
		}
		a->n++;
	}
	json_object_put(j);
	if (!ret)
		a->said = false;
	*out = a->v;
	*nout = a->n;
	return ret;
}

void mace__ctr_api_free(struct ctr_api *a)
{
	if (!a)
		return;
	if (a->curl)
		curl_easy_cleanup(a->curl);
	free(a->socket);
	free(a->buf);
	free(a->v);
	free(a->old);
	free(a);
}
