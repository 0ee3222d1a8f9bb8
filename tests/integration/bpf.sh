#!/bin/sh
# The eBPF backend on real traffic (bridge + NAT testbed): one record per ping
# and direction, in kernel correlation and in raw-event mode; the counters add
# up; the path's programs only; refusal without capabilities names them;
# no program or map left behind.
. tests/lib.sh
. tests/testbed.sh

need_root bpf || exit 0
need_mace bpf || exit 0
clean_snapshot
tb_trap
W=$(mktemp -d /tmp/mace-bpf.XXXXXX)
TB_TRAP_EXTRA="rm -rf '$W'"
tb_up bridge-nat || { fail bpf "testbed did not come up"; exit 1; }
N=40
maps_before=$(bpftool map show 2>/dev/null | grep -c '^[0-9]')

# count FILE DIR: records of one direction with 0 < latency < 50 ms.
count() {
	awk -F, -v dir="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$col["dir"] == dir && $col["latency_ns"] > 0 && $col["latency_ns"] < 50000000' "$1" |
		wc -l
}

for mode in kernel raw; do
	extra=
	[ $mode = raw ] && extra=--raw
	"$MACE" record -b bpf $extra --netns "$TB_CTR" -o "$W/$mode.csv" -- \
		ip netns exec "$TB_CTR" ping -q -c $N -i 0.02 "$TB_REMOTE_IP" >/dev/null 2>"$W/$mode.err"
	rc=$?
	if [ $rc -ne 0 ]; then
		fail bpf_$mode "exit $rc: $(tail -3 "$W/$mode.err" | tr '\n' ' ')"
		continue
	fi
	e=$(count "$W/$mode.csv" egress)
	i=$(count "$W/$mode.csv" ingress)
	if [ "$e" -ne $N ] || [ "$i" -ne $N ]; then
		fail bpf_$mode "$e egress and $i ingress records, want $N each"
	else
		pass "bpf_${mode}_records ($e + $i)"
	fi
	if b=$(balanced "$W/$mode.err"); then
		pass "bpf_${mode}_counters ($b)"
	else
		fail bpf_${mode}_counters "$b"
	fi
done
if [ -s "$W/kernel.err" ] && ! grep -q "correlating in the kernel" "$W/kernel.err"; then
	fail bpf_kernel_mode "the default run did not correlate in the kernel"
fi

