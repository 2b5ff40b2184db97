#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 5 in the lab: the port ledger with known numbers, every socket to the
# web server (203.0.113.10:80):
#   shop/app-0   40 TIME_WAIT (40 requests, client closes first) + 5 open;
#                range narrowed to 35000-35999             -> capacity 1000
#   shop/app-1   10 open; ports reserved (1000 of them in its range, plus
#                some outside it that must not count)       -> capacity 27232
#   shop/app-2   3 open; range 40000-40099, 40010-40019 reserved -> capacity 90
#   mesh/mesh-0  app: 7 requests through the istio-proxy sidecar (7 TIME_WAIT,
#                the sidecar's 7 upstream connections end without one);
#                the sidecar container itself holds 3 open  -> capacity 28232
# `portburn snapshot --json` and a `portburn serve` running from the start
# (/snapshot and /metrics) must say exactly that, per pod, per destination and
# per owner container. A standalone snapshot learns a TIME_WAIT socket's owner
# only from its network namespace (the socket has no cgroup any more), so there
# the TIME_WAIT sockets belong to the pod with container "" (unknown); the
# running serve saw them opened and knows the container.
. "$(dirname "$0")/lab_pb_lib.sh"
pb_init counts

pb_up --pods 3 --mesh-pods 1
ns0=$(netns_ino app-0) ns1=$(netns_ino app-1) ns2=$(netns_ino app-2) nsm=$(netns_ino mesh-0)
ip0=$(pod_ip app-0) ip1=$(pod_ip app-1) ip2=$(pod_ip app-2) ipm=$(pod_ip mesh-0)
in_pod() { local p=$1; shift; ip netns exec "$(pod_netns "$p")" "$@"; }
in_pod app-0 sysctl -qw net.ipv4.ip_local_port_range="35000 35999"
in_pod app-1 sysctl -qw net.ipv4.ip_local_reserved_ports="20,40000-40999,61000-61009"
in_pod app-2 sysctl -qw net.ipv4.ip_local_port_range="40000 40099"
in_pod app-2 sysctl -qw net.ipv4.ip_local_reserved_ports="40010-40019,50000"

start_serve live --reconcile 600

out=$(loadgen app-0 -- -t 203.0.113.10:80 -n 40 -c 4)
check "app-0: 40 requests answered" grep -q ' http_2xx=40 ' <<<"$out"
hold a0 5 app-0
hold a1 10 app-1
hold a2 3 app-2
out=$(loadgen mesh-0 -- -t 203.0.113.10:80 -n 7 -c 1)
check "mesh-0: 7 requests answered through the sidecar" grep -q ' http_2xx=7 ' <<<"$out"
hold sidecar 3 mesh-0 --container istio-proxy

# The kernel's own count first: the test is about portburn, not the setup.
wait_until 10 '[ "$(ss_tw app-0) $(ss_tw mesh-0) $(ss_open mesh-0)" = "40 7 3" ]'
eq "ss: app-0 TIME_WAIT + open" "$(ss_tw app-0) + $(ss_open app-0)" "40 + 5"
eq "ss: app-1 open" "$(ss_tw app-1) + $(ss_open app-1)" "0 + 10"
eq "ss: app-2 open" "$(ss_tw app-2) + $(ss_open app-2)" "0 + 3"
eq "ss: mesh-0 TIME_WAIT + open" "$(ss_tw mesh-0) + $(ss_open mesh-0)" "7 + 3"
eq "ss: app-2 used no reserved port" "$(in_pod app-2 ss -Htan dst 203.0.113.10 |
	awk '{ n = split($4, a, ":"); p = a[n]; if (p < 40000 || p > 40099 || (p >= 40010 && p <= 40019)) print }' | wc -l)" 0

pods="pod mesh/mesh-0 in_use=10 open=3 tw=7
pod shop/app-0 in_use=45 open=5 tw=40
pod shop/app-1 in_use=10 open=10 tw=0
pod shop/app-2 in_use=3 open=3 tw=0"
dests="dest $ip0>203.0.113.10:80 open=5 tw=40 in_use=45 capacity=1000
dest $ip1>203.0.113.10:80 open=10 tw=0 in_use=10 capacity=27232
dest $ipm>203.0.113.10:80 open=3 tw=7 in_use=10 capacity=28232
dest $ip2>203.0.113.10:80 open=3 tw=0 in_use=3 capacity=90"
owners_cli="owner $ip0>203.0.113.10:80 shop/app-0/ in_use=40 open=0 tw=40
owner $ip0>203.0.113.10:80 shop/app-0/app app in_use=5 open=5 tw=0
owner $ip1>203.0.113.10:80 shop/app-1/app app in_use=10 open=10 tw=0
owner $ipm>203.0.113.10:80 mesh/mesh-0/ in_use=7 open=0 tw=7
owner $ipm>203.0.113.10:80 mesh/mesh-0/istio-proxy sidecar in_use=3 open=3 tw=0
owner $ip2>203.0.113.10:80 shop/app-2/app app in_use=3 open=3 tw=0"
owners_live="owner $ip0>203.0.113.10:80 shop/app-0/app app in_use=45 open=5 tw=40
owner $ip1>203.0.113.10:80 shop/app-1/app app in_use=10 open=10 tw=0
owner $ipm>203.0.113.10:80 mesh/mesh-0/app app in_use=7 open=0 tw=7
owner $ipm>203.0.113.10:80 mesh/mesh-0/istio-proxy sidecar in_use=3 open=3 tw=0
owner $ip2>203.0.113.10:80 shop/app-2/app app in_use=3 open=3 tw=0"
sum() { snap_summary "$1" "$ns0" "$ns1" "$ns2" "$nsm"; }

