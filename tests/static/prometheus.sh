#!/bin/sh
# The Prometheus files in contrib/: the scrape config and the rules are
# valid (promtool check config / check rules), and the recording rules and
# alerts compute what their unit tests say (promtool test rules).
. tests/lib.sh

if ! command -v promtool >/dev/null; then
	fail contrib_promtool "promtool not installed (tools/install-deps.sh installs prometheus)"
	exit 1
fi
D=contrib/prometheus
check() {	# check NAME promtool ARGS...
	name=$1
	shift
	if out=$("$@" 2>&1) && ! printf '%s\n' "$out" | grep -q WARNING; then
		pass "$name"
	else
		fail "$name" "$(printf '%s\n' "$out" | grep -E 'FAILED|WARNING|error' | head -3 | tr '\n' ' ')"
	fi
}
check contrib_prometheus_config promtool check config "$D/prometheus.yml"
check contrib_prometheus_rules promtool check rules "$D/mace-rules.yml"
check contrib_prometheus_rules_test promtool test rules "$D/mace-rules.test.yml"
lib_status
