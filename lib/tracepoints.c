/* SPDX-License-Identifier: MIT */
/* The tracepoints and roles a path may name. */
#include <string.h>

#include "mace_int.h"

static const struct mace_tp_info tps[MACE_TP_COUNT] = {
	[MACE_TP_NET_DEV_QUEUE] = { "net_dev_queue", "net", MACE_TPK_PACKET },
	[MACE_TP_NET_DEV_START_XMIT] = { "net_dev_start_xmit", "net", MACE_TPK_PACKET },
	[MACE_TP_NET_DEV_XMIT] = { "net_dev_xmit", "net", MACE_TPK_PACKET },
	[MACE_TP_NETIF_RECEIVE_SKB] = { "netif_receive_skb", "net", MACE_TPK_PACKET },
	[MACE_TP_NETIF_RECEIVE_SKB_ENTRY] = { "netif_receive_skb_entry", "net", MACE_TPK_PACKET },
	[MACE_TP_NETIF_RECEIVE_SKB_LIST_ENTRY] = { "netif_receive_skb_list_entry", "net",
						   MACE_TPK_PACKET },
	[MACE_TP_NETIF_RX] = { "netif_rx", "net", MACE_TPK_PACKET },
	[MACE_TP_NETIF_RX_ENTRY] = { "netif_rx_entry", "net", MACE_TPK_PACKET },
	[MACE_TP_NAPI_GRO_RECEIVE_ENTRY] = { "napi_gro_receive_entry", "net", MACE_TPK_PACKET },
	[MACE_TP_NAPI_GRO_FRAGS_ENTRY] = { "napi_gro_frags_entry", "net", MACE_TPK_PACKET },
	[MACE_TP_SYS_ENTER_SENDTO] = { "sys_enter_sendto", "syscalls", MACE_TPK_SYS_ENTER, MACE_EGRESS },
	[MACE_TP_SYS_ENTER_SENDMSG] = { "sys_enter_sendmsg", "syscalls", MACE_TPK_SYS_ENTER, MACE_EGRESS },
	[MACE_TP_SYS_ENTER_SENDMMSG] = { "sys_enter_sendmmsg", "syscalls", MACE_TPK_SYS_ENTER,
					 MACE_EGRESS },
	[MACE_TP_SYS_ENTER_WRITE] = { "sys_enter_write", "syscalls", MACE_TPK_SYS_ENTER, MACE_EGRESS },
	[MACE_TP_SYS_EXIT_RECVFROM] = { "sys_exit_recvfrom", "syscalls", MACE_TPK_SYS_EXIT,
					MACE_INGRESS },
	[MACE_TP_SYS_EXIT_RECVMSG] = { "sys_exit_recvmsg", "syscalls", MACE_TPK_SYS_EXIT, MACE_INGRESS },
	[MACE_TP_SYS_EXIT_RECVMMSG] = { "sys_exit_recvmmsg", "syscalls", MACE_TPK_SYS_EXIT,
					MACE_INGRESS },
	[MACE_TP_SYS_EXIT_READ] = { "sys_exit_read", "syscalls", MACE_TPK_SYS_EXIT, MACE_INGRESS },
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
