#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# portburn snapshot against known counts, with no tracer running before it:
# namespace A holds 40 TIME_WAIT + 5 open sockets towards one destination,
# namespace B 10 open; namespace C has a narrowed range with reserved ports.
# Every number in the JSON must match exactly, capacities included.
. "$(dirname "$0")/lib.sh"
new_netns a; nsa=$REPLY
new_netns b; nsb=$REPLY
new_netns c; nsc=$REPLY
new_cgroup a-app; cga=$REPLY
new_cgroup b-app; cgb=$REPLY
new_cgroup srv; cgs=$REPLY
# tcp_tw_reuse=2 (the default) lets later loopback connects take over TIME_WAIT ports
for ns in "$nsa" "$nsb" "$nsc"; do ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=0; done
ip netns exec "$nsc" sysctl -qw net.ipv4.ip_local_port_range="40000 40099"
ip netns exec "$nsc" sysctl -qw net.ipv4.ip_local_reserved_ports="40010-40019,50000"
for ns in "$nsa" "$nsb" "$nsc"; do
	spawn "$ns" "$cgs" "$T/srv-$ns.out" "$TCPCONN" serve 8080 --ready "$T/ready-$ns"
	wait_until 5 test -e "$T/ready-$ns" || die "server in $ns did not start"
done
ino() { stat -L -c %i "/run/netns/$1"; }

run_in "$nsa" "$cga" "$T/a-tw.out" "$TCPCONN" connect 127.0.0.1 8080 -n 40
hold() { # NS CGROUP N NAME
	mkfifo "$T/$4.fifo"
	in_ns_cg "$1" "$2" "$TCPCONN" connect 127.0.0.1 8080 -n "$3" --hold <"$T/$4.fifo" >"$T/$4.out" 2>&1 &
	_PIDS+=($!)
	exec {fd}>"$T/$4.fifo"
	eval "FD_$4=$fd"
	wait_until 10 "[ \$(grep -c '^ok' '$T/$4.out') -eq $3 ]" || die "$4: $(cat "$T/$4.out")"
}
hold "$nsa" "$cga" 5 aopen
hold "$nsb" "$cgb" 10 bopen
hold "$nsc" "$cgb" 3 copen

# The kernel's own count first: the test is about portburn, not the setup.
# (TIME_WAIT starts when the server's FIN arrives, after the client returned.)
tw_a() { ip netns exec "$nsa" ss -Htan state time-wait '( dport = :8080 )' | wc -l; }
wait_until 10 '[ "$(tw_a)" -eq 40 ]'
eq "ss: TIME_WAIT in A" "$(tw_a)" 40

start=$(date +%s%N)
"$PORTBURN" snapshot --json >"$T/snap.json" 2>"$T/snap.err"
eq "snapshot exits 0" "$?" 0
log "snapshot took $(( ($(date +%s%N) - start) / 1000000 )) ms"
jq -e . "$T/snap.json" >/dev/null || die "snapshot is not JSON: $(head -c 300 "$T/snap.json")"

dest() { jq -c ".destinations[] | select(.netns == $(ino "$1") and .dport == 8080)" "$T/snap.json"; }
da=$(dest "$nsa"); db=$(dest "$nsb"); dc=$(dest "$nsc")
eq "A: one pool" "$(echo "$da" | wc -l)" 1
eq "A: open" "$(echo "$da" | jq .open)" 5
eq "A: time_wait" "$(echo "$da" | jq .time_wait)" 40
eq "A: in_use" "$(echo "$da" | jq .in_use)" 45
eq "A: capacity (default range)" "$(echo "$da" | jq .capacity)" 28232
eq "A: utilization" "$(echo "$da" | jq '.utilization * 1000000 | floor')" "$((45 * 1000000 / 28232))"
eq "A: addresses" "$(echo "$da" | jq -r '.saddr + ">" + .daddr')" "127.0.0.1>127.0.0.1"
eq "A: owners add up" "$(echo "$da" | jq '[.owners[].in_use] | add')" 45
eq "A: the open sockets' owner is A's cgroup" \
	"$(echo "$da" | jq -r ".owners[] | select(.in_use == 5) | .owner")" "$cga"
eq "B: open" "$(echo "$db" | jq .open)" 10
eq "B: time_wait" "$(echo "$db" | jq .time_wait)" 0
eq "C: capacity = 100 ports - 10 reserved" "$(echo "$dc" | jq .capacity)" 90
eq "C: open" "$(echo "$dc" | jq .in_use)" 3
eq "servers' accepted sockets are not counted" \
	"$(jq "[.destinations[] | select(.netns == $(ino "$nsa") and .dport != 8080)] | length" "$T/snap.json")" 0
check "contract: top-level keys" jq_true 'has("node") and has("mode") and has("pods") and has("destinations") and has("snat")' "$T/snap.json"
check "contract: pod keys" jq_true '.pods | all(has("namespace") and has("pod") and has("in_use") and has("open") and has("time_wait"))' "$T/snap.json"
eq "mode" "$(jq -r .mode "$T/snap.json")" "$("$PORTBURN" trace --duration 1 2>&1 | sed -n 's/.*ready (mode \(.*\))/\1/p')"

# A snapshot attaches nothing to the node's connects: the iterator only.
"$PORTBURN" snapshot -v >/dev/null 2>"$T/snapv.err"
eq "snapshot -v: the only program attached is the socket iterator" \
	"$(sed -n 's/.*: attached \(.*\)/\1/p' "$T/snapv.err")" "iter_tcp"

# The text form names the same pool.
"$PORTBURN" snapshot >"$T/snap.txt" 2>&1
check "text: A's pool with its numbers" grep -qE "^$(ino "$nsa") +127.0.0.1 -> 127.0.0.1:8080 +5 +40 +45 +28232" "$T/snap.txt"
finish
