/* SPDX-License-Identifier: MIT */
/* The tracepoints and roles a path may name. */
#include <string.h>

#include "mace_int.h"

/* A path point is a mask of tracepoints (struct mace_point); events carry a __u8. */
_Static_assert(MACE_TP_COUNT <= 32, "one bit per tracepoint in a __u32 mask");

static const struct mace_tp_info tps[MACE_TP_COUNT] = {
#define X(ID, name, system, kind, side, args) \
	[MACE_TP_##ID] = { #name, #system, MACE_TPK_##kind, SIDE_IS_TX_##side },
#define SIDE_IS_TX_tx true
#define SIDE_IS_TX_rx false
	MACE_TRACEPOINTS(X)
#undef SIDE_IS_TX_rx
#undef SIDE_IS_TX_tx
#undef X
};

static const char *const roles[MACE_ROLE_COUNT] = {
	[MACE_ROLE_CONTAINER] = "container", [MACE_ROLE_HOST_VETH] = "host-veth",
	[MACE_ROLE_BRIDGE] = "bridge",	     [MACE_ROLE_TUNNEL] = "tunnel",
	[MACE_ROLE_TUN] = "tun",	     [MACE_ROLE_OUTER] = "outer",
};

const struct mace_tp_info *mace__tp_info(enum mace_tp tp)
{
	if (tp <= MACE_TP_NONE || tp >= MACE_TP_COUNT)
		return NULL;
	return &tps[tp];
}

enum mace_tp mace__tp_by_name(const char *name)
{
	const char *colon = strchr(name, ':');
	size_t syslen = colon ? (size_t)(colon - name) : 0;

	for (int i = 1; i < MACE_TP_COUNT; i++) {
		if (colon && (strlen(tps[i].system) != syslen ||
			      strncmp(tps[i].system, name, syslen)))
			continue;
		if (!strcmp(tps[i].name, colon ? colon + 1 : name))
			return i;
	}
	return MACE_TP_NONE;
}

const char *mace__role_name(enum mace_role role)
{
	if (role <= MACE_ROLE_NONE || role >= MACE_ROLE_COUNT)
		return "none";
	return roles[role];
}

enum mace_role mace__role_by_name(const char *name)
{
	for (int i = 1; i < MACE_ROLE_COUNT; i++)
		if (!strcmp(roles[i], name))
			return i;
	return MACE_ROLE_NONE;
}
