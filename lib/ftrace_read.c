/* SPDX-License-Identifier: MIT */
/*
 * ftrace backend, reading side: per-CPU trace_pipe_raw sub-buffers parsed
 * with kbuffer, merged in timestamp order, fields read at offsets resolved
 * once per event type (no per-event allocation or name lookup), and the
 * lost-event counters of the instance.
 */
#include <errno.h>
#include <kbuffer.h>
#include <stdlib.h>
#include <string.h>
#include <tracefs.h>
#include <unistd.h>

#include "ftrace_int.h"

static __u64 rd(const void *data, const struct ft_field *f)
{
	const unsigned char *p = (const unsigned char *)data + f->off;

	switch (f->size) {
	case 1: return *p;
	case 2: { __u16 v; memcpy(&v, p, 2); return v; }
	case 4: { __u32 v; memcpy(&v, p, 4); return v; }
	case 8: { __u64 v; memcpy(&v, p, 8); return v; }
	}
	return 0;
}

static const struct mace_bound_dev *dev_of(struct mace_backend *b, const void *data, int size,
					   const struct ft_field *f)
{
	__u32 loc = rd(data, f);
	int off = (loc & 0xffff) + (f->rel ? f->off + f->size : 0), len = loc >> 16;
	const char *name = (const char *)data + off;

	if (off + len > size || len < 1)
		return NULL;
	len = strnlen(name, len);
	for (unsigned int k = 0; k < b->ndev; k++)
		if (!strncmp(b->devs[k]->name, name, len) && !b->devs[k]->name[len])
			return b->devs[k];
	return NULL;
}

/* A host veth's event standing in for its container's point (ftrace_plan.c):
 * its receive is the container's transmit, its transmit the container's
 * receive, for the container's netns and device. */
static void stand_in(const struct mace_backend *b, const struct mace_bound_dev *d,
		     struct mace_event *ev)
{
	const struct mace_binding *bd = b->cfg.binding;

	ev->tp = ev->tp == MACE_TP_NETIF_RECEIVE_SKB ? MACE_TP_NET_DEV_XMIT :
		 MACE_TP_NETIF_RECEIVE_SKB;
	ev->role = MACE_ROLE_CONTAINER;
	ev->netns = d->container_netns;
	for (unsigned int i = 0; i < bd->ndev; i++)
		if (bd->dev[i].role == MACE_ROLE_CONTAINER && bd->dev[i].netns == ev->netns)
			ev->ifindex = bd->dev[i].ifindex;
}

/* The slot of an skb address in b->seen (slab objects are aligned: mix). */
static __u64 *seen_slot(struct mace_backend *b, __u64 skb)
{
	__u64 h = skb * 0x9e3779b97f4a7c15ull;

	return &b->seen[(h >> 40) & (FT_SEEN_SLOTS - 1)];
}

