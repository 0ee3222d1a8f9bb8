#!/bin/sh
# Runs a command with CPU 1 kept idle for it: every other task of the machine
# is confined to CPU 0 meanwhile (cgroup v1 cpuset), and put back after, so
# an experiment sees a CPU that sleeps between probes, as on a quiet host.
#
#	sh tests/experiments/isolate.sh CMD ...
C=${CPUSET:-/sys/fs/cgroup/cpuset}
[ -w "$C/tasks" ] || { echo "isolate: no cgroup v1 cpuset at $C" >&2; exit 1; }
BG=$C/others-$$ FG=$C/experiment-$$
restore() {
	for _ in 1 2 3 4 5; do
		for t in $(cat "$BG/tasks" "$FG/tasks" 2>/dev/null); do echo "$t" >"$C/tasks" 2>/dev/null; done
		rmdir "$BG" "$FG" 2>/dev/null && return
		sleep 0.2
	done
	echo "isolate: could not remove $BG or $FG" >&2
}
mkdir "$BG" "$FG" || exit 1
trap restore EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
echo 0 >"$BG/cpuset.cpus" && echo 0 >"$BG/cpuset.mems" &&
echo 0-1 >"$FG/cpuset.cpus" && echo 0 >"$FG/cpuset.mems" && echo $$ >"$FG/tasks" || exit 1
# twice: tasks forked while the first pass ran
for pass in 1 2; do
	for t in $(cat "$C/tasks"); do echo "$t" >"$BG/tasks" 2>/dev/null; done
done
"$@"
