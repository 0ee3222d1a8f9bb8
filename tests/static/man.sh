#!/bin/sh
# The manual pages pass mandoc's lint at warning level (make man-lint).
. tests/lib.sh
if out=$(make -s --no-print-directory man-lint 2>&1); then
	pass man_lint
else
	fail man_lint "$(printf '%s\n' "$out" | head -3 | tr '\n' ' ')"
fi
lib_status
