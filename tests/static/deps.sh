#!/bin/sh
# Touching a header rebuilds its users: every object's .d file (make's -MMD)
# names each header its source includes directly from the tree.
. tests/lib.sh
B=${B:-build}
bad=
n=0
for src in lib/*.c cli/*.c; do
	dir=${src%%/*}
	base=${src##*/}
	d=$B/$dir/${base%.c}.d
	if [ ! -f "$d" ]; then
		bad="$bad $d(missing)"
		continue
	fi
	for h in $(sed -n 's/^#include "\([^"]*\.h\)"/\1/p' "$src"); do
		case $h in mace.skel.h) continue ;; esac
		n=$((n + 1))
		grep -q "[ /]${h##*/}\( \|\$\|:\)" "$d" || bad="$bad $d($h)"
	done
done
if [ -n "$bad" ]; then
	fail header_deps "not in the dependency file:$bad"
else
	pass "header_deps ($n includes)"
fi
lib_status
