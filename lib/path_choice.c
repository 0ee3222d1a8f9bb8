/* SPDX-License-Identifier: MIT */
/* Which shipped path matches where a measurement tool takes its timestamps. */
#include "mace_int.h"

MACE_EXPORT const char *mace_path_for_rx_stamp(enum mace_rx_stamp how)
{
	switch (how) {
	case MACE_RX_KERNEL:
		/* The reply is stamped at the device's receive entry, natively at
		 * the outer device, in the container at the container device. */
		return "rx-stamp";
	case MACE_RX_USER:
		/* The reply is timed after the stack handed it to the socket: the expense
		 * lies between the two devices' protocol handlers. */
		return "inner-dev";
	}
	return NULL;
}
