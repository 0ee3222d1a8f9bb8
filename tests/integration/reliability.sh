#!/bin/sh
# Reliability, fast cases: bad command lines, bad path and replay
# files under the ASan+UBSan mace; then on the testbed, with both backends:
# a short flood whose packets are all accounted for, the container netns
# deleted and a device removed while tracing, a closed output pipe, a full
# disk, and signals at random moments.  After every case nothing is left
# behind.  The long versions are in tests/stress/run.sh (make stress), which
# runs this with REL_FLOOD_SECONDS, REL_SIGS and REL_KILLS raised.
. tests/lib.sh
. tests/testbed.sh

ASAN_MACE=${ASAN_MACE:-$(dirname "$MACE")/asan/mace}
need_mace reliability || exit 0
[ -x "$ASAN_MACE" ] || { skip reliability_bad_input "$ASAN_MACE not built"; ASAN_MACE=$MACE; }
W=$(mktemp -d /tmp/mace-rel.XXXXXX)
TB_TRAP_EXTRA="rel_cleanup"
trap 'rel_cleanup' EXIT
rel_cleanup() {
	[ -n "${REL_MNT:-}" ] && umount "$REL_MNT" 2>/dev/null
	rm -rf "$W"
}
export ASAN_OPTIONS=detect_leaks=1:exitcode=99:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98
ulimit -c 0

# run_bad NAME CODE REGEX CMD...: CMD exits CODE, says REGEX on stderr, no
# sanitizer report.
run_bad() {
	name=$1 code=$2 pat=$3
	shift 3
	"$@" >"$W/out" 2>"$W/err" </dev/null
	rc=$?
	if grep -Eq 'Sanitizer|runtime error:' "$W/err"; then
		fail "$name" "'$*': $(grep -E -m1 'Sanitizer|runtime error:' "$W/err")"
	elif [ "$rc" -ne "$code" ]; then
		fail "$name" "'$*' exited $rc, want $code: $(head -2 "$W/err" | tr '\n' ' ')"
	elif [ ! -s "$W/err" ]; then
		fail "$name" "'$*' exited $rc without a message"
	elif [ -n "$pat" ] && ! grep -Eq -- "$pat" "$W/err"; then
		fail "$name" "'$*' stderr lacks /$pat/: $(head -2 "$W/err" | tr '\n' ' ')"
	else
		return 0
	fi
	return 1
}

# ---- bad command lines (tests/data/bad-args.txt) ---------------------------
ln -s "$W/target" "$W/link"
# bad_args ROOTPASS: the table's rows; ROOTPASS=1 runs the rows needing root.
bad_args() {
	want=$1 n=0 bad=0
	while IFS= read -r line; do
		case "$line" in '#'* | '') continue ;; esac
		code=$(echo "${line%%|*}" | tr -d ' ')
		rest=${line#*|}
		pat=$(echo "${rest%%|*}" | sed -e 's/^ *//' -e 's/ *$//' -e "s|@W@|$W|g")
		args=$(echo "${rest#*|}" | sed -e "s|@W@|$W|g" -e "s|@CTR@|${TB_CTR:-}|g")
		case "$args" in
		*"$W"*/nodir/x*--netns* | *--netns*"$W"/nodir*) needs=1 ;;
		*@CTR@* | *"--netns ${TB_CTR:-@}"*) needs=1 ;;
		*) needs=0 ;;
		esac
		case "$line" in *@CTR@*) needs=1 ;; esac
		[ "$code" = 1 ] && case "$args" in *--netns* | *--outer*) needs=1 ;; esac
		[ "$needs" = "$want" ] || continue
		n=$((n + 1))
		eval "set -- $args"
		run_bad "bad_args: mace $args" "$code" "$pat" "$ASAN_MACE" "$@" || bad=$((bad + 1))
	done <tests/data/bad-args.txt
	[ -e "$W/target" ] && { fail bad_args_symlink "wrote through the symlink"; bad=$((bad + 1)); }
	[ "$bad" -eq 0 ] && pass "reliability_bad_args_$want ($n command lines)"
}
bad_args 0

