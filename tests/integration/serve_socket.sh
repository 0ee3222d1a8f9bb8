#!/bin/sh
# mace serve --socket on the testbed: mace-ping as uid/gid 65534 with no
# capabilities in a container, through the socket bind-mounted there, gets
# adjusted RTTs for >= 99 % of its probes; without it, it says it needs
# privileges or a server.  Scope: container B asking for A's probe gets "not
# found", naming A "denied"; an unmonitored netns gets "not monitored"; root
# in the host netns gets A's answer only when naming A; root in a container
# may not name another; a caller in another time namespace is refused.
# The Prometheus metrics (--listen) count the same records.  SIGTERM removes the socket and leaves nothing.
. tests/lib.sh
. tests/testbed.sh

PING=${B:-build}/examples/mace-ping
ASK=${B:-build}/itests/serve_ask
UDPING=${B:-build}/examples/mace-udping
need_root serve_socket || exit 0
need_mace serve_socket || exit 0
for f in "$PING" "$ASK" "$UDPING"; do
	if [ ! -x "$f" ]; then
		fail serve_socket "$f not built"
		exit 1
	fi
done
need_tracefs || { fail serve_socket "no tracefs"; exit 1; }
clean_snapshot
W=$(mktemp -d /tmp/mace-sock.XXXXXX)
chmod 0755 "$W"
SERVE=
TB_TRAP_EXTRA='[ -z "$SERVE" ] || { kill $SERVE 2>/dev/null; wait $SERVE 2>/dev/null; }; rm -rf "$W"'
tb_trap
tb_up bridge-nat || { fail serve_socket "testbed did not come up"; exit 1; }
LONE=${TB_P}lone
tb_ns "$LONE" || { fail serve_socket "netns $LONE"; exit 1; }
SOCK=$W/mace.sock
N=200

# Datagram ICMP sockets for gid 65534 (a new netns allows no group).
for ns in "$TB_CTR" "$TB_CTR2" "$LONE"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
done
# nobody NS CMD...: CMD in netns NS as uid/gid 65534, no capabilities at
# all, with the socket bind-mounted at $W/ctr/mace.sock as a container sees it.
mkdir -p "$W/ctr" && touch "$W/ctr/mace.sock"
nobody() {
	ns=$1
	shift
	ip netns exec "$ns" unshare -m sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' \
		sh "$SOCK" "$W/ctr/mace.sock" \
		setpriv --reuid 65534 --regid 65534 --clear-groups --inh-caps=-all \
		--bounding-set=-all --no-new-privs "$@"
}
inode() { stat -L -c %i "/run/netns/$1"; }

PORT=$(( $(tb_rand) % 20000 + 30000 ))
ip netns exec "$TB_HOST" "$MACE" serve -b bpf --socket "$SOCK" --listen "127.0.0.1:$PORT" \
	2>"$W/serve.err" &
SERVE=$!
n=0
while [ ! -S "$SOCK" ] && [ $n -lt 100 ] && kill -0 $SERVE 2>/dev/null; do
	sleep 0.2
	n=$((n + 1))
done
if [ ! -S "$SOCK" ]; then
	fail serve_socket_up "no socket: $(tail -3 "$W/serve.err" | tr '\n' ' ')"
	exit 1
fi
mode=$(stat -c %a "$SOCK")
[ "$mode" = 666 ] && pass serve_socket_mode || fail serve_socket_mode "mode $mode, want 666"

# Without privileges and without a server: a clear message, non-zero exit.
if nobody "$TB_CTR" "$PING" -c 1 "$TB_REMOTE_IP" >"$W/nopriv.out" 2>"$W/nopriv.err"; then
	fail serve_socket_needs "mace-ping without privileges or server exited 0"
elif grep -q 'needs privileges.*--server' "$W/nopriv.err"; then
	pass serve_socket_needs
else
	fail serve_socket_needs "unclear message: $(tr '\n' ' ' <"$W/nopriv.err")"
fi

# As nobody, through the bind-mounted socket.
nobody "$TB_CTR" "$PING" --server "$W/ctr/mace.sock" -c $N -i 0.01 "$TB_REMOTE_IP" \
	>"$W/ping.out" 2>"$W/ping.err"
rc=$?
if [ $rc -ne 0 ]; then
	fail serve_socket_ping "mace-ping exited $rc: $(tail -3 "$W/ping.err" | tr '\n' ' ')"
else
	good=$(awk '$1 ~ /^seq=/ && $3 ~ /^egress=/ {
		split($2, r, "="); split($3, e, "="); split($4, i, "="); split($5, a, "=")
		if (a[2] > 0 && a[2] < r[2] && e[2] > 0 && i[2] > 0 &&
		    (r[2] - e[2] - i[2] - a[2])^2 < 0.000004) n++ }
		END { print n + 0 }' "$W/ping.out")
	if [ "$good" -ge $((N * 99 / 100)) ]; then
		pass serve_socket_ping
		echo "serve_socket: $good of $N probes adjusted as uid 65534 without capabilities"
		grep '^seq=' "$W/ping.out" | grep -v egress= | head -3
	else
		fail serve_socket_ping "$good of $N probes adjusted: $(grep -v egress= "$W/ping.out" |
			head -3 | tr '\n' ' ')"
	fi
