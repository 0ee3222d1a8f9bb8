#!/bin/sh
# mace adjust: the path matching ping's stamps is chosen and said, every
# adjusted value is raw - egress - ingress, and a keyed join that exceeds the
# RTT is printed as its negative value, never hidden or guessed.
. tests/lib.sh
. tests/testbed.sh

need_mace adjust || exit 0
W=$(mktemp -d /tmp/mace-adjust.XXXXXX)
trap 'rm -rf "$W"' EXIT

# ---- joined from records (no kernel needed) -------------------------------
# seq 1: keyed both ways, 30 + 25 us of overhead in a 50 us RTT: -5 us.
# seq 2: keyed, 10 + 5 us in 40 us: 25 us.
# seq 3: the reply record carries no key (time window) and 20 + 30 us exceed
#        the 45 us RTT: a guess the RTT refutes, so unknown.
{
	printf '%s\n' 'ts_ns,netns,dir,path,latency_ns,segments,proto,src,dst,id,sport,dport,seq,len,cpu_start,cpu_end'
	echo '1000000,7,egress,inner-dev,30000,30000,icmp,10.0.1.2,10.0.2.2,7,0,0,1,98,0,0'
	echo '1010000,7,ingress,inner-dev,25000,25000,icmp,10.0.2.2,10.0.2.1,7,0,0,1,84,0,0'
	echo '2000000,7,egress,inner-dev,10000,10000,icmp,10.0.1.2,10.0.2.2,7,0,0,2,98,0,0'
	echo '2010000,7,ingress,inner-dev,5000,5000,icmp,10.0.2.2,10.0.2.1,7,0,0,2,84,0,0'
	echo '3000000,7,egress,inner-dev,20000,20000,icmp,10.0.1.2,10.0.2.2,7,0,0,3,98,0,0'
	echo '3010000,7,ingress,inner-dev,30000,30000,0,,,0,0,0,0,84,0,0'
} >"$W/rec.csv"
cat >"$W/ping.txt" <<'PING'
PING 10.0.2.2 (10.0.2.2) 56(84) bytes of data.
64 bytes from 10.0.2.2: icmp_seq=1 ttl=63 time=0.050 ms
64 bytes from 10.0.2.2: icmp_seq=2 ttl=63 time=0.040 ms
64 bytes from 10.0.2.2: icmp_seq=3 ttl=63 time=0.045 ms
PING
"$MACE" adjust -i "$W/rec.csv" "$W/ping.txt" >"$W/out" 2>"$W/err"
rc=$?
if [ $rc -ne 0 ]; then
	fail adjust_negative "exit $rc: $(cat "$W/err")"
elif ! grep -q 'icmp_seq=1 .* adjusted=-0.005 ms (egress=0.030 ingress=0.025 ms; negative' "$W/out"; then
	fail adjust_negative "seq 1: $(grep icmp_seq=1 "$W/out")"
elif ! grep -q 'icmp_seq=2 .* adjusted=0.025 ms (egress=0.010 ingress=0.005 ms)$' "$W/out"; then
	fail adjust_negative "seq 2: $(grep icmp_seq=2 "$W/out")"
elif ! grep -q 'icmp_seq=3 .* adjusted=unknown$' "$W/out"; then
	fail adjust_negative "seq 3 (window guess over the RTT): $(grep icmp_seq=3 "$W/out")"
elif ! grep -q '^--- mace adjust: 3 replies, 2 adjusted, 1 unknown ---$' "$W/out" ||
	! grep -q '^1 adjusted RTTs are negative' "$W/out"; then
	fail adjust_negative "summary: $(grep -A1 '^---' "$W/out" | tr '\n' ' ')"
# raw 50, 40, 45: mean 45, median 45; adjusted -5 and 25: mean 10, median 10,
# deviation sqrt(450) = 21.213.
elif ! grep -Eq '^raw +3 +45\.000 +45\.000 ' "$W/out" ||
	! grep -Eq '^adjusted +2 +10\.000 +10\.000 +[-0-9.]+ +21\.213$' "$W/out"; then
	fail adjust_negative "statistics: $(grep -E '^(raw|adjusted) ' "$W/out" | tr '\n' ' ')"
else
	pass adjust_negative
fi

# Probes 200 ms apart find the host idle: said under the summary; 1 ms
# apart, not.
idle_case() {	# idle_case GAP_NS: the note line of four probes GAP_NS apart
	{
		printf '%s\n' 'ts_ns,netns,dir,path,latency_ns,segments,proto,src,dst,id,sport,dport,seq,len,cpu_start,cpu_end'
		for k in 1 2 3 4; do
			t=$((k * $1))
			echo "$t,7,egress,inner-dev,10000,10000,icmp,10.0.1.2,10.0.2.2,7,0,0,$k,98,0,0"
			echo "$((t + 20000)),7,ingress,inner-dev,5000,5000,icmp,10.0.2.2,10.0.2.1,7,0,0,$k,84,0,0"
		done
	} >"$W/idle.csv"
	for k in 1 2 3 4; do
		echo "64 bytes from 10.0.2.2: icmp_seq=$k ttl=63 time=0.040 ms"
	done >"$W/idle.txt"
	"$MACE" adjust -i "$W/idle.csv" "$W/idle.txt" 2>"$W/err" | grep '^note: probes'
}
slow=$(idle_case 200000000)
fast=$(idle_case 1000000)
case $slow in
"note: probes 200 ms apart: the host idles"*)
	if [ -z "$fast" ]; then
		pass adjust_idle_note
	else
		fail adjust_idle_note "probes 1 ms apart: $fast"
	fi ;;
