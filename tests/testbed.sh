# Network-namespace testbed for integration tests (POSIX sh; sourced).
#
#	. tests/testbed.sh
#	tb_trap				# tb_down on EXIT/INT/TERM
#	tb_up bridge-nat || exit 1	# or vxlan, host
#	ip netns exec "$TB_CTR" ping -c 3 "$TB_REMOTE_IP"
#
# Every address and route lives in namespaces created here, under a prefix
# unique to this run (TB_P); the root netns gets no address, no route and no
# device, so no test packet can leave the machine.  tb_down removes every
# namespace it created (their devices and nft tables go with them).
#
# Exported after tb_up (empty when the topology has no such thing):
#   TB_CTR TB_CTR2 TB_HOST TB_HOSTB TB_REMOTE	netns names
#   TB_CTR_IP TB_CTR2_IP TB_REMOTE_IP TB_HOST_IP	addresses
#   TB_CTR_DEV TB_HOSTVETH_DEV TB_BRIDGE_DEV TB_TUNNEL_DEV TB_OUTER_DEV
# Device names differ per role because the ftrace backend filters by name.

TB_NETNS=
TB_TOPO=

tb_rand() { od -An -N2 -tu2 /dev/urandom | tr -d ' \n'; }

# tb_run CMD...: runs CMD; on failure says which command failed and returns 1.
tb_run() {
	if ! out=$("$@" 2>&1); then
		echo "testbed: '$*' failed: $out" >&2
		return 1
	fi
}

tb_ns() {	# tb_ns NAME: creates a netns, remembers it for tb_down
	tb_run ip netns add "$1" || return 1
	TB_NETNS="$TB_NETNS $1"
	tb_run ip -n "$1" link set lo up || return 1
	# No IPv6: router solicitations and MLD would add stray packets to traces.
	tb_run ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
}

# tb_veth NS1 DEV1 NS2 DEV2: a veth pair made directly inside the namespaces.
tb_veth() {
	tb_run ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" &&
	tb_run ip -n "$1" link set "$2" up &&
	tb_run ip -n "$3" link set "$4" up
}

tb_addr() {	# tb_addr NS DEV CIDR
	tb_run ip -n "$1" addr add "$3" dev "$2"
}

tb_bridge() {	# tb_bridge NS BR CIDR PORT...
	ns=$1 br=$2 cidr=$3
	shift 3
	# A fixed address, as container runtimes set: otherwise the bridge takes
	# its lowest port's, and a container leaving can change it under the
	# others' ARP caches (their traffic then stops until ARP times out).
	r=$(tb_rand)
	tb_run ip -n "$ns" link add "$br" address \
		"$(printf '02:00:%02x:%02x:%02x:01' "$TB_X" $((r / 256)) $((r % 256)))" \
		type bridge stp_state 0 forward_delay 0 || return 1
	for port in "$@"; do
		tb_run ip -n "$ns" link set "$port" master "$br" || return 1
	done
	[ -z "$cidr" ] || tb_addr "$ns" "$br" "$cidr" || return 1
	tb_run ip -n "$ns" link set "$br" up
}

tb_ping() {	# tb_ping NS IP: one ping must get through
	# The first packet may wait for ARP and bridge learning: allow a few tries.
	if ! out=$(ip netns exec "$1" ping -c 1 -W 1 -w 4 "$2" 2>&1); then
		echo "testbed: 'ip netns exec $1 ping -c 1 -W 1 -w 4 $2' failed: $out" >&2
		return 1
	fi
}

tb_common() {
	TB_P=${TB_P:-mt$(printf %04x "$(tb_rand)")}
	TB_X=$(( $(tb_rand) % 200 + 20 ))
	TB_CTR='' TB_CTR2='' TB_HOST='' TB_HOSTB='' TB_REMOTE=''
	TB_CTR_IP='' TB_CTR2_IP='' TB_REMOTE_IP='' TB_HOST_IP=''
	TB_CTR_DEV='' TB_HOSTVETH_DEV='' TB_BRIDGE_DEV='' TB_TUNNEL_DEV='' TB_OUTER_DEV=''
	TB_HOST=${TB_P}host TB_REMOTE=${TB_P}rem
	TB_OUTER_DEV=${TB_P}o0
	TB_HOST_IP=10.$TB_X.2.1
	# The "physical" link: host netns <-> remote (or host B for vxlan).
	tb_ns "$TB_HOST" || return 1
}

