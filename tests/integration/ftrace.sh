#!/bin/sh
# The ftrace backend on real traffic: same records as eBPF, every shipped
# path works or is refused with a reason, duplicate device names refused,
# nothing left behind, a SIGKILLed run's instance removed by the next run.
. tests/lib.sh
. tests/testbed.sh

need_root ftrace || exit 0
need_mace ftrace || exit 0
need_tracefs || { fail ftrace "no tracefs"; exit 1; }
clean_snapshot
tb_trap
W=$(mktemp -d /tmp/mace-ftrace.XXXXXX)
TB_TRAP_EXTRA="rm -rf '$W'"
tb_up bridge-nat || { fail ftrace "testbed did not come up"; exit 1; }

# The workload: 50 pings, then 20 UDP datagrams echoed by the remote.
cat >"$W/echo.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9999))
s.settimeout(10)
for _ in range(20):
    d, a = s.recvfrom(2048)
    s.sendto(d, a)
EOF
cat >"$W/send.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for i in range(20):
    s.sendto(b"mace-%02d" % i + b"x" * 64, (sys.argv[1], 9999))
    s.recvfrom(2048)
    time.sleep(0.02)
EOF
# The workload as a script, so mace record can run it (-- CMD) and stop
# when it exits.
cat >"$W/workload.sh" <<EOF
ip netns exec "$TB_CTR" ping -q -c 50 -i 0.02 "$TB_REMOTE_IP" >/dev/null &&
ip netns exec "$TB_CTR" python3 "$W/send.py" "$TB_REMOTE_IP"
EOF
record() {
	ip netns exec "$TB_REMOTE" python3 "$W/echo.py" &
	echo_pid=$!
	sleep 0.3
	"$MACE" record -b "$1" -p bridge-nat --netns "$TB_CTR" -o "$W/$1.csv" -- sh "$W/workload.sh" \
		>/dev/null 2>"$W/$1.err"
	rc=$?
	wait "$echo_pid"
	return $rc
}

# stats FILE DIR: "count median" of latency_ns for one direction.
stats() {
	awk -F, -v dir="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$col["dir"] == dir { print $col["latency_ns"] }' "$1" | sort -n |
		awk '{ v[NR] = $1 } END { print NR, NR ? v[int((NR + 1) / 2)] : 0 }'
}

# Both backends on the same packets at once: mace record -b ftrace in the
# background, stopped by SIGINT when the eBPF run's workload is done.  The
# path with the most points (bridge-nat: nine per packet, four devices, every
# device also seen at tracepoints where it has no point) tests each backend's
# device filter.
"$MACE" record -b ftrace -p bridge-nat --netns "$TB_CTR" -o "$W/ftrace.csv" >/dev/null \
	2>"$W/ftrace.err" &
fpid=$!
i=0
until [ -s "$TRACEFS/instances/mace-$fpid/set_event" ] || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
record bpf
brc=$?
kill -INT "$fpid"
wait "$fpid"
frc=$?
if [ $frc -ne 0 ]; then
	fail ftrace_record "mace record -b ftrace exited $frc: $(tail -3 "$W/ftrace.err" | tr '\n' ' ')"
elif [ $brc -ne 0 ]; then
	fail ftrace_vs_bpf "mace record -b bpf exited $brc: $(tail -3 "$W/bpf.err" | tr '\n' ' ')"
