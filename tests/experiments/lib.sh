# Helpers of the experiments (POSIX sh; sourced after tests/testbed.sh).
#
# remote_cpu CPU: the remote's receive work (and, through $RSV, its server)
# runs on CPU and the host's on CPU 1, through RPS, as if the remote were a
# host of its own: on one CPU the remote's stack runs right after the host's
# forwarding, in caches that forwarding warmed.  Sets RSV (a taskset prefix).
remote_cpu() {
	RSV="taskset -c $1"
	ip netns exec "$TB_REMOTE" sh -c \
		"echo $(printf %x $((1 << $1))) >/sys/class/net/${TB_P}r0/queues/rx-0/rps_cpus" &&
	ip netns exec "$TB_HOST" sh -c "echo 2 >/sys/class/net/$TB_OUTER_DEV/queues/rx-0/rps_cpus"
}

# rotate N WORDS...: the words shifted left by N, so the arms' order changes
# every round and drift hits them alike.
rotate() {
	_n=$(($1 % ($# - 1))); shift
	while [ "$_n" -gt 0 ]; do _x=$1; shift; set -- "$@" "$_x"; _n=$((_n - 1)); done
	echo "$@"
}
