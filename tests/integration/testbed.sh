#!/bin/sh
# The netns testbed itself (every topology comes up, carries traffic, leaves
# the root netns alone, goes away even when its test dies) and role binding on
# it (lib/bind.c through the test_bind driver, and the CLI once it is built).
. tests/lib.sh
. tests/testbed.sh

need_root testbed || exit 0
DRIVER=${B:-build}/tests/test_bind

root_state() {	# what a test must not change in the root netns
	ip -o link show | awk '{ print $2 }'
	ip -o addr show | awk '{ print $2, $3, $4 }'
	ip route show table all
	ip -6 route show table all | grep -v '^multicast\|^local' || true
}

inode() { stat -L -c %i "/run/netns/$1"; }
ifindex() { ip -n "$1" -j link show "$2" | jq '.[0].ifindex'; }

# has_dev NAME OUT ROLE DEV NETNS: OUT has the line of ROLE bound to DEV in
# NETNS with the right ifindex and inode.
has_dev() {
	want="$3 $4 ifindex $(ifindex "$5" "$4") netns $5 (inode $(inode "$5"))"
	if ! printf '%s\n' "$2" | tr -s ' ' | grep -qF "$want"; then
		fail "$1" "no '$want' in: $(printf '%s' "$2" | tr '\n' '|')"
		return 1
	fi
}

# bind_ok NAME NETNS OUTER ROLES: runs the driver, which must succeed.
bind_ok() {
	if ! out=$("$DRIVER" --bind "$2" "$3" "$4" 2>&1); then
		fail "$1" "test_bind --bind $2 $3 $4: $out"
		return 1
	fi
}

# bind_err NAME NETNS OUTER ROLES TEXT: the driver must fail saying TEXT.
bind_err() {
	if out=$("$DRIVER" --bind "$2" "$3" "$4" 2>&1); then
		fail "$1" "test_bind --bind $2 $3 $4 succeeded: $out"
		return 1
	fi
	case "$out" in
	*"$5"*) return 0 ;;
	esac
	fail "$1" "error '$out' does not say '$5'"
	return 1
}

tx_packets() { ip -n "$1" -s -j link show "$2" | jq '.[0].stats64.tx.packets'; }

before=$(root_state)
clean_snapshot
tb_trap

