#!/bin/sh
# Containers by name, against a real dockerd and podman (tests/ctrbed.sh):
# records, stat -j and top name them; --container selects one by name or ID
# prefix and follows it through a restart; unknown names exit 1; a container
# removed during a run leaves with a message, one started is picked up; the
# three CRI labels show as pod/namespace; ftrace reads same-named container
# devices on their host-side veths.
. tests/lib.sh
. tests/ctrbed.sh

need_mace containers || exit 0
need_root containers || exit 0
for t in dockerd docker podman tmux jq nsenter; do
	if ! command -v "$t" >/dev/null; then
		skip containers "$t not installed (tools/install-deps.sh)"
		exit 0
	fi
done
need_tracefs || { fail containers "no tracefs"; exit 1; }
clean_snapshot
SOCK=mace-ctr-$$
W=$CB_DIR/w
trap 'tmux_down "$SOCK"; ctrbed_down' EXIT
trap 'exit 1' INT TERM HUP
start=$(date +%s)

if ! ctrbed_up || ! mkdir -p "$W" || ! ctrbed_docker_up || ! ctrbed_podman_up; then
	fail containers "the daemons did not come up"
	exit 1
fi
LABELS() { echo "--label io.kubernetes.pod.name=$1 --label io.kubernetes.pod.namespace=$2
	--label io.kubernetes.container.name=app"; }
for rt in docker podman; do
	p=$(echo $rt | cut -c1)
	ctrbed_run $rt ${p}w1 >/dev/null && ctrbed_run $rt ${p}w2 >/dev/null &&
	ctrbed_run $rt k8s_app_${p}shop $(LABELS ${p}shop-0 prod) >/dev/null ||
		{ fail containers "$rt run failed"; exit 1; }
done
echo "  (daemons and six containers up in $(( $(date +%s) - start )) s)" >&2
NAMES="dw1 dw2 pw1 pw2"
PODS="dshop-0/prod pshop-0/prod"

# mace in the daemons' netns, told where the private sockets are.
mace_in() {
	$CB_NSENTER env DOCKER_HOST="unix://$CB_DOCKER_SOCK" CONTAINER_HOST="unix://$CB_PODMAN_SOCK" \
		"$MACE" "$@"
}
inode_of() {	# inode_of docker|podman NAME: its netns inode
	if [ "$1" = docker ]; then c=$CB_DOCKER; else c=$CB_PODMAN; fi
	stat -L -c %i "/proc/$($c inspect -f '{{.State.Pid}}' "$2")/ns/net"
}

# Records carry the container's name, and pod and namespace from the labels.
mace_in record -F json -d 3 -o "$W/all.json" 2>"$W/all.err"
for n in $NAMES; do
	c=$(jq -c "select(.container == \"$n\" and .latency_ns > 0)" "$W/all.json" | wc -l)
	[ "$c" -ge 4 ] || fail containers_record_name "$n: $c records; $(tail -2 "$W/all.err")"
done
for p in d p; do
	c=$(jq -c "select(.pod == \"${p}shop-0\" and .namespace == \"prod\")" "$W/all.json" | wc -l)
	[ "$c" -ge 4 ] || fail containers_record_pod "${p}shop-0/prod: $c records"
done
pass containers_record

# stat -j names its rows by container, pods as pod/namespace.
mace_in stat -j -d 3 >"$W/stat.json" 2>"$W/stat.err"
rows=$(jq -r '.netns[] | select(.count > 0) | .name' "$W/stat.json" | sort -u | tr '\n' ' ')
ok=1
for n in $NAMES $PODS; do
	case " $rows" in *" $n "*) ;; *) ok=0 ;; esac
done
if [ $ok = 1 ]; then pass containers_stat; else fail containers_stat "rows: $rows"; fi

# mace serve labels its series with container names, and a pod's with the
# container's name in the pod, pod and namespace (the CRI labels).
SPORT=$(( $$ % 20000 + 30000 ))
mace_in serve --listen "127.0.0.1:$SPORT" -d 8 2>"$W/serve.err" &
srv=$!
ok=0
for i in $(seq 1 40); do
	sleep 0.25
	$CB_NSENTER curl -sf "http://127.0.0.1:$SPORT/metrics" >"$W/serve.prom" 2>/dev/null || continue
	ok=1
	for n in $NAMES; do
		grep -q "^mace_overhead_seconds_count{container=\"$n\",direction=\"egress\"" \
			"$W/serve.prom" || ok=0
	done
	for p in d p; do
		grep -q "^mace_overhead_seconds_count{container=\"app\",pod=\"${p}shop-0\",namespace=\"prod\",direction=\"egress\"" \
			"$W/serve.prom" || ok=0
	done
	[ $ok = 1 ] && break
