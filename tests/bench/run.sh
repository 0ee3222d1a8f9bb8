#!/bin/sh
# Benchmarks: prints figures, not pass/fail.  `make bench` runs this.
# Each section prints a table; add new sections below the replay one.
B=${B:-build}

echo "== correlator replay (one core; tests/bench/bench_replay.c) =="
if [ ! -x "$B/bench/bench_replay" ]; then
	echo "bench_replay: not built ($B/bench/bench_replay missing)" >&2
	exit 1
fi
printf '%-8s %10s %8s %9s %8s %9s %9s %8s %8s\n' \
	mode events sec 'Mev/s' 'RSS MB' records unmatched expired replaced
for mode in ringbuf percpu; do
	for n in 10000000 20000000; do
		line=$("$B/bench/bench_replay" -n "$n" -m "$mode") || {
			echo "bench_replay -n $n -m $mode failed" >&2
			exit 1
		}
		printf '%s\n' "$line" | awk '{
			for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			printf "%-8s %10s %8s %9s %8s %9s %9s %8s %8s\n", v["mode"], v["events"],
				v["sec"], v["mevps"], v["rss_mb"], v["records"], v["unmatched"],
				v["expired"], v["replaced"]
		}'
	done
done
echo "(RSS includes the 192 MB synthetic input chunks; equal RSS for 10 M and 20 M"
echo " events shows the correlator's memory does not grow with the stream.)"

echo
echo "== serve socket: 8 clients x 10,000 probe queries (tests/bench/serve_load.c) =="
# The server's code with a full ring of synthetic records; no kernel needed.
"$B/bench/serve_load" -c 8 -n 10000 -r 3 || { echo "serve_load failed" >&2; exit 1; }
echo "(each query scans the caller's ring: 8192 records, the default --socket-keep)"

# ---- tracing overhead on the bridge+NAT testbed (root; kernel figures) ----
# Each figure is against a baseline of the same run.  Sizes: ROUNDS, PROBES
# (overhead.sh), FLOOD_SECS, MEM_SECS (default 60 s), FTRACE_RATES (flood.sh).
# Each section also measures a floor: no-op programs on the same tracepoints
# (tests/bench/noop.c), the kernel's cost of calling any program there.
if [ "$(id -u)" != 0 ]; then
	echo "(tracing benchmarks skipped: they need root)"
	exit 0
fi
export B
echo
echo "== 1, 5a. added RTT: UDP ping-pong, interleaved rounds (tests/bench/overhead.sh) =="
sh tests/bench/overhead.sh || exit 1
echo
echo "== 3. kernel ns per program run, 64-byte flood (bpf_stats; tests/bench/kcost.sh) =="
for mode in kernel agg raw; do
	echo "-- $mode correlation"
	MODE=$mode sh tests/bench/kcost.sh || exit 1
done
echo
echo "== naming containers: start-up with 1, 10, 50 containers (tests/bench/containers.sh) =="
sh tests/bench/containers.sh || exit 1
echo
echo "== 2, 4b, 5b, 6, 7. flood rate, accounting, consumer, memory, start-up (flood.sh) =="
sh tests/bench/flood.sh || exit 1
echo
echo "== fidelity: corrected RTT against native, short setting (tests/experiments/fidelity.sh) =="
# The full experiment: sh tests/experiments/fidelity.sh 3 100 (about 40 min).
RATES=${FIDELITY_RATES:-50 5} TOOLS=${FIDELITY_TOOLS:-ping ping-U udp} \
	PATHS="inner-dev rx-stamp" SECONDS_MAX=10 sh tests/experiments/fidelity.sh 1 40 || exit 1
echo
echo "== mace serve: scrape time, exposition size, CPU per minute (tests/bench/serve.sh) =="
sh tests/bench/serve.sh || exit 1
