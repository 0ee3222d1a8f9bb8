#!/bin/sh
# The two correlators agree: the kernel's (the eBPF programs correlating as
# packets pass) and lib/correlate.c (the same tracepoints' raw events,
# --raw), run at once on the same packets, give one record per packet each,
# for the same packets, with the same latencies up to the few hundred ns that
# separate two programs on one tracepoint, and the same records and matched
# events.
. tests/lib.sh
. tests/testbed.sh

need_root correlators || exit 0
need_mace correlators || exit 0
clean_snapshot
tb_trap
W=$(mktemp -d /tmp/mace-corr.XXXXXX)
TB_TRAP_EXTRA="rm -rf '$W'"
tb_up bridge-nat || { fail correlators "testbed did not come up"; exit 1; }
N=200

for mode in kernel raw; do
	extra=; [ $mode = raw ] && extra=--raw
	"$MACE" record -b bpf $extra -p bridge-nat --netns "$TB_CTR" -d 6 -o "$W/$mode.csv" \
		2>"$W/$mode.err" &
	eval "pid_$mode=\$!"
done
# both bound (each says so on stderr) before the first packet
for _ in $(seq 50); do
	grep -q '^container' "$W/kernel.err" 2>/dev/null && grep -q '^container' "$W/raw.err" 2>/dev/null &&
		break
	sleep 0.1
done
ip netns exec "$TB_CTR" ping -q -c $N -i 0.01 "$TB_REMOTE_IP" >/dev/null
wait "$pid_kernel"; rk=$?
wait "$pid_raw"; rr=$?
if [ $rk -ne 0 ] || [ $rr -ne 0 ]; then
	fail correlators "exit $rk/$rr: $(tail -2 "$W/kernel.err" "$W/raw.err" | tr '\n' ' ')"
	exit 1
fi
grep -q "correlating in the kernel" "$W/kernel.err" ||
	fail correlators_modes "the default run did not correlate in the kernel"

# per (dir, seq) of the ICMP echoes: the latency and each segment, both files
awk -F, -v n=$N '
	FNR == 1 { f++; for (i = 1; i <= NF; i++) col[$i] = i; next }
	$col["proto"] != "icmp" { other[f]++; next }
	{ k = $col["dir"] " " $col["seq"]; cnt[f, k]++; lat[f, k] = $col["latency_ns"]; seg[f, k] = $col["segments"]
	  keys[k] = 1 }
	END {
		for (k in keys) {
			if (cnt[1, k] != 1 || cnt[2, k] != 1) { bad++; if (!why) why = k " seen " cnt[1, k] + 0 "/" cnt[2, k] + 0 " times"; continue }
			pairs++
			d = lat[1, k] - lat[2, k]; if (d < 0) d = -d; if (d > maxd) maxd = d
			ds[pairs] = d; far += d > 20000
			ns = split(seg[1, k], a, ";"); split(seg[2, k], b, ";")
			for (i = 1; i <= ns; i++) if ((a[i] == "-") != (b[i] == "-")) { bad++; if (!why) why = k " segment " i ": " a[i] " vs " b[i] }
		}
		for (i = 2; i <= pairs; i++) { v = ds[i]; j = i - 1; while (j > 0 && ds[j] > v) { ds[j + 1] = ds[j]; j-- } ds[j + 1] = v }
		printf "%d %d %d %d %d %d %s\n", pairs, bad + 0, ds[int((pairs + 1) / 2)] + 0, maxd + 0,
			far + 0, other[1] + other[2], why
	}' "$W/kernel.csv" "$W/raw.csv" >"$W/cmp"
read -r pairs bad medd maxd far other why <"$W/cmp"
# Two programs on one tracepoint run one after the other, and the first one's
# time (more when cold) delays the second's clock: 1.3 us apart on egress
# here, 0 on ingress; an interrupt between them delays one packet more.  A
# median within 2.5 us and at most 1 % of packets beyond 20 us, where a
# wrong point is tens of us off for every packet.
if [ "$pairs" -ne $((2 * N)) ] || [ "$bad" -ne 0 ] || [ "$medd" -gt 2500 ] ||
	[ "$far" -gt $((2 * N / 100)) ] || [ "$other" -ne 0 ]; then
	fail correlators_same_records "$pairs of $((2 * N)) packets paired, $bad differ ($why), latency difference median $medd ns, $far beyond 20 us (largest $maxd ns), $other other records"
else
	pass "correlators_same_records ($pairs packets, latency difference median $medd ns, $far beyond 20 us)"
fi

# The counters: the same records and matched events.  The two sessions start
# and stop a moment apart, so a packet crossing either edge is seen in part
# by one of them: the other counters may differ by a few events, no more.
counter() { sed -n "s/^mace: counters: .* $2 \([0-9]*\).*/\1/p" "$1"; }
why=
for k in records matched; do
	[ "$(counter "$W/kernel.err" $k)" = "$(counter "$W/raw.err" $k)" ] || why="$why $k differ;"
done
for k in unmatched expired replaced duplicates pending; do
	a=$(counter "$W/kernel.err" $k) b=$(counter "$W/raw.err" $k)
	[ -n "$a" ] && [ -n "$b" ] && [ $((a - b)) -le 5 ] && [ $((b - a)) -le 5 ] ||
		why="$why $k $a vs $b;"
done
if [ -n "$why" ]; then
	fail correlators_same_counters "$why kernel: $(sed -n 's/^mace: counters: //p' "$W/kernel.err") raw: $(sed -n 's/^mace: counters: //p' "$W/raw.err")"
else
	pass "correlators_same_counters (records $(counter "$W/kernel.err" records), matched $(counter "$W/kernel.err" matched))"
fi

tb_down
assert_clean correlators_clean
lib_status
