/* SPDX-License-Identifier: MIT */
/*
 * Mounts tracefs where both backends look for it.  `ip netns exec` gives
 * the command a fresh /sys without tracefs, so a tracer started that way
 * (mace-ping in a container netns) would find no events to enable or attach.
 */
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>

#include "mace_int.h"

#define TRACEFS_MAGIC_NR 0x74726163

int mace__tracefs_mount(const char *who, char *err, size_t errlen)
{
	struct statfs sfs;
	int e;

	if (!statfs(MACE_TRACEFS_DIR, &sfs) && sfs.f_type == TRACEFS_MAGIC_NR)
		return 0;
	if (mount("nodev", MACE_TRACEFS_DIR, "tracefs", 0, NULL)) {
		e = errno;
		snprintf(err, errlen, "%s: tracefs is not mounted at %s and mounting it failed: %s%s",
			 who, MACE_TRACEFS_DIR, strerror(e), e == EPERM ? " (needs root)" : "");
		return -e;
	}
	/* In a private mount namespace (ip netns exec) the mount goes with it. */
	mace_info("%s: mounted tracefs at %s", who, MACE_TRACEFS_DIR);
	return 0;
}
