#!/bin/sh
# Runs every test and prints "N passed, N failed, N skipped" last.
# Tests print lines "PASS name", "FAIL name: why", "SKIP name: why".
# MACE_ONLY=unit runs only the unit tests.  With MACE_REQUIRE_KERNEL=1 a
# skipped test counts as failed (CI).
B=${B:-build}
log=$(mktemp /tmp/mace-check.XXXXXX)
trap 'rm -f "$log"' EXIT

run() {	# run PREFIX CMD... : tag each result line with PREFIX, note crashes
	prefix=$1; shift
	out=$("$@" 2>&1); rc=$?
	printf '%s\n' "$out" | grep -E '^(PASS|FAIL|SKIP) ' | sed "s|^\([A-Z]*\) |\1 $prefix|" | tee -a "$log"
	if [ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL '; then
		echo "FAIL $prefix$*: exit $rc" | tee -a "$log"
		printf '%s\n' "$out" | tail -20
	elif [ $rc -ne 0 ]; then
		printf '%s\n' "$out" | grep -vE '^(PASS|SKIP) ' | tail -20
	fi
}

# Static checks of the tree and the build (no kernel needed).
for t in tests/static/*.sh; do [ -f "$t" ] && run "" sh "$t"; done
for t in "$B"/tests/test_*; do [ -x "$t" ] && run "" "$t"; done
for t in "$B"/asan/tests/test_*; do [ -x "$t" ] && run "asan:" "$t"; done
if [ "${MACE_ONLY:-}" != unit ]; then
	for f in "$B"/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		name=${f##*/}
		corpus=tests/fuzz/corpus/${name#fuzz_}
		work=$(mktemp -d /tmp/mace-fuzz.XXXXXX)
		if "$f" -max_total_time="${MACE_FUZZ_SECONDS:-15}" -print_final_stats=1 -artifact_prefix="$work/" \
			"$work" "$corpus" >"$work/log" 2>&1; then
			echo "PASS $name ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/log" |
				awk '{print $2}') runs)" | tee -a "$log"
			rm -rf "$work"
		else
			echo "FAIL $name: crash, see $work" | tee -a "$log"
			tail -30 "$work/log"
		fi
	done
	for t in tests/integration/*.sh; do [ -f "$t" ] && run "" sh "$t"; done
fi

pass=$(grep -c '^PASS ' "$log")
fail=$(grep -c '^FAIL ' "$log")
skip=$(grep -c '^SKIP ' "$log")
if [ "${MACE_REQUIRE_KERNEL:-0}" = 1 ] && [ "$skip" -gt 0 ]; then
	echo "MACE_REQUIRE_KERNEL=1: skipped tests count as failed:"
	grep '^SKIP ' "$log"
	fail=$((fail + skip)); skip=0
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
