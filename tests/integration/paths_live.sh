#!/bin/sh
# Every shipped path on real traffic, on both backends:
# bridge + NAT testbed with a second container pinging at the same time,
# exactly one egress and one ingress record per probe of ours, ICMP id/seq as
# sent (eBPF), sane latencies, segments summing to the total, counters adding
# up; UDP and TCP flows with their ports; the VXLAN overlay with its tunnel
# segment; the host baseline refused with a reason; mace-ping's syscall path
# from inside `ip netns exec`; nothing left behind.
. tests/lib.sh
. tests/testbed.sh

need_root paths_live || exit 0
need_mace paths_live || exit 0
need_tracefs || { fail paths_live "no tracefs"; exit 1; }
clean_snapshot
tb_trap
W=$(mktemp -d /tmp/mace-paths.XXXXXX)
TB_TRAP_EXTRA="rm -rf '$W'"
tb_up bridge-nat || { fail paths_live "testbed did not come up"; exit 1; }
N=20		# our probes
N2=13		# the other container's, at the same time
MAXLAT=50000000	# 50 ms: anything above is a mismatched packet, not latency

ns_inode() { stat -L -c %i "/run/netns/$1"; }

# check_recs CSV NETNS NE NI SEGE SEGI HDRS SRC DST: prints "ok ..." or what is
# wrong.  NE/NI records per direction, every one of netns NETNS, 0 < latency <
# MAXLAT, SEGE/SEGI segments (none "-") summing exactly to latency_ns; with
# HDRS=1 also ICMP, one echo id for both directions, seqs 1..N each way,
# egress SRC -> DST and ingress from DST.
check_recs() {
	awk -F, -v ns="$2" -v ne="$3" -v ni="$4" -v sege="$5" -v segi="$6" -v hdrs="$7" \
		-v src="$8" -v dst="$9" -v maxlat=$MAXLAT '
	NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
	{
		d = $col["dir"]; lat = $col["latency_ns"] + 0; n[d]++
		if ($col["netns"] != ns) bad = bad " netns " $col["netns"] ";"
		if (lat <= 0 || lat >= maxlat) bad = bad " " d " latency " lat ";"
		k = split($col["segments"], s, ";"); sum = 0
		for (i = 1; i <= k; i++) {
			if (s[i] == "-") { bad = bad " " d " segment " i " missing;"; continue }
			sum += s[i]
		}
		if (sum != lat) bad = bad " " d " segments " $col["segments"] " != " lat ";"
		if (k != (d == "egress" ? sege : segi))
			bad = bad " " d " has " k " segments;"
		v[d, n[d]] = lat
		if (!hdrs) next
		if ($col["proto"] != "icmp") bad = bad " " d " proto " $col["proto"] ";"
		ids[$col["id"]] = 1
		seen[d, $col["seq"]]++
		if (d == "egress" && ($col["src"] != src || $col["dst"] != dst))
			bad = bad " egress " $col["src"] ">" $col["dst"] ";"
		if (d == "ingress" && $col["src"] != dst)
			bad = bad " ingress from " $col["src"] ";"
	}
	END {
		if (n["egress"] + 0 != ne || n["ingress"] + 0 != ni)
			bad = bad " " n["egress"] + 0 " egress and " n["ingress"] + 0 \
				" ingress records, want " ne " and " ni ";"
		if (hdrs) {
			nid = 0
			for (i in ids) { nid++; id = i }
			if (nid != 1 || id + 0 <= 0) bad = bad " " nid " ICMP ids;"
			for (q = 1; q <= ne; q++) if (seen["egress", q] != 1) miss = miss " e" q
			for (q = 1; q <= ni; q++) if (seen["ingress", q] != 1) miss = miss " i" q
			if (miss != "") bad = bad " seqs not once:" miss ";"
		}
		if (bad != "") { print substr(bad, 1, 300); exit 1 }
		printf "ok %d+%d", n["egress"], n["ingress"]
		for (j = 0; j < 2; j++) {
			d = j ? "ingress" : "egress"
			if (!n[d]) continue
			# median by insertion sort (a few dozen values)
			for (a = 2; a <= n[d]; a++)
				for (b = a; b > 1 && v[d, b - 1] > v[d, b]; b--) {
					t = v[d, b]; v[d, b] = v[d, b - 1]; v[d, b - 1] = t }
			printf " %s p50 %.1f us", d, v[d, int((n[d] + 1) / 2)] / 1000
		}
		if (hdrs) printf " id %s", id
	}' "$1"
}

