#!/bin/sh
# Added RTT: median UDP ping-pong RTT through the bridge+NAT testbed while
# traced, minus untraced, interleaved in rounds so drift hits every mode
# alike.  Modes: none, floor (no-op programs on the tracepoints mace attaches:
# the kernel's dispatch cost, which no tracer there avoids), mace (eBPF,
# inner-dev), mace-agg (mace stat: histograms aggregated in the kernel, as
# mace top), mace-serve (the same, served over HTTP), mace-ftrace, bpftrace
# running the same skb-address correlation, and mace-old, mace-old-agg,
# mace-ftrace-old when MACE_OLD names another build's mace (before/after).
# MODES: the modes to run (default: all of those).
# Client and server share CPU 0: a cross-CPU wakeup costs this VM tens of
# microseconds and varies far more than what is measured.  The host still
# slows whole stretches of rounds down by a third now and then: many short
# rounds, each comparing every mode within a second or two.  Prints one
# table; asserts nothing.
#   ROUNDS (default 60), PROBES per round and mode (default 500), RAW_OUT (a
#   file to keep the per-round lines in: round mode median p10 p90 probes)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/testbed.sh
. tests/bench/floor.sh
B=${B:-build}
MACE=${MACE:-$B/mace}
PP=$B/bench/pingpong
ROUNDS=${ROUNDS:-60}
PROBES=${PROBES:-500}
PORT=7777
SERVE_PORT=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 + 30000 ))
work=$(mktemp -d /tmp/mace-bench.XXXXXX)

cleanup() {
	[ -n "${RAW_OUT:-}" ] && cp "$work/raw" "$RAW_OUT" 2>/dev/null
	[ -n "${server:-}" ] && kill "$server" 2>/dev/null
	[ -n "${t:-}" ] && kill "$t" 2>/dev/null
	floor_stop
	tb_down
	rm -rf "$work"
}
trap cleanup EXIT
tb_signals

[ "$(id -u)" = 0 ] || { echo "overhead: needs root"; exit 0; }
tb_up bridge-nat >/dev/null || { echo "overhead: testbed failed"; exit 1; }
ip netns exec "$TB_REMOTE" taskset -c 0 "$PP" server $PORT &
server=$!
sleep 0.3

# The probes of one round, on CPU 0 in the container, as a command line.
client_cmd() {
	printf 'ip netns exec %s taskset -c 0 %s client %s %s %s 20' "$TB_CTR" "$PP" \
		"$TB_REMOTE_IP" "$PORT" "$PROBES"
}

# run_mode MODE: one round's probes under MODE, the client's line on stdout.
# Probes start as soon as the tracer is attached (mace runs them as its
# command), so rounds are short and modes are compared close together.
run_mode() {
	case $1 in
	none) sh -c "$(client_cmd)" ;;
	mace) "$MACE" record --netns "$TB_CTR" -p inner-dev -o /dev/null -- \
		sh -c "$(client_cmd)" 2>>"$work/err" ;;
	mace-agg) "$MACE" stat --netns "$TB_CTR" -p inner-dev -- \
		sh -c "$(client_cmd)" 2>>"$work/err" | grep -v '^\(path\|netns\|all\|counters\)' ;;
	mace-serve)	# mace serve (aggregating, as mace-agg), scraped once per round
		ip netns exec "$TB_HOST" "$MACE" serve --netns "$TB_CTR" -p inner-dev \
			--listen "127.0.0.1:$SERVE_PORT" 2>>"$work/err" &
		sp=$!
		for _ in $(seq 100); do
			ip netns exec "$TB_HOST" curl -sf -o /dev/null "127.0.0.1:$SERVE_PORT/metrics" &&
				break
			sleep 0.1
		done
		sh -c "$(client_cmd)"
		ip netns exec "$TB_HOST" curl -sf -o /dev/null "127.0.0.1:$SERVE_PORT/metrics"
		kill $sp
		wait $sp
		;;
	mace-old) "$MACE_OLD" record --netns "$TB_CTR" -p inner-dev -o /dev/null -- \
		sh -c "$(client_cmd)" 2>>"$work/err" ;;
	mace-old-agg) "$MACE_OLD" stat --netns "$TB_CTR" -p inner-dev -- \
		sh -c "$(client_cmd)" 2>>"$work/err" | grep -v '^\(path\|netns\|all\|counters\)' ;;
	mace-ftrace-old) "$MACE_OLD" record -b ftrace --netns "$TB_CTR" -p inner-dev \
		-o /dev/null -- sh -c "$(client_cmd)" 2>>"$work/err" ;;
	mace-ftrace) "$MACE" record -b ftrace --netns "$TB_CTR" -p inner-dev -o /dev/null -- \
		sh -c "$(client_cmd)" 2>>"$work/err" ;;
	floor)
		floor_start "$work/t.out" 2>>"$work/err" || return 1
		sh -c "$(client_cmd)"
		floor_stop
		;;
	bpftrace)
		bpftrace tests/bench/skb-correlate.bt "$TB_CTR_DEV" "$TB_OUTER_DEV" \
			>"$work/t.out" 2>&1 &
		t=$!
		for _ in $(seq 100); do
			grep -q Attaching "$work/t.out" && break
			sleep 0.1
		done
		grep -q Attaching "$work/t.out" && sh -c "$(client_cmd)"
		kill -INT $t 2>/dev/null
		wait $t 2>/dev/null
		t=
		;;
	esac
}

rotate() {	# rotate N WORDS...: the words shifted left N times (a new order each round)
	n=$1; shift
	for _ in $(seq "$n"); do x=$1; shift; set -- "$@" "$x"; done
	echo "$@"
}

modes="none floor mace mace-agg mace-ftrace"
command -v curl >/dev/null && modes="$modes mace-serve"
[ -n "${MACE_OLD:-}" ] && modes="$modes mace-old mace-old-agg mace-ftrace-old"
command -v bpftrace >/dev/null && modes="$modes bpftrace"
modes=${MODES:-$modes}
for r in $(seq "$ROUNDS"); do
	for m in $(rotate "$r" $modes); do
		out=$(run_mode "$m") || { echo "overhead: $m failed: $(tail -3 "$work/err")"; exit 1; }
		echo "$r $m $out" >>"$work/raw"
	done
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }
# Per round: the mode's median minus that round's median of BASE; then the
# median over rounds (mawk has no asort, hence sort(1)).
added() {	# added MODE BASE
	awk -v m="$1" -v b="$2" '$2 == b { base[$1] = $3 } $2 == m { v[$1] = $3 }
		END { for (r in v) if (r in base) print v[r] - base[r] }' "$work/raw" | median
}
printf "%-12s %14s %10s %14s\n" mode "median RTT ns" "added ns" "over floor ns"
for m in $modes; do
	rtt=$(awk -v m="$m" '$2 == m { print $3 }' "$work/raw" | median)
	printf "%-12s %14s %10s %14s\n" "$m" "$rtt" "$(added "$m" none)" "$(added "$m" floor)"
done
echo "($ROUNDS rounds of $PROBES probes; added: median over rounds of the mode's"
echo " median RTT minus the same round's untraced one; over floor: likewise)"
