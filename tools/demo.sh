#!/bin/sh
# make demo: ping from a container netns to a remote netns through a bridge
# and NAT, under mace; print what mace measured; tear everything down.
# Runs as root.  Everything lives in namespaces this script creates (see
# tests/testbed.sh); the root netns gets no address and no route.
cd "$(dirname "$0")/.." || exit 1
. tests/testbed.sh

MACE=${MACE:-${B:-build}/mace}
rc=0

if [ "$(id -u)" != 0 ]; then
	echo "demo: run as root: it creates network namespaces and traces the kernel" >&2
	exit 1
fi
if [ ! -x "$MACE" ]; then
	echo "demo: $MACE is not built (run make)" >&2
	exit 1
fi
if [ ! -e /sys/kernel/tracing/trace ] &&
   ! mount -t tracefs nodev /sys/kernel/tracing; then
	echo "demo: cannot mount tracefs at /sys/kernel/tracing" >&2
	exit 1
fi

# step TITLE CMD...: shows the command, runs it, notes a failure.
step() {
	printf '\n==== %s\n$ %s\n' "$1" "$(shift; echo "$*")"
	shift
	if ! "$@"; then
		echo "demo: step failed (exit $?)" >&2
		rc=1
	fi
}

tb_trap
tb_up bridge-nat || exit 1
cat <<EOF
Testbed (network namespaces, removed at exit):
  container $TB_CTR ($TB_CTR_IP on $TB_CTR_DEV)
    -> veth $TB_HOSTVETH_DEV -> bridge $TB_BRIDGE_DEV + NAT in host $TB_HOST
    -> "physical" link $TB_OUTER_DEV ($TB_HOST_IP) -> remote $TB_REMOTE ($TB_REMOTE_IP)
EOF

ping_ctr="ip netns exec $TB_CTR ping -q -c 20 -i 0.05 $TB_REMOTE_IP"
step "What one container's network adds to 20 pings (eBPF)" \
	"$MACE" stat --netns "$TB_CTR" -- $ping_ctr
step "The same through ftrace (for hosts where BPF is locked down)" \
	"$MACE" stat -b ftrace --netns "$TB_CTR" -- $ping_ctr
step "Per-packet records as CSV, segmented by the bridge+NAT path" \
	"$MACE" record -p bridge-nat -F csv --netns "$TB_CTR" -- \
	ip netns exec "$TB_CTR" ping -q -c 3 -i 0.2 "$TB_REMOTE_IP"
step "JSON lines for scripts" \
	"$MACE" record -F json --netns "$TB_CTR" -- \
	ip netns exec "$TB_CTR" ping -q -c 2 -i 0.2 "$TB_REMOTE_IP"
step "Every container of the host at once (run inside the host netns), 1 second" \
	ip netns exec "$TB_HOST" "$MACE" stat -d 1 -- \
	ip netns exec "$TB_CTR2" ping -q -c 10 -i 0.05 "$TB_REMOTE_IP"

echo
[ $rc -eq 0 ] && echo "demo: done; testbed removed." || echo "demo: some steps failed." >&2
exit $rc