# run NAME CSV CMD...: mace record ... -o CSV -- CMD; FAIL NAME if it fails.
run() {
	name=$1 csv=$2
	shift 2
	if ! "$MACE" record -o "$csv" "$@" >/dev/null 2>"$csv.err"; then
		fail "$name" "mace record exited $?: $(tail -3 "$csv.err" | tr '\n' ' ')"
		return 1
	fi
}

# ---- bridge-nat: every shipped path, both backends, ICMP --------------------
CTR_NS=$(ns_inode "$TB_CTR")
cat >"$W/icmp.sh" <<EOF
ip netns exec "$TB_CTR2" ping -q -c $N2 -i 0.02 "$TB_REMOTE_IP" >/dev/null &
ip netns exec "$TB_CTR" ping -q -c $N -i 0.02 "$TB_REMOTE_IP" >/dev/null
rc=\$?
wait \$! || exit 1
exit \$rc
EOF
# ftrace filters syscall events by the container's tids, rescanned every
# 250 ms: a task it has not seen yet is invisible.  Its syscall runs exec ping
# from a shell that is there before (exec keeps the tid); the new-task case
# is checked on its own below.
cat >"$W/icmp-late.sh" <<EOF
ip netns exec "$TB_CTR2" sh -c 'sleep 0.6; exec ping -q -c $N2 -i 0.02 $TB_REMOTE_IP' >/dev/null &
ip netns exec "$TB_CTR" sh -c 'sleep 0.6; exec ping -q -c $N -i 0.02 $TB_REMOTE_IP' >/dev/null
rc=\$?
wait \$! || exit 1
exit \$rc
EOF
# path egress-segments ingress-segments ingress-records: max-dev's ingress
# starts at napi_gro_frags_entry, which veth never emits; syscalls' ends at
# recvmmsg, which ping never calls (it uses recvmsg): egress only, by design.
for spec in "inner-dev 1 1 $N" "max-dev-auto 1 1 $N" "bridge-nat 4 3 $N" "routed 2 2 $N" \
	"syscalls-any 2 2 $N" "max-dev 1 1 0" "syscalls 2 2 0"; do
	set -- $spec
	p=$1 se=$2 si=$3 ni=$4
	for b in bpf ftrace; do
		name=paths_live_${b}_$p
		hdrs=1
		[ $b = ftrace ] && hdrs=0	# ftrace sees no packet headers
		wl=icmp
		case $b-$p in ftrace-syscalls*) wl=icmp-late ;; esac
		run "$name" "$W/$b-$p.csv" -b $b -p "$p" --netns "$TB_CTR" -- sh "$W/$wl.sh" ||
			continue
		if r=$(check_recs "$W/$b-$p.csv" "$CTR_NS" $N "$ni" "$se" "$si" $hdrs \
			"$TB_CTR_IP" "$TB_REMOTE_IP"); then
			pass "$name ($r)"
		else
			fail "$name" "$r"
		fi
		if c=$(balanced "$W/$b-$p.csv.err"); then
			pass "${name}_counters ($c)"
		else
			fail "${name}_counters" "$c"
		fi
	done
done

# A task that appears while ftrace traces: the syscalls it makes before the
# next rescan are not seen.  Packets whose receive syscall was not seen must
# not be paired with a later probe's syscall (that gives records of 100+ ms).
if run paths_live_ftrace_syscalls_new_task "$W/new.csv" -b ftrace -p syscalls-any \
	--netns "$TB_CTR" -- ip netns exec "$TB_CTR" ping -q -c $N -i 0.02 "$TB_REMOTE_IP"; then
	bad=$(awk -F, -v m=$MAXLAT 'NR > 1 && ($5 <= 0 || $5 >= m)' "$W/new.csv" | wc -l)
	n=$(($(wc -l <"$W/new.csv") - 1))
	if [ "$bad" -eq 0 ]; then
		pass "paths_live_ftrace_syscalls_new_task ($n records)"
	else
		fail paths_live_ftrace_syscalls_new_task "$bad of $n records mispaired \
(latency >= 50 ms: $(awk -F, -v m=$MAXLAT 'NR > 1 && $5 >= m { print $3, $5 }' "$W/new.csv" |
			head -3 | tr '\n' ' '))"
	fi
