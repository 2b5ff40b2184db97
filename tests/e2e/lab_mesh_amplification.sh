#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# lab scenario mesh-amplification: the app's connections are captured by the
# sidecar (iptables REDIRECT, the proxy's uid excluded), which retries against
# the flaky upstream without reusing connections. Checked against haproxy's
# own stats, the upstream's access log, the pod's conntrack and iptables counters.
. "$(dirname "$0")/../../tools/lab/testlib.sh"
lab_test_init mesh

LAB_PODS=0 LAB_MESH_PODS=1 LAB_FLAKY_DROP=30 LAB_FLAKY_503=10 "$LAB" up
ns=$(pod_netns mesh-0)
proxy_pid=$(status_json | jq -r '.pods[0].containers[] | select(.role == "sidecar") | .pids[0]')
check "the sidecar is haproxy running as uid 1337" \
	[ "$(ps -o uid=,comm= -p "$proxy_pid" | tr -s ' ')" = " 1337 haproxy" ]
sidecar_cg=$(status_json | jq -r '.pods[0].containers[] | select(.name == "istio-proxy") | .cgroup')
check "the sidecar runs in its own container cgroup" \
	grep -qx "0::$sidecar_cg" "/proc/$proxy_pid/cgroup"

out=$("$LAB" scenario mesh-amplification --pod mesh-0 --requests 150 --rate 500 --concurrency 8)
echo "$out"
app=$(result "$out" app_connections)
up=$(result "$out" upstream_connections)
check "every app connection reached the sidecar (150)" [ "$app" -eq 150 ]
check "the app got an answer to every request (2xx or a final 5xx)" \
	[ $(($(result "$out" app_ok) + $(result "$out" app_5xx))) -eq 150 ]
check "retries happened: upstream connections ($up) > app connections ($app)" [ "$up" -gt "$app" ]
check "at most 1 + retries (3) upstream connections per app connection" [ "$up" -le $((app * 4)) ]
check "the upstream logged exactly what haproxy says it opened" \
	[ "$(result "$out" upstream_logged)" -eq "$up" ]
check "one app connection became >= 2 connections" \
	awk -v r="$(result "$out" connections_per_app_connection)" 'BEGIN { exit !(r >= 2) }'

# The pod's conntrack tells the two kinds of flows apart: the app's, redirected
# to the proxy (reply from 127.0.0.1:15001), and the proxy's own to the upstream.
ct=$(ip netns exec "$ns" conntrack -L -p tcp --dst 203.0.113.11 --dport 80 2>/dev/null)
redirected=$(grep -c 'src=127.0.0.1 dst=.* sport=15001 ' <<<"$ct" || true)
direct=$(grep -c 'src=203.0.113.11 dst=.* sport=80 ' <<<"$ct" || true)
echo "pod conntrack: $redirected redirected (app) flows, $direct direct (proxy) flows"
check "conntrack: 150 app flows redirected to the sidecar" [ "$redirected" -eq 150 ]
check "conntrack: the proxy's upstream flows match haproxy's count" [ "$direct" -eq "$up" ]
pk=$(ip netns exec "$ns" iptables -t nat -L PBL_REDIRECT -v -x -n | awk '$3 == "REDIRECT" { print $1 }')
check "iptables REDIRECT matched 150 new connections" [ "$pk" -eq 150 ]
own=$(ip netns exec "$ns" iptables -t nat -L PBL_OUTPUT -v -x -n | awk '/owner UID match 1337/ { print $1 }')
check "the uid-owner exclusion let the proxy's $up connections through" [ "$own" -eq "$up" ]

# the app's sockets still show the original destination
check "the app's 150 sockets sit in TIME_WAIT towards 203.0.113.11:80, the original destination" \
	eventually socks_are -ge 150 "$ns" time-wait dst 203.0.113.11 dport = :80
