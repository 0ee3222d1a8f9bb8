#!/bin/sh
# Privileges and output files: without capabilities mace says which
# one is missing, once, and exits 1 leaving nothing behind; -o and -w never
# follow a symlink planted at the target and never leave a world-writable file.
. tests/lib.sh
. tests/testbed.sh

need_root privileges || exit 0
need_mace privileges || exit 0
need_tracefs || { fail privileges "no tracefs"; exit 1; }
command -v setpriv >/dev/null || { skip privileges "no setpriv (util-linux)"; exit 0; }
W=$(mktemp -d /tmp/mace-priv.XXXXXX)
chmod 755 "$W"
TB_TRAP_EXTRA="rm -rf '$W'"
clean_snapshot
tb_trap
tb_up bridge-nat || { fail privileges "testbed did not come up"; exit 1; }
# nobody must be able to run the binary wherever the tree is.
cp "$MACE" "$W/mace"
chmod 755 "$W/mace"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all"

# unpriv NAME WANT [ip netns exec NS] -- ARGS...: exit 1 with one error line
# (besides the final "cannot ..." line) that names every capability in WANT
# (space-separated), each with what needs it; asked before the first step.
# RUNAS: how to drop privileges (default: nobody, no capabilities).
unpriv() {
	name=$1 want=$2
	shift 2
	pre=
	while [ "$1" != -- ]; do pre="$pre $1"; shift; done
	shift
	$pre ${RUNAS:-$NOBODY} "$W/mace" "$@" >"$W/out" 2>"$W/err" </dev/null
	rc=$?
	nerr=$(grep -c 'error' "$W/err")
	line=$(grep -m1 'missing privileges' "$W/err")
	why=
	for cap in $want; do
		case "$line" in *"$cap ("* | *"$cap and "* | *"$cap, "*) ;; *) why="$why $cap" ;; esac
	done
	if [ "$rc" -ne 1 ]; then
		fail "$name" "exit $rc: $(head -3 "$W/err" | tr '\n' ' ')"
	elif [ -z "$line" ]; then
		fail "$name" "no 'missing privileges' message: $(head -3 "$W/err" | tr '\n' ' ')"
	elif [ -n "$why" ]; then
		fail "$name" "not named:$why: $line"
	elif [ "$nerr" -gt 1 ]; then
		fail "$name" "$nerr error lines: $(head -4 "$W/err" | tr '\n' ' ')"
	elif grep -q 'netns .*needs CAP_SYS_ADMIN\|^path ' "$W/err"; then
		fail "$name" "went past the check: $(head -3 "$W/err" | tr '\n' ' ')"
	else
		pass "$name ($want)"
	fi
}
for b in bpf ftrace auto; do
	case $b in
	bpf) want="CAP_SYS_ADMIN CAP_BPF CAP_PERFMON" ;;
	ftrace) want="CAP_SYS_ADMIN root" ;;
	auto) want="CAP_SYS_ADMIN CAP_BPF CAP_PERFMON root" ;;
	esac
	unpriv "privileges_netns_$b" "$want" -- record -b "$b" --netns "$TB_CTR" -d 1 -o /dev/null
	unpriv "privileges_discovery_$b" "$want" ip netns exec "$TB_HOST" -- stat -b "$b" -d 1
	unpriv "privileges_own_netns_$b" "$want" ip netns exec "$TB_CTR" -- record -b "$b" \
		--netns /proc/self/ns/net -d 1 -o /dev/null
done
# Root without CAP_SYS_ADMIN: eBPF could load (CAP_BPF, CAP_PERFMON), but
# binding cannot enter the netns; only that is named.
RUNAS="setpriv --inh-caps=-all --bounding-set=-sys_admin" \
	unpriv privileges_no_sys_admin_bpf CAP_SYS_ADMIN -- record -b bpf --netns "$TB_CTR" \
	-d 1 -o /dev/null
case $(grep -m1 'missing privileges' "$W/err") in
*CAP_BPF* | *CAP_PERFMON*) fail privileges_no_sys_admin_bpf_only "names caps it has: \
$(grep -m1 'missing privileges' "$W/err")" ;;
esac
TB_PREFIXES=-none- assert_clean privileges_unpriv_clean

# Output files: a planted symlink is refused for -o and -w.
for opt in o w; do
	ln -s "$W/victim" "$W/link-$opt"
	"$MACE" record --netns "$TB_CTR" -d 0.5 "-$opt" "$W/link-$opt" >/dev/null 2>"$W/err"
	rc=$?
	if [ "$rc" -eq 1 ] && [ ! -e "$W/victim" ] && grep -q "link-$opt" "$W/err"; then
		pass "privileges_symlink_$opt"
	else
		fail "privileges_symlink_$opt" "exit $rc, victim $( [ -e "$W/victim" ] && echo written \
|| echo untouched): $(head -2 "$W/err" | tr '\n' ' ')"
	fi
done

# Under umask 000 the files are still not world-writable; nor is a file
# that was world-writable before.
touch "$W/pre.csv" "$W/pre.raw"
chmod 666 "$W/pre.csv" "$W/pre.raw"
for f in new.csv new.raw pre.csv pre.raw; do
	case "$f" in *.raw) opt=-w ;; *) opt=-o ;; esac
	(umask 000; "$MACE" record --netns "$TB_CTR" -d 0.5 "$opt" "$W/$f" >/dev/null 2>"$W/err")
	rc=$?
	mode=$(stat -c %a "$W/$f" 2>/dev/null)
	case "$mode" in
	*[2367]) fail "privileges_mode_$f" "mode $mode after mace record $opt (exit $rc)" ;;
	'') fail "privileges_mode_$f" "not written (exit $rc): $(head -2 "$W/err" | tr '\n' ' ')" ;;
	*) pass "privileges_mode_$f ($mode)" ;;
	esac
done
tb_down
assert_clean privileges_clean
lib_status
