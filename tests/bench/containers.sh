#!/bin/sh
# Naming containers: start-up of `mace record` to its tracepoints attached,
# with 1, 10 and 50 running containers of a private dockerd (tests/ctrbed.sh),
# with the Docker API and, interleaved in the same run, without
# (the baseline: names from /proc only); and the cost of naming per new
# container (tests/bench/ctr_lookup.c).  Figures, not pass/fail.
B=${B:-build}
MACE=${MACE:-$B/mace}
. tests/ctrbed.sh
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }
trap ctrbed_down EXIT
trap 'exit 1' INT TERM HUP
ctrbed_up && ctrbed_docker_up || { echo "containers bench: dockerd did not come up" >&2; exit 1; }
API="env DOCKER_HOST=unix://$CB_DOCKER_SOCK CONTAINER_HOST=unix:///nonexistent"
NOAPI="env DOCKER_HOST=unix:///nonexistent CONTAINER_HOST=unix:///nonexistent"

# The child of `mace record -- CMD` starts once every program is attached.
startup() {	# startup ENV...: ms from exec to attached
	t0=$(date +%s%N)
	t1=$($CB_NSENTER "$@" "$MACE" record -p inner-dev -o /dev/null -- date +%s%N 2>/dev/null)
	echo $(((t1 - t0) / 1000000))
}

printf '%-11s %12s %14s %11s %12s %12s %10s\n' containers startup_ms startup_noapi_ms \
	ratio first_ms refresh_ms per_ctr_ms
have=0
for n in 1 10 50; do
	while [ $have -lt $n ]; do
		have=$((have + 1))
		$CB_DOCKER run -d --name "b$have" mace-busybox:1 sleep 3600 >/dev/null || exit 1
	done
	: >"$CB_DIR/api"; : >"$CB_DIR/noapi"
	for _ in 1 2 3 4 5; do
		startup $API >>"$CB_DIR/api"
		startup $NOAPI >>"$CB_DIR/noapi"
	done
	a=$(median <"$CB_DIR/api") b=$(median <"$CB_DIR/noapi")
	f=$($CB_NSENTER $API "$B/bench/ctr_lookup" 5) || exit 1
	first=$(echo "$f" | sed 's/.*first_ms=\([0-9.]*\).*/\1/')
	again=$(echo "$f" | sed 's/.*refresh_ms=\([0-9.]*\).*/\1/')
	printf '%-11s %12s %14s %11s %12s %12s %10s\n' "$n" "$a" "$b" \
		"$(echo "scale=2; $a / $b" | bc)" "$first" "$again" \
		"$(echo "scale=2; ($first - $again) / $n" | bc)"
	echo "$f" | sed 's/^/  ctr_lookup: /'
done
echo "(first_ms: a resolver's first look, listing and inspecting every container;"
echo " refresh_ms: a later look, listing only; per_ctr_ms: their difference per"
echo " container, the cost of naming a new one)"