# ---- bridge-nat ----------------------------------------------------------
if tb_up bridge-nat; then
	TB_PREFIXES="$TB_PREFIXES $TB_P"
	pass testbed_bridge_nat_up
	# The remote has no route back to the containers' subnet: a reply can
	# only come back if the host masqueraded the source address.
	if [ -n "$(ip -n "$TB_REMOTE" route show default)" ] ||
	   ip -n "$TB_REMOTE" route get "$TB_CTR_IP" >/dev/null 2>&1; then
		fail testbed_bridge_nat_snat "remote has a route to $TB_CTR_IP"
	elif ! ip netns exec "$TB_CTR" ping -c 3 -i 0.05 -W 1 "$TB_REMOTE_IP" >/dev/null ||
	     ! ip netns exec "$TB_CTR2" ping -c 3 -i 0.05 -W 1 "$TB_REMOTE_IP" >/dev/null; then
		fail testbed_bridge_nat_snat "containers cannot reach $TB_REMOTE_IP"
	else
		pass testbed_bridge_nat_snat
	fi
	# Root netns untouched while the testbed is up.
	if [ "$(root_state)" = "$before" ]; then
		pass testbed_root_netns_untouched
	else
		fail testbed_root_netns_untouched "root netns changed while up"
	fi

	if [ -x "$DRIVER" ]; then
		if bind_ok bind_by_name "$TB_CTR" - container,host-veth,bridge,outer &&
		   has_dev bind_by_name "$out" container "$TB_CTR_DEV" "$TB_CTR" &&
		   has_dev bind_by_name "$out" host-veth "$TB_HOSTVETH_DEV" "$TB_HOST" &&
		   has_dev bind_by_name "$out" bridge "$TB_BRIDGE_DEV" "$TB_HOST" &&
		   has_dev bind_by_name "$out" outer "$TB_OUTER_DEV" "$TB_HOST"; then
			[ "$(printf '%s\n' "$out" | wc -l)" -eq 4 ] && pass bind_by_name ||
				fail bind_by_name "expected 4 devices: $out"
		fi
		by_name=$out
		ip netns exec "$TB_CTR" sleep 5 &
		sleeper=$!
		sleep 0.2
		pid=$(ip netns pids "$TB_CTR" | head -n 1)
		if bind_ok bind_by_pid_and_path "$pid" - container,host-veth,bridge,outer &&
		   [ "$out" = "$by_name" ] &&
		   bind_ok bind_by_pid_and_path "/proc/$pid/ns/net" - container,host-veth,bridge,outer &&
		   [ "$out" = "$by_name" ]; then
			pass bind_by_pid_and_path
		else
			fail bind_by_pid_and_path "pid $pid binds differently: $out"
		fi
		kill "$sleeper" 2>/dev/null
		if bind_ok bind_outer_override "$TB_CTR" "${TB_P}r0@$TB_REMOTE" container,outer &&
		   has_dev bind_outer_override "$out" outer "${TB_P}r0" "$TB_REMOTE" &&
		   bind_err bind_outer_override "$TB_CTR" "${TB_P}zz" outer \
			"outer '${TB_P}zz': no device ${TB_P}zz in netns $TB_HOST"; then
			pass bind_outer_override
		fi
		# Discovery from the host: both containers, not the remote (its veth
		# peer is the outer device, the stand-in for the physical link).
		if ! out=$(ip netns exec "$TB_HOST" "$DRIVER" --bind - - \
				container,host-veth,bridge,outer 2>&1); then
			fail bind_discovery "$out"
		elif has_dev bind_discovery "$out" container "$TB_CTR_DEV" "$TB_CTR" &&
		   has_dev bind_discovery "$out" container "${TB_P}c1" "$TB_CTR2" &&
		   has_dev bind_discovery "$out" host-veth "${TB_P}h1" "$TB_HOST" &&
		   has_dev bind_discovery "$out" outer "$TB_OUTER_DEV" "$TB_HOST"; then
			if printf '%s\n' "$out" | grep -q "netns $TB_REMOTE "; then
				fail bind_discovery "remote bound as a container: $out"
			else
				pass bind_discovery
			fi
		fi
		bind_err bind_missing_roles "$TB_CTR" - container,tunnel \
			"role tunnel: no vxlan device in netns $TB_HOST" &&
		bind_err bind_missing_roles "$TB_REMOTE" - container,host-veth,bridge \
			"role bridge: host-veth $TB_OUTER_DEV in netns $TB_HOST is not enslaved" &&
		bind_err bind_missing_roles "${TB_P}nope" - container "netns '${TB_P}nope'" &&
			pass bind_missing_roles
		# Container device from an IPv6-only default route, then with no
		# default route from the only veth, then ambiguity named.
		v6=${TB_P}v6
		if tb_ns "$v6" && tb_veth "$v6" "${TB_P}c6" "$TB_HOST" "${TB_P}h6" &&
		   ip netns exec "$v6" sysctl -qw "net.ipv6.conf.${TB_P}c6.disable_ipv6=0" &&
		   tb_run ip -n "$v6" addr add fd00::2/64 dev "${TB_P}c6" nodad &&
		   tb_run ip -n "$v6" -6 route add default via fd00::1 dev "${TB_P}c6"; then
			# Two veths: only the IPv6 default route can pick c6.
			if tb_veth "$v6" "${TB_P}e6" "$TB_HOST" "${TB_P}i6" &&
			   bind_ok bind_fallbacks "$v6" - container,host-veth &&
			   has_dev bind_fallbacks "$out" container "${TB_P}c6" "$v6" &&
			   has_dev bind_fallbacks "$out" host-veth "${TB_P}h6" "$TB_HOST" &&
			   tb_run ip -n "$v6" -6 route del default &&
			   bind_err bind_fallbacks "$v6" - container \
				"role container: netns $v6 (inode $(inode "$v6")) has no default route and 2 veth" &&
			   tb_run ip -n "$v6" link del "${TB_P}e6" &&
			   bind_ok bind_fallbacks "$v6" - container,host-veth &&
			   has_dev bind_fallbacks "$out" container "${TB_P}c6" "$v6"
			then
				pass bind_fallbacks
			fi
		else
			fail bind_fallbacks "could not build netns $v6"
		fi
	else
		skip bind_on_testbed "$DRIVER not built (make tests)"
	fi

	if need_mace mace_prints_binding; then
		out=$("$MACE" stat --netns "$TB_CTR" -d 1 2>&1)
		case "$out" in
		*"$TB_CTR_DEV"*"$TB_OUTER_DEV"* | *"$TB_OUTER_DEV"*"$TB_CTR_DEV"*)
			pass mace_prints_binding ;;
		*) fail mace_prints_binding "mace stat --netns $TB_CTR does not name \
$TB_CTR_DEV and $TB_OUTER_DEV: $(printf '%s' "$out" | tail -n 5 | tr '\n' '|')" ;;
		esac
	fi
	tb_down
