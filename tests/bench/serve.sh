#!/bin/sh
# mace serve: scrape time and exposition size with 1, 10 and 100 containers
# (every container with series in both directions), and mace serve's CPU
# seconds per minute with 10 pinging containers, scraped once a second,
# against the same run unscraped and against mace stat on the same traffic
# (interleaved rounds, medians).  Prints tables; asserts nothing.
#   SCRAPES (default 50)      scrapes timed per container count
#   CPU_SECS (default 20)     per CPU round; CPU_ROUNDS (default 3; 0: none)
#   COUNTS (default "1 10 100")
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/testbed.sh
B=${B:-build}
MACE=${MACE:-$B/mace}
SCRAPES=${SCRAPES:-50}
CPU_SECS=${CPU_SECS:-20}
CPU_ROUNDS=${CPU_ROUNDS:-3}
COUNTS=${COUNTS:-1 10 100}
work=$(mktemp -d /tmp/mace-bserve.XXXXXX)
serve=
PINGS=

stop_serve() {
	[ -n "$serve" ] || return 0
	kill "$serve" 2>/dev/null
	wait "$serve" 2>/dev/null
	serve=
}
cleanup() {
	stop_serve
	for p in $PINGS; do kill "$p" 2>/dev/null; done
	tb_down
	rm -rf "$work"
}
trap cleanup EXIT
tb_signals

[ "$(id -u)" = 0 ] || { echo "serve: needs root"; exit 0; }
tb_up bridge-nat >/dev/null || { echo "serve: testbed failed"; exit 1; }
PORT=$(( $(tb_rand) % 20000 + 30000 ))
URL=http://127.0.0.1:$PORT/metrics
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }
in_host() { ip netns exec "$TB_HOST" "$@"; }
# cpu_ns PID: CPU time of all the process's threads, ns (schedstat is exact;
# /proc/PID/stat's ticks are 10 ms)
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ n += $1 } END { print n + 0 }'; }

# Containers beyond the testbed's two: ctrN in the same bridge, 10.X.(1..).N
NCTR=2
add_containers() {	# add_containers N: until there are N
	while [ $NCTR -lt "$1" ]; do
		i=$NCTR
		ns=${TB_P}c$i
		ip=10.$TB_X.1.$((i + 2))
		tb_ctr "$ns" "${TB_P}k$i" "${TB_P}g$i" "$ip" &&
			tb_run ip -n "$TB_HOST" link set "${TB_P}g$i" master "$TB_BRIDGE_DEV" ||
			return 1
		NCTR=$((i + 1))
	done
}
ctr_name() {	# ctr_name I: the I-th container's netns
	case $1 in 0) echo "$TB_CTR" ;; 1) echo "$TB_CTR2" ;; *) echo "${TB_P}c$1" ;; esac
}
start_serve() {	# start_serve [mace options]: returns once /metrics answers
	ip netns exec "$TB_HOST" "$MACE" serve --listen "127.0.0.1:$PORT" "$@" 2>>"$work/err" &
	serve=$!
	for _ in $(seq 100); do
		in_host curl -sf -o /dev/null "$URL" && return 0
		sleep 0.2
	done
	echo "serve: mace serve did not answer: $(tail -3 "$work/err")" >&2
	return 1
}

