#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# lab scenario timewait-storm: short connections, client closing first, fill
# the pod's range with TIME_WAIT (seen with ss in the pod's namespace); with
# keep-alive the same requests leave one, and when the server closes first
# the TIME_WAIT lands on the server's side.
. "$(dirname "$0")/../../tools/lab/testlib.sh"
lab_test_init timewait

LAB_PODS=3 LAB_MESH_PODS=0 "$LAB" up
ns=$(pod_netns app-2)

out=$("$LAB" scenario timewait-storm --pod app-2 --range 50000-50499 --fill 90 --rate 1000)
echo "$out"
check "450 requests, all answered" [ "$(result "$out" ok)" -eq 450 ]
check "no EADDRNOTAVAIL below the range" [ "$(result "$out" eaddrnotavail)" -eq 0 ]
check "ss sees 450 TIME_WAIT sockets in the pod (90% of 500)" \
	eventually socks_are -eq 450 "$ns" time-wait dst 203.0.113.10 dport = :80
check "the scenario reports what ss sees" [ "$(result "$out" time_wait)" -eq 450 ]
bad=$(ip netns exec "$ns" ss -Htan state time-wait dst 203.0.113.10 |
	awk '{ n = split($3, a, ":"); p = a[n]; if (p < 50000 || p > 50499) print }')
check "every TIME_WAIT port is in the pod's range" [ -z "$bad" ]
check "the server side has no TIME_WAIT (the client closed first)" \
	[ "$(ip netns exec "$(status_json | jq -r .external.netns)" ss -Htan state time-wait | wc -l)" -eq 0 ]

# the rest of the range runs out too: 100 more connections, 50 get a port
more=$("$LAB" loadgen app-2 -- -t 203.0.113.10:80 -n 100 -c 4)
echo "$more"
check "past the range: EADDRNOTAVAIL (50 of 100)" grep -q ' eaddrnotavail=50 ' <<<"$more"

# keep-alive: the same 450 requests on one connection leave one TIME_WAIT
ka=$("$LAB" loadgen app-0 -- -t 203.0.113.10:80 -n 450 -c 1 -k)
echo "$ka"
check "keep-alive: 450 requests over 1 connection" grep -q ' attempts=1 .*http_2xx=450 ' <<<"$ka"
check "keep-alive: 1 TIME_WAIT in app-0" \
	eventually socks_are -eq 1 "$(pod_netns app-0)" time-wait dst 203.0.113.10 dport = :80

# server closes first: TIME_WAIT on the server's side, none in the pod
ext=$(status_json | jq -r .external.netns)
sc=$("$LAB" loadgen app-1 -- -t 203.0.113.10:80 -n 100 -c 4 --close server)
echo "$sc"
check "close server: 100 answered" grep -q ' http_2xx=100 ' <<<"$sc"
check "close server: 100 TIME_WAIT at the server" \
	eventually socks_are -eq 100 "$ext" time-wait src 203.0.113.10
check "close server: no TIME_WAIT in app-1" \
	socks_are -eq 0 "$(pod_netns app-1)" time-wait dst 203.0.113.10 dport = :80

# reset: no TIME_WAIT anywhere
rs=$("$LAB" loadgen app-1 -- -t 203.0.113.11:80 -n 50 -c 4 --close reset -m connect)
echo "$rs"
check "close reset: 50 connected" grep -q ' connected=50 ' <<<"$rs"
check "close reset: no TIME_WAIT towards the flaky server" \
	[ "$(ip netns exec "$(pod_netns app-1)" ss -Htan state time-wait dst 203.0.113.11 | wc -l)" -eq 0 ]
