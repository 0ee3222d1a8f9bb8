# Sourced by the benchmarks: the floor, no-op programs (noop.c) on the
# tracepoints mace attaches, i.e. what calling any program there costs.
# Needs B (build dir).

# The tracepoints mace attaches for inner-dev, correlating in the kernel
# (tests/integration/bpf.sh checks that list).
FLOOR_TPS="net_dev_xmit netif_receive_skb kfree_skb consume_skb"

# floor_start OUT [TP...]: attach no-op programs (default FLOOR_TPS), their
# output in OUT; sets floor_pid.  Returns once attached (1 if not in 10 s).
floor_start() {
	out=$1
	shift
	[ $# -gt 0 ] || set -- $FLOOR_TPS
	"$B/bench/noop" "$B/bench/noop.bpf.o" "$@" >"$out" 2>&1 &
	floor_pid=$!
	for _ in $(seq 100); do
		grep -q attached "$out" 2>/dev/null && return 0
		kill -0 "$floor_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "floor: no-op programs not attached: $(cat "$out")" >&2
	floor_stop
	return 1
}

floor_stop() {
	[ -n "${floor_pid:-}" ] || return 0
	kill "$floor_pid" 2>/dev/null
	wait "$floor_pid" 2>/dev/null
	floor_pid=
}
