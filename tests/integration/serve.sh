#!/bin/sh
# mace serve scraped by a real Prometheus server, both on loopback inside the
# testbed's host netns: per-container counts equal the pings each container
# sent and got back, the median matches mace stat's for the same traffic
# within one bucket, promtool accepts the exposition, 404/405 are answered,
# 20 scrapes during a flood all succeed with the flood's accounting intact,
# a removed container's series go after the grace period, and SIGTERM
# leaves nothing behind.
. tests/lib.sh
. tests/testbed.sh

need_mace serve || exit 0
need_root serve || exit 0
for tool in prometheus promtool curl jq; do
	if ! command -v $tool >/dev/null; then
		fail serve "$tool not installed (tools/install-deps.sh installs it)"
		exit 1
	fi
done
need_tracefs || { fail serve "no tracefs"; exit 1; }
clean_snapshot
W=$(mktemp -d /tmp/mace-serve.XXXXXX)
SERVE= SERVE2= SERVE3= PROM=
TB_TRAP_EXTRA='for p in $SERVE $SERVE2 $SERVE3 $PROM $STALLED; do kill $p 2>/dev/null; wait $p 2>/dev/null; done; rm -rf "$W"'
tb_trap
tb_up bridge-nat || { fail serve "testbed did not come up"; exit 1; }
BACKEND=${MACE_SERVE_BACKEND:-bpf}
PORT=$(( $(tb_rand) % 20000 + 30000 ))
PPORT=$((PORT + 1))
URL=http://127.0.0.1:$PORT
PURL=http://127.0.0.1:$PPORT

in_host() { ip netns exec "$TB_HOST" "$@"; }
# wait_until SECONDS CMD...: retries CMD every 0.2 s until it succeeds.
wait_until() {
	n=$(($1 * 5))
	shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}
# query EXPR: the instant query's result as "container value" lines.
query() {
	in_host curl -sf -G --data-urlencode "query=$1" "$PURL/api/v1/query" |
		jq -r '.data.result[] | "\(.metric.container // "-") \(.value[1])"' | sort
}
# query_is EXPR WANT: the result equals WANT ("container value" lines, sorted).
query_is() { [ "$(query "$1")" = "$2" ]; }

# Started directly (not through a function), so $! is mace itself.
ip netns exec "$TB_HOST" "$MACE" serve -b "$BACKEND" --listen "127.0.0.1:$PORT" --grace 3 \
	2>"$W/serve.err" &
SERVE=$!
if ! wait_until 20 in_host curl -sf -o /dev/null "$URL/metrics"; then
	fail serve_up "no answer on $URL: $(tail -3 "$W/serve.err" | tr '\n' ' ')"
	exit 1
fi
pass serve_up

cat >"$W/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: mace
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
ip netns exec "$TB_HOST" prometheus --config.file="$W/prometheus.yml" --storage.tsdb.path="$W/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn 2>"$W/prom.err" &
PROM=$!
if ! wait_until 30 in_host curl -sf -o /dev/null "$PURL/-/ready"; then
	fail serve_prometheus "Prometheus not ready: $(tail -3 "$W/prom.err" | tr '\n' ' ')"
	exit 1
fi

# The same pings under mace stat, for its medians; two containers, counts
# that differ so a swap of rows would show.
N1=40 N2=25
in_host "$MACE" stat -b "$BACKEND" -j -- sh -c "
	ip netns exec $TB_CTR ping -q -i 0.02 -c $N1 $TB_REMOTE_IP >$W/ping1 &
	ip netns exec $TB_CTR2 ping -q -i 0.02 -c $N2 $TB_REMOTE_IP >$W/ping2
	wait" >"$W/stat.json" 2>"$W/stat.err" || fail serve_stat "$(tail -2 "$W/stat.err")"
grep -q " $N1 received" "$W/ping1" && grep -q " $N2 received" "$W/ping2" ||
	fail serve_pings "lost pings: $(cat "$W/ping1" "$W/ping2" | grep received)"

# The scrapes after the traffic: counts per container equal the pings.
for dir in egress ingress; do
	want=$(printf '%s %s\n%s %s\n' "$TB_CTR" $N1 "$TB_CTR2" $N2 | sort)
	expr="sum by (container) (mace_overhead_seconds_count{direction=\"$dir\"})"
	if wait_until 15 query_is "$expr" "$want"; then
		pass "serve_count_$dir"
	else
		fail "serve_count_$dir" "got '$(query "$expr" | tr '\n' ' ')', want '$(echo $want)'"
	fi
done

