#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# lab scenario port-burn: the pod with a tight port range gets EADDRNOTAVAIL,
# its neighbour does not; checked with ss and socat inside the namespaces,
# not only with the load generator's own counts.
. "$(dirname "$0")/../../tools/lab/testlib.sh"
lab_test_init port-burn

LAB_PODS=2 LAB_MESH_PODS=0 "$LAB" up
victim=$(pod_netns app-0)
neighbour=$(pod_netns app-1)

out=$("$LAB" scenario port-burn --pod app-0 --neighbour app-1 --range 40000-40049 --extra 30 --hold 2)
echo "$out"
check "victim connected exactly its 50 ports" [ "$(result "$out" connected)" -eq 50 ]
check "victim got EADDRNOTAVAIL for the 30 beyond" [ "$(result "$out" eaddrnotavail)" -eq 30 ]
check "neighbour opened all 80" [ "$(result "$out" neighbour_ok)" -eq 80 ]
check "neighbour got no EADDRNOTAVAIL" [ "$(result "$out" neighbour_eaddrnotavail)" -eq 0 ]

# From outside: the victim's ports all sit in TIME_WAIT towards the target,
# every one inside the tight range, and the pod still cannot connect there.
# (the victim closed first: each socket reaches TIME_WAIT once the server's FIN
# is back, so the last ones may need a moment)
if ! eventually socks_are -eq 50 "$victim" time-wait dst 203.0.113.10 dport = :80; then
	ip netns exec "$victim" ss -Htan dst 203.0.113.10 | awk '{ print $1 }' | sort | uniq -c >&2
	# where did the others go: the victim's TCP counters (resets, aborts)
	ip netns exec "$victim" nstat -az 2>/dev/null | grep -E 'Rst|Abort|EstabResets|AttemptFails|TW' >&2
	fail "victim holds 50 TIME_WAIT sockets to 203.0.113.10:80"
fi
ok "victim holds 50 TIME_WAIT sockets to 203.0.113.10:80"
tw=$(ip netns exec "$victim" ss -Htan state time-wait dst 203.0.113.10 dport = :80)
bad=$(awk '{ n = split($3, a, ":"); p = a[n]; if (p < 40000 || p > 40049) print }' <<<"$tw")
check "every victim source port is in 40000-40049" [ -z "$bad" ]
check "victim range is 40000-40049" \
	[ "$(ip netns exec "$victim" cat /proc/sys/net/ipv4/ip_local_port_range | tr -s '\t ' ' ')" = "40000 40049" ]
check "neighbour range is untouched" \
	[ "$(ip netns exec "$neighbour" cat /proc/sys/net/ipv4/ip_local_port_range | tr -s '\t ' ' ')" = "32768 60999" ]

err=$(ip netns exec "$victim" socat -T 2 -u OPEN:/dev/null TCP:203.0.113.10:80,connect-timeout=2 2>&1) &&
	fail "socat in the victim pod connected"
check "socat in the victim pod: Cannot assign requested address" grep -q "Cannot assign requested address" <<<"$err"
check "socat in the neighbour pod connects" \
	ip netns exec "$neighbour" socat -T 2 -u OPEN:/dev/null TCP:203.0.113.10:80,connect-timeout=2
# another destination still has the whole (tight) range
check "the victim can still reach another destination" \
	ip netns exec "$victim" socat -T 2 -u OPEN:/dev/null TCP:203.0.113.11:80,connect-timeout=2

# usage errors exit 2 and change nothing
usage_rc() { local rc=0; "$LAB" "$@" >/dev/null 2>&1 || rc=$?; [ "$rc" -eq 2 ]; }
check "unknown scenario: exit 2" usage_rc scenario no-such-thing
check "bad --range: exit 2" usage_rc scenario port-burn --range 50-10
check "unknown pod: exit 2" usage_rc scenario port-burn --pod nope
check "unknown option: exit 2" usage_rc scenario timewait-storm --bogus 1
check "loadgen usage error: exit 2" usage_rc loadgen app-1 -- -t 203.0.113.10:80 -n -1
check "the ranges are as before" \
	[ "$(ip netns exec "$victim" cat /proc/sys/net/ipv4/ip_local_port_range | tr -s '\t ' ' ')" = "40000 40049" ]