tb_up_host() {
	tb_ns "$TB_REMOTE" &&
	tb_veth "$TB_HOST" "$TB_OUTER_DEV" "$TB_REMOTE" "${TB_P}r0" &&
	tb_addr "$TB_HOST" "$TB_OUTER_DEV" "$TB_HOST_IP/24" &&
	tb_addr "$TB_REMOTE" "${TB_P}r0" "10.$TB_X.2.2/24" &&
	tb_run ip -n "$TB_HOST" route add default via "10.$TB_X.2.2" dev "$TB_OUTER_DEV" || return 1
	TB_REMOTE_IP=10.$TB_X.2.2
	tb_ping "$TB_HOST" "$TB_REMOTE_IP"
}

# tb_ctr NS CDEV HDEV IP: a container netns whose veth peer is in the host.
tb_ctr() {
	tb_ns "$1" &&
	tb_veth "$1" "$2" "$TB_HOST" "$3" &&
	tb_addr "$1" "$2" "$4/24" &&
	tb_run ip -n "$1" route add default via "10.$TB_X.1.1" dev "$2"
}

tb_up_bridge_nat() {
	tb_up_host || return 1
	TB_CTR=${TB_P}ctr TB_CTR2=${TB_P}ctr2
	TB_CTR_DEV=${TB_P}c0 TB_HOSTVETH_DEV=${TB_P}h0 TB_BRIDGE_DEV=${TB_P}br
	TB_CTR_IP=10.$TB_X.1.2 TB_CTR2_IP=10.$TB_X.1.3
	tb_ctr "$TB_CTR" "$TB_CTR_DEV" "$TB_HOSTVETH_DEV" "$TB_CTR_IP" &&
	tb_ctr "$TB_CTR2" "${TB_P}c1" "${TB_P}h1" "$TB_CTR2_IP" &&
	tb_bridge "$TB_HOST" "$TB_BRIDGE_DEV" "10.$TB_X.1.1/24" "$TB_HOSTVETH_DEV" "${TB_P}h1" &&
	tb_run ip netns exec "$TB_HOST" sysctl -qw net.ipv4.ip_forward=1 || return 1
	# docker0-style source NAT out of the "physical" device.
	printf 'table ip %s {\n chain post {\n  type nat hook postrouting priority 100;\n' \
		"${TB_P}nat" >"/tmp/$TB_P.nft"
	printf '  ip saddr 10.%s.1.0/24 oifname "%s" masquerade\n }\n}\n' \
		"$TB_X" "$TB_OUTER_DEV" >>"/tmp/$TB_P.nft"
	tb_run ip netns exec "$TB_HOST" nft -f "/tmp/$TB_P.nft" || { rm -f "/tmp/$TB_P.nft"; return 1; }
	rm -f "/tmp/$TB_P.nft"
	tb_ping "$TB_CTR" "$TB_REMOTE_IP" && tb_ping "$TB_CTR2" "$TB_REMOTE_IP"
}