# ---- malformed path files ---------------------------------------------------
n=0 bad=0
for f in tests/data/bad-paths/*.path; do
	n=$((n + 1))
	run_bad "bad_path $f" 1 "^$f:[0-9]+:[0-9]+: " "$ASAN_MACE" paths "$f" || bad=$((bad + 1))
	run_bad "bad_path_record $f" 2 "$f:[0-9]+:[0-9]+: " "$ASAN_MACE" record -p "$f" ||
		bad=$((bad + 1))
done
# Binary junk and an overlong line.
head -c 4096 /dev/urandom >"$W/junk.path"
{ printf 'path x\n'; head -c 100000 /dev/zero | tr '\0' a; printf '\n'; } >"$W/long.path"
for f in "$W/junk.path" "$W/long.path"; do
	n=$((n + 1))
	run_bad "bad_path $f" 1 "^$f:[0-9]+:[0-9]+: " "$ASAN_MACE" paths "$f" || bad=$((bad + 1))
done
[ "$bad" -eq 0 ] && pass "reliability_bad_paths ($n files)"

# ---- malformed replay files -------------------------------------------------
good=tests/fuzz/corpus/rawfile/two-devs-3-events.raw
n=0 bad=0
if [ -f "$good" ]; then
	size=$(wc -c <"$good")
	hdr=$((16 + $(od -An -tu4 -j12 -N4 "$good" | tr -d ' ')))
	# Cuts inside the header and inside events (a cut between events is a
	# valid, shorter file).
	for cut in $(seq 0 7 "$((size - 1))"); do
		[ "$cut" -ge "$hdr" ] && [ $(((cut - hdr) % 96)) -eq 0 ] && continue
		head -c "$cut" "$good" >"$W/cut.raw"
		n=$((n + 1))
		run_bad "bad_replay cut at $cut" 1 "$W/cut.raw" "$ASAN_MACE" replay "$W/cut.raw" \
			-o /dev/null || bad=$((bad + 1))
	done
	# patch FILE OFFSET HEXBYTES: overwrite bytes of a copy of the good file.
	patch() {
		cp "$good" "$1"
		printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
	}
	patch "$W/magic.raw" 0 'MACEWAR'
	patch "$W/version.raw" 8 '\002'
	patch "$W/version0.raw" 8 '\000'
	patch "$W/hdrlen.raw" 12 '\377\377\377\177'
	patch "$W/evsize.raw" 16 '\377'
	patch "$W/ndev.raw" 112 '\377\377\377\377'
	for f in magic version version0 hdrlen evsize ndev; do
		n=$((n + 1))
		run_bad "bad_replay $f" 1 "$W/$f.raw" "$ASAN_MACE" replay "$W/$f.raw" -o /dev/null ||
			bad=$((bad + 1))
	done
	head -c 65536 /dev/urandom >"$W/garbage.raw"
	{ head -c 16 "$good"; head -c 65536 /dev/urandom; } >"$W/garbage2.raw"
	for f in garbage garbage2; do
		n=$((n + 1))
		run_bad "bad_replay $f" 1 "$W/$f.raw" "$ASAN_MACE" replay "$W/$f.raw" -o /dev/null ||
			bad=$((bad + 1))
	done
	[ "$bad" -eq 0 ] && pass "reliability_bad_replay ($n files)"
else
	skip reliability_bad_replay "no $good"
fi

if ! need_root reliability_live; then
	lib_status
	exit $?
fi
need_tracefs || { fail reliability_live "no tracefs"; exit 1; }
clean_snapshot
tb_trap
tb_up bridge-nat || { fail reliability_live "testbed did not come up"; exit 1; }
PINGPONG=${PINGPONG:-$(dirname "$MACE")/bench/pingpong}
bad_args 1

# veth_pkts NS DEV: packets received + sent by DEV so far.
veth_pkts() {
	ip -n "$1" -s -j link show "$2" | jq '.[0].stats64 | .rx.packets + .tx.packets'
}

# rss_watch PID FILE: VmRSS samples (kB) of PID into FILE until it exits.
rss_watch() {
	while [ -e "/proc/$1/status" ]; do
		awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null >>"$2"
		sleep 0.2
	done
}

# flood BACKEND KIND SECONDS: mace stat -j over a flood from the container;
# every packet the container veth saw is a record or in a counter, the
# correlator's invariant holds and RSS stays under REL_MAX_RSS_KB.
flood() {
	b=$1 kind=$2 secs=$3 name="reliability_flood_${2}_$1"
	case "$kind" in
	ping) cmd="ip netns exec $TB_CTR ping -f -q -w $secs $TB_REMOTE_IP" ;;
	udp) cmd="ip netns exec $TB_CTR $PINGPONG flood $TB_REMOTE_IP 9 $secs 64" ;;
	esac
	p0=$(veth_pkts "$TB_CTR" "$TB_CTR_DEV")
	: >"$W/rss"
	"$MACE" stat -b "$b" --netns "$TB_CTR" -j -- sh -c "$cmd >'$W/sender' 2>&1" \
		>"$W/flood.json" 2>"$W/flood.err" &
	pid=$!
	REL_PIDS="$REL_PIDS $pid"
	rss_watch "$pid" "$W/rss" &
	wait "$pid"
	rc=$?
	p1=$(veth_pkts "$TB_CTR" "$TB_CTR_DEV")
	pkts=$((p1 - p0))
	peak=$(sort -n "$W/rss" | tail -1)
	# need: the flood's own packets as its sender counted them (ping: requests
	# and replies) -- each must be a record or in a counter
	case "$kind" in
	ping)	sent=$(awk '/packets transmitted/ { print $1 }' "$W/sender")
		need=$((sent + $(awk '/packets transmitted/ { print $4 }' "$W/sender"))) ;;
	udp)	sent=$(grep -Eo '[0-9]+' "$W/sender" | head -1)
		need=$sent ;;
	esac
	if [ "$rc" -ne 0 ]; then
		fail "$name" "exit $rc: $(tail -2 "$W/flood.err" | tr '\n' ' ')"
		return
	fi
	# accounted: packets in a record, plus events that ended in a counter
	# (a packet missing from the records left at least one such event).
	fig=$(jq -r '.counters as $c | [$c.records, $c.events, $c.matched + $c.unmatched +
		$c.expired + $c.replaced + $c.duplicates + $c.pending, $c.records + $c.lost +
		$c.unmatched + $c.expired + $c.replaced + $c.duplicates + $c.pending + $c.user_drops,
		$c.lost] | @tsv' "$W/flood.json")
	set -- $fig
	recs=$1 events=$2 sum=$3 acc=$4 lost=$5
	why=
	[ "$events" = "$sum" ] || why="$why events $events != sum of counters $sum;"
	[ "${sent:-0}" -gt 0 ] || why="$why sender sent nothing ($(head -c 100 "$W/sender"));"
	[ "$acc" -ge "$need" ] || why="$why $need flood packets, only $acc accounted;"
	# the veth also carries ARP (not measured: eBPF skips non-IP frames, and
	# some come while mace starts or stops): a handful at most
	[ $((pkts - acc)) -le 8 ] || why="$why $pkts packets on the veth, only $acc accounted;"
	[ "$recs" -le "$pkts" ] || why="$why $recs records for $pkts packets;"
	[ "${peak:-0}" -le "${REL_MAX_RSS_KB:-131072}" ] || why="$why peak VmRSS $peak kB;"
	if [ -n "$why" ]; then
		fail "$name" "${why% }"
	else
		pass "$name ($sent sent, $need flood packets, $pkts on veth, $recs records, $acc accounted, $lost lost, \
peak RSS $peak kB)"
	fi
}

# after CASE: nothing of ours is left (instances, events, programs).
# after CASE: what this script's mace runs (pids in REL_PIDS) may have left:
# their tracefs instances, top-level events, BPF programs.  Other engineers'
# killed runs leave instances of their own, so instances are judged by pid;
# the testbed's namespaces are judged by the final assert_clean.
REL_PIDS=
# pid_of CMD...: runs CMD, its pid noted in REL_PIDS's file.
pid_of() { sh -c 'echo $$ >>"$0"; exec "$@"' "$W/pids" "$@"; }
sig_status() {	# sig_status INT|TERM|HUP: the shell's status of a process it killed
	case $1 in INT) echo 130 ;; TERM) echo 143 ;; HUP) echo 129 ;; esac
}

after() {
	why=
	for p in $REL_PIDS $(cat "$W/pids" 2>/dev/null); do
		[ -d "$TRACEFS/instances/mace-$p" ] && why="$why instance mace-$p left;"
	done
	for e in $(cat "$TRACEFS/set_event" 2>/dev/null); do
		lib_in "$e" "$LIB_SNAP_EVENTS" || why="$why $e in $TRACEFS/set_event;"
	done
	tries=0
	while leaks=$(lib_prog_leaks | tr '\n' ' ') && [ -n "$leaks" ] && [ $tries -lt 3 ]; do
		sleep 1
		tries=$((tries + 1))
	done
	why="$why$leaks"
	[ -z "$why" ] || fail "reliability_clean_$1" "${why% }"
}

for b in bpf ftrace; do
	flood "$b" ping "${REL_FLOOD_SECONDS:-2}"
	after "flood_ping_$b"
	if [ -x "$PINGPONG" ]; then
		flood "$b" udp "${REL_FLOOD_SECONDS:-2}"
		after "flood_udp_$b"
	else
		skip "reliability_flood_udp_$b" "$PINGPONG not built"
	fi
done

# ---- faults, under the ASan mace --------------------------------------------
PINGS="ip netns exec $TB_CTR ping -q -i 0.01 -w 10 $TB_REMOTE_IP"
# rand_ms MAX: a random delay in seconds with millisecond steps, below MAX ms.
rand_s() { awk -v r="$(tb_rand)" -v m="$1" 'BEGIN { printf "%.3f", (r % m) / 1000 }'; }

for b in bpf ftrace; do
	# The reader leaves: mace stops at once, clean, under a flood.
	t0=$(date +%s)
	pid_of "$ASAN_MACE" record -b "$b" --netns "$TB_CTR" -- ip netns exec "$TB_CTR" \
		ping -f -w 10 "$TB_REMOTE_IP" 2>"$W/pipe.err" </dev/null | head -3 >"$W/pipe.out"
	t=$(($(date +%s) - t0))
	if [ "$(wc -l <"$W/pipe.out")" -eq 3 ] && [ "$t" -lt 5 ] &&
		! grep -q Sanitizer "$W/pipe.err"; then
		pass "reliability_pipe_closed_$b (${t} s)"
	else
		fail "reliability_pipe_closed_$b" "$(wc -l <"$W/pipe.out") lines, $t s: \
$(tail -2 "$W/pipe.err" | tr '\n' ' ')"
	fi
	after "pipe_$b"

	# Disk full on -o: exit 1 naming the file and the reason, promptly.
	REL_MNT=$W/full
	mkdir -p "$REL_MNT"
	if mount -t tmpfs -o size=64k tmpfs "$REL_MNT"; then
		t0=$(date +%s)
		if run_bad "reliability_disk_full_$b" 1 "$REL_MNT/out.csv.*No space left" \
			pid_of "$ASAN_MACE" record -b "$b" --netns "$TB_CTR" -o "$REL_MNT/out.csv" -- \
			ip netns exec "$TB_CTR" ping -f -w 10 "$TB_REMOTE_IP"; then
			t=$(($(date +%s) - t0))
			if [ "$t" -lt 8 ]; then
				pass "reliability_disk_full_$b (${t} s)"
			else
				fail "reliability_disk_full_$b" "took $t s to give up"
			fi
		fi
		umount "$REL_MNT"
	else
		skip "reliability_disk_full_$b" "cannot mount a tmpfs"
	fi
	REL_MNT=
	after "disk_full_$b"

	# SIGINT, SIGTERM, SIGHUP at a random moment (also during start-up):
	# exit 0 with counters and nothing left, or, for a signal that came while
	# the program was still loading (before it could block signals), killed
	# by it having said nothing and set up nothing.
	$PINGS >/dev/null 2>&1 &
	ping_pid=$!
	for sig in ${REL_SIGS:-INT TERM HUP}; do
		d=$(rand_s 2500)
		"$ASAN_MACE" record -b "$b" --netns "$TB_CTR" -o /dev/null >/dev/null 2>"$W/sig.err" &
		pid=$!
		REL_PIDS="$REL_PIDS $pid"
		sleep "$d"
		kill "-$sig" "$pid"
		wait "$pid"
		rc=$?
		if [ "$rc" -eq 0 ] && grep -q "counters: events" "$W/sig.err" &&
			! grep -q Sanitizer "$W/sig.err"; then
			pass "reliability_sig${sig}_$b (after ${d} s)"
		elif [ "$rc" -eq "$(sig_status "$sig")" ] && [ ! -s "$W/sig.err" ]; then
			# after() below fails the case if anything was left
			pass "reliability_sig${sig}_$b (after ${d} s: before set-up, nothing to clean)"
		else
			fail "reliability_sig${sig}_$b" "after $d s: exit $rc: \
$(grep -v '^ *#' "$W/sig.err" | tail -3 | tr '\n' ' ')"
		fi
		after "sig${sig}_$b"
	done

	# SIGKILL at a random moment: the kernel drops BPF links with the
	# process; a left ftrace instance goes at the next start.
	for i in $(seq "${REL_KILLS:-2}"); do
		d=$(rand_s 1500)
		"$MACE" record -b "$b" --netns "$TB_CTR" -o /dev/null >/dev/null 2>&1 &
		pid=$!
		REL_PIDS="$REL_PIDS $pid"
		sleep "$d"
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		if ! pid_of "$MACE" record -b "$b" --netns "$TB_CTR" -d 0.2 -o /dev/null \
			2>"$W/next.err"; then
			fail "reliability_sigKILL_$b" "next run failed: $(tail -1 "$W/next.err")"
		elif [ -d "$TRACEFS/instances/mace-$pid" ]; then
			fail "reliability_sigKILL_$b" "next run left mace-$pid"
		else
			pass "reliability_sigKILL_$b (after ${d} s)"
		fi
		after "sigKILL_$b"
	done
	kill "$ping_pid" 2>/dev/null
	wait "$ping_pid" 2>/dev/null
done

# ---- a container's netns deleted; a device renamed --------------------------
# Judged by conditions, not sleeps: other engineers' tests may share the CPUs.
ns_ino() { ip netns exec "$1" stat -L -c %i /proc/self/ns/net; }
# ctr_records FILE INODE: CSV records of one container netns.
ctr_records() {
	awk -F, -v ino="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "netns") c = i; next }
		c && $c == ino' "$1" 2>/dev/null | wc -l
}
# until_true TENTHS CMD...: CMD succeeds within TENTHS tenths of a second.
until_true() {
	n=$1
	shift
	while ! "$@"; do
		[ "$n" -le 0 ] && return 1
		n=$((n - 1))
		sleep 0.1
	done
}
# tracing NS FILE INODE: NS pings until its packets show in FILE (mace is
# tracing it); up to 20 s (ASan start-up under load).
tracing() {
	i=0
	while [ "$(ctr_records "$2" "$3")" -lt 2 ]; do
		[ $i -ge 40 ] && return 1
		ip netns exec "$1" ping -q -c 2 -i 0.05 -W 1 "$TB_REMOTE_IP" >/dev/null 2>&1
		i=$((i + 1))
		sleep 0.2
	done
}
# judged_pings NS FILE INODE: 20 pings from NS; sets got (replies) and n
# (records of INODE in FILE after them, waited for up to 5 s).
judged_pings() {
	n0=$(ctr_records "$2" "$3")
	got=$(ip netns exec "$1" ping -q -c 20 -i 0.02 -w 5 "$TB_REMOTE_IP" 2>&1 |
		awk '/received/ { print $4 }')
	got=${got:-0}
	until_true 50 enough "$2" "$3" $((n0 + 2 * got))
	n=$(($(ctr_records "$2" "$3") - n0))
}
enough() { [ "$(ctr_records "$1" "$2")" -ge "$3" ]; }
gone() { ! ip -n "$TB_HOST" link show "$1" >/dev/null 2>&1; }
said() { grep -Eq -- "$2" "$1" 2>/dev/null; }
# kill_ns NS: its processes and its name; its veth pair goes with it.
kill_ns() {
	for p in $(ip netns pids "$1"); do kill "$p"; done
	ip netns del "$1"
}
recreate_ctr2() {
	tb_ctr "$TB_CTR2" "${TB_P}c1" "${TB_P}h1" "$TB_CTR2_IP" &&
		tb_run ip -n "$TB_HOST" link set "${TB_P}h1" master "$TB_BRIDGE_DEV"
}
CTR_INO=$(ns_ino "$TB_CTR")
for b in bpf ftrace; do
	# Discovery from the host netns binds both containers; CTR2's netns
	# dies: mace names it, and keeps tracing CTR.
	name=reliability_netns_deleted_$b
	CTR2_INO=$(ns_ino "$TB_CTR2")
	rm -f "$W/del.csv"
	ip netns exec "$TB_CTR2" sleep 60 &
	ip netns exec "$TB_HOST" "$ASAN_MACE" record -b "$b" -o "$W/del.csv" 2>"$W/del.err" &
	pid=$!
	REL_PIDS="$REL_PIDS $pid"
	if ! tracing "$TB_CTR2" "$W/del.csv" "$CTR2_INO"; then
		fail "$name" "no record of $TB_CTR2 in 20 s: $(tail -2 "$W/del.err" | tr '\n' ' ')"
	else
		kill_ns "$TB_CTR2"
		until_true 50 gone "${TB_P}h1"
		until_true 50 said "$W/del.err" "container netns $TB_CTR2 \\(inode $CTR2_INO\\) is gone"
		judged_pings "$TB_CTR" "$W/del.csv" "$CTR_INO"
		kill -INT "$pid"
		wait "$pid"
		rc=$?
		if ! gone "${TB_P}h1"; then
			fail "$name" "${TB_P}h1 still there: netns kept alive"
		elif ! said "$W/del.err" "container netns $TB_CTR2 \\(inode $CTR2_INO\\) is gone"; then
			fail "$name" "the deletion was not reported: $(tail -2 "$W/del.err" | tr '\n' ' ')"
		elif [ "$got" -eq 0 ]; then
			fail "$name" "$TB_CTR's pings got no reply after the deletion (testbed)"
		elif [ "$rc" -ne 0 ] || grep -q Sanitizer "$W/del.err" ||
			[ "$n" -lt $((2 * got * 9 / 10)) ]; then
			fail "$name" "exit $rc, $n records of $TB_CTR for $got pings answered: \
$(grep -v '^ *#' "$W/del.err" | tail -2 | tr '\n' ' ')"
		else
			pass "$name ($n records of the other container for $got pings)"
		fi
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	after "netns_deleted_$b"
	ip netns list | grep -q "^$TB_CTR2\b" && kill_ns "$TB_CTR2"
	recreate_ctr2 || fail "$name" "cannot recreate $TB_CTR2"

	# The only container's netns deleted: exit 1 saying so, counters printed.
	name=reliability_netns_only_$b
	CTR2_INO=$(ns_ino "$TB_CTR2")
	rm -f "$W/only.csv"
	"$ASAN_MACE" record -b "$b" --netns "$TB_CTR2" -o "$W/only.csv" 2>"$W/only.err" &
	pid=$!
	REL_PIDS="$REL_PIDS $pid"
	if ! tracing "$TB_CTR2" "$W/only.csv" "$CTR2_INO"; then
		fail "$name" "no record of $TB_CTR2 in 20 s: $(tail -2 "$W/only.err" | tr '\n' ' ')"
		kill "$pid" 2>/dev/null
	else
		kill_ns "$TB_CTR2"
		until_true 100 sh -c "! kill -0 $pid 2>/dev/null"
		kill "$pid" 2>/dev/null
	fi
	wait "$pid"
	rc=$?
	if [ "$rc" -eq 1 ] && gone "${TB_P}h1" &&
		said "$W/only.err" "container netns $TB_CTR2 \\(inode $CTR2_INO\\) is gone; nothing left" &&
		said "$W/only.err" "counters: events" && ! said "$W/only.err" Sanitizer; then
		pass "$name"
	else
		fail "$name" "exit $rc: $(grep -v '^ *#' "$W/only.err" | tail -3 | tr '\n' ' ')"
	fi
	after "netns_only_$b"
	ip netns list | grep -q "^$TB_CTR2\b" && kill_ns "$TB_CTR2"
	recreate_ctr2 || fail "$name" "cannot recreate $TB_CTR2"

	# The container device renamed while tracing: eBPF matches by ifindex;
	# ftrace filters by name and rewrites its filters for the new name.
	name=reliability_dev_renamed_$b
	rm -f "$W/ren.csv"
	"$ASAN_MACE" record -b "$b" --netns "$TB_CTR" -o "$W/ren.csv" 2>"$W/ren.err" &
	pid=$!
	REL_PIDS="$REL_PIDS $pid"
	if ! tracing "$TB_CTR" "$W/ren.csv" "$CTR_INO"; then
		fail "$name" "no record of $TB_CTR in 20 s: $(tail -2 "$W/ren.err" | tr '\n' ' ')"
	else
		ip -n "$TB_CTR" link set "$TB_CTR_DEV" down &&
			ip -n "$TB_CTR" link set "$TB_CTR_DEV" name "${TB_P}cR" &&
			ip -n "$TB_CTR" link set "${TB_P}cR" up &&
			ip -n "$TB_CTR" route replace default via "10.$TB_X.1.1" dev "${TB_P}cR"
		until_true 50 said "$W/ren.err" "$TB_CTR_DEV .* renamed ${TB_P}cR"
		judged_pings "$TB_CTR" "$W/ren.csv" "$CTR_INO"
		kill -INT "$pid"
		wait "$pid"
		rc=$?
		if ! said "$W/ren.err" "$TB_CTR_DEV .* renamed ${TB_P}cR"; then
			fail "$name" "the rename was not reported: $(tail -2 "$W/ren.err" | tr '\n' ' ')"
		elif [ "$got" -eq 0 ]; then
			fail "$name" "$TB_CTR's pings got no reply after the rename (testbed)"
		elif [ "$rc" -eq 0 ] && [ "$n" -ge $((2 * got * 9 / 10)) ] &&
			! said "$W/ren.err" Sanitizer; then
			pass "$name ($n records for $got pings after the rename)"
		else
			fail "$name" "exit $rc, $n records for $got pings after: \
$(tail -2 "$W/ren.err" | tr '\n' ' ')"
		fi
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	after "dev_renamed_$b"
	if ip -n "$TB_CTR" link show "${TB_P}cR" >/dev/null 2>&1; then
		ip -n "$TB_CTR" link set "${TB_P}cR" down &&
			ip -n "$TB_CTR" link set "${TB_P}cR" name "$TB_CTR_DEV" &&
			ip -n "$TB_CTR" link set "$TB_CTR_DEV" up &&
			ip -n "$TB_CTR" route replace default via "10.$TB_X.1.1" dev "$TB_CTR_DEV" ||
			fail "$name" "cannot rename $TB_CTR_DEV back"
	fi
done

tb_down
assert_clean reliability_clean
lib_status
