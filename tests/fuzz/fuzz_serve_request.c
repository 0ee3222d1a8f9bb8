/* SPDX-License-Identifier: MIT */
/*
 * Serve request parser fuzzer: a byte stream is cut into requests as the
 * server does; each is complete, incomplete or refused with a reason, and a
 * parsed request encodes back to the very bytes it came from.
 */
#include <stdlib.h>
#include <string.h>

#include "serve_proto.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	uint8_t again[MACE_SP_REQ_HDR + MACE_SP_MAX_REQ_BODY];
	struct mace_sp_request req;
	char msg[MACE_SP_MAX_MSG];
	size_t off = 0;

	while (off < size) {
		int n = mace__sp_parse_request(data + off, size - off, &req, msg, sizeof(msg));

		if (n == 0)
			break;
		if (n < 0) {
			if (!msg[0])
				abort();	/* a refusal always says why */
			break;
		}
		if ((size_t)n > size - off || n > (int)sizeof(again))
			abort();
		if (mace__sp_encode_request(&req, again) != (size_t)n ||
		    memcmp(again, data + off, n))
			abort();
		off += n;
	}
	return 0;
}