# Bucket index of a latency in seconds: le = 2^k ns holds it.
bucket() { awk -v s="$1" 'BEGIN { ns = s * 1e9; k = 0; while (2 ^ k < ns) k++; print k }'; }
for dir in egress ingress; do
	expr="histogram_quantile(0.5, sum by (container, le) (mace_overhead_seconds_bucket{direction=\"$dir\"}))"
	query "$expr" >"$W/q50"
	for c in "$TB_CTR" "$TB_CTR2"; do
		prom=$(awk -v c="$c" '$1 == c { print $2 }' "$W/q50")
		stat=$(jq -r --arg c "$c" --arg d "$dir" \
			'.netns[] | select(.name == $c and .dir == $d) | .p50_ns' "$W/stat.json")
		if [ -z "$prom" ] || [ -z "$stat" ]; then
			fail "serve_p50_$dir" "$c: prometheus '$prom', stat '$stat'"
			continue
		fi
		kp=$(bucket "$prom")
		ks=$(bucket "$(awk -v n="$stat" 'BEGIN { print n / 1e9 }')")
		d=$((kp - ks))
		if [ ${d#-} -le 1 ]; then
			pass "serve_p50_${dir}_$c"
		else
			fail "serve_p50_${dir}_$c" "prometheus $prom s (bucket 2^$kp ns), stat $stat ns (2^$ks)"
		fi
	done
done

in_host curl -sf "$URL/metrics" >"$W/metrics"
if promtool check metrics <"$W/metrics" >"$W/promtool" 2>&1; then
	pass serve_promtool
else
	fail serve_promtool "$(head -3 "$W/promtool" | tr '\n' ' ')"
fi
# +Inf is _count in every series.
inf=$(grep -c 'le="+Inf"' "$W/metrics")
bad=$(awk '/^mace_overhead_seconds_bucket.*le="\+Inf"/ { s = $1; sub(/_bucket/, "_count", s);
	sub(/,le="\+Inf"/, "", s); inf[s] = $2 } /^mace_overhead_seconds_count/ { cnt[$1] = $2 }
	END { for (s in inf) if (inf[s] != cnt[s]) print s }' "$W/metrics")
if [ "$inf" -ge 4 ] && [ -z "$bad" ]; then pass serve_inf_is_count; else fail serve_inf_is_count "$inf series; $bad"; fi

# gzip for clients that ask (Prometheus does): the same exposition.
in_host curl -s --compressed -D "$W/gzhdr" "$URL/metrics" | grep -v '^process_' >"$W/gz"
grep -v '^process_' "$W/metrics" >"$W/plain"
if grep -qi '^content-encoding: gzip' "$W/gzhdr" && cmp -s "$W/gz" "$W/plain"; then
	pass serve_gzip
else
	fail serve_gzip "$(grep -i encoding "$W/gzhdr") $(diff "$W/gz" "$W/plain" | head -3 | tr '\n' ' ')"
fi
in_host curl -s -D "$W/hdr" -o /dev/null -H 'Accept-Encoding: gzip;q=0' "$URL/metrics"
grep -qi '^content-encoding' "$W/hdr" && fail serve_gzip_q0 "gzip;q=0 got $(grep -i encoding "$W/hdr")"

code() { in_host curl -s -o /dev/null -w '%{http_code}' "$@"; }
c404=$(code "$URL/nope") c405=$(code -X POST "$URL/metrics") c405d=$(code -X DELETE "$URL/")
chead=$(code -I "$URL/metrics") cidx=$(code "$URL/")
if [ "$c404 $c405 $c405d $chead $cidx" = "404 405 405 200 200" ]; then
	pass serve_http_codes
else
	fail serve_http_codes "/nope $c404, POST $c405, DELETE $c405d, HEAD $chead, / $cidx"
fi
in_host curl -s "$URL/" | grep -q "href=\"/metrics\".*" && in_host curl -s "$URL/" | grep -q "$TB_CTR2" ||
	fail serve_index "landing page: $(in_host curl -s "$URL/" | head -c 300)"

# Ten clients that send half a request and stall, and one that vanishes:
# scrapes meanwhile are answered at once.
STALLED=
i=0
while [ $i -lt 10 ]; do
	(printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n'; sleep 6) |
		in_host curl -s --max-time 8 "telnet://127.0.0.1:$PORT" >/dev/null 2>&1 &
	STALLED="$STALLED $!"
	i=$((i + 1))
done
(printf 'GET /metrics HTTP/1.1\r\n'; sleep 6) | in_host curl -s "telnet://127.0.0.1:$PORT" >/dev/null 2>&1 &
VANISH=$!
sleep 0.5
kill $VANISH 2>/dev/null
if in_host curl -sf --max-time 2 "$URL/metrics" | grep -q '^mace_containers 2$'; then
	pass serve_slow_clients
else
	fail serve_slow_clients "a scrape did not complete in 2 s with 10 stalled clients"
fi

# 20 concurrent scrapes during a flood: all complete, and the flood adds up.
before=$(query 'sum(mace_overhead_seconds_count{direction="egress",container="'"$TB_CTR"'"})' | awk '{ print $2 }')
ip netns exec "$TB_CTR" ping -f -q -c 3000 "$TB_REMOTE_IP" >"$W/flood" 2>&1 &
FLOOD=$!
sleep 0.2
i=0
SCRAPERS=
while [ $i -lt 20 ]; do
	in_host curl -s -o "$W/scrape$i" -w '%{http_code}\n' --max-time 10 "$URL/metrics" >"$W/code$i" &
	SCRAPERS="$SCRAPERS $!"
	i=$((i + 1))
done
wait $FLOOD
wait $SCRAPERS
ok=0
i=0
why=
while [ $i -lt 20 ]; do
	if [ "$(cat "$W/code$i")" = 200 ] && grep -q '^process_start_time_seconds ' "$W/scrape$i"; then
		ok=$((ok + 1))
	else
		why="$why #$i: code $(cat "$W/code$i"), $(wc -c <"$W/scrape$i") bytes;"
	fi
	i=$((i + 1))
done
[ $ok = 20 ] && pass serve_concurrent_scrapes || fail serve_concurrent_scrapes "$ok of 20 complete:$why"
sent=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1/p' "$W/flood")
got=$(sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\2/p' "$W/flood")
lost_events() { query 'sum(mace_lost_events_total)' | awk '{ print $2 }'; }
want=$(printf '%s %s\n' "$TB_CTR" $((before + sent)))
expr='sum by (container) (mace_overhead_seconds_count{direction="egress",container="'"$TB_CTR"'"})'
if wait_until 15 query_is "$expr" "$want"; then
	pass serve_flood_egress
elif [ "$(lost_events)" != 0 ]; then
	fail serve_flood_egress "kernel lost $(lost_events) events (try a larger buffer)"
else
	fail serve_flood_egress "got '$(query "$expr")', want '$want' ($sent sent)"
fi
want=$(printf '%s %s\n' "$TB_CTR" $((N1 + got)))
expr='sum by (container) (mace_overhead_seconds_count{direction="ingress",container="'"$TB_CTR"'"})'
wait_until 5 query_is "$expr" "$want" && pass serve_flood_ingress ||
	fail serve_flood_ingress "got '$(query "$expr")', want '$want' ($got received)"
# Every record is in a histogram or left to the next session at a handover.
records=$(query 'sum(mace_records_total) - sum(mace_handover_skipped_records_total)' | awk '{ print $2 }')
counted=$(query 'sum(mace_overhead_seconds_count)' | awk '{ print $2 }')
[ -n "$records" ] && [ "$records" = "$counted" ] && pass serve_records_add_up ||
	fail serve_records_add_up "records $records, in histograms $counted"

# A removed container: its series stay for the grace period (3 s), then go.
for p in $(ip netns pids "$TB_CTR2"); do kill "$p" 2>/dev/null; done
ip netns del "$TB_CTR2"
has_ctr2() { in_host curl -sf "$URL/metrics" | grep -q "container=\"$TB_CTR2\""; }
no_ctr2() { ! has_ctr2; }
t0=$(date +%s)
if wait_until 20 no_ctr2; then
	dt=$(($(date +%s) - t0))
	# the rebind takes ~2 s, then the grace period
	if [ $dt -ge 3 ]; then pass serve_grace; else fail serve_grace "gone after ${dt} s (grace 3 s)"; fi
else
	fail serve_grace "series of $TB_CTR2 still there after 20 s"
fi
in_host curl -sf "$URL/metrics" | grep -q "^mace_containers 1$" &&
	in_host curl -sf "$URL/metrics" | grep -q "container=\"$TB_CTR\"" &&
	pass serve_others_stay || fail serve_others_stay "$(in_host curl -sf "$URL/metrics" | grep mace_containers)"

# After the rebind too, every record is in a histogram, was left to the
# other session at the handover, or was in a removed container's series.
sleep 1.2
in_host curl -sf "$URL/metrics" >"$W/metrics2"
records=$(awk '$1 == "mace_records_total" { r = $2 } $1 == "mace_handover_skipped_records_total" { s = $2 }
	$1 == "mace_removed_records_total" { d = $2 } END { print r - s - d }' "$W/metrics2")
counted=$(awk '/^mace_overhead_seconds_count/ { n += $2 } END { print n + 0 }' "$W/metrics2")
rebinds=$(awk '$1 == "mace_rebinds_total" { print $2 }' "$W/metrics2")
if [ "${rebinds:-0}" -ge 1 ] && [ "$records" = "$counted" ]; then
	pass serve_records_add_up_rebind
else
	fail serve_records_add_up_rebind "rebinds $rebinds, records $records, in histograms $counted"
fi

# Bad addresses are usage errors; a port in use is a runtime error that
# says so.  Neither leaves anything behind (checked at the end).
in_host "$MACE" serve --listen 127.0.0.1:99999 >/dev/null 2>"$W/bad.err"
rc=$?
if [ $rc = 2 ] && grep -q "bad listen address '127.0.0.1:99999'" "$W/bad.err"; then
	pass serve_bad_listen
else
	fail serve_bad_listen "exit $rc: $(cat "$W/bad.err")"
fi
in_host "$MACE" serve --grace x >/dev/null 2>"$W/bad.err"
rc=$?
[ $rc = 2 ] && grep -q "bad grace period 'x'" "$W/bad.err" && pass serve_bad_grace ||
	fail serve_bad_grace "exit $rc: $(cat "$W/bad.err")"
in_host "$MACE" serve --listen "127.0.0.1:$PORT" >/dev/null 2>"$W/busy.err"
rc=$?
if [ $rc = 1 ] && grep -q -- "--listen 127.0.0.1:$PORT: .*[Aa]ddress already in use" "$W/busy.err"; then
	pass serve_port_in_use
else
	fail serve_port_in_use "exit $rc: $(cat "$W/busy.err")"
fi

# A host with no container yet: serve answers and waits; a container that
# comes is bound.  A second host netns with its own outer link.
H2=${TB_P}h2 R2=${TB_P}r2 L=${TB_P}late
URL2=http://127.0.0.1:$((PORT + 2))
if tb_ns "$H2" && tb_ns "$R2" && tb_veth "$H2" "${TB_P}o2" "$R2" "${TB_P}q2" &&
	tb_addr "$H2" "${TB_P}o2" "10.$TB_X.9.1/24" && tb_addr "$R2" "${TB_P}q2" "10.$TB_X.9.2/24" &&
	tb_run ip -n "$H2" route add default via "10.$TB_X.9.2"; then
	ip netns exec "$H2" "$MACE" serve -b "$BACKEND" --listen "127.0.0.1:$((PORT + 2))" \
		2>"$W/serve2.err" &
	SERVE2=$!
	# the same with --socket: records, cut by a window at each handover
	ip netns exec "$H2" "$MACE" serve -b "$BACKEND" --listen "127.0.0.1:$((PORT + 3))" \
		--socket "$W/late.sock" 2>"$W/serve3.err" &
	SERVE3=$!
	page() { ip netns exec "$H2" curl -sf "$URL2/"; }
	page3() { ip netns exec "$H2" curl -sf "http://127.0.0.1:$((PORT + 3))/"; }
	if wait_until 20 eval 'page | grep -q "waiting for one"' &&
		grep -q 'no containers yet; waiting for one' "$W/serve2.err"; then
		pass serve_waits_for_containers
	else
		fail serve_waits_for_containers "$(tail -2 "$W/serve2.err" | tr '\n' ' ')"
	fi
	tb_ns "$L" && tb_veth "$L" "${TB_P}l0" "$H2" "${TB_P}l1"
	if wait_until 15 eval 'page | grep -q "netns $L "'; then
		pass serve_binds_late_container
	else
		fail serve_binds_late_container "$(page | tail -5 | tr '\n' ' ')"
	fi
	if wait_until 15 eval 'page3 | grep -q "netns $L "'; then
		pass serve_socket_binds_late_container
	else
		fail serve_socket_binds_late_container "$(page3 | tail -5 | tr '\n' ' ')"
	fi
	kill $SERVE2 $SERVE3
	wait $SERVE2 || fail serve_waiting_exit "exit $?"
	wait $SERVE3 || fail serve_socket_waiting_exit "exit $?"
else
	fail serve_waits_for_containers "second host did not come up"
fi

# SIGTERM: clean exit with the counters, nothing left attached.
kill -TERM $PROM 2>/dev/null
wait $PROM 2>/dev/null
PROM=
kill -TERM $SERVE
wait $SERVE
rc=$?
SERVE=
if [ $rc = 0 ] && grep -q '^mace: counters: events [1-9]' "$W/serve.err"; then
	pass serve_sigterm
else
	fail serve_sigterm "exit $rc: $(tail -2 "$W/serve.err" | tr '\n' ' ')"
fi
tb_down
assert_clean serve_clean
lib_status