# --- standalone snapshot ----------------------------------------------------
start=$(date +%s%N)
snap_cli "$T/cli.json"
eq "snapshot --json exits 0 with JSON" "$?" 0
log "snapshot took $((($(date +%s%N) - start) / 1000000)) ms"
eq_lines "snapshot: per pod" "$(sum "$T/cli.json" | grep '^pod')" "$pods"
eq_lines "snapshot: per destination, with each namespace's capacity" \
	"$(sum "$T/cli.json" | grep '^dest')" "$dests"
eq_lines "snapshot: per owner container (TIME_WAIT: pod known from the netns, container not)" \
	"$(sum "$T/cli.json" | grep '^owner')" "$owners_cli"
eq "snapshot: app-2's utilization = 3 / 90" \
	"$(jq --argjson n "$ns2" '.destinations[] | select(.netns == $n and .dport == 80) | .utilization * 90 * 1000 | round' "$T/cli.json")" 3000
eq_lines "snapshot: the node SNAT view of 203.0.113.10:80 has our pods' ports" \
	"$(jq -r '.snat[] | select(.daddr == "203.0.113.10" and .dport == 80) | .pods[] |
		select(.namespace == "shop" or .namespace == "mesh") | "\(.namespace)/\(.pod) \(.in_use)"' "$T/cli.json" | sort)" \
	"mesh/mesh-0 10
shop/app-0 45
shop/app-1 10
shop/app-2 3"
check "contract: top-level keys" jq_true 'has("node") and has("mode") and has("pods") and has("destinations") and has("snat")' "$T/cli.json"

# --- serve, running from the start: events only (no periodic reconcile yet) --
want_ports="ports mesh/mesh-0/app time_wait 7
ports mesh/mesh-0/istio-proxy open 3
ports shop/app-0/app open 5
ports shop/app-0/app time_wait 40
ports shop/app-1/app open 10
ports shop/app-2/app open 3"
wait_until 10 'scrape live "$T/m" && [ "$(metrics_ports "$T/m")" = "$want_ports" ]'
scrape live "$T/m"
eq_lines "serve /metrics: ports in use per container and state" "$(metrics_ports "$T/m")" "$want_ports"
eq_lines "serve /metrics: connects per container and role (the sidecar: 7 upstream + 3 held)" \
	"$(metrics_connects "$T/m")" "connects mesh/mesh-0/app app 7
connects mesh/mesh-0/istio-proxy sidecar 10
connects shop/app-0/app app 45
connects shop/app-1/app app 10
connects shop/app-2/app app 3"
ratio() { # pod: destination utilization x capacity, rounded
	awk -v c="$2" '{ printf "%.3f\n", $1 * c }' <<<"$(metric "$T/m" \
		"portburn_destination_utilization_ratio{namespace=\"shop\",pod=\"$1\",daddr=\"203.0.113.10\",dport=\"80\"}")"
}
eq "serve /metrics: app-0 utilization x 1000 (narrowed range)" "$(ratio app-0 1000)" 45.000
eq "serve /metrics: app-1 utilization x 27232 (reserved ports)" "$(ratio app-1 27232)" 10.000
eq "serve /metrics: app-2 utilization x 90 (narrowed + reserved)" "$(ratio app-2 90)" 3.000
eq "serve /metrics: no reconcile drift" "$(metric "$T/m" portburn_reconcile_drift_total)" 0

code=$(snap_http live "$T/live.json")
eq "serve /snapshot answers (HTTP status)" "$code" 200
if [ "$code" = 200 ]; then
	eq_lines "serve /snapshot: per pod" "$(sum "$T/live.json" | grep '^pod')" "$pods"
	eq_lines "serve /snapshot: per destination" "$(sum "$T/live.json" | grep '^dest')" "$dests"
	eq_lines "serve /snapshot: per owner container (TIME_WAIT owners known from the events)" \
		"$(sum "$T/live.json" | grep '^owner')" "$owners_live"
	eq "serve /snapshot: same top-level keys as snapshot --json" \
		"$(jq -c 'keys' "$T/live.json")" "$(jq -c 'keys' "$T/cli.json")"
fi
finish
