#!/bin/sh
# Reproduces the RTT table of the MACE poster (Fig. 5; docs/DESIGN.md, Background)
# on the netns testbed: ping the remote from the host netns (native) and from
# a bridged+NATed container, raw and adjusted by inner-dev, max-dev-auto and
# syscalls-any.  Rounds interleave the methods so drift hits them all alike.
#
#	sh tests/experiments/poster-table.sh [ROUNDS [PROBES]]
#	env: B (build dir), MACE_BACKEND (bpf), MACE_INTERVAL (0.01 s)
#
# Not the poster's paths exactly, and why:
#  - max-dev starts ingress at napi_gro_frags_entry, which veth never emits:
#    max-dev-auto starts at the first receive entry the outer device emits.
#  - syscalls ends ingress at recvmmsg; mace-ping (like ping) uses recvmsg:
#    syscalls-any accepts any receive syscall.
# Native rows use iputils ping (send: gettimeofday; receive: SO_TIMESTAMP,
# the poster's "native, original").  Container rows use examples/mace-ping
# (send: CLOCK_MONOTONIC before sendto; receive: SO_TIMESTAMPNS): raw and
# adjusted come from the same probes.  Statistics for every row are computed
# here alike: mean, mode (centre of the fullest 1 us bin), sample deviation.
. tests/lib.sh
. tests/testbed.sh
. tests/experiments/lib.sh

ROUNDS=${1:-10}
PROBES=${2:-100}
BACKEND=${MACE_BACKEND:-bpf}
INTERVAL=${MACE_INTERVAL:-0.01}
PING=${B:-build}/examples/mace-ping
PATHS="inner-dev max-dev-auto syscalls-any"

need_root poster_table || exit 1
[ -x "$PING" ] || { echo "$PING not built (make B=${B:-build} examples)" >&2; exit 1; }
need_tracefs || exit 1
tb_trap
W=$(mktemp -d /tmp/mace-poster.XXXXXX)
TB_TRAP_EXTRA="rm -rf '$W'"
tb_up bridge-nat || exit 1
ip netns exec "$TB_CTR" sysctl -qw net.ipv4.ping_group_range="0 2147483647"

# ping_us NS FILE: PROBES iputils pings from NS, one RTT (us) per line into FILE.
ping_us() {
	ip netns exec "$1" ping -n -c "$PROBES" -i "$INTERVAL" "$TB_REMOTE_IP" |
		sed -n 's/.* time=\([0-9.]*\) ms$/\1/p' | awk '{ printf "%.3f\n", $1 * 1000 }' >>"$2"
}

echo "poster-table: $ROUNDS rounds x $PROBES probes every $INTERVAL s, backend $BACKEND," \
	"testbed $TB_P" >&2
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	r=$((r + 1))
	for m in $(rotate "$r" native ctr-plain $PATHS); do
		case $m in
		native) ping_us "$TB_HOST" "$W/native.us" ;;
		ctr-plain) ping_us "$TB_CTR" "$W/ctr-plain.us" ;;
		*)
			# A path this backend cannot trace is reported, not fatal.
			[ -e "$W/fail-$m" ] && continue
			if ! ip netns exec "$TB_CTR" "$PING" -b "$BACKEND" -p "$m" -c "$PROBES" \
				-i "$INTERVAL" "$TB_REMOTE_IP" >"$W/out" 2>"$W/err"; then
				grep -m1 -E 'error|mace:' "$W/err" >"$W/fail-$m" || echo "exit status" >"$W/fail-$m"
				echo "mace-ping -p $m failed: $(cat "$W/fail-$m")" >&2
				continue
			fi
			awk -v raw="$W/raw-$m.us" -v adj="$W/adj-$m.us" -v unk="$W/unk-$m" '
				$1 ~ /^seq=/ && $2 ~ /^raw=/ { split($2, v, "="); print v[2] >> raw }
				$5 ~ /^adjusted=/ { split($5, v, "="); print v[2] >> adj }
				/overhead unknown/ { print >> unk }' "$W/out"
			;;
		esac
	done
	printf '  round %d/%d done\n' "$r" "$ROUNDS" >&2
done

# row LABEL FILE POSTER_MEAN POSTER_MODE POSTER_SD
row() {
	[ -s "$2" ] || { printf "%-42s %8s\n" "$1" "no data"; return; }
	awk -v label="$1" -v pm="$3" -v pmo="$4" -v psd="$5" '
		{ x[NR] = $1; s += $1; b = int($1); c[b]++; if (c[b] > best) { best = c[b]; mode = b + 0.5 } }
		END {
			mean = s / NR
			for (i = 1; i <= NR; i++) ss += (x[i] - mean) ^ 2
			sd = NR > 1 ? sqrt(ss / (NR - 1)) : 0
			printf "%-42s %8.3f %7.1f %8.3f %6d   %8s %7s %8s\n", label, mean, mode, sd, NR,
				pm, pmo, psd
		}' "$2"
}

mean_of() { awk '{ s += $1 } END { if (NR) printf "%.3f", s / NR }' "$1" 2>/dev/null; }

printf '\nRTT (us)                                    --------- this run ---------   ------ poster ------\n'
printf '%-42s %8s %7s %8s %6s   %8s %7s %8s\n' "Method" "Mean" "Mode" "SD" "n" "Mean" "Mode" "SD"
row "native, original (ping)" "$W/native.us" 169.253 156.5 65.338
row "container, unmonitored (ping)" "$W/ctr-plain.us" - - -
row "container, monitored, raw (inner-dev)" "$W/raw-inner-dev.us" 275.639 231.5 110.418
row "container, monitored, raw (max-dev-auto)" "$W/raw-max-dev-auto.us" - - -
row "container, monitored, raw (syscalls-any)" "$W/raw-syscalls-any.us" - - -
row "container, adjusted by 'inner-dev'" "$W/adj-inner-dev.us" 205.400 177.5 86.545
row "container, adjusted by 'max-dev-auto'" "$W/adj-max-dev-auto.us" 204.042 173.5 91.751
row "container, adjusted by 'syscalls-any'" "$W/adj-syscalls-any.us" 161.107 132.5 82.758

native=$(mean_of "$W/native.us")
printf '\nAdjusted minus native mean (poster: inner-dev +36.147, max-dev +34.789, syscalls -8.146 vs "original"):\n'
for p in $PATHS; do
	a=$(mean_of "$W/adj-$p.us")
	[ -n "$a" ] && printf '  %-14s %+9.3f us\n' "$p" "$(awk -v a="$a" -v n="$native" 'BEGIN { print a - n }')"
done
printf 'Raw minus native mean: %+.3f us (poster +106.386)\n' \
	"$(awk -v a="$(mean_of "$W/raw-inner-dev.us")" -v n="$native" 'BEGIN { print a - n }')"
for p in $PATHS; do
	[ -e "$W/fail-$p" ] && printf 'Path %s not measured: %s\n' "$p" "$(cat "$W/fail-$p")"
done
printf 'Probes without a known overhead (never guessed):'
for p in $PATHS; do printf ' %s %d;' "$p" "$(cat "$W/unk-$p" 2>/dev/null | wc -l)"; done
echo
