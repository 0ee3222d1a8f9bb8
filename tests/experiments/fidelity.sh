#!/bin/sh
# Fidelity experiment: does a corrected RTT from the container equal the RTT
# the same tool measures natively, at every probe rate?
#
#	sh tests/experiments/fidelity.sh [ROUNDS [PROBES]]
#	env: RATES ("500 50 5 1" probes/s), TOOLS ("ping ping-U mace-ping udp tcp"),
#	     PATHS ("default inner-dev rx-stamp"; "default" is the path mace
#	     chooses for the tool), PIN ("1": the tool on CPU 1 and mace on
#	     CPU 0; "0": unpinned; "0 1": both), SECONDS_MAX (per arm, caps
#	     PROBES at low rates), REMOTE_CPU (set: the remote's receive work
#	     runs on that CPU, as on a host of its own, through RPS), B.
#
# Tools and where each takes its timestamps:
#   ping       iputils ping: send stamp in user space before sendto(), receive
#              stamp SO_TIMESTAMP (taken at the device's receive entry);
#              container probes corrected by `mace adjust`.
#   ping-U     ping -U: receive stamp in user space after recvmsg() returns.
#   mace-ping  examples/mace-ping: SO_TIMESTAMPNS, corrects its own probes.
#   udp, tcp   tests/experiments/rr.c: user-space stamps around send()/recv();
#              probe k joined with the k-th data record of its flow.
# Arms: native (the tool in the host netns, untraced) and, for each path,
# the tool in the container under `mace record -p PATH` (raw and adjusted
# from the same probes).  Arms rotate every round, so drift hits them alike.
# "removed" = (raw - adjusted) / (raw - native), per round; the table gives
# its median and range over rounds.  "corr" = probes with a correction.
. tests/lib.sh
. tests/testbed.sh
. tests/experiments/lib.sh

ROUNDS=${1:-3}
PROBES=${2:-100}
RATES=${RATES:-500 50 5 1}
TOOLS=${TOOLS:-ping ping-U mace-ping udp tcp}
PATHS=${PATHS:-default inner-dev rx-stamp}
PIN=${PIN:-1}
SECONDS_MAX=${SECONDS_MAX:-60}
B=${B:-build}
MACE=$B/mace
MPING=$B/examples/mace-ping
RR=$B/experiments/rr
PORT=7007

need_root fidelity || exit 1
for x in "$MACE" "$MPING" "$RR"; do
	[ -x "$x" ] || { echo "$x not built (make bench builds it)" >&2; exit 1; }
done
need_tracefs || exit 1
tb_trap
W=$(mktemp -d /tmp/mace-fidelity.XXXXXX)
TB_TRAP_EXTRA="rm -rf '$W'"
tb_up bridge-nat || exit 1
for ns in "$TB_CTR" "$TB_HOST"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
done
RSV=
[ -z "${REMOTE_CPU:-}" ] || remote_cpu "$REMOTE_CPU" || exit 1
ip netns exec "$TB_REMOTE" $RSV "$RR" server udp $PORT &
ip netns exec "$TB_REMOTE" $RSV "$RR" server tcp $PORT &
sleep 0.2

# The path mace chooses for a tool: the ends where the tool takes its stamps.
default_path() {
	case $1 in
	ping | mace-ping) echo rx-stamp ;;
	*) echo inner-dev ;;
	esac
}

# run_tool TOOL NS PIN N INTERVAL: prints one "seq=N rtt_us=X" line per reply.
run_tool() {
	_pin=; [ "$3" = 1 ] && _pin="taskset -c 1"
	case $1 in
	ping | ping-U)
		u=; [ "$1" = ping-U ] && u=-U
		ip netns exec "$2" $_pin ping -n $u -c "$4" -i "$5" "$TB_REMOTE_IP" |
			sed -n 's/.*icmp_seq=\([0-9]*\) .* time=\([0-9.]*\) ms$/seq=\1 rtt_us=\2/p' |
			awk -F'[= ]' '{ printf "seq=%s rtt_us=%.3f\n", $2, $4 * 1000 }' ;;
	udp | tcp)
		ip netns exec "$2" $_pin "$RR" client "$1" "$TB_REMOTE_IP" $PORT "$4" "$5" |
			awk -F'[= ]' '$3 == "rtt_ns" { printf "seq=%s rtt_us=%.3f\n", $2, $4 / 1000 }' ;;
	esac
}