*) fail adjust_idle_note "probes 200 ms apart: '$slow' $(cat "$W/err")" ;;
esac

# Requests without a key: each is found by time window before its keyed
# reply (seq 1: 50 - 10 - 5 us), and only when exactly one fits (seq 2: two).
{
	printf '%s\n' 'ts_ns,netns,dir,path,latency_ns,segments,proto,src,dst,id,sport,dport,seq,len,cpu_start,cpu_end'
	echo '1000000,7,egress,inner-dev,10000,10000,0,,,0,0,0,0,98,0,0'
	echo '1020000,7,ingress,inner-dev,5000,5000,icmp,10.0.2.2,10.0.2.1,7,0,0,1,84,0,0'
	echo '2000000,7,egress,inner-dev,10000,10000,0,,,0,0,0,0,98,0,0'
	echo '2001000,7,egress,inner-dev,10000,10000,0,,,0,0,0,0,98,0,0'
	echo '2020000,7,ingress,inner-dev,5000,5000,icmp,10.0.2.2,10.0.2.1,7,0,0,2,84,0,0'
} >"$W/anchor.csv"
"$MACE" adjust -i "$W/anchor.csv" "$W/ping.txt" >"$W/anchor.out" 2>"$W/anchor.err"
if ! grep -q 'icmp_seq=1 .* adjusted=0.035 ms (egress=0.010 ingress=0.005 ms)$' "$W/anchor.out"; then
	fail adjust_reply_anchor "seq 1: $(grep icmp_seq=1 "$W/anchor.out")"
elif ! grep -q 'icmp_seq=2 .* adjusted=unknown$' "$W/anchor.out"; then
	fail adjust_reply_anchor "seq 2 (two requests fit): $(grep icmp_seq=2 "$W/anchor.out")"
else
	pass adjust_reply_anchor
fi

# The records' path against ping's stamps: inner-dev matches ping -U only.
if ! grep -q 'records of path inner-dev; ping times replies by SO_TIMESTAMP, which path rx-stamp matches' "$W/err"; then
	fail adjust_path_mismatch_said "$(cat "$W/err")"
elif "$MACE" adjust -U -i "$W/rec.csv" "$W/ping.txt" 2>&1 >/dev/null | grep -q 'records of path'; then
	fail adjust_path_mismatch_said "said with -U, where inner-dev matches"
else
	pass adjust_path_mismatch_said
fi

for bad in "-i $W/rec.csv -- ping" "-p inner-dev $W/ping.txt" "-I 70000 $W/ping.txt"; do
	# shellcheck disable=SC2086
	"$MACE" adjust $bad >/dev/null 2>"$W/err"
	rc=$?
	[ $rc -eq 2 ] && [ -s "$W/err" ] || { fail adjust_usage "'adjust $bad' exited $rc"; break; }
done
[ $rc -eq 2 ] && pass adjust_usage

# ---- with a command: the path chosen from ping's options ------------------
need_root adjust_live || { lib_status; exit $?; }
need_tracefs || { fail adjust_live "no tracefs"; exit 1; }
clean_snapshot
tb_trap
TB_TRAP_EXTRA="rm -rf '$W'"
tb_up bridge-nat || { fail adjust_live "testbed did not come up"; exit 1; }

# live NAME WANT_PATH [MACE_OPTS] -- PING_OPTS: 10 probes, each adjusted line
# equal to time - egress - ingress, and the path said on stderr.
live() {
	name=$1 want=$2; shift 2
	mopts=
	while [ "$1" != -- ]; do mopts="$mopts $1"; shift; done
	shift
	# shellcheck disable=SC2086
	if ! "$MACE" adjust $mopts --netns "$TB_CTR" -- ip netns exec "$TB_CTR" \
		ping "$@" -c 10 -i 0.02 "$TB_REMOTE_IP" >"$W/$name.out" 2>"$W/$name.err"; then
		fail "$name" "exit $?: $(tail -3 "$W/$name.err" | tr '\n' ' ')"
		return
	fi
	good=$(awk '/icmp_seq=/ && /adjusted=/ {
		match($0, /time=[0-9.]+/); t = substr($0, RSTART + 5, RLENGTH - 5)
		match($0, /adjusted=-?[0-9.]+/); a = substr($0, RSTART + 9, RLENGTH - 9)
		match($0, /egress=[0-9.]+/); e = substr($0, RSTART + 7, RLENGTH - 7)
		match($0, /ingress=[0-9.]+/); i = substr($0, RSTART + 8, RLENGTH - 8)
		if (e > 0 && i > 0 && (t - e - i - a)^2 < 0.000004) n++ }
		END { print n + 0 }' "$W/$name.out")
	if ! grep -q "^path $want, backend" "$W/$name.err"; then
		fail "$name" "bound $(grep '^path' "$W/$name.err"), want $want"
	elif ! grep -q "mace: adjust: path $want" "$W/$name.err"; then
		fail "$name" "path not said: $(head -2 "$W/$name.err" | tr '\n' ' ')"
	elif [ "$good" -ne 10 ]; then
		fail "$name" "$good of 10 replies adjusted exactly: $(grep -m2 icmp_seq "$W/$name.out")"
	else
		pass "$name"
	fi
}
live adjust_live_so_timestamp rx-stamp --
live adjust_live_ping_U inner-dev -- -U
live adjust_live_ping_nU inner-dev -- -nU
live adjust_live_flag_U inner-dev -U --
live adjust_live_override inner-dev -p inner-dev --

tb_down
assert_clean adjust_clean
lib_status
