/* SPDX-License-Identifier: MIT */
/* The privileges a live session needs, read once and named when missing. */
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mace_int.h"

/* Older headers lack these names. */
#define CAP_PERFMON_NR 38
#define CAP_BPF_NR 39

int mace__privs_read(struct mace_privs *p)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
#define HAS(cap) (!!(data[(cap) / 32].effective & (1u << ((cap) % 32))))
	p->admin = HAS(CAP_SYS_ADMIN);
	p->bpf = HAS(CAP_BPF_NR);
	p->perfmon = HAS(CAP_PERFMON_NR);
#undef HAS
	p->root = geteuid() == 0;
	return 0;
}

bool mace__privs_bpf(const struct mace_privs *p, char *missing, size_t size)
{
	if (p->admin || (p->bpf && p->perfmon))
		return true;
	snprintf(missing, size, "%s%s%s", p->bpf ? "" : "CAP_BPF",
		 !p->bpf && !p->perfmon ? " and " : "", p->perfmon ? "" : "CAP_PERFMON");
	return false;
}

/* Appends "; what" to a message being built in buf. */
static void say_missing(char *buf, size_t size, const char *what)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s%s", len ? "; " : "", what);
}

int mace__check_privileges(enum mace_backend_kind kind)
{
	struct mace_privs p;
	char miss[512] = "", caps[64] = "", ebpf[160];
	bool bpf_ok, ftrace_ok;
	int ret = mace__privs_read(&p);

	if (ret) {
		mace_err("capget: %s", strerror(-ret));
		return ret;
	}
	bpf_ok = mace__privs_bpf(&p, caps, sizeof(caps));
	ftrace_ok = p.root;
	snprintf(ebpf, sizeof(ebpf), "%s, or CAP_SYS_ADMIN (eBPF backend: loading and "
		 "attaching programs)", caps);
	if (!p.admin)
		say_missing(miss, sizeof(miss), "CAP_SYS_ADMIN (binding: entering the container "
			    "and host network namespaces)");
	if (kind == MACE_BACKEND_BPF && !bpf_ok)
		say_missing(miss, sizeof(miss), ebpf);
	if (kind == MACE_BACKEND_FTRACE && !ftrace_ok)
		say_missing(miss, sizeof(miss), "root (ftrace backend: creating a tracefs instance)");
	if (kind == MACE_BACKEND_AUTO && !bpf_ok && !ftrace_ok) {
		say_missing(miss, sizeof(miss), ebpf);
		say_missing(miss, sizeof(miss), "or else root (ftrace backend: creating a tracefs "
			    "instance)");
	}
	if (!miss[0])
		return 0;
	mace_err("missing privileges: %s", miss);
	return -EPERM;
}
