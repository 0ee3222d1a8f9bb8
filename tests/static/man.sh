#!/bin/sh
# The manual pages pass mandoc's lint at warning level (make man-lint), and
# those with a .TH line (man(7), not mdoc) name the version include/mace.h
# defines.
. tests/lib.sh
if out=$(make -s --no-print-directory man-lint 2>&1); then
	pass man_lint
else
	fail man_lint "$(printf '%s\n' "$out" | head -3 | tr '\n' ' ')"
fi
v=$(awk '/^#define MACE_VERSION_(MAJOR|MINOR|PATCH) / { v = v s $3; s = "." } END { print v }' \
	include/mace.h)
bad=
for m in $(grep -l '^\.TH ' man/*.[0-9]); do
	grep '^\.TH ' "$m" | grep -q "\"[a-z]* $v\"" || bad="$bad $m"
done
if [ -n "$bad" ]; then
	fail man_version "not version $v on the .TH line:$bad"
else
	pass "man_version ($v)"
fi
lib_status