done
kill $srv 2>/dev/null
wait $srv
if [ $ok = 1 ]; then
	pass containers_serve_labels
else
	fail containers_serve_labels "$(grep '^mace_overhead_seconds_count' "$W/serve.prom" | cut -d'}' -f1 | tr '\n' ' '); $(tail -2 "$W/serve.err" | tr '\n' ' ')"
fi

# ftrace, every container's device being eth0: bound on the host-side veths,
# said, and still per container; a path with no such stand-in is refused.
mace_in stat -b ftrace -j -d 2 >"$W/ft.json" 2>"$W/ft.err"
rows=$(jq -r '.netns[] | select(.count > 0) | .name' "$W/ft.json" | sort -u | tr '\n' ' ')
ok=1
for n in $NAMES $PODS; do
	case " $rows" in *" $n "*) ;; *) ok=0 ;; esac
done
if [ $ok = 1 ] && grep -q "bound on the host-side veths.*no longer in the measured interval" \
	"$W/ft.err"; then
	pass containers_ftrace_host_veth
else
	fail containers_ftrace_host_veth "rows: $rows; $(head -2 "$W/ft.err" | tr '\n' ' ')"
fi
mace_in stat -b ftrace -p max-dev -d 1 >/dev/null 2>"$W/ftmax.err"
rc=$?
if [ $rc = 1 ] && grep -q "'eth0' is bound twice" "$W/ftmax.err"; then
	pass containers_ftrace_refusal
else
	fail containers_ftrace_refusal "exit $rc: $(tail -1 "$W/ftmax.err")"
fi

# --container by name and by ID prefix: that container's packets only.
for sel in docker:dw1:name podman:pw2:id; do
	rt=${sel%%:*} n=${sel#*:} how=${n#*:} n=${n%%:*}
	spec=$n
	if [ "$how" = id ]; then
		spec=$($CB_PODMAN inspect -f '{{.Id}}' "$n" | cut -c1-10)
	fi
	ino=$(inode_of "$rt" "$n")
	mace_in record --container "$spec" -F json -d 2 -o "$W/one.json" 2>"$W/one.err"
	all=$(jq -c 'select(.latency_ns > 0)' "$W/one.json" | wc -l)
	mine=$(jq -c "select(.latency_ns > 0 and .netns == $ino and .container == \"$n\")" \
		"$W/one.json" | wc -l)
	if [ "$all" -ge 4 ] && [ "$all" = "$mine" ]; then
		pass "containers_select_by_$how"
	else
		fail "containers_select_by_$how" "$spec: $mine of $all records are $n's; $(tail -1 "$W/one.err")"
	fi
done

# Unknown: exit 1, naming the close matches.
mace_in record --container dw9 -d 1 -o /dev/null 2>"$W/unknown.err"
rc=$?
if [ $rc = 1 ] && grep -q "no container 'dw9'.*dw1" "$W/unknown.err"; then
	pass containers_unknown
else
	fail containers_unknown "exit $rc: $(cat "$W/unknown.err")"
fi

# top: rows by name over several seconds, none of them "gone"; a container
# removed leaves, a restarted one comes back under its name.
tm() { tmux -L "$SOCK" "$@"; }
tm new-session -d -s top -x 150 -y 30 "sh" || { fail containers_top "no tmux"; exit 1; }
tm send-keys -t top "$CB_NSENTER env DOCKER_HOST=unix://$CB_DOCKER_SOCK \
CONTAINER_HOST=unix://$CB_PODMAN_SOCK $MACE top 2>$W/top.err; echo TOP-EXIT=\$?" Enter
seen="" gone=""
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	sleep 0.5
	tm capture-pane -p -t top >"$W/screen"
	for n in $NAMES $PODS; do
		grep -q "^$n " "$W/screen" && seen="$seen $n"
		grep -q "^$n .*gone" "$W/screen" && gone="$gone $n"
	done
done
missing=""
for n in $NAMES $PODS; do
	case "$seen " in *" $n "*) ;; *) missing="$missing $n" ;; esac
