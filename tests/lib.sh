# Shell helpers for integration tests (POSIX sh; sourced, not run).
#
#	. tests/lib.sh
#	need_root mytest || exit 0
#	clean_snapshot			# before starting mace
#	...; pass mytest  or  fail mytest "why"
#	assert_clean mytest		# nothing left behind
#
# Result lines are what tests/run.sh counts: "PASS name", "FAIL name: why",
# "SKIP name: why".

MACE=${MACE:-${B:-build}/mace}
TRACEFS=${TRACEFS:-/sys/kernel/tracing}
LIB_FAILS=0

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; LIB_FAILS=$((LIB_FAILS + 1)); }
skip() { echo "SKIP $1: $2"; }

# Exit status for the end of a test script: 1 if anything failed.
lib_status() { [ "$LIB_FAILS" -eq 0 ]; }

# need_root NAME: SKIP NAME (and return 1) unless root.  tests/run.sh turns
# the skip into a failure when MACE_REQUIRE_KERNEL=1.
need_root() {
	if [ "$(id -u)" != 0 ]; then
		skip "$1" "needs root"
		return 1
	fi
	return 0
}

# need_mace NAME: SKIP unless the CLI has been built.
need_mace() {
	if [ ! -x "$MACE" ]; then
		skip "$1" "$MACE not built"
		return 1
	fi
	return 0
}

# Mounts tracefs if it is not there yet; returns 1 with a message if it cannot.
need_tracefs() {
	[ -e "$TRACEFS/trace" ] && return 0
	mkdir -p "$TRACEFS" && mount -t tracefs nodev "$TRACEFS" 2>/dev/null && return 0
	echo "cannot mount tracefs at $TRACEFS" >&2
	return 1
}

# The BPF program names mace loads, taken from its built object: the global
# functions outside .text (each in its SEC(...) section).  Both the full name
# (bpftool prints it from BTF) and the kernel's first 15 characters (older
# bpftool prints those).
mace_bpf_prog_names() {
	obj=${MACE_BPF_OBJ:-${B:-build}/bpf/mace.bpf.o}
	if [ ! -f "$obj" ]; then
		echo "tests/lib.sh: no $obj: mace's BPF programs cannot be told" >&2
		return 0
	fi
	objdump -t "$obj" | awk '$2 == "g" && $3 == "F" && $4 != ".text" {
		print $6; if (length($6) > 15) print substr($6, 1, 15) }'
}