echo "-- scrape time and exposition size (one ping per container; $SCRAPES scrapes each)"
printf '%-11s %8s %12s %10s %10s %10s %10s\n' containers series 'bytes' gzipped 'median ms' 'p90 ms' 'tick ms/s'
for n in $COUNTS; do
	[ "$n" -lt 2 ] || add_containers "$n" || { echo "serve: cannot add containers"; exit 1; }
	# only the first n containers: --netns for one, else every container there is
	if [ "$n" = 1 ]; then start_serve --netns "$TB_CTR" || exit 1; else start_serve || exit 1; fi
	i=0
	once=
	while [ $i -lt "$n" ]; do
		ip netns exec "$(ctr_name $i)" ping -c 1 -W 1 -q "$TB_REMOTE_IP" >/dev/null &
		once="$once $!"
		i=$((i + 1))
	done
	wait $once
	sleep 2.2	# two ticks: every series in the snapshot
	# one curl, one kept-alive connection: the server's time, not curl's start-up
	urls=$(for _ in $(seq "$SCRAPES"); do printf -- '-o /dev/null %s ' "$URL"; done)
	in_host curl -s -w '%{time_total} %{size_download}\n' $urls >"$work/t"
	in_host curl -s -o "$work/body" "$URL"
	gz=$(in_host curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{size_download}' "$URL")
	series=$(grep -c '^mace_overhead_seconds_count' "$work/body")
	# render time: the main loop's CPU per tick, apart from scrapes (below)
	t0=$(cpu_ns $serve)
	sleep 5
	t1=$(cpu_ns $serve)
	printf '%-11s %8s %12s %10s %10s %10s %10s\n' "$n" "$series" \
		"$(awk '{ print $2 }' "$work/t" | median)" "$gz" \
		"$(awk '{ printf "%.3f\n", $1 * 1000 }' "$work/t" | median)" \
		"$(awk '{ printf "%.3f\n", $1 * 1000 }' "$work/t" | sort -n |
			awk '{ v[NR] = $1 } END { print v[int(NR * 0.9)] }')" \
		"$(echo "$t0 $t1" | awk '{ printf "%.2f", ($2 - $1) / 1e6 / 5 }')"
	stop_serve
done
echo "(series: mace_overhead_seconds series in the exposition; scrape time: curl's"
echo " total per request, on one kept-alive connection; tick ms/s: mace serve's CPU"
echo " ms per second with no traffic and no scrapes: its once-a-second histogram"
echo " read and snapshot)"

[ "$CPU_ROUNDS" -gt 0 ] || exit 0
echo
echo "-- CPU seconds per minute, 10 containers pinging at 20/s each ($CPU_ROUNDS x ${CPU_SECS}s rounds)"
add_containers 10 || exit 1
i=0
while [ $i -lt 10 ]; do
	ip netns exec "$(ctr_name $i)" ping -q -i 0.05 "$TB_REMOTE_IP" >/dev/null 2>&1 &
	PINGS="$PINGS $!"
	i=$((i + 1))
done
cpu_round() {	# cpu_round MODE: CPU seconds per minute of the tracer
	case $1 in
	serve-scraped | serve-idle)
		start_serve || return 1
		t0=$(cpu_ns $serve)
		end=$(( $(date +%s) + CPU_SECS ))
		if [ "$1" = serve-scraped ]; then
			while [ "$(date +%s)" -lt $end ]; do
				in_host curl -s -o /dev/null "$URL"
				sleep 1
			done
		else
			sleep "$CPU_SECS"
		fi
		t1=$(cpu_ns $serve)
		stop_serve
		;;
	stat)
		ip netns exec "$TB_HOST" "$MACE" stat -d "$CPU_SECS" >/dev/null 2>>"$work/err" &
		p=$!
		sleep 1
		t0=$(cpu_ns $p)
		sleep $((CPU_SECS - 2))
		t1=$(cpu_ns $p)
		wait $p
		t1=$(echo "$t0 $t1 $CPU_SECS" | awk '{ printf "%d", $1 + ($2 - $1) * $3 / ($3 - 2) }')
		;;
	esac
	echo "$t0 $t1 $CPU_SECS" | awk '{ printf "%.3f\n", ($2 - $1) / 1e9 / $3 * 60 }'
}
: >"$work/cpu"
for r in $(seq "$CPU_ROUNDS"); do
	case $((r % 3)) in
	0) order="stat serve-idle serve-scraped" ;;
	1) order="serve-scraped stat serve-idle" ;;
	*) order="serve-idle serve-scraped stat" ;;
	esac
	for m in $order; do
		v=$(cpu_round $m) || { echo "serve: $m failed"; exit 1; }
		echo "$m $v" >>"$work/cpu"
	done
done
printf '%-14s %16s\n' mode 'CPU s per minute'
for m in stat serve-idle serve-scraped; do
	printf '%-14s %16s\n' $m "$(awk -v m=$m '$1 == m { print $2 }' "$work/cpu" | median)"
done
echo "(medians of $CPU_ROUNDS interleaved rounds; CPU of all threads from schedstat;"
echo " stat: mace stat on the same containers, the baseline)"
