#!/bin/sh
# Kernel work per event and packet accounting under a 64-byte UDP flood
# through the bridge+NAT testbed (inner-dev, eBPF).  bpf_stats is enabled
# only while the flood runs, then restored.  Prints one line per program:
#   prog NAME runs N ns_per_run X
# and one accounting line:
#   flood sent N egress_records N expired N replaced N lost N pending N unaccounted N
# and the cost of a no-op program on the same flood
# (bpf_stats' own two clock reads per run plus the dispatch), so figures can
# be read raw and calibrated (minus that floor per run):
#   prog empty ns_per_run X
#   per_event_ns_calibrated X
#   SECONDS_FLOOD (default 3), CALIB 0|1 (default 1), MODE (default kernel):
#   kernel (records correlated in the kernel), agg (mace stat: histograms
#   aggregated in the kernel, no records) or raw (events, user-space correlation)
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/testbed.sh
. tests/bench/floor.sh
B=${B:-build}
MACE=${MACE:-$B/mace}
PP=$B/bench/pingpong
SECS=${SECONDS_FLOOD:-3}
MODE=${MODE:-kernel}
work=$(mktemp -d /tmp/mace-kcost.XXXXXX)
old_stats=$(cat /proc/sys/kernel/bpf_stats_enabled)

cleanup() {
	floor_stop
	echo "$old_stats" >/proc/sys/kernel/bpf_stats_enabled
	tb_down
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
tb_signals

[ "$(id -u)" = 0 ] || { echo "kcost: needs root"; exit 0; }
tb_up bridge-nat >/dev/null || { echo "kcost: testbed failed"; exit 1; }
cmd=record raw=
[ "$MODE" = raw ] && raw=--raw
[ "$MODE" = agg ] && cmd=stat raw=-j
# The child runs once every program is attached; the programs belong to
# mace (its pid), which is the child's parent.  Port 9 has no listener: the
# flood is one-way (ICMP unreachables are rate-limited).
# shellcheck disable=SC2086
"$MACE" $cmd $raw --netns "$TB_CTR" -p inner-dev -- sh -c '
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	ip netns exec "$1" "$2" flood "$3" 9 "$4" 64 >"$5/sent"
	bpftool prog show -j >"$5/progs"
	echo 0 >/proc/sys/kernel/bpf_stats_enabled
	cat /proc/$PPID/fdinfo/* 2>/dev/null | awk "/^prog_id:/ { print \$2 }" | sort -u \
		>"$5/ids"' sh "$TB_CTR" "$PP" "$TB_REMOTE_IP" "$SECS" "$work" \
	>"$work/rec" 2>"$work/err" || { echo "kcost: mace $cmd failed:"; cat "$work/err"; exit 1; }
# Our programs: those mace's link fds point to.
jq -r --argjson ids "[$(paste -sd, "$work/ids")]" '.[] | select(.id as $i | $ids | index($i)) |
	select(.run_cnt != null and .run_cnt > 0) |
	"prog \(.name) runs \(.run_cnt) ns_per_run \(.run_time_ns / .run_cnt | floor)"' \
	"$work/progs"
# Per event: every run of our programs (misses included) over the events
# that hit a path point.
ev=$(sed -n 's/.* events \([0-9]*\).*/\1/p' "$work/err" | tail -1)
jq -r --argjson ids "[$(paste -sd, "$work/ids")]" '[.[] | select(.id as $i | $ids | index($i)) |
	.run_time_ns // 0] | add' "$work/progs" |
	awk -v ev="$ev" '{ if (ev > 0) printf "per_event_ns %d (all runs %d ns / %d path events)\n",
		$1 / ev, $1, ev }'
# Calibration: a no-op tp_btf program (tests/bench/noop.c) on net_dev_xmit,
# same flood, no mace: bpf_stats' own clock reads per run.
if [ "${CALIB:-1}" = 1 ]; then
	floor_start "$work/noop.out" net_dev_xmit
	nid=$(awk '/^prog_id:/ { print $2 }' /proc/${floor_pid:-0}/fdinfo/* 2>/dev/null | head -1)
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	ip netns exec "$TB_CTR" "$PP" flood "$TB_REMOTE_IP" 9 2 64 >/dev/null
	empty=$(bpftool prog show id "${nid:-0}" -j 2>/dev/null |
		jq -r 'if .run_cnt > 0 then .run_time_ns / .run_cnt | floor else empty end')
	echo 0 >/proc/sys/kernel/bpf_stats_enabled
	floor_stop
	if [ -n "$empty" ]; then
		echo "prog empty ns_per_run $empty"
		jq -r --argjson ids "[$(paste -sd, "$work/ids")]" '[.[] |
			select(.id as $i | $ids | index($i)) | .run_time_ns // 0, .run_cnt // 0] |
			"\([.[range(0; length; 2)]] | add) \([.[range(1; length; 2)]] | add)"' \
			"$work/progs" | awk -v ev="$ev" -v e="$empty" '{ if (ev > 0)
				printf "per_event_ns_calibrated %d (minus %d ns x %d runs)\n",
					($1 - e * $2) / ev, e, $2 }'
	else
		echo "prog empty: calibration failed: $(cat "$work/noop.out")"
	fi
fi
sent=$(cat "$work/sent")
if [ "$MODE" = raw ]; then
	echo "flood sent $sent (raw mode: see counters)"
	grep 'counters' "$work/err"
	exit 0
fi
if [ "$MODE" = agg ]; then
	egress=$(jq '.total[] | select(.dir == "egress") | .count' "$work/rec")
else
	egress=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "dir") d = i; next }
		$d == "egress" { n++ } END { print n + 0 }' "$work/rec")
fi
grep 'counters' "$work/err" | awk -v sent="$sent" -v eg="$egress" '{
	for (i = 3; i < NF; i += 2) c[$i] = $(i + 1)
	un = sent - eg - c["expired"] - c["replaced"] - c["lost"] - c["pending"]
	printf "flood sent %d egress_records %d expired %d replaced %d lost %d pending %d " \
		"unaccounted %d\n", sent, eg, c["expired"], c["replaced"], c["lost"],
		c["pending"], un < 0 ? 0 : un
}'