# "id pid,pid" for every loaded BPF program whose name mace uses.  The pids
# hold an fd of the program or of a link to it; taken from /proc/*/fdinfo
# (prog_id:) because Debian's bpftool is built without pid support.
lib_mace_progs() {
	names=$(mace_bpf_prog_names | tr '\n' ' ')
	[ -n "$names" ] || return 0
	owners=$(grep -H '^prog_id:' /proc/[0-9]*/fdinfo/* 2>/dev/null |
		awk -F'[/:\t ]+' '{ print $NF, $3 }' | sort -u)
	bpftool prog show -j 2>/dev/null | jq -r --arg names "$names" '
		($names | split(" ") | map(select(. != ""))) as $n | .[] |
		select(.name as $x | $n | index($x)) | .id' |
	while read -r id; do
		echo "$id $(printf '%s\n' "$owners" | awk -v id="$id" '$1 == id { print $2 }' |
			tr '\n' ',' | sed 's/,$//')"
	done
}

# Lines naming mace BPF programs this test leaked.
lib_prog_leaks() {
	lib_mace_progs | while read -r id pids; do
		lib_in "$id" "$LIB_SNAP_PROGS" && continue
		if [ -z "$pids" ]; then
			echo "BPF program $id has no owner (pinned or leaked);"
			continue
		fi
		for p in $(echo "$pids" | tr ',' ' '); do
			lib_is_ours "$p" && echo "BPF program $id still held by pid $p;"
		done
	done
}

# Mace instances (mace-PID) under tracefs.
lib_mace_instances() {
	ls "$TRACEFS/instances" 2>/dev/null | grep '^mace-' || true
}

# clean_snapshot: remember what exists before the test (other engineers'
# runs may be live at the same time) so assert_clean judges only what is new.
clean_snapshot() {
	LIB_SNAP_INST=$(lib_mace_instances | tr '\n' ' ')
	LIB_SNAP_PROGS=$(lib_mace_progs | cut -d' ' -f1 | tr '\n' ' ')
	LIB_SNAP_EVENTS=$(cat "$TRACEFS/set_event" 2>/dev/null | sort | tr '\n' ' ')
	LIB_SNAP_NETNS=$(ip netns list 2>/dev/null | cut -d' ' -f1 | sort | tr '\n' ' ')
}

# True if PID is this shell or one of its descendants.
lib_is_ours() {
	p=$1
	while [ -n "$p" ] && [ "$p" -gt 1 ] 2>/dev/null; do
		[ "$p" = "$$" ] && return 0
		p=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)
	done
	return 1
}

lib_in() { case " $2 " in *" $1 "*) return 0 ;; esac; return 1; }

# tmux_down SOCK: the private tmux server of a test gone, its socket too
# (kill-server leaves the socket file behind).
tmux_down() {
	tmux -L "$1" kill-server 2>/dev/null
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$1"
}

# assert_clean NAME: FAIL NAME if the test left a mace tracefs instance, an
# event in the top-level set_event, a mace BPF program, or a netns behind;
# PASS NAME otherwise.  Needs clean_snapshot first.  Netns are judged by the
# testbed prefixes in TB_PREFIXES (default: TB_P).
assert_clean() {
	why=
	for i in $(lib_mace_instances); do
		lib_in "$i" "$LIB_SNAP_INST" && continue
		pid=${i#mace-}
		pid=${pid%%-*}
		# A live owner that is not ours is another run still going.
		[ -d "/proc/$pid" ] && ! lib_is_ours "$pid" && continue
		why="$why instance $TRACEFS/instances/$i left;"
	done
	for e in $(cat "$TRACEFS/set_event" 2>/dev/null); do
		lib_in "$e" "$LIB_SNAP_EVENTS" || why="$why $e in $TRACEFS/set_event;"
	done
	# A program of a run that is exiting right now is freed within moments.
	tries=0
	while leaks=$(lib_prog_leaks | tr '\n' ' ') && [ -n "$leaks" ] && [ $tries -lt 3 ]; do
		sleep 1
		tries=$((tries + 1))
	done
	why="$why$leaks"
	for n in $(ip netns list 2>/dev/null | cut -d' ' -f1); do
		lib_in "$n" "$LIB_SNAP_NETNS" && continue
		# Only our own testbeds' names: other runs create theirs concurrently.
		for p in ${TB_PREFIXES:-$TB_P}; do
			case "$n" in "$p"*) why="$why netns $n left;" ;; esac
		done
	done
	if [ -n "$why" ]; then
		fail "$1" "${why% }"
		return 1
	fi
	pass "$1"
}

# balanced ERRFILE: the last counters line mace wrote to ERRFILE adds up
# (events = matched + unmatched + expired + replaced + duplicates + pending)
# and nothing was lost.  Prints "events N", or what is off and returns 1.
balanced() {
	sed -n 's/.*counters: //p' "$1" | tail -1 | awk '{
		for (i = 1; i < NF; i += 2) c[$i] = $(i + 1)
		sum = c["matched"] + c["unmatched"] + c["expired"] + c["replaced"] + \
		      c["duplicates"] + c["pending"]
		if (c["events"] == "" || c["events"] != sum || c["lost"] != 0) {
			print "counters: events " c["events"] " != " sum " or lost " c["lost"]; exit 1 }
		print "events " c["events"] }'
}
