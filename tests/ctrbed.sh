# Container daemons for the container tests (POSIX sh; sourced, not run).
#
# A private dockerd and podman live inside a netns this file creates (entered
# with nsenter --net: ip netns exec would remount /sys and hide the cgroup
# mounts the runtimes need).  Its default route leaves through a veth to a
# "remote" netns, so the bridges, the containers' veths and the NAT all stay
# out of the root netns.  Images come from a root filesystem holding Debian's
# static busybox; no registry is used.
#
#	. tests/ctrbed.sh
#	ctrbed_up || exit 1		# netns, remote, rootfs tarball
#	ctrbed_docker_up		# dockerd; $CB_DOCKER runs the client
#	ctrbed_podman_up		# podman; $CB_PODMAN runs the client, API at $CB_PODMAN_SOCK
#	ctrbed_down			# in the trap: everything goes

CB_ID=${CB_ID:-$$}
CB_NS=mcd$CB_ID			# the daemons' netns (the "host" of the containers)
CB_REMOTE=mcr$CB_ID		# the far end of the "physical" link
CB_DIR=/tmp/mace-ctr.$CB_ID
CB_REMOTE_IP=10.231.0.2
CB_BUSYBOX=${CB_BUSYBOX:-/bin/busybox}
CB_NSENTER="nsenter --net=/run/netns/$CB_NS"

ctrbed_up() {
	mkdir -p "$CB_DIR/rootfs/bin" || return 1
	ip netns add "$CB_NS" && ip netns add "$CB_REMOTE" || return 1
	ip link add "cbo$CB_ID" netns "$CB_NS" type veth peer name "cbr$CB_ID" netns "$CB_REMOTE" ||
		return 1
	ip -n "$CB_NS" link set lo up
	ip -n "$CB_REMOTE" link set lo up
	ip -n "$CB_NS" addr add 10.231.0.1/24 dev "cbo$CB_ID"
	ip -n "$CB_REMOTE" addr add "$CB_REMOTE_IP/24" dev "cbr$CB_ID"
	ip -n "$CB_NS" link set "cbo$CB_ID" up
	ip -n "$CB_REMOTE" link set "cbr$CB_ID" up
	ip -n "$CB_NS" route add default via "$CB_REMOTE_IP"
	ip netns exec "$CB_NS" sysctl -qw net.ipv4.ip_forward=1
	cp "$CB_BUSYBOX" "$CB_DIR/rootfs/bin/busybox" || return 1
	for t in sh ping sleep; do ln -s busybox "$CB_DIR/rootfs/bin/$t"; done
	tar -C "$CB_DIR/rootfs" -cf "$CB_DIR/rootfs.tar" . || return 1
}

# Waits up to $2 tenths of a second for command $1 to succeed.
cb_wait() {
	i=0
	while ! eval "$1" >/dev/null 2>&1; do
		i=$((i + 1))
		[ "$i" -ge "$2" ] && return 1
		sleep 0.1
	done
}

ctrbed_docker_up() {
	d=$CB_DIR/docker
	mkdir -p "$d/data" "$d/exec"
	CB_DOCKER_SOCK=$d/docker.sock
	CB_DOCKER="docker -H unix://$CB_DOCKER_SOCK"
	$CB_NSENTER dockerd --data-root "$d/data" --exec-root "$d/exec" -H "unix://$CB_DOCKER_SOCK" \
		--pidfile "$d/dockerd.pid" --bip 172.31.${CB_BIP:-77}.1/24 --storage-driver vfs \
		>"$d/dockerd.log" 2>&1 &
	CB_DOCKERD_PID=$!
	if ! cb_wait "$CB_DOCKER version" 300; then
		echo "dockerd did not come up:" >&2
		tail -20 "$d/dockerd.log" >&2
		return 1
	fi
	$CB_DOCKER import "$CB_DIR/rootfs.tar" mace-busybox:1 >/dev/null
}

# ctrbed_run docker|podman NAME [ARGS...] IMAGE-ARGS: a container pinging
# the remote every 0.2 s, with podman's flags (it drops NET_RAW, and its
# default ulimits are too high for this machine).  Podman's netns file is
# noted for ctrbed_down.
ctrbed_run() {
	rt=$1 name=$2
	shift 2
	if [ "$rt" = docker ]; then
		$CB_DOCKER run -d --name "$name" "$@" mace-busybox:1 ping -i 0.2 "$CB_REMOTE_IP"
	else
		$CB_PODMAN run -d --name "$name" --cap-add NET_RAW --ulimit nofile=4096:4096 \
			--ulimit nproc=4096:4096 "$@" mace-busybox:1 ping -i 0.2 "$CB_REMOTE_IP" &&
		$CB_PODMAN inspect -f '{{.NetworkSettings.SandboxKey}}' "$name" \
			>>"$CB_DIR/podman-netns"
	fi
}

ctrbed_podman_up() {
	p=$CB_DIR/podman
	mkdir -p "$p/root" "$p/run"
	CB_PODMAN_SOCK=$p/podman.sock
	CB_PODMAN="$CB_NSENTER podman --root $p/root --runroot $p/run --cgroup-manager cgroupfs
		--storage-driver vfs"
	$CB_PODMAN import "$CB_DIR/rootfs.tar" mace-busybox:1 >/dev/null || return 1
	$CB_PODMAN system service --time=0 "unix://$CB_PODMAN_SOCK" >"$p/service.log" 2>&1 &
	CB_PODMAN_PID=$!
	cb_wait "[ -S $CB_PODMAN_SOCK ]" 100
}

# Podman's netns are /run/netns/netns-<uuid> files: remove the ones of its
# containers (podman rm leaves none, a kill may).
ctrbed_down() {
	if [ -n "${CB_DOCKER:-}" ]; then
		$CB_DOCKER rm -f $($CB_DOCKER ps -aq 2>/dev/null) >/dev/null 2>&1
	fi
	if [ -n "${CB_PODMAN:-}" ]; then
		$CB_PODMAN rm -f -a -t 0 >/dev/null 2>&1
		[ -n "${CB_PODMAN_PID:-}" ] && kill "$CB_PODMAN_PID" 2>/dev/null
		while read -r ns; do
			[ -e "$ns" ] && ip netns del "${ns##*/}" 2>/dev/null
		done <"$CB_DIR/podman-netns" 2>/dev/null
	fi
	if [ -n "${CB_DOCKERD_PID:-}" ]; then
		kill "$CB_DOCKERD_PID" 2>/dev/null
		cb_wait "! kill -0 $CB_DOCKERD_PID" 150 || kill -9 "$CB_DOCKERD_PID" 2>/dev/null
	fi
	ip netns del "$CB_NS" 2>/dev/null
	ip netns del "$CB_REMOTE" 2>/dev/null
	# vfs layers hold nothing mounted, but dockerd's exec root may
	grep -o " $CB_DIR[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$CB_DIR"
}