fi

# ---- vxlan -----------------------------------------------------------------
unset TB_P
if tb_up vxlan; then
	TB_PREFIXES="$TB_PREFIXES $TB_P"
	pass testbed_vxlan_up
	tx0=$(tx_packets "$TB_HOST" "$TB_TUNNEL_DEV")
	ip netns exec "$TB_CTR" ping -c 5 -i 0.05 -W 1 "$TB_REMOTE_IP" >/dev/null
	rc=$?
	tx1=$(tx_packets "$TB_HOST" "$TB_TUNNEL_DEV")
	if [ $rc -ne 0 ]; then
		fail testbed_vxlan_overlay "ping $TB_REMOTE_IP over the overlay failed"
	elif [ $((tx1 - tx0)) -lt 5 ]; then
		fail testbed_vxlan_overlay "$TB_TUNNEL_DEV sent $((tx1 - tx0)) packets for 5 pings"
	else
		pass testbed_vxlan_overlay
	fi
	if [ -x "$DRIVER" ] &&
	   bind_ok bind_vxlan "$TB_CTR" - container,host-veth,bridge,tunnel,outer &&
	   has_dev bind_vxlan "$out" bridge "$TB_BRIDGE_DEV" "$TB_HOST" &&
	   has_dev bind_vxlan "$out" tunnel "$TB_TUNNEL_DEV" "$TB_HOST" &&
	   has_dev bind_vxlan "$out" outer "$TB_OUTER_DEV" "$TB_HOST"; then
		pass bind_vxlan
	fi
	tb_down
fi

# ---- host (no container) -----------------------------------------------------
unset TB_P
if tb_up host; then
	TB_PREFIXES="$TB_PREFIXES $TB_P"
	if ip netns exec "$TB_HOST" ping -c 3 -i 0.05 -W 1 "$TB_REMOTE_IP" >/dev/null; then
		pass testbed_host
	else
		fail testbed_host "host cannot reach $TB_REMOTE_IP"
	fi
	tb_down
fi

# ---- teardown, even when the test dies -----------------------------------------
if tb_up nosuch 2>/dev/null; then
	fail testbed_unknown_topology "tb_up nosuch succeeded"
else
	pass testbed_unknown_topology
fi
for how in exit TERM; do
	p=mt$(printf %04x "$(tb_rand)")
	TB_PREFIXES="$TB_PREFIXES $p"
	rm -f "/tmp/$p.ready"
	TB_P=$p sh -c '. tests/testbed.sh; tb_trap; tb_up bridge-nat || exit 9
		[ "$1" = exit ] && exit 3
		: >"/tmp/$TB_P.ready"
		# Traps run only between commands: wait, unlike sleep, is cut short.
		sleep 30 & s=$!; TB_TRAP_EXTRA="kill $s"; wait' x "$how" &
	child=$!
	if [ "$how" = TERM ]; then
		i=0
		while [ $i -lt 100 ] && [ ! -e "/tmp/$p.ready" ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -TERM "$child"
	fi
	wait "$child"
	rm -f "/tmp/$p.ready"
	left=$(ip netns list | grep "^$p" | tr '\n' ' ')
	if [ -n "$left" ]; then
		fail "testbed_teardown_on_$how" "left behind: $left"
		for n in $left; do case "$n" in "$p"*) ip netns del "$n" ;; esac; done
	else
		pass "testbed_teardown_on_$how"
	fi
done

# ---- nothing left ------------------------------------------------------------
if [ "$(root_state)" = "$before" ]; then
	pass testbed_root_netns_restored
else
	fail testbed_root_netns_restored "root netns differs after the tests"
fi
assert_clean testbed_nothing_left
lib_status