# Records carry the packet: ICMP echoes with their seq, both directions (the
# egress start, net_dev_xmit, gets its headers from net_dev_start_xmit).
for d in ingress egress; do
	for mode in kernel raw; do
		seqs=$(awk -F, -v d=$d 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
			$col["dir"] == d && $col["proto"] == "icmp" && $col["id"] > 0 {
				print $col["seq"] }' "$W/$mode.csv" 2>/dev/null | sort -n | uniq | wc -l)
		if [ "$seqs" -eq $N ]; then
			pass bpf_flow_fields_${d}_$mode
		else
			fail bpf_flow_fields_${d}_$mode "$seqs distinct ICMP seqs in $d records, want $N"
		fi
	done
done

# Every container's veth is ifindex 2 in its own netns, as is the outer
# device in the host's: with four more containers, seven bound devices share
# one set of the programs' device table, which has four ways; the others are
# found through the set's overflow to the hash map.  Every container still
# gets one record per ping and direction.
ctrs="$TB_CTR $TB_CTR2"
for k in 1 2 3 4; do
	ns=${TB_P}x$k
	if ! tb_ctr "$ns" "${TB_P}xc$k" "${TB_P}xh$k" "10.$TB_X.1.$((10 + k))" ||
		! tb_run ip -n "$TB_HOST" link set "${TB_P}xh$k" master "$TB_BRIDGE_DEV"; then
		fail bpf_device_overflow "container $ns did not come up"
		break
	fi
	ctrs="$ctrs $ns"
done
M=5
ip netns exec "$TB_HOST" "$MACE" record -b bpf -o "$W/many.csv" -- sh -c '
	r=$1; n=$2; shift 2
	for ns; do ip netns exec "$ns" ping -q -c "$n" -i 0.02 "$r" >/dev/null || exit 1; done' \
	sh "$TB_REMOTE_IP" $M $ctrs 2>"$W/many.err"
rc=$?
shared=$(grep -c ' ifindex 2 ' "$W/many.err")
bad=
for ns in $ctrs; do
	ino=$(stat -L -c %i "/run/netns/$ns")
	for d in egress ingress; do
		got=$(awk -F, -v ino="$ino" -v d=$d 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
			$col["netns"] == ino && $col["dir"] == d && $col["proto"] == "icmp"' \
			"$W/many.csv" | wc -l)
		[ "$got" -eq $M ] || bad="$bad $ns:$d=$got"
	done
done
if [ $rc -ne 0 ] || [ "$shared" -lt 5 ] || [ -n "$bad" ]; then
	fail bpf_device_overflow "exit $rc, $shared devices of ifindex 2, records off:$bad;\
 $(tail -2 "$W/many.err" | tr '\n' ' ')"
else
	pass "bpf_device_overflow ($shared devices of ifindex 2, $M pings from each of 6 containers)"
fi

# mace stat aggregates: in the kernel (a histogram per container and
# direction, no records), and with --raw in user space from records.  The
# same six containers: each has its M pings per direction, and the session's
# records are exactly what the histograms hold.
for mode in kernel raw; do
	extra=
	[ $mode = raw ] && extra=--raw
	ip netns exec "$TB_HOST" "$MACE" stat -j -b bpf $extra -- sh -c '
		r=$1; n=$2; shift 2
		for ns; do ip netns exec "$ns" ping -q -c "$n" -i 0.02 "$r" >/dev/null || exit 1; done' \
		sh "$TB_REMOTE_IP" $M $ctrs >"$W/agg-$mode.json" 2>"$W/agg-$mode.err"
	rc=$?
	bad=
	for ns in $ctrs; do
		ino=$(stat -L -c %i "/run/netns/$ns")
		got=$(jq -r --argjson ino "$ino" '[.netns[] | select(.netns == $ino) |
			"\(.dir)=\(.count)"] | sort | join(",")' "$W/agg-$mode.json" 2>/dev/null)
		[ "$got" = "egress=$M,ingress=$M" ] || bad="$bad $ns:$got"
	done
	sums=$(jq -r '"\([.total[].count] | add) \(.counters.records) \([.total[] |
		select(.count > 0 and (.min_ns > .p50_ns or .p50_ns > .max_ns or
		.mean_ns < .min_ns or .mean_ns > .max_ns))] | length)"' "$W/agg-$mode.json" 2>/dev/null)
	want="histograms"
	[ $mode = raw ] && want="backend bpf\$"
	if [ $rc -ne 0 ] || [ -n "$bad" ] || [ "${sums%% *}" != "$((12 * M))" ] ||
		[ "$(echo "$sums" | cut -d' ' -f2)" != "$((12 * M))" ] || [ "${sums##* }" != 0 ] ||
		! grep -q "$want" "$W/agg-$mode.err" || ! b=$(balanced "$W/agg-$mode.err"); then
		fail bpf_aggregate_$mode "exit $rc, counts off:$bad; histograms/records/odd: $sums;\
 $(tail -2 "$W/agg-$mode.err" | tr '\n' ' ')"
	else
		pass "bpf_aggregate_$mode ($M pings per direction from each of 6 containers; $b)"
	fi
done

# The kernel's histograms hold each packet's whole latency, start to end
# point, on a path with waypoints: `mace stat` (aggregating in the kernel)
# and `mace record` on the same packets at once give the same count and
# nearly the same mean per direction (each session's programs add a little
# to the other's times); the time to the first waypoint is far less.
"$MACE" stat -j -b bpf -p bridge-nat --netns "$TB_CTR" >"$W/vs-agg.json" 2>"$W/vs-agg.err" &
spid=$!
i=0
until grep -q 'counters\|histograms' "$W/vs-agg.err" 2>/dev/null || [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
sleep 0.2	# its programs are attached
"$MACE" record -b bpf -p bridge-nat --netns "$TB_CTR" -o "$W/vs-rec.csv" -- \
	ip netns exec "$TB_CTR" ping -q -c $N -i 0.02 "$TB_REMOTE_IP" >/dev/null 2>"$W/vs-rec.err"
rrc=$?
kill -INT $spid
wait $spid
src=$?
bad= ok=
for d in egress ingress; do
	set -- $(jq -r --arg d $d '.total[] | select(.dir == $d) | "\(.count) \(.mean_ns)"' \
		"$W/vs-agg.json" 2>/dev/null) \
		$(awk -F, -v d=$d 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$col["dir"] == d { n++; s += $col["latency_ns"]; split($col["segments"], g, ";"); f += g[1] }
		END { if (n) printf "%d %.1f %.1f", n, s / n, f / n }' "$W/vs-rec.csv")
	# kernel count, mean; records count, mean, mean to the first waypoint
	if [ $# -ne 5 ] || [ "$1" -ne $N ] || [ "$3" -ne $N ] ||
		! awk -v a="$2" -v r="$4" 'BEGIN { d = a - r; exit !(d * d <= 0.0625 * r * r) }'; then
		bad="$bad $d: kernel '$1 $2', records '$3 $4' (first waypoint $5);"
	else
		ok="$ok $d mean $2 vs $4 ns (first waypoint $5);"
	fi
done
if [ $src -ne 0 ] || [ $rrc -ne 0 ] || [ -n "$bad" ]; then
	fail bpf_aggregate_vs_records "exit $src/$rrc, want $N each and means within 25%:$bad \
$(tail -2 "$W/vs-agg.err" "$W/vs-rec.err" | tr '\n' ' ')"
else
	pass "bpf_aggregate_vs_records ($N pings;$ok)"
fi

# Two aggregating sessions hand over at a cut time (mace top binding again):
# while both run, each packet goes into one histogram only; the other session
# counts it as left out by its window.  Pings from 0.5 s to 2.5 s; A alone
# until 1.5 s, both until 2.25 s, then B alone.
P=400
HANDOVER=${B:-build}/itests/handover
(sleep 0.5; ip netns exec "$TB_CTR" ping -q -c $P -i 0.005 "$TB_REMOTE_IP" >/dev/null) &
h=$("$HANDOVER" "$TB_CTR" 4.5 2>"$W/handover.err")
rc=$?
wait
set -- $h
if [ $rc -ne 0 ] || [ $# -ne 12 ]; then
	fail bpf_aggregate_handover "exit $rc: $(tail -2 "$W/handover.err" | tr '\n' ' ')"
elif [ $(($2 + $8)) -ne $((2 * P)) ] || [ "$4" -eq 0 ] || [ "$2" -eq 0 ] || [ "$8" -eq 0 ] ||
	[ $(($6 + ${12})) -ne $(($2 + $4 + $8 + ${10})) ]; then
	fail bpf_aggregate_handover "$h; want a_counted + b_counted = $((2 * P)), some of A's left out"
else
	pass "bpf_aggregate_handover ($h)"
fi

# libbpf's print hook is the caller's: libmace's only lives while it loads.
if out=$("${B:-build}/itests/print_hook" "$TB_CTR" 2>&1); then
	pass "bpf_libbpf_print_hook_kept ($out)"
else
	fail bpf_libbpf_print_hook_kept "$(echo "$out" | tail -2 | tr '\n' ' ')"
fi

# A pending table of one set (max_pending 2) beside a default one, on the
# same packets: ping floods both ways, so most skb addresses find the set
# full, and a few pings from the remote to the host, starts at the outer
# device that never end.  Dropped starts are counted; the records it still
# makes must be the default table's records of the same packets; the
# entries that never end expire while it runs (tests/integration/collide.c).
COLLIDE=${B:-build}/itests/collide
ip -n "$TB_REMOTE" route add "${TB_CTR_IP%.*}.0/24" via "$TB_HOST_IP"
h=$("$COLLIDE" "$TB_CTR" "ip netns exec $TB_REMOTE ping -q -f -l 16 -c 1000 $TB_CTR_IP >/dev/null &
	ip netns exec $TB_REMOTE ping -q -c 10 -i 0.02 $TB_HOST_IP >/dev/null &
	ip netns exec $TB_CTR ping -q -f -l 16 -c 1000 $TB_REMOTE_IP >/dev/null; wait" \
	2>"$W/collide.err")
rc=$?
ip -n "$TB_REMOTE" route del "${TB_CTR_IP%.*}.0/24"
set -- $h
if [ $rc -ne 0 ] || [ $# -ne 18 ]; then
	fail bpf_slot_collisions "exit $rc: $(tail -2 "$W/collide.err" | tr '\n' ' ')"
elif [ "$2" -eq 0 ] || [ "$6" -ne "$2" ] || [ "$8" -ne 0 ] || [ "${10}" -ne 0 ] ||
	[ "${14}" -eq 0 ] || [ "${16}" -ne 0 ] || [ "${18}" -ne 1 ] || [ "$4" -lt 3900 ]; then
	fail bpf_slot_collisions "$h; want every record paired, none off, collisions counted, nothing pending, ~4000 reference records"
else
	pass "bpf_slot_collisions ($h)"
fi

# While running, only the path's programs are loaded (inner-dev: two; no
# third tracepoint on every packet's path to read headers), and the two on
# skb frees that kernel correlation needs.
# bpftool here shows no owner pids: judge the programs that appeared.
# Programs vanishing during a listing make bpftool print an error object: retry.
progs_json() {
	for _ in 1 2 3 4 5; do
		j=$(bpftool prog show -j 2>/dev/null) &&
			printf '%s' "$j" | jq -e 'type == "array"' >/dev/null 2>&1 && break
		sleep 0.1
	done
	printf '%s' "$j"
}
before=$(progs_json | jq -r '.[]? | objects | .id' | tr '\n' ' ')
"$MACE" record -b bpf --netns "$TB_CTR" -d 3 -o /dev/null >/dev/null 2>&1 &
pid=$!
sleep 1.5
names=$(progs_json | jq -r --arg b " $before " \
	'.[]? | objects | .id as $i | select(($b | contains(" \($i) ")) | not) | .name' | sort -u | tr '\n' ' ')
kill -INT $pid
wait $pid
if [ "$names" = "tp_consume_skb tp_kfree_skb tp_net_dev_xmit tp_netif_receive_skb " ]; then
	pass bpf_only_path_programs
else
	fail bpf_only_path_programs "programs loaded for inner-dev: $names"
fi

tb_down
# Programs are freed after an RCU grace period once their links are gone.
i=0
while [ $i -lt 30 ] && progs_json | jq -r '.[]? | objects | .name' | grep -q '^tp_'; do
	sleep 0.1
	i=$((i + 1))
done
assert_clean bpf_clean
lib_status
