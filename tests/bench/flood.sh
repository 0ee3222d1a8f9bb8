#!/bin/sh
# Packet rate, accounting, consumer throughput, memory, start-up and the
# ftrace backend's lossless event rate, on the bridge+NAT testbed (inner-dev).
# Prints "key value ..." lines that run.sh turns into the table; asserts nothing.
#   ROUNDS (default 5)       interleaved none/floor/mace/agg flood rounds (floor:
#                            no-op programs on mace's tracepoints, noop.c;
#                            mace: mace record; agg: mace stat, histograms
#                            aggregated in the kernel, as mace top does)
#   FLOOD_SECS (default 2)   per round
#   MEM_SECS (default 60)    memory run
#   FTRACE_RATES             paced rates tried for the ftrace backend
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/testbed.sh
. tests/bench/floor.sh
B=${B:-build}
MACE=${MACE:-$B/mace}
PP=$(pwd)/$B/bench/pingpong
case $B in /*) PP=$B/bench/pingpong ;; esac
ROUNDS=${ROUNDS:-5}
FLOOD_SECS=${FLOOD_SECS:-2}
MEM_SECS=${MEM_SECS:-60}
FTRACE_RATES=${FTRACE_RATES:-20000 40000 80000 160000}
work=$(mktemp -d /tmp/mace-flood.XXXXXX)

cleanup() {
	floor_stop
	tb_down
	rm -rf "$work"
}
trap cleanup EXIT
tb_signals

[ "$(id -u)" = 0 ] || { echo "flood: needs root"; exit 0; }
tb_up bridge-nat >/dev/null || { echo "flood: testbed failed"; exit 1; }
RX=/sys/class/net/${TB_P}r0/statistics/rx_packets
rx() { ip netns exec "$TB_REMOTE" cat "$RX"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }

# The child of `mace record -- ...` runs once every program is attached.
# It floods (port 9: nobody listens, one-way), then samples mace's CPU time
# and peak RSS while mace is still running.  Args: SECS PPS OUTDIR.
CHILD='
	r0=$(ip netns exec "$REM" cat "$RX")
	ip netns exec "$CTR" "$PP" flood "$IP" 9 "$1" 64 $2 >"$3/sent"
	r1=$(ip netns exec "$REM" cat "$RX")
	echo $((r1 - r0)) >"$3/rx"
	awk "{ print \$14 + \$15 }" /proc/$PPID/stat >"$3/ticks"
	awk "/^VmHWM/ { print \$2 }" /proc/$PPID/status >"$3/hwm"'
export REM="$TB_REMOTE" RX CTR="$TB_CTR" PP IP="$TB_REMOTE_IP"

# run_mace OUTDIR SECS PPS [mace options]: one traced flood
run_mace() {
	d=$1 s=$2 p=$3
	shift 3
	mkdir -p "$d"
	"${RUN_MACE:-$MACE}" record "$@" --netns "$TB_CTR" -p inner-dev -o "$d/rec" -- \
		sh -c "$CHILD" sh "$s" "$p" "$d" 2>"$d/err"
}

# run_agg OUTDIR SECS: one flood under mace stat (aggregating, no records)
run_agg() {
	mkdir -p "$1"
	"$MACE" stat -j --netns "$TB_CTR" -p inner-dev -- sh -c "$CHILD" sh "$2" "" "$1" \
		>"$1/stat.json" 2>"$1/err"
}

# counters KEY FILE: a counter from mace's final counters line
counter() { sed -n "s/.* $1 \([0-9]*\).*/\1/p" "$2" | tail -1; }

# ---- 2. packet rate, accounting, 4b. consumer ---------------------------
hz=$(getconf CLK_TCK)
untraced_flood() {	# untraced_flood MODE ROUND: one flood, no mace
	r0=$(rx)
	sent=$(ip netns exec "$TB_CTR" "$PP" flood "$TB_REMOTE_IP" 9 "$FLOOD_SECS" 64)
	got=$(( $(rx) - r0 ))
	echo "$1 $2 $sent $got" >>"$work/rate"
}
for r in $(seq "$ROUNDS"); do
	case $((r % 4)) in
	0) order="none floor mace agg" ;;
	1) order="floor agg none mace" ;;
	2) order="mace none agg floor" ;;
	*) order="agg mace floor none" ;;
	esac
	for m in $order; do
		if [ "$m" = none ]; then
			# Other sessions' tracing programs (other users of this machine)
			# slow the untraced baseline down: count such rounds.
			bpftool prog show 2>/dev/null | grep -qE 'tracing|raw_tracepoint|tracepoint' &&
				echo "$r" >>"$work/dirty"
			untraced_flood none "$r"
			continue
		fi
		if [ "$m" = floor ]; then
			floor_start "$work/noop" || exit 1
			untraced_flood floor "$r"
			floor_stop
			continue
		fi
		if [ "$m" = agg ]; then
			d=$work/a$r
			run_agg "$d" "$FLOOD_SECS" || { echo "flood: mace stat failed: $(cat "$d/err")"; exit 1; }
			sent=$(cat "$d/sent") got=$(cat "$d/rx")
			eg=$(jq '.total[] | select(.dir == "egress") | .count' "$d/stat.json")
			exp=$(counter expired "$d/err") rep=$(counter replaced "$d/err")
			lost=$(counter lost "$d/err") pend=$(counter pending "$d/err")
			un=$((sent - eg - exp - rep - lost - pend))
			[ $un -lt 0 ] && un=0
			echo "agg $r $sent $got $eg $exp $rep $lost $un" >>"$work/rate"
			continue
		fi
		d=$work/m$r
		run_mace "$d" "$FLOOD_SECS" "" || { echo "flood: mace failed: $(cat "$d/err")"; exit 1; }
		sent=$(cat "$d/sent") got=$(cat "$d/rx")
		eg=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "dir") c = i; next }
			$c == "egress" { n++ } END { print n + 0 }' "$d/rec")
		all=$(($(wc -l <"$d/rec") - 1))
		exp=$(counter expired "$d/err") rep=$(counter replaced "$d/err")
		lost=$(counter lost "$d/err") pend=$(counter pending "$d/err")
		un=$((sent - eg - exp - rep - lost - pend))
		[ $un -lt 0 ] && un=0
		echo "mace $r $sent $got $eg $exp $rep $lost $un" >>"$work/rate"
		# records per CPU-second of mace (all of its work: ring, format, write)
		awk -v n="$all" -v t="$(cat "$d/ticks")" -v hz="$hz" \
			'BEGIN { if (t > 0) printf "%d\n", n / (t / hz); else print "-" }' >>"$work/rps"
	done
