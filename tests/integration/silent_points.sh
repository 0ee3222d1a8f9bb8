#!/bin/sh
# Silent points: a path waypoint that no packet fires is named, with the
# reason, by mace paths --check before running and by mace stat (and once on
# stderr) while running, on both backends; a path whose points all fire gets
# no such word.  The waypoint: net_dev_queue @bridge on egress, which a
# bridge the host routes through never emits for the container's packets.
. tests/lib.sh
. tests/testbed.sh

need_root silent_points || exit 0
need_mace silent_points || exit 0
need_tracefs || { fail silent_points "no tracefs"; exit 1; }
clean_snapshot
tb_trap
W=$(mktemp -d /tmp/mace-silent.XXXXXX)
TB_TRAP_EXTRA="rm -rf '$W'"
tb_up bridge-nat || { fail silent_points "testbed did not come up"; exit 1; }
cat >"$W/l2.path" <<P
path l2
match skb
egress  start net_dev_xmit @container
egress  via   net_dev_queue @bridge
egress  end   net_dev_xmit @outer
P
PING="ip netns exec $TB_CTR ping -q -c 150 -i 0.01 $TB_REMOTE_IP"

# Before running: the bound topology tells.
"$MACE" paths --check --netns "$TB_CTR" "$W/l2.path" >"$W/c.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "egress waypoint net_dev_queue @bridge (line 4): no packet will fire it: bridge $TB_BRIDGE_DEV passes" "$W/c.out"; then
	pass silent_check_routed_bridge
else
	fail silent_check_routed_bridge "exit $rc: $(tr '\n' ' ' <"$W/c.out")"
fi
"$MACE" paths --check --netns "$TB_CTR" bridge-nat >"$W/c.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "every point can fire" "$W/c.out"; then
	pass silent_check_bridge_nat
else
	fail silent_check_bridge_nat "exit $rc: $(tr '\n' ' ' <"$W/c.out")"
fi
# A bridge port as the outer device: the bridge is crossed at layer 2.
"$MACE" paths --check --netns "$TB_CTR" --outer "${TB_P}h1@$TB_HOST" bridge-nat >"$W/c.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && [ "$(grep -c "is a port of bridge $TB_BRIDGE_DEV, which forwards at layer 2" "$W/c.out")" -eq 2 ]; then
	pass silent_check_layer2
else
	fail silent_check_layer2 "exit $rc: $(tr '\n' ' ' <"$W/c.out")"
fi

# While running, on both backends.
for b in bpf ftrace; do
	"$MACE" stat -b $b --netns "$TB_CTR" -p "$W/l2.path" -- $PING >"$W/s.out" 2>"$W/s.err"
	rc=$?
	said=$(grep -c "warning: path l2: egress waypoint net_dev_queue @bridge (line 4): no events after" "$W/s.err")
	if [ $rc -ne 0 ]; then
		fail silent_stat_$b "exit $rc: $(tail -2 "$W/s.err" | tr '\n' ' ')"
	elif ! grep -q "^silent: egress waypoint net_dev_queue @bridge (line 4): no events after 150 packets started; a bridge forwarding at layer 2" "$W/s.out"; then
		fail silent_stat_$b "not in the summary: $(grep -v '^all\|^netns' "$W/s.out" | tr '\n' ' ')"
	elif [ "$said" -ne 1 ]; then
		fail silent_stat_$b "said $said times on stderr"
	else
		pass silent_stat_$b
	fi
done
"$MACE" stat -j --netns "$TB_CTR" -p bridge-nat -- $PING >"$W/s.out" 2>"$W/s.err"
rc=$?
if [ $rc -eq 0 ] && grep -q '"silent":\[\]' "$W/s.out" && ! grep -q "no events after" "$W/s.err"; then
	pass silent_none_on_bridge_nat
else
	fail silent_none_on_bridge_nat "exit $rc: $(grep -o '"silent".*' "$W/s.out") $(grep 'no events' "$W/s.err")"
fi

tb_down
assert_clean silent_points_clean
lib_status