fi

# ---- UDP and TCP flows (eBPF reads their ports) -----------------------------
UPORT=$((20000 + $(tb_rand) % 20000))
CPORT=$((UPORT + 1))
cat >"$W/srv.py" <<'EOF'
import socket, sys
proto, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    s.settimeout(10)
    for _ in range(n):
        d, a = s.recvfrom(2048)
        s.sendto(d, a)
else:
    l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("0.0.0.0", port))
    l.listen(1)
    l.settimeout(10)
    c, _ = l.accept()
    c.settimeout(10)
    for _ in range(n):
        c.sendall(c.recv(64))
    c.recv(64)
    c.close()
EOF
cat >"$W/cli.py" <<'EOF'
import socket, sys, time
proto, dst, port, cport, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
t = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, t)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", cport))
s.settimeout(3)
if proto == "tcp":
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.connect((dst, port))
for i in range(n):
    m = b"mace-%02d" % i
    if proto == "udp":
        s.sendto(m, (dst, port))
        s.recvfrom(64)
    else:
        s.sendall(m)
        s.recv(64)
    time.sleep(0.01)
s.close()
EOF
# flow PROTO PORT: records of our flow only, with its ports both ways.
flow() {
	awk -F, -v proto="$1" -v sp="$2" -v dp="$3" -v src="$TB_CTR_IP" -v dst="$TB_REMOTE_IP" '
	NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
	$col["proto"] == proto {
		d = $col["dir"]
		if (d == "egress" && $col["sport"] == sp && $col["dport"] == dp &&
		    $col["src"] == src && $col["dst"] == dst) e++
		else if (d == "ingress" && $col["sport"] == dp && $col["dport"] == sp &&
		    $col["src"] == dst) ing++
		else bad++
	}
	$col["latency_ns"] <= 0 || $col["latency_ns"] >= '$MAXLAT' { bad++ }
	END { print e + 0, ing + 0, bad + 0 }' "$4"
}
for proto in udp tcp; do
	port=$UPORT
	[ $proto = tcp ] && port=$((UPORT + 2))
	ip netns exec "$TB_REMOTE" python3 "$W/srv.py" $proto $port 10 &
	srv=$!
	sleep 0.3
	run paths_live_$proto "$W/$proto.csv" -b bpf --netns "$TB_CTR" -- ip netns exec "$TB_CTR" \
		python3 "$W/cli.py" $proto "$TB_REMOTE_IP" $port $CPORT 10
	rc=$?
	wait $srv || { fail paths_live_${proto}_server "echo server failed"; continue; }
	[ $rc -eq 0 ] || continue
	set -- $(flow $proto $CPORT $port "$W/$proto.csv")
	# UDP: exactly one record per datagram each way.  TCP adds the handshake,
	# FIN and ACKs; at least the data segments (and SYN / SYN-ACK) each way.
	if [ $proto = udp ] && [ "$1" -eq 10 ] && [ "$2" -eq 10 ] && [ "$3" -eq 0 ]; then
		pass "paths_live_udp ($1 + $2 datagrams, ports $CPORT <-> $port)"
	elif [ $proto = tcp ] && [ "$1" -ge 11 ] && [ "$2" -ge 11 ] && [ "$3" -eq 0 ]; then
		pass "paths_live_tcp ($1 + $2 segments, ports $CPORT <-> $port)"
	else
		fail paths_live_$proto "$1 egress, $2 ingress records of the flow, $3 others or bad"
	fi
	c=$(balanced "$W/$proto.csv.err") || fail paths_live_${proto}_counters "$c"
	CPORT=$((CPORT + 10))
done

# ---- a syscall path from inside the container netns (ip netns exec hides
# tracefs: the backends mount it in that private mount namespace) -----------
ip netns exec "$TB_CTR" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
MPING=${B:-build}/examples/mace-ping
if [ ! -x "$MPING" ]; then
	skip paths_live_mace_ping_netns "$MPING not built"