done
if [ -z "$missing" ] && [ -z "$gone" ]; then
	pass containers_top
else
	fail containers_top "missing:$missing gone:$gone; $(grep -v '^ *$' "$W/screen" | head -12 | tr '\n' '|')"
fi
# The restarted container is a new process; its netns may get the old one's
# inode back once that is freed, so the pid tells the restart.
oldpid=$($CB_DOCKER inspect -f '{{.State.Pid}}' dw1)
$CB_DOCKER rm -f dw2 >/dev/null
$CB_DOCKER restart -t 0 dw1 >/dev/null
back=0
for i in $(seq 1 40); do
	sleep 0.25
	tm capture-pane -p -t top >"$W/screen"
	# a live dw1 row again (numbers, not gone), and dw2 gone or said to be
	grep -Eq "^dw1 +[0-9.]+ .* [0-9]+ +[-0-9.]+ +[-0-9]+ *$" "$W/screen" &&
		grep -Eq "^dw2 .*gone|netns dw2 .*is gone" "$W/screen" && { back=1; break; }
done
newpid=$($CB_DOCKER inspect -f '{{.State.Pid}}' dw1)
new=$(inode_of docker dw1)
if [ $back = 1 ] && [ "$newpid" != "$oldpid" ]; then
	pass containers_top_restart
else
	fail containers_top_restart "pid $oldpid -> $newpid; $(grep -v '^ *$' "$W/screen" | head -14 | tr '\n' '|')"
fi
tm send-keys -t top q

# A container removed during a record leaves with a message naming it, one
# started is picked up and named; the restarted one's records carry its name.
mace_in record -F json -d 7 -o "$W/rm.json" 2>"$W/rm.err" &
rec=$!
sleep 1.5
$CB_PODMAN rm -f -t 0 pw2 >/dev/null
ctrbed_run docker dw4 >/dev/null
wait $rec
if grep -q "pw2.*gone" "$W/rm.err"; then
	pass containers_removed_message
else
	fail containers_removed_message "$(cat "$W/rm.err" | tr '\n' '|')"
fi
c=$(jq -c 'select(.container == "dw4")' "$W/rm.json" | wc -l)
if [ "$c" -ge 4 ] && grep -q "containers changed; now tracing" "$W/rm.err"; then
	pass containers_followed
else
	fail containers_followed "$c records of dw4; $(grep -c . "$W/rm.err") lines of messages"
fi
c=$(jq -c "select(.container == \"dw1\" and .netns == $new)" "$W/rm.json" | wc -l)
if [ "$c" -ge 4 ]; then
	pass containers_restart_name
else
	fail containers_restart_name "$c records of dw1 in its new netns $new"
fi

# --container follows its container through a restart: same name, new netns
# (whose inode may be the old one's again): records before and after it.
mace_in record --container dw1 -F json -d 7 -o "$W/re.json" 2>"$W/re.err" &
rec=$!
sleep 1.5
# CLOCK_MONOTONIC, as records' ts_ns, in ns
cut=$(awk '{ printf "%.0f", $1 * 1e9 }' /proc/uptime)
$CB_DOCKER restart -t 0 dw1 >/dev/null
wait $rec
before=$(jq -c "select(.container == \"dw1\" and .ts_ns < $cut)" "$W/re.json" | wc -l)
after=$(jq -c "select(.container == \"dw1\" and .ts_ns > $cut + 1000000000)" "$W/re.json" | wc -l)
other=$(jq -c 'select(.container != "dw1")' "$W/re.json" | wc -l)
if [ "$before" -ge 2 ] && [ "$after" -ge 2 ] && [ "$other" = 0 ]; then
	pass containers_select_restart
else
	fail containers_select_restart "dw1: $before records before the restart, $after after, $other of others; $(tail -3 "$W/re.err" | tr '\n' '|')"
fi

tmux_down "$SOCK"
ctrbed_down
trap - EXIT
assert_clean containers_clean
echo "  (containers.sh took $(( $(date +%s) - start )) s)" >&2
lib_status
