#!/bin/sh
# Reliability, fast cases (issue 8): bad command lines, bad path and replay
# files under the ASan+UBSan mace; then on the testbed, with both backends:
# a short flood whose packets are all accounted for, the container netns
# deleted and a device removed while tracing, a closed output pipe, a full
# disk, and signals at random moments.  After every case nothing is left
# behind.  The long versions are in tests/stress/run.sh (make stress).
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