done
pps() { awk -v m="$1" -v s="$FLOOD_SECS" '$1 == m { printf "%d\n", $4 / s }' "$work/rate" | median; }
ratio() {	# ratio A B: median over rounds of 100 * A's packets / B's
	awk -v a="$1" -v b="$2" '$1 == b { d[$2] = $4 } $1 == a { n[$2] = $4 }
		END { for (i in n) if (d[i]) printf "%.1f\n", 100 * n[i] / d[i] }' "$work/rate" | median
}
echo "rate_pps untraced $(pps none) floor $(pps floor) traced $(pps mace) aggregating $(pps agg)" \
	"ratio_pct $(ratio mace none) agg_ratio_pct $(ratio agg none)" \
	"floor_ratio_pct $(ratio floor none) traced_over_floor_pct $(ratio mace floor)"
echo "baseline_rounds_with_other_tracers $(wc -l 2>/dev/null <"$work/dirty" || echo 0) of $ROUNDS"
for m in mace agg; do
	awk -v m=$m '$1 == m { s += $3; e += $5; x += $6; r += $7; l += $8; u += $9 }
		END { printf "accounting %s sent %d egress_records %d expired %d replaced %d " \
			"lost %d unaccounted %d\n", m, s, e, x, r, l, u }' "$work/rate"
done
echo "consumer_records_per_cpu_s $(median <"$work/rps")"

# ---- 6. memory: peak RSS during a long flood, sampled every second -------
d=$work/mem
mkdir -p "$d"
run_mace "$d" "$MEM_SECS" "" &
sleep 1
mpid=$(pgrep -n -f "record --netns $TB_CTR -p inner-dev -o $d/rec")
while [ -n "$mpid" ] && kill -0 "$mpid" 2>/dev/null; do
	awk '/^VmRSS/ { print $2 }' "/proc/$mpid/status" 2>/dev/null >>"$d/rss"
	sleep 1
done
wait
n=$(wc -l <"$d/rss")
awk -v n="$n" -v hwm="$(cat "$d/hwm")" -v s="$MEM_SECS" '
	NR == 2 { first = $1 } { last = $1 }
	END { printf "memory secs %d peak_kib %d rss_kib_at_2s %d rss_kib_at_end %d\n",
		s, hwm, first, last }' "$d/rss"

# ---- 7. start-up: process start to tracing attached ---------------------
# The child of `mace record -- CMD` is started right after every program is
# attached, so its first timestamp bounds the start-up from above.
for _ in 1 2 3 4 5; do
	t0=$(date +%s%N)
	t1=$("$MACE" record --netns "$TB_CTR" -p inner-dev -o /dev/null -- date +%s%N 2>/dev/null)
	echo $(((t1 - t0) / 1000000))
done | median | sed 's/^/startup_ms /'
for _ in 1 2 3; do
	t0=$(date +%s%N)
	t1=$("$MACE" record -b ftrace --netns "$TB_CTR" -p inner-dev -o /dev/null -- \
		date +%s%N 2>/dev/null)
	echo $(((t1 - t0) / 1000000))
done | median | sed 's/^/startup_ftrace_ms /'

# ---- 5b. ftrace: the highest paced rate with no lost event ---------------
# With MACE_OLD (another build), the same rates with it, each right after
# ours: ftrace_old_* lines.
best=0 best_old=0
for pps in $FTRACE_RATES; do
	for who in new ${MACE_OLD:+old}; do
		d=$work/f$pps$who
		RUN_MACE=$MACE
		[ "$who" = old ] && RUN_MACE=$MACE_OLD
		run_mace "$d" 2 "$pps" -b ftrace ||
			{ echo "flood: ftrace run failed: $(cat "$d/err")"; break 2; }
		lost=$(counter lost "$d/err") ev=$(counter events "$d/err")
		rate=$(awk -v e="$ev" 'BEGIN { printf "%d", e / 2 }')
		tag=ftrace
		[ "$who" = old ] && tag=ftrace_old
		echo "${tag}_try pps $pps events_per_s $rate lost $lost"
		# The best lossless rate (at high rates the paced sender may fall short).
		if [ "${lost:-1}" = 0 ]; then
			if [ "$who" = old ]; then
				[ "$rate" -gt "$best_old" ] && best_old=$rate
			else
				[ "$rate" -gt "$best" ] && best=$rate
			fi
		fi
	done
done
RUN_MACE=
echo "ftrace_lossless_events_per_s $best"
[ -z "${MACE_OLD:-}" ] || echo "ftrace_old_lossless_events_per_s $best_old"