# ctr_arm TOOL PATH PIN N INTERVAL OUT: the tool in the container, traced;
# appends "raw adjusted" per probe (adjusted "-" when unknown) to OUT.
ctr_arm() {
	_pin=; _mpin=; [ "$3" = 1 ] && _pin="taskset -c 1" _mpin="taskset -c 0"
	case $1 in
	mace-ping)
		ip netns exec "$TB_CTR" $_pin "$MPING" -p "$2" -c "$4" -i "$5" "$TB_REMOTE_IP" \
			2>"$W/err" | awk '$1 ~ /^seq=/ && $2 ~ /^raw=/ {
				split($2, r, "="); a = "-"
				for (i = 3; i <= NF; i++) if ($i ~ /^adjusted=/) { split($i, v, "="); a = v[2] }
				print r[2], a }' >>"$6"
		return
		;;
	ping | ping-U)
		u=; [ "$1" = ping-U ] && u=-U
		$_mpin "$MACE" record -p "$2" --netns "$TB_CTR" -o "$W/rec.csv" -- ip netns exec "$TB_CTR" \
			$_pin ping -n $u -c "$4" -i "$5" "$TB_REMOTE_IP" >"$W/ping.txt" 2>"$W/err"
		"$MACE" adjust -i "$W/rec.csv" "$W/ping.txt" 2>>"$W/err" | awk '
			/icmp_seq=/ && /time=/ {
				match($0, /time=[0-9.]+/); raw = substr($0, RSTART + 5, RLENGTH - 5) * 1000
				a = "-"
				if (match($0, /adjusted=-?[0-9.]+/))
					a = substr($0, RSTART + 9, RLENGTH - 9) * 1000
				print raw, a }' >>"$6"
		return
		;;
	esac
	$_mpin "$MACE" record -p "$2" --netns "$TB_CTR" -o "$W/rec.csv" -- ip netns exec "$TB_CTR" \
		$_pin "$RR" client "$1" "$TB_REMOTE_IP" $PORT "$4" "$5" >"$W/rr.txt" 2>"$W/err"
	# Probe k <-> the k-th data record of the flow in each direction (TCP:
	# segments carrying the 64-byte message, not handshake or pure ACKs).
	awk -F, -v port=$PORT -v proto="$1" -v out="$6" '
		FNR == 1 && FILENAME ~ /csv$/ { next }
		FILENAME ~ /csv$/ {
			if ($7 != proto || (proto == "tcp" && $14 < 100)) next
			if ($3 == "egress" && $12 == port) e[++ne] = $5
			else if ($3 == "ingress" && $11 == port) g[++ng] = $5
			next }
		$3 == "rtt_ns" { k++; raw = $4 / 1000
			if (k <= ne && k <= ng) print raw, raw - (e[k] + g[k]) / 1000 >> out
			else print raw, "-" >> out }
	' "$W/rec.csv" FS='[= ]' "$W/rr.txt"
}

echo "fidelity: $ROUNDS rounds, rates $RATES/s, tools $TOOLS, paths $PATHS, pin $PIN," \
	"remote CPU ${REMOTE_CPU:-any}, testbed $TB_P" >&2
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	r=$((r + 1))
	for rate in $RATES; do
		iv=$(awk -v r="$rate" 'BEGIN { printf "%g", 1 / r }')
		n=$(awk -v p="$PROBES" -v r="$rate" -v m="$SECONDS_MAX" \
			'BEGIN { n = p; if (n > m * r) n = int(m * r); if (n < 5) n = 5; print n }')
		for pin in $PIN; do
			for tool in $TOOLS; do
				k="$rate.$pin.$tool"
				for arm in $(rotate "$r" native $PATHS); do
					case $arm in
					native)
						[ "$tool" = mace-ping ] && continue
						run_tool "$tool" "$TB_HOST" "$pin" "$n" "$iv" |
							sed 's/.*rtt_us=//' >"$W/$k.native.$r" ;;
					*)
						p=$arm; [ "$p" = default ] && p=$(default_path "$tool")
						: >"$W/$k.$arm.$r"
						ctr_arm "$tool" "$p" "$pin" "$n" "$iv" "$W/$k.$arm.$r"
						[ -s "$W/$k.$arm.$r" ] || echo "fidelity: $tool $arm: no probes:" \
							"$(tail -2 "$W/err")" >&2 ;;
					esac
				done
			done
		done
	done
	printf '  round %d/%d done\n' "$r" "$ROUNDS" >&2