else
	pass ftrace_record
	for dir in egress ingress; do
		set -- $(stats "$W/ftrace.csv" $dir) $(stats "$W/bpf.csv" $dir)
		# 50 pings + 20 datagrams each way
		if [ "$1" -ne 70 ]; then
			fail ftrace_count_$dir "ftrace: $1 $dir records, want 70"
		elif [ "$1" -ne "$3" ]; then
			fail ftrace_vs_bpf_count_$dir "ftrace $1, bpf $3 $dir records"
		elif ! awk -v a="$2" -v b="$4" 'BEGIN { d = a - b; if (d < 0) d = -d
			exit !(d <= 1000 || d <= 0.2 * b) }'; then
			fail ftrace_vs_bpf_median_$dir "median ftrace $2 ns, bpf $4 ns"
		else
			pass "ftrace_vs_bpf_$dir ($1 records, median $2 vs $4 ns)"
		fi
	done
	# Events: the path's nine points (five egress, four ingress) of each of
	# the 70 packets each way, all matched, on both backends.  eBPF sees
	# exactly those (the testbed is quiet); ftrace's kernel filter leaves user
	# space nothing to drop and the odd unmatched event (ftrace cannot skip
	# non-IP frames): a device filter that lets other tracepoints' or
	# devices' events through adds 140 or more.
	fc=$(sed -n 's/.*counters: //p' "$W/ftrace.err" | tail -1)
	bc=$(sed -n 's/.*counters: //p' "$W/bpf.err" | tail -1)
	ctr() { echo "$1" | awk -v k="$2" '{ for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1) }'; }
	if [ "$(ctr "$bc" events)" = 630 ] && [ "$(ctr "$bc" matched)" = 630 ] &&
		[ "$(ctr "$fc" matched)" = 630 ] && [ "$(ctr "$fc" unmatched)" -lt 10 ] &&
		[ "$(ctr "$fc" user_drops)" = 0 ]; then
		pass "ftrace_vs_bpf_events (630 matched each; ftrace $(ctr "$fc" unmatched) unmatched)"
	else
		fail ftrace_vs_bpf_events "want 630 events (9 x 70) matched on both, ftrace \
unmatched < 10, no user drops: bpf: $bc; ftrace: $fc"
	fi
fi

# Every shipped path on ftrace, 20 pings: the records it must give per
# direction, or the refusal it must print.  The syscall paths lose the first
# packets of a task ftrace has not seen yet (tids rescanned every 250 ms):
# between 1 and 20 egress records.  A new shipped path needs its line here.
expect_path() {
	case $1 in
	bridge-nat | inner-dev | max-dev-auto | routed | rx-stamp) echo "20 20" ;;
	max-dev) echo "20 0" ;;	# napi_gro_frags_entry: veth never emits it
	syscalls | syscalls-any) echo "1-20 0-20" ;;
	vxlan-overlay) echo "refused role tunnel: no vxlan device in netns" ;;
	*) echo "unknown" ;;
	esac
}
# in_range N SPEC: SPEC is a number or LO-HI.
in_range() {
	case $2 in
	*-*) [ "$1" -ge "${2%-*}" ] && [ "$1" -le "${2#*-}" ] ;;
	*) [ "$1" -eq "$2" ] ;;
	esac
}
for p in $("$MACE" paths | awk '{ print $1 }'); do
	"$MACE" record -b ftrace -p "$p" --netns "$TB_CTR" -o "$W/p.csv" -- \
		ip netns exec "$TB_CTR" ping -q -c 20 -i 0.02 "$TB_REMOTE_IP" >/dev/null 2>"$W/p.err"
	rc=$?
	want=$(expect_path "$p")
	e=$(awk -F, 'NR > 1 && $3 == "egress"' "$W/p.csv" 2>/dev/null | wc -l)
	i=$(awk -F, 'NR > 1 && $3 == "ingress"' "$W/p.csv" 2>/dev/null | wc -l)
	case $want in
	unknown)
		fail "ftrace_path_$p" "no expectation for this path in $0" ;;
	refused*)
		if [ $rc -eq 1 ] && grep -q "${want#refused }" "$W/p.err"; then
			pass "ftrace_path_$p (refused: $(grep -m1 "${want#refused }" "$W/p.err"))"
		else
			fail "ftrace_path_$p" "exit $rc, want 1 and '${want#refused }': \
$(tail -2 "$W/p.err" | tr '\n' ' ')"
		fi ;;
	*)
		if [ $rc -eq 0 ] && in_range "$e" "${want% *}" && in_range "$i" "${want#* }"; then
			pass "ftrace_path_$p ($e egress, $i ingress records)"
		else
			fail "ftrace_path_$p" "exit $rc, $e egress and $i ingress records, want \
${want% *} and ${want#* }: $(tail -2 "$W/p.err" | tr '\n' ' ')"
		fi ;;
	esac
	rm -f "$W/p.csv"