fi
# The UDP prober, the same way (an echo in the remote netns answers it).
ip netns exec "$TB_REMOTE" "$UDPING" --echo 7777 &
ECHO=$!
sleep 0.2
nobody "$TB_CTR" "$UDPING" --server "$W/ctr/mace.sock" -c $N -i 0.01 "$TB_REMOTE_IP" 7777 \
	>"$W/udp.out" 2>"$W/udp.err"
rc=$?
kill $ECHO
wait $ECHO 2>/dev/null
good=$(awk '$1 ~ /^seq=/ && $4 ~ /^egress=/ {
	split($3, r, "="); split($4, e, "="); split($5, i, "="); split($6, a, "=")
	if (a[2] > 0 && a[2] < r[2] && e[2] > 0 && i[2] > 0) n++ } END { print n + 0 }' "$W/udp.out")
if [ $rc -ne 0 ]; then
	fail serve_socket_udp "mace-udping exited $rc: $(tail -3 "$W/udp.err" | tr '\n' ' ')"
elif [ "$good" -ge $((N * 99 / 100)) ]; then
	pass serve_socket_udp
	echo "serve_socket: $good of $N UDP probes adjusted"
	grep '^seq=' "$W/udp.out" | grep -v egress= | head -3
else
	fail serve_socket_udp "$good of $N UDP probes adjusted: $(grep -v egress= "$W/udp.out" |
		head -3 | tr '\n' ' ')"
fi

ID=$(sed -n 's/^MACE-PING .*: id \([0-9]*\),.*/\1/p' "$W/ping.out")
SEQ=$((N / 2))

# ask WANT NAME NS USER [NETNS]: serve_ask for A's probe ID/SEQ from netns NS.
ask() {
	want=$1 name=$2 ns=$3 user=$4
	shift 4
	if [ "$user" = nobody ]; then
		out=$(nobody "$ns" "$ASK" "$W/ctr/mace.sock" "$ID" "$SEQ" 60 "$@" 2>&1)
	else
		out=$(ip netns exec "$ns" "$ASK" "$SOCK" "$ID" "$SEQ" 60 "$@" 2>&1)
	fi
	case "$out" in
	"answer=$want "*) pass "$name"; LAST=$out ;;
	*) fail "$name" "want $want, got: $out" ;;
	esac
}
if [ -z "$ID" ]; then
	fail serve_socket_scope "no echo id in mace-ping's output"
else
	ask found serve_socket_own "$TB_CTR" nobody
	OWN=$LAST
	ip netns exec "$TB_CTR2" ping -c 3 -i 0.2 -q "$TB_REMOTE_IP" >/dev/null
	ask not-found serve_socket_other_ctr "$TB_CTR2" nobody
	ask denied serve_socket_other_ctr_named "$TB_CTR2" nobody "$(inode "$TB_CTR")"
	ask denied serve_socket_ctr_root_named "$TB_CTR2" root "$(inode "$TB_CTR")"
	ask not-monitored serve_socket_unmonitored "$LONE" nobody
	ask not-monitored serve_socket_host_root_unnamed "$TB_HOST" root
	ask found serve_socket_host_root_named "$TB_HOST" root "$(inode "$TB_CTR")"
	[ "$LAST" = "$OWN" ] && pass serve_socket_same_answer ||
		fail serve_socket_same_answer "root got '$LAST', the container '$OWN'"
	# A clock shifted by a time namespace would match the wrong records.
	out=$(ip netns exec "$TB_CTR" unshare -T --monotonic 86400 --fork \
		"$ASK" "$SOCK" "$ID" "$SEQ" 60 2>&1)
	case "$out" in
	*"another time namespace"*) pass serve_socket_time_namespace ;;
	*) fail serve_socket_time_namespace "answered: $out" ;;
	esac
fi

# The metrics come from the same records, aggregated in user space: every
# probe of A's, ICMP and UDP, once per direction.
count() {
	ip netns exec "$TB_HOST" curl -sf "http://127.0.0.1:$PORT/metrics" |
		sed -n "s/^mace_overhead_seconds_count{container=\"$TB_CTR\",direction=\"$1\".*} //p"
}
n=0
while [ "$(count egress)/$(count ingress)" != "$((2 * N))/$((2 * N))" ] && [ $n -lt 25 ]; do
	sleep 0.2
	n=$((n + 1))
done
got="$(count egress)/$(count ingress)"
[ "$got" = "$((2 * N))/$((2 * N))" ] && pass serve_socket_metrics ||
	fail serve_socket_metrics "egress/ingress counts of $TB_CTR: $got, want $((2 * N)) each"

kill -TERM $SERVE
wait $SERVE
rc=$?
SERVE=
if [ $rc -ne 0 ]; then
	fail serve_socket_exit "mace serve exited $rc: $(tail -3 "$W/serve.err" | tr '\n' ' ')"
elif [ -e "$SOCK" ]; then
	fail serve_socket_exit "socket left at $SOCK"
else
	pass serve_socket_exit
fi
grep "serve: socket:" "$W/serve.err"; [ -z "$SOCK_DEBUG" ] || cat "$W/serve.err"
tb_down
assert_clean serve_socket_clean
lib_status
