#!/bin/sh
# Where a program's kernel time goes, by source line: a 64-byte UDP flood
# through the bridge+NAT testbed with `mace record` (inner-dev, eBPF), perf
# cpu-clock samples of every CPU, and each sample in PROG's JIT image put on
# the source line jitlines(.c) says it belongs to.  Prints the share of the
# program's samples per line, then the kernel symbols the programs call.
# The per-line share includes sampling skid: a slow load is often charged
# to the instruction after it.  Not part of `make bench`.
#   PROG (default tp_net_dev_xmit), SECONDS_FLOOD (default 5), TOP (default 30),
#   CMD (default record; stat: the aggregating programs)
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/testbed.sh
B=${B:-build}
MACE=${MACE:-$B/mace}
PROG=${PROG:-tp_net_dev_xmit}
work=$(mktemp -d /tmp/mace-profile.XXXXXX)

cleanup() {
	[ -n "${mpid:-}" ] && kill -INT "$mpid" 2>/dev/null && wait "$mpid"
	tb_down
	rm -rf "$work"
}
trap cleanup EXIT
tb_signals

[ "$(id -u)" = 0 ] || { echo "profile: needs root"; exit 1; }
command -v perf >/dev/null || { echo "profile: needs perf"; exit 1; }
tb_up bridge-nat >/dev/null || { echo "profile: testbed failed"; exit 1; }
"$MACE" "${CMD:-record}" --netns "$TB_CTR" -p inner-dev >/dev/null 2>"$work/err" &
mpid=$!
# PROG of this mace (its fds name its programs): other sessions on this
# machine may load programs of the same name.
id=
for _ in $(seq 50); do
	ids=$(awk '/^prog_id:/ { print $2 }' /proc/$mpid/fdinfo/* 2>/dev/null | sort -u | paste -sd,)
	[ -n "$ids" ] && id=$(bpftool prog show -j 2>/dev/null | jq -r --arg n "$PROG" \
		--argjson ids "[$ids]" '[.[]? | objects | select(.name == $n) |
		select(.id as $i | $ids | index($i)) | .id] | max // empty')
	[ -n "$id" ] && break
	sleep 0.1
done
[ -n "$id" ] || { echo "profile: $PROG not loaded: $(tail -2 "$work/err")"; exit 1; }
tag=$(bpftool prog show id "$id" -j | jq -r .tag)
"$B/bench/jitlines" "$id" >"$work/lines" || exit 1
perf record -q -F 20000 -a -o "$work/perf.data" -- ip netns exec "$TB_CTR" \
	"$B/bench/pingpong" flood "$TB_REMOTE_IP" 9 "${SECONDS_FLOOD:-5}" 64 >/dev/null 2>&1 ||
	{ echo "profile: perf record failed"; exit 1; }
# Offsets of the samples in PROG's symbol (bpf_prog_<tag>_<name>+0xOFF).
perf script -i "$work/perf.data" -F ip,sym,symoff 2>/dev/null |
	sed -n "s/.*bpf_prog_${tag}_$PROG+0x\([0-9a-f]*\).*/\1/p" >"$work/offs"
echo "== $PROG: share of its $(wc -l <"$work/offs") samples by source line"
# Line records are sorted by offset; a sample belongs to the last one at or
# before it.  Hex is converted by hand: mawk has no strtonum.
awk 'function hex(s,  i, v) { v = 0; s = tolower(s)
		for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v }
	NR == FNR { off[NR] = hex($1); ln[NR] = $2; $1 = $2 = ""; txt[NR] = substr($0, 3); n = NR; next }
	{ o = hex($1); lo = 1; hi = n
		while (lo < hi) { m = int((lo + hi + 1) / 2); if (off[m] <= o) lo = m; else hi = m - 1 }
		c[ln[lo] " " txt[lo]]++; tot++ }
	END { for (k in c) printf "%5.1f%%  %s\n", 100 * c[k] / tot, k }' \
	"$work/lines" "$work/offs" | sort -rn | head -"${TOP:-30}"
echo "== kernel symbols around the programs (share of all samples)"
perf report -i "$work/perf.data" --no-children --sort sym -q -g none 2>/dev/null |
	grep -E 'bpf|htab|lookup_nulls|ringbuf|copy_from_kernel|read_tsc|ktime|trace_run' | head -20