static void feed_event(struct mace_backend *b, struct ft_stream *s)
{
	int size = kbuffer_event_size(s->kbuf);
	__u32 type = rd(s->data, &b->common_type);
	struct mace_event ev = { 0 };
	const struct ft_tp *t = NULL;

	for (unsigned int i = 0; i < b->ntp; i++)
		if (b->tps[i].id == (int)type) {
			t = &b->tps[i];
			break;
		}
	for (int i = 0; !t && i < FT_NFREE; i++) {
		if (b->frees[i].id != (int)type)
			continue;
		/* tp MACE_TP_NONE with an skb: mace_event_is_free */
		__u64 *slot;

		ev.ts = s->ts;
		ev.cpu = s->cpu;
		ev.skb = rd(s->data, &b->frees[i].skb);
		slot = seen_slot(b, ev.skb);
		/* only an skb seen at a point of the path may be pending */
		if (!ev.skb || *slot != ev.skb)
			return;
		*slot = 0;
		b->cfg.on_event(&ev, b->cfg.ctx);
		return;
	}
	if (!t) {
		b->user_drops++;	/* not an event we enabled: cannot happen */
		return;
	}
	ev.ts = s->ts;
	ev.cpu = s->cpu;
	ev.tid = rd(s->data, &b->common_pid);
	ev.tp = t->tp;
	if (t->info->kind == MACE_TPK_PACKET) {
		const struct mace_bound_dev *d = dev_of(b, s->data, size, &t->name);

		if (!d) {
			b->user_drops++;
			return;
		}
		ev.skb = rd(s->data, &t->skb);
		*seen_slot(b, ev.skb) = ev.skb;
		ev.len = rd(s->data, &t->len);
		ev.netns = d->netns;
		ev.ifindex = d->ifindex;
		ev.role = d->role;
		if (b->host_veth_standin && d->role == MACE_ROLE_HOST_VETH)
			stand_in(b, d, &ev);
	} else {
		__s64 n = t->len.size ? (__s64)rd(s->data, &t->len) : 0;

		ev.netns = mace__ft_tasks_netns(&b->tasks, ev.tid);
		if (!ev.netns) {
			b->user_drops++;	/* task left before we learnt its netns */
			return;
		}
		if (t->len.size == 4)
			n = (__s32)n;
		ev.len = n > 0 ? (n > UINT32_MAX ? UINT32_MAX : n) : 0;
		ev.role = MACE_ROLE_CONTAINER;
	}
	b->cfg.on_event(&ev, b->cfg.ctx);
}

/* Loads the next event of s, reading a sub-buffer if needed.  0 or -errno. */
static int next_event(struct mace_backend *b, struct ft_stream *s)
{
	if (s->data)
		s->data = kbuffer_next_event(s->kbuf, &s->ts);
	while (!s->data && !s->dry) {
		ssize_t n = read(s->fd, s->page, b->subbuf);

		if (n <= 0) {
			s->dry = true;
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return -errno;
			break;
		}
		if (kbuffer_load_subbuffer(s->kbuf, s->page) < 0)
			return -EIO;
		s->data = kbuffer_read_event(s->kbuf, &s->ts);
	}
	return 0;
}

/* Events after cutoff wait for the next round, so a CPU read earlier in this
 * round cannot fall behind one read later. */
int mace__ft_drain(struct mace_backend *b, __u64 cutoff)
{
	int fed = 0, ret;

	for (int i = 0; i < b->nst; i++) {
		b->st[i].dry = false;
		/* a stream may still hold an event kept back by the last cutoff */
		ret = b->st[i].data ? 0 : next_event(b, &b->st[i]);
		if (ret)
			goto err;
	}
	for (;;) {
		struct ft_stream *min = NULL;

		for (int i = 0; i < b->nst; i++)
			if (b->st[i].data && (!min || b->st[i].ts < min->ts))
				min = &b->st[i];
		if (!min || min->ts > cutoff)
			break;
		feed_event(b, min);
		fed++;
		ret = next_event(b, min);
		if (ret)
			goto err;
	}
	return fed;
err:
	mace_err("ftrace: reading %s/instances/%s: %s", TRACEFS_DIR, b->inst_name,
		 strerror(-ret));
	return ret;
}

/* lost = overruns + dropped events summed over the CPUs of our instance. */
void mace__ft_read_stats(struct mace_backend *b)
{
	static const char *const keys[] = { "overrun: ", "commit overrun: ", "dropped events: " };
	__u64 lost = 0;

	for (int i = 0; i < b->nst; i++) {
		char file[64], *txt;

		snprintf(file, sizeof(file), "per_cpu/cpu%d/stats", b->st[i].cpu);
		txt = tracefs_instance_file_read(b->inst, file, NULL);
		if (!txt) {
			mace_warn("ftrace: cannot read %s of %s", file, b->inst_name);
			return;
		}
		for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
			char *p = strstr(txt, keys[k]);

			/* "overrun: " also ends "commit overrun: ": want line starts */
			while (p && p != txt && p[-1] != '\n')
				p = strstr(p + 1, keys[k]);
			if (p)
				lost += strtoull(p + strlen(keys[k]), NULL, 10);
		}
		free(txt);
	}
	b->lost = lost;
}