done

# stats FILE COLUMN: mean median mode sd n of the known values of COLUMN.
stats() {
	awk -v c="$2" '$c != "-" && $c != "" { x[++n] = $c + 0 }
		END {
			if (!n) { print "- - - - 0"; exit }
			for (i = 1; i <= n; i++) { s += x[i]; b = int(x[i] < 0 ? x[i] - 1 : x[i]); h[b]++
				if (h[b] > best) { best = h[b]; mode = b + 0.5 } }
			m = s / n; for (i = 1; i <= n; i++) ss += (x[i] - m) ^ 2
			# median: insertion sort is fine for a few thousand values
			for (i = 2; i <= n; i++) { v = x[i]; j = i - 1; while (j > 0 && x[j] > v) { x[j + 1] = x[j]; j-- } x[j + 1] = v }
			med = n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2
			printf "%.1f %.1f %.1f %.1f %d\n", m, med, mode, (n > 1 ? sqrt(ss / (n - 1)) : 0), n }' "$1"
}

printf '\nRTT in us: mean/median/mode/sd; removed = (raw - adjusted) / (raw - native), by mean\n'
printf '(median over rounds [min..max]) and by median; corr = probes corrected / replies;\n'
printf '* marks the path mace chooses for the tool.\n\n'
printf '%-5s %-4s %-9s %-10s %-25s %-25s %-25s %-20s %-7s %s\n' rate pin tool path \
	native raw adjusted "removed(mean)" "rm(med)" corr
for rate in $RATES; do
	for pin in $PIN; do
		for tool in $TOOLS; do
			k="$rate.$pin.$tool"
			# mace-ping has no untraced mode: its native baseline is iputils
			# ping, which takes the same stamps (user send, SO_TIMESTAMP receive).
			nk=$k; [ "$tool" = mace-ping ] && nk="$rate.$pin.ping"
			cat "$W/$nk.native."* >"$W/all.native" 2>/dev/null
			set -- $(stats "$W/all.native" 1); nat="$1/$2/$3/$4" nmean=$1 nmed=$2
			for arm in $PATHS; do
				cat "$W/$k.$arm."* >"$W/all.ctr" 2>/dev/null
				set -- $(stats "$W/all.ctr" 1); raw="$1/$2/$3/$4" rmean=$1 rmed=$2 nr=$5
				set -- $(stats "$W/all.ctr" 2); adj="$1/$2/$3/$4" amean=$1 amed=$2 na=$5
				# per round: removed share by mean
				rr=$(i=1; while [ $i -le "$ROUNDS" ]; do
					nm=$(stats "$W/$nk.native.$i" 1 | cut -d' ' -f1)
					st=$(awk '$2 != "-" { r += $1; a += $2; n++ } END { if (n) print r / n, a / n }' \
						"$W/$k.$arm.$i" 2>/dev/null)
					[ -n "$st" ] && [ "$nm" != - ] && echo "$st $nm" |
						awk '{ d = $1 - $3; if (d > 0) printf "%.0f\n", 100 * ($1 - $2) / d }'
					i=$((i + 1)); done | sort -n | awk '{ v[++n] = $1 } END {
						if (n) printf "%d%% [%d..%d]", v[int((n + 1) / 2)], v[1], v[n]; else print "-" }')
				rm_med=$(awk -v r="$rmed" -v a="$amed" -v n="$nmed" 'BEGIN {
					if (r != "-" && a != "-" && r - n > 0) printf "%.0f%%", 100 * (r - a) / (r - n); else print "-" }')
				# "*": the path mace chooses for this tool
				lbl=$arm
				[ "$arm" = default ] && lbl=$(default_path "$tool")
				[ "$lbl" = "$(default_path "$tool")" ] && lbl="$lbl*"
				printf '%-5s %-4s %-9s %-10s %-25s %-25s %-25s %-20s %-7s %s/%s\n' "$rate" "$pin" \
					"$tool" "$lbl" "$nat" "$raw" "$adj" "$rr" "$rm_med" "$na" "$nr"
			done
		done
	done
done
