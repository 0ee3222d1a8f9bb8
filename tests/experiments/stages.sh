#!/bin/sh
# Where the microseconds of a round trip go: a UDP request/response timed in
# user space (tests/experiments/rr.c) natively and from the container, with
# every device hop stamped by ftrace on the same clock (CLOCK_MONOTONIC), so
# each stage of the raw RTT is measured, not inferred.
#
#	sh tests/experiments/stages.sh [PROBES [INTERVAL_S]]
#	env: PATH_UNDER_TEST (trace the container arm with mace record -p it;
#	     empty: no mace), REMOTE_CPU (as in fidelity.sh), CLIENT_CPU (1),
#	     MACE_CPU (0), B.
#
# Stages, natively: stack (the send stamp to the outer device's transmit,
# seen as the remote end's netif_rx), remote (to the reply's netif_rx at the
# outer device), backlog (to its protocol handler, netif_receive_skb),
# socket (to the receive stamp).  From the container: stack (to the
# container device's transmit), egress (to the outer device's transmit:
# what paths measure), remote, backlog, ingress (to the container device's
# netif_rx), backlog, socket.  Medians over the probes.
. tests/lib.sh
. tests/testbed.sh
. tests/experiments/lib.sh

PROBES=${1:-40}
INTERVAL=${2:-0.2}
B=${B:-build}
RR=$B/experiments/rr
CLIENT_CPU=${CLIENT_CPU:-1}
MACE_CPU=${MACE_CPU:-0}
PORT=7008
need_root stages || exit 1
[ -x "$RR" ] || { echo "$RR not built (make tests)" >&2; exit 1; }
need_tracefs || exit 1
tb_trap
W=$(mktemp -d /tmp/mace-stages.XXXXXX)
T=$TRACEFS/instances/stages-$$
TB_TRAP_EXTRA="[ -d '$T' ] && { echo 0 >'$T/tracing_on'; echo 0 >'$T/events/enable'; rmdir '$T'; }; rm -rf '$W'"
tb_up bridge-nat || exit 1
RSV=
[ -z "${REMOTE_CPU:-}" ] || remote_cpu "$REMOTE_CPU" || exit 1
ip netns exec "$TB_REMOTE" $RSV "$RR" server udp $PORT &
sleep 0.2

mkdir "$T" || exit 1
echo mono >"$T/trace_clock"
echo 8192 >"$T/buffer_size_kb"
for e in net_dev_xmit netif_rx netif_receive_skb; do
	echo "name ~ \"$TB_P*\"" >"$T/events/net/$e/filter" &&
	echo 1 >"$T/events/net/$e/enable" || exit 1
done
echo 1 >"$T/tracing_on"
ip netns exec "$TB_HOST" taskset -c "$CLIENT_CPU" "$RR" client udp "$TB_REMOTE_IP" $PORT "$PROBES" "$INTERVAL" \
	>"$W/native.txt"
if [ -n "${PATH_UNDER_TEST:-}" ]; then
	taskset -c "$MACE_CPU" "$MACE" record -p "$PATH_UNDER_TEST" --netns "$TB_CTR" -o /dev/null -- \
		ip netns exec "$TB_CTR" taskset -c "$CLIENT_CPU" "$RR" client udp "$TB_REMOTE_IP" $PORT "$PROBES" \
		"$INTERVAL" >"$W/ctr.txt" 2>"$W/mace.err" || { cat "$W/mace.err" >&2; exit 1; }
else
	ip netns exec "$TB_CTR" taskset -c "$CLIENT_CPU" "$RR" client udp "$TB_REMOTE_IP" $PORT "$PROBES" \
		"$INTERVAL" >"$W/ctr.txt"
fi
echo 0 >"$T/tracing_on"
cat "$T/trace" >"$W/trace"

# stages KIND CHAIN...: CHAIN lists "event@device" hops after the send stamp;
# per probe, each hop is the first such event after the previous one.
stages() {
	kind=$1; shift
	awk -v chain="$*" -v p="$TB_P" -v kind="$kind" '
		FILENAME ~ /trace$/ {
			if (!match($0, / [0-9]+\.[0-9]+: [a-z_]+: dev=[^ ]+/)) next
			split(substr($0, RSTART + 1, RLENGTH - 1), f, /: |dev=/)
			n++; t[n] = f[1] * 1e9; key[n] = f[2] "@" f[4]
			next }
		/^seq=/ { split($0, v, /[= ]/); probes++; s0[probes] = v[6]; s1[probes] = v[6] + v[4] }
		END {
			nh = split(chain, hop, " ")
			for (h = 1; h <= nh; h++) sub(/@/, "@" p, hop[h])
			j = 1
			for (q = 3; q <= probes; q++) {	# the first two warm the ARP-free path up
				while (j <= n && t[j] < s0[q] - 1000) j++
				prev = s0[q]; k = j; ok = 1
				for (h = 1; h <= nh; h++) {
					while (k <= n && (key[k] != hop[h] || t[k] < prev)) k++
					if (k > n || t[k] > s1[q]) { ok = 0; break }
					d[h, m + 1] = (t[k] - prev) / 1000; prev = t[k]
				}
				if (!ok) continue
				m++; d[nh + 1, m] = (s1[q] - prev) / 1000; d[nh + 2, m] = (s1[q] - s0[q]) / 1000
			}
			for (h = 1; h <= nh + 2; h++) {
				for (i = 1; i <= m; i++) x[i] = d[h, i]
				for (i = 2; i <= m; i++) { y = x[i]; k = i - 1; while (k > 0 && x[k] > y) { x[k + 1] = x[k]; k-- } x[k + 1] = y }
				med[h] = m ? (m % 2 ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2) : 0
			}
			printf "%-7s %4d", kind, m
			for (h = 1; h <= nh + 2; h++) printf " %8.1f", med[h]
			printf "\n" }' "$W/trace" "$W/$kind.txt"
}
echo "UDP request/response every $INTERVAL s, $PROBES probes, mace: ${PATH_UNDER_TEST:-none}," \
	"remote CPU ${REMOTE_CPU:-any}; median us per stage"
printf '%-7s %4s %8s %8s %8s %8s %8s %8s %8s %8s\n' "" n stack egress remote backlog ingress \
	backlog socket RTT
stages native "netif_rx@r0 netif_rx@o0 netif_receive_skb@o0" | awk '{
	printf "%-7s %4d %8s %8s %8s %8s %8s %8s %8s %8s\n", $1, $2, $3, "-", $4, $5, "-", "-", $6, $7 }'
stages ctr "netif_rx@h0 netif_rx@r0 netif_rx@o0 netif_receive_skb@o0 netif_rx@c0 netif_receive_skb@c0" |
	awk '{ printf "%-7s %4d %8s %8s %8s %8s %8s %8s %8s %8s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }'