# Host A (TB_HOST) and host B (TB_HOSTB) joined by the underlay veth; a vxlan
# (VNI 42) bridged on each side; the container on A reaches the remote
# container on B over the overlay.  TB_HOST_IP is A's underlay address.
tb_up_vxlan() {
	TB_HOSTB=${TB_P}hostb
	TB_CTR=${TB_P}ctr TB_REMOTE=${TB_P}rctr
	TB_CTR_DEV=${TB_P}c0 TB_HOSTVETH_DEV=${TB_P}h0 TB_BRIDGE_DEV=${TB_P}br
	TB_TUNNEL_DEV=${TB_P}vx
	TB_CTR_IP=10.$TB_X.1.2 TB_REMOTE_IP=10.$TB_X.1.4
	tb_ns "$TB_HOSTB" &&
	tb_veth "$TB_HOST" "$TB_OUTER_DEV" "$TB_HOSTB" "${TB_P}u0" &&
	tb_addr "$TB_HOST" "$TB_OUTER_DEV" "$TB_HOST_IP/24" &&
	tb_addr "$TB_HOSTB" "${TB_P}u0" "10.$TB_X.2.2/24" &&
	tb_run ip -n "$TB_HOST" route add default via "10.$TB_X.2.2" dev "$TB_OUTER_DEV" &&
	tb_run ip -n "$TB_HOST" link add "$TB_TUNNEL_DEV" type vxlan id 42 dstport 4789 \
		local "$TB_HOST_IP" remote "10.$TB_X.2.2" dev "$TB_OUTER_DEV" &&
	tb_run ip -n "$TB_HOSTB" link add "${TB_P}vy" type vxlan id 42 dstport 4789 \
		local "10.$TB_X.2.2" remote "$TB_HOST_IP" dev "${TB_P}u0" &&
	tb_run ip -n "$TB_HOST" link set "$TB_TUNNEL_DEV" up &&
	tb_run ip -n "$TB_HOSTB" link set "${TB_P}vy" up &&
	tb_ctr "$TB_CTR" "$TB_CTR_DEV" "$TB_HOSTVETH_DEV" "$TB_CTR_IP" || return 1
	# The remote container's veth peer is in host B.
	tb_ns "$TB_REMOTE" &&
	tb_veth "$TB_REMOTE" "${TB_P}c9" "$TB_HOSTB" "${TB_P}h9" &&
	tb_addr "$TB_REMOTE" "${TB_P}c9" "$TB_REMOTE_IP/24" &&
	tb_bridge "$TB_HOST" "$TB_BRIDGE_DEV" "10.$TB_X.1.1/24" "$TB_HOSTVETH_DEV" "$TB_TUNNEL_DEV" &&
	tb_bridge "$TB_HOSTB" "${TB_P}bb" "" "${TB_P}h9" "${TB_P}vy" || return 1
	# The overlay has 50 bytes less room than the underlay.
	for d in "$TB_CTR $TB_CTR_DEV" "$TB_REMOTE ${TB_P}c9"; do
		set -- $d
		tb_run ip -n "$1" link set "$2" mtu 1450 || return 1
	done
	tb_ping "$TB_HOST" "10.$TB_X.2.2" && tb_ping "$TB_CTR" "$TB_REMOTE_IP"
}

# tb_up TOPO: bridge-nat, vxlan or host.  On failure says what failed, tears
# down what it made and returns 1.
tb_up() {
	if [ -n "$TB_TOPO" ]; then
		echo "testbed: $TB_TOPO is already up; tb_down first" >&2
		return 1
	fi
	case "$1" in
	bridge-nat | vxlan | host) ;;
	*) echo "testbed: unknown topology '$1' (bridge-nat, vxlan, host)" >&2; return 1 ;;
	esac
	TB_TOPO=$1
	if ! tb_common || ! "tb_up_$(echo "$1" | tr - _)"; then
		echo "testbed: topology $1 did not come up" >&2
		tb_down
		return 1
	fi
	tb_pin_neighbours
	export TB_P TB_CTR TB_CTR2 TB_HOST TB_HOSTB TB_REMOTE TB_CTR_IP TB_CTR2_IP TB_REMOTE_IP \
		TB_HOST_IP TB_CTR_DEV TB_HOSTVETH_DEV TB_BRIDGE_DEV TB_TUNNEL_DEV TB_OUTER_DEV
}

# Makes the neighbour entries the reachability pings learned permanent, so
# no ARP runs during a measurement: ARP frames are not IP packets, and the
# ftrace backend, which cannot tell them apart, would see them.
tb_pin_neighbours() {
	for ns in $TB_NETNS; do
		ip -n "$ns" neigh show | while read -r ip _ dev _ mac _; do
			case "$mac" in *:*:*:*:*:*) ;; *) continue ;; esac
			ip -n "$ns" neigh replace "$ip" lladdr "$mac" dev "$dev" nud permanent
		done
	done
}

# Removes every namespace this run created.  Safe to call twice.
tb_down() {
	rc=0
	for ns in $TB_NETNS; do
		# A process left in the netns would keep its devices alive.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null
		done
		if ! ip netns del "$ns" 2>/dev/null && [ -e "/run/netns/$ns" ]; then
			echo "testbed: cannot delete netns $ns" >&2
			rc=1
		fi
	done
	TB_NETNS='' TB_TOPO=''
	return $rc
}

# Installs tb_down on EXIT, INT and TERM (after running TB_TRAP_EXTRA if set).
tb_trap() {
	trap 'eval "${TB_TRAP_EXTRA:-:}"; tb_down' EXIT
	tb_signals
}

# tb_signals: interrupts, a closed pipe (| head) and a hangup leave through
# the EXIT trap, so the testbed is never left behind.
tb_signals() {
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 141' PIPE
	trap 'exit 129' HUP
}