done

# Two bound devices with one name: ftrace cannot tell them apart.
if "$MACE" record -b ftrace --netns "$TB_CTR" --outer "$TB_CTR_DEV@$TB_CTR" -d 1 \
	>/dev/null 2>"$W/dup.err"; then
	fail ftrace_dup_names "accepted the container device as outer device too"
elif grep -q "bound twice.*-b bpf" "$W/dup.err"; then
	pass ftrace_dup_names
else
	fail ftrace_dup_names "unclear refusal: $(head -2 "$W/dup.err" | tr '\n' ' ')"
fi

# The same name in a netns that is not bound (another container's "eth0"):
# ftrace would count its packets as ours, so mace refuses, naming the device
# and the netns, however that netns is kept: by a process only, by a bind
# mount outside /run/netns, or by an open fd only.
# clash_case NAME WHAT: mace must refuse naming $TB_CTR_DEV and WHAT.
clash_case() {
	if "$MACE" record -b ftrace --netns "$TB_CTR" -d 1 -o /dev/null >/dev/null \
		2>"$W/clash.err"; then
		fail ftrace_clash_$1 "ran although $TB_CTR_DEV also exists in $2"
	elif grep -q "'$TB_CTR_DEV' (role container, netns $TB_CTR) also in netns $2 .*-b bpf" \
		"$W/clash.err"; then
		pass ftrace_clash_$1
	else
		fail ftrace_clash_$1 "refusal does not name $2: $(head -2 "$W/clash.err" | tr '\n' ' ')"
	fi
}
# ns_dev PID: makes a device named like the container's in the netns of PID.
ns_dev() {
	nsenter -t "$1" -n ip link add "$TB_CTR_DEV" type veth peer name "${TB_P}oz"
}
unshare -n sleep 30 &
holder=$!
sleep 0.2
if ns_dev $holder; then
	clash_case process "pid $holder"
else
	fail ftrace_clash_process "cannot make the device"
fi
kill $holder
wait $holder 2>/dev/null
# held by an fd only: the process's stdin is the netns file
tb_ns "${TB_P}fd" && ip -n "${TB_P}fd" link add "$TB_CTR_DEV" type veth peer name "${TB_P}oz"
sh -c 'exec sleep 30' <"/run/netns/${TB_P}fd" &
holder=$!
sleep 0.2
umount -l "/run/netns/${TB_P}fd" && rm -f "/run/netns/${TB_P}fd"
clash_case fd "held by fd 0 of pid $holder"
kill $holder
wait $holder 2>/dev/null
# bind-mounted outside /run/netns
mkdir -p "$W/m" && touch "$W/m/ns"
tb_ns "${TB_P}bm" && ip -n "${TB_P}bm" link add "$TB_CTR_DEV" type veth peer name "${TB_P}oz" &&
	mount --bind "/run/netns/${TB_P}bm" "$W/m/ns" &&
	umount -l "/run/netns/${TB_P}bm" && rm -f "/run/netns/${TB_P}bm"
clash_case mount "mounted at $W/m/ns"
umount "$W/m/ns"

# A SIGKILLed run leaves its instance; the next run removes it.
"$MACE" record -b ftrace --netns "$TB_CTR" -d 30 >/dev/null 2>"$W/victim.err" &
victim=$!
i=0
while [ ! -d "$TRACEFS/instances/mace-$victim" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
kill -9 "$victim"
wait "$victim" 2>/dev/null
if [ ! -d "$TRACEFS/instances/mace-$victim" ]; then
	fail ftrace_stale "no instance mace-$victim appeared: $(head -3 "$W/victim.err" | tr '\n' ' ')"
elif ! "$MACE" record -b ftrace --netns "$TB_CTR" -d 1 >/dev/null 2>"$W/stale.err"; then
	fail ftrace_stale "next run failed: $(tail -2 "$W/stale.err" | tr '\n' ' ')"
elif [ -d "$TRACEFS/instances/mace-$victim" ]; then
	fail ftrace_stale "stale instance mace-$victim still there after the next run"
else
	pass ftrace_stale
fi

tb_down
assert_clean ftrace_clean
lib_status