else
	for b in bpf ftrace; do
		if ip netns exec "$TB_CTR" "$MPING" -b $b -c 5 -i 0.02 -p syscalls-any \
			"$TB_REMOTE_IP" >"$W/mp.out" 2>"$W/mp.err" &&
			grep -q '^--- .*: 5 sent, 5 replies, 5 adjusted ---' "$W/mp.out"; then
			pass paths_live_mace_ping_netns_$b
			# "mace-ping: R records, E events, M matched, ..., L lost, D user drops"
			if sed -n 's/^mace-ping: [0-9]* records, //p' "$W/mp.err" | tr -d , | awk '{
				for (i = 1; i < NF; i += 2) c[$(i + 1)] = $i
				s = c["matched"] + c["unmatched"] + c["expired"] + c["replaced"] + \
				    c["duplicates"] + c["pending"]
				exit !(c["events"] > 0 && c["events"] == s && c["lost"] == 0) }'; then
				pass paths_live_mace_ping_counters_$b
			else
				fail paths_live_mace_ping_counters_$b "$(grep '^mace-ping: .* events' \
					"$W/mp.err")"
			fi
		else
			fail paths_live_mace_ping_netns_$b "$(cat "$W/mp.err" "$W/mp.out" |
				grep -v '^seq=' | tail -3 | tr '\n' ' ')"
		fi
	done
fi
tb_down

# ---- VXLAN overlay: per-hop with the encapsulation segment ------------------
tb_up vxlan || { fail paths_live_vxlan "testbed did not come up"; exit 1; }
CTR_NS=$(ns_inode "$TB_CTR")
# Inner headers after VXLAN on ingress (eBPF); segments 3 each way, the
# tunnel's (egress 3: encapsulation, ingress 1: decapsulation) never "-".
for b in bpf ftrace; do
	hdrs=1
	[ $b = ftrace ] && hdrs=0
	name=paths_live_${b}_vxlan-overlay
	run "$name" "$W/vx-$b.csv" -b $b -p vxlan-overlay --netns "$TB_CTR" -- \
		ip netns exec "$TB_CTR" ping -q -c $N -i 0.02 "$TB_REMOTE_IP" || continue
	if ! grep -q "^tunnel  *$TB_TUNNEL_DEV " "$W/vx-$b.csv.err"; then
		fail "$name" "tunnel role not bound: $(head -5 "$W/vx-$b.csv.err" | tr '\n' ' ')"
	elif r=$(check_recs "$W/vx-$b.csv" "$CTR_NS" $N $N 3 3 $hdrs "$TB_CTR_IP" "$TB_REMOTE_IP")
	then
		pass "$name ($r)"
	else
		fail "$name" "$r"
	fi
	c=$(balanced "$W/vx-$b.csv.err") && pass "${name}_counters ($c)" ||
		fail "${name}_counters" "$c"
done
tb_down

# ---- host baseline: no container, so nothing to bind -----------------------
# Traffic from the host netns itself has no container device: mace must say
# which role it cannot bind and exit 1, not trace the wrong devices.
tb_up host || { fail paths_live_host "testbed did not come up"; exit 1; }
for b in bpf ftrace; do
	ip netns exec "$TB_HOST" "$MACE" stat -b $b -- \
		ip netns exec "$TB_HOST" ping -q -c 3 -i 0.02 "$TB_REMOTE_IP" >"$W/h.out" 2>"$W/h.err"
	rc=$?
	if [ $rc -eq 1 ] && grep -q "role container: no netns has a veth whose peer is in netns" \
		"$W/h.err"; then
		pass paths_live_host_no_container_$b
	else
		fail paths_live_host_no_container_$b "exit $rc: $(head -2 "$W/h.err" | tr '\n' ' ')"
	fi
	# Naming the host netns as the container makes its uplink the "container"
	# veth and the remote its host: refused, naming the role and netns.
	"$MACE" stat -b $b --netns "$TB_HOST" -d 1 >"$W/h.out" 2>"$W/h.err"
	rc=$?
	if [ $rc -eq 1 ] && grep -q "role outer: netns ${TB_P}rem .*no default route" "$W/h.err" &&
		grep -q "is --netns a container" "$W/h.err"; then
		pass paths_live_host_netns_$b
	else
		fail paths_live_host_netns_$b "exit $rc: $(head -2 "$W/h.err" | tr '\n' ' ')"
	fi
done
tb_down
assert_clean paths_live_clean
lib_status
