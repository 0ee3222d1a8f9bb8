#!/bin/sh
# RTT correction on real traffic: examples/mace-ping in a bridged+NATed
# container, and `mace adjust` joining an unmodified ping with mace record.
. tests/lib.sh
. tests/testbed.sh

PING=${B:-build}/examples/mace-ping
need_root mace_ping || exit 0
need_mace mace_ping || exit 0
if [ ! -x "$PING" ]; then
	skip mace_ping "$PING not built"
	exit 0
fi
need_tracefs || { fail mace_ping "no tracefs"; exit 1; }
clean_snapshot
tb_trap
W=$(mktemp -d /tmp/mace-ping.XXXXXX)
TB_TRAP_EXTRA="rm -rf '$W'"
tb_up bridge-nat || { fail mace_ping "testbed did not come up"; exit 1; }
# Datagram ICMP sockets need the caller's group in the range (per netns).
ip netns exec "$TB_CTR" sysctl -qw net.ipv4.ping_group_range="0 2147483647"

# check_ping NAME BACKEND N: N probes, every one with known overhead and
# 0 < adjusted < raw; the summary counts them all.
check_ping() {
	name=$1 backend=$2 n=$3
	if ! ip netns exec "$TB_CTR" "$PING" -b "$backend" -c "$n" -i 0.05 "$TB_REMOTE_IP" \
		>"$W/$name.out" 2>"$W/$name.err"; then
		fail "$name" "mace-ping exited $?: $(tail -3 "$W/$name.err" | tr '\n' ' ')"
		return
	fi
	good=$(awk '$1 ~ /^seq=/ && $3 ~ /^egress=/ {
		split($2, r, "="); split($3, e, "="); split($4, i, "="); split($5, a, "=")
		if (a[2] > 0 && a[2] < r[2] && e[2] > 0 && i[2] > 0 &&
		    (r[2] - e[2] - i[2] - a[2])^2 < 0.000004) n++ }
		END { print n + 0 }' "$W/$name.out")
	if [ "$good" -ne "$n" ]; then
		fail "$name" "$good of $n probes adjusted: $(grep -v egress= "$W/$name.out" |
			head -3 | tr '\n' ' ')"
	elif ! grep -q "^--- .*: $n sent, $n replies, $n adjusted ---" "$W/$name.out"; then
		fail "$name" "summary: $(grep '^---' "$W/$name.out")"
	elif ! grep -Eq '^adjusted +'"$n"' ' "$W/$name.out"; then
		fail "$name" "no adjusted summary line"
	else
		pass "$name"
	fi
}

check_ping mace_ping_bpf bpf 20
check_ping mace_ping_ftrace ftrace 10

# mace adjust: an unmodified ping, recorded by mace record.
if ! "$MACE" record -b bpf --netns "$TB_CTR" -o "$W/rec.csv" -- \
	ip netns exec "$TB_CTR" ping -c 20 -i 0.05 "$TB_REMOTE_IP" >"$W/ping.txt" 2>"$W/rec.err"
then
	fail mace_adjust "mace record exited $?: $(tail -3 "$W/rec.err" | tr '\n' ' ')"
elif ! "$MACE" adjust -i "$W/rec.csv" "$W/ping.txt" >"$W/adj.txt" 2>"$W/adj.err"; then
	fail mace_adjust "mace adjust exited $?: $(tail -3 "$W/adj.err" | tr '\n' ' ')"
else
	# Per seq, the egress and ingress latencies (ms, three decimals) of the
	# records the test finds itself: one request and one reply record each.
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$col["proto"] == "icmp" { l[$col["seq"], $col["dir"]] = $col["latency_ns"]; s[$col["seq"]] = 1 }
		END { for (q in s) printf "%d %.3f %.3f\n", q, l[q, "egress"] / 1e6, l[q, "ingress"] / 1e6 }' \
		"$W/rec.csv" | sort -n >"$W/adj-want.txt"
	sed -n 's/.*icmp_seq=\([0-9]*\) .*(egress=\([0-9.]*\) ingress=\([0-9.]*\) ms)$/\1 \2 \3/p' \
		"$W/adj.txt" | sort -n >"$W/adj-got.txt"
	joined=$(grep -c 'icmp_seq=.* adjusted=[0-9.]* ms (egress=[0-9.]* ingress=[0-9.]* ms)$' \
		"$W/adj.txt")
	if [ "$joined" -ne 20 ]; then
		fail mace_adjust "$joined of 20 ping lines joined: $(grep -m3 unknown "$W/adj.txt" |
			tr '\n' ' ')"
	elif ! grep -q '^--- mace adjust: 20 replies, 20 adjusted, 0 unknown ---' "$W/adj.txt"; then
		fail mace_adjust "summary: $(grep '^---' "$W/adj.txt")"
	elif off=$(awk '/icmp_seq=.* adjusted=/ {
		# each line: adjusted = time - egress - ingress (three decimals each),
		# and the egress/ingress the records of its seq hold
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^time=/) t = substr($i, 6)
			if ($i ~ /^adjusted=/) a = substr($i, 10)
			if ($i ~ /^\(egress=/) e = substr($i, 9)
			if ($i ~ /^ingress=/) g = substr($i, 9)
		}
		if (!(a > 0) || (t - e - g - a)^2 > 0.000003) print }' "$W/adj.txt") &&
		[ -n "$off" ]; then
		fail mace_adjust "adjusted != time - egress - ingress: $(echo "$off" | head -2 |
			tr '\n' ' ')"
	elif ! cmp -s "$W/adj-want.txt" "$W/adj-got.txt"; then
		fail mace_adjust "egress/ingress not the records of the line's seq: $(diff \
			"$W/adj-want.txt" "$W/adj-got.txt" | grep '^[<>]' | head -2 | tr '\n' ' ')"
	else
		pass mace_adjust
	fi
fi

# Seqs the records do not have (91..920) must give "unknown", never a guess.
sed 's/icmp_seq=\([0-9]*\)/icmp_seq=9\1/' "$W/ping.txt" >"$W/ping-shifted.txt"
if "$MACE" adjust -i "$W/rec.csv" "$W/ping-shifted.txt" >"$W/adj2.txt" 2>&1 &&
	grep -q '^--- mace adjust: 20 replies, 0 adjusted, 20 unknown ---' "$W/adj2.txt"; then
	pass mace_adjust_no_guess
else
	fail mace_adjust_no_guess "$(grep '^---' "$W/adj2.txt")"
fi
"$MACE" adjust -x >/dev/null 2>&1
[ $? -eq 2 ] && pass mace_adjust_usage || fail mace_adjust_usage "bad option did not exit 2"

tb_down
assert_clean mace_ping_clean
lib_status
