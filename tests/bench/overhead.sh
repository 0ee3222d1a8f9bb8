#!/bin/sh
# Added RTT: median UDP ping-pong RTT through the bridge+NAT testbed while
# traced, minus untraced, interleaved in rounds so drift hits every mode
# alike.  Modes: none, mace (eBPF, inner-dev), mace-ftrace, bpftrace running
# the same skb-address correlation.  Prints one table; asserts nothing.
#   ROUNDS (default 15: medians of RTTs ~30 us apart by several us on a shared
#   2-core machine need many rounds), PROBES per round and mode (default 2000)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/testbed.sh
B=${B:-build}
MACE=${MACE:-$B/mace}
PP=$B/bench/pingpong
ROUNDS=${ROUNDS:-15}
PROBES=${PROBES:-2000}
PORT=7777
work=$(mktemp -d /tmp/mace-bench.XXXXXX)

cleanup() {
	[ -n "${server:-}" ] && kill "$server" 2>/dev/null
	tb_down
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || { echo "overhead: needs root"; exit 0; }
tb_up bridge-nat >/dev/null || { echo "overhead: testbed failed"; exit 1; }
ip netns exec "$TB_REMOTE" "$PP" server $PORT &
server=$!
sleep 0.3

start_tracer() {	# start_tracer MODE: sets tracer pid, waits until attached
	tracer=
	case $1 in
	none) return 0 ;;
	mace) "$MACE" record --netns "$TB_CTR" -p inner-dev -o /dev/null 2>"$work/err" & ;;
	mace-ftrace) "$MACE" record -b ftrace --netns "$TB_CTR" -p inner-dev -o /dev/null \
		2>"$work/err" & ;;
	bpftrace) bpftrace tests/bench/skb-correlate.bt "$TB_CTR_DEV" "$TB_OUTER_DEV" \
		>"$work/err" 2>&1 & ;;
	esac
	tracer=$!
	sleep 1.5	# attach time is measured separately; wait well past it
}

stop_tracer() {
	[ -n "$tracer" ] || return 0
	kill -INT "$tracer" 2>/dev/null
	wait "$tracer" 2>/dev/null
}

rotate() {	# rotate N WORDS...: the words shifted left N times (a new order each round)
	n=$1; shift
	for _ in $(seq "$n"); do x=$1; shift; set -- "$@" "$x"; done
	echo "$@"
}

modes="none mace mace-ftrace bpftrace"
command -v bpftrace >/dev/null || modes="none mace mace-ftrace"
for r in $(seq "$ROUNDS"); do
	for m in $(rotate "$r" $modes); do
		start_tracer "$m"
		out=$(ip netns exec "$TB_CTR" "$PP" client "$TB_REMOTE_IP" $PORT "$PROBES" 20)
		stop_tracer
		echo "$r $m $out" >>"$work/raw"
	done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }

# Per round: the mode's median minus that round's untraced median; then the
# median over rounds (mawk has no asort, hence sort(1)).
printf "%-12s %14s %16s\n" mode "median RTT ns" "added ns"
for m in $modes; do
	rtt=$(awk -v m="$m" '$2 == m { print $3 }' "$work/raw" | median)
	added=$(awk -v m="$m" '$2 == "none" { base[$1] = $3 } $2 == m { v[$1] = $3 }
		END { for (r in v) print v[r] - base[r] }' "$work/raw" | median)
	printf "%-12s %14s %16s\n" "$m" "$rtt" "$added"
done
