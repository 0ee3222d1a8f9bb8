#!/bin/sh
# make stress: the long reliability cases.  Prints PASS/FAIL/SKIP
# lines and "N passed, N failed, N skipped" last, like tests/run.sh.
#
#	STRESS_FLOOD_SECONDS	flood length per backend and kind (45)
#	STRESS_CYCLES		session new/start/stop/free cycles (1000)
#	STRESS_LSAN_CYCLES	cycles under LeakSanitizer (100)
#	STRESS_SIGNALS		rounds of INT/TERM/HUP and of KILL per backend (10)
#	STRESS_TRUTH_SECONDS	ftrace against eBPF on the same pings (60)
#	STRESS_FUZZ_SECONDS	per fuzzer (600)
#
# Floods, faults and signals are tests/integration/reliability.sh with longer
# settings; the cycles are tests/stress/cycles.c, plain and with ASan.
B=${B:-build}
export B
. tests/lib.sh
. tests/testbed.sh
log=$(mktemp /tmp/mace-stress.XXXXXX)
W=$(mktemp -d /tmp/mace-stress.XXXXXX)
TB_TRAP_EXTRA="rm -rf '$W' '$log'"
tb_trap

r() { tee -a "$log"; }

# ---- floods, faults, signals: the fast suite, long ---------------------------
sigs=
for i in $(seq "${STRESS_SIGNALS:-10}"); do sigs="$sigs INT TERM HUP"; done
REL_FLOOD_SECONDS=${STRESS_FLOOD_SECONDS:-45} REL_SIGS=$sigs REL_KILLS=${STRESS_SIGNALS:-10} \
	sh tests/integration/reliability.sh 2>&1 | grep -E '^(PASS|FAIL|SKIP) ' | sed 's/^\([A-Z]*\) /\1 stress:/' | r

# ---- both backends on the same traffic with chatter, a minute -----------------
TRUTH_SEC=${STRESS_TRUTH_SECONDS:-60} sh tests/integration/ftrace_truth.sh 2>&1 |
	grep -E '^(PASS|FAIL|SKIP) ' | sed 's/^\([A-Z]*\) /\1 stress:/' | r

# ---- 1000 start/stop cycles in one process --------------------------------------
if need_root stress_cycles && [ -x "$B/stress/cycles" ]; then
	clean_snapshot
	if tb_up bridge-nat; then
		for b in bpf ftrace; do
			t0=$(date +%s)
			"$B/stress/cycles" "$TB_CTR" "${STRESS_CYCLES:-1000}" "$b" 2>"$W/cyc.err" |
				sed "s/)\$/, $(($(date +%s) - t0)) s)/" | r
			grep -q . "$W/cyc.err" && grep -v '^mace' "$W/cyc.err" | tail -3
			if [ -x "$B/asan/stress/cycles" ]; then
				ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=16 "$B/asan/stress/cycles" "$TB_CTR" \
					"${STRESS_LSAN_CYCLES:-100}" "$b" >"$W/lsan.out" 2>"$W/lsan.err"
				rc=$?
				if [ "$rc" -eq 0 ] && ! grep -q Sanitizer "$W/lsan.err"; then
					echo "PASS stress_lsan_cycles_$b (${STRESS_LSAN_CYCLES:-100} cycles)" | r
				else
					echo "FAIL stress_lsan_cycles_$b: exit $rc: \
$(grep -m3 -E 'Sanitizer|SUMMARY|FAIL' "$W/lsan.err" "$W/lsan.out" | tr '\n' ' ')" | r
				fi
			else
				echo "SKIP stress_lsan_cycles_$b: $B/asan/stress/cycles not built" | r
			fi
			# Programs and maps of the cycles are gone system-wide too.
			TB_PREFIXES=-none- assert_clean "stress_cycles_clean_$b" | r
		done
		tb_down
		assert_clean stress_cycles_netns_clean | r
	else
		echo "FAIL stress_cycles: testbed did not come up" | r
	fi
else
	echo "SKIP stress_cycles: needs root and $B/stress/cycles" | r
fi

# ---- long fuzz campaigns ---------------------------------------------------------
for f in "$B"/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	name=${f##*/}
	corpus=tests/fuzz/corpus/${name#fuzz_}
	work=$(mktemp -d /tmp/mace-fuzz.XXXXXX)
	if "$f" -max_total_time="${STRESS_FUZZ_SECONDS:-600}" -print_final_stats=1 -artifact_prefix="$work/" \
		"$work" "$corpus" >"$work/log" 2>&1; then
		echo "PASS stress_$name ($(grep -o 'stat::number_of_executed_units: [0-9]*' \
			"$work/log" | awk '{print $2}') runs, ${STRESS_FUZZ_SECONDS:-600} s)" | r
		rm -rf "$work"
	else
		echo "FAIL stress_$name: crash, input and log in $work (add the input to $corpus)" | r
		tail -30 "$work/log"
	fi
done

pass=$(grep -c '^PASS ' "$log")
fail=$(grep -c '^FAIL ' "$log")
skip=$(grep -c '^SKIP ' "$log")
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
