#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# N connections from a process in a test cgroup: exactly N connect events with
# the client's ports, pid and cgroup; TIME_WAIT on the side that closed first
# (the client), even though its last state change runs in the server's context;
# and plain close events when the server closes first.
. "$(dirname "$0")/lib.sh"
N=${N:-25}
new_netns a; ns=$REPLY
new_cgroup client; cg=$REPLY
new_cgroup server; spawn "$ns" "$REPLY" "$T/server.out" "$TCPCONN" serve 8080 --ready "$T/srv-ready"
new_cgroup server2
spawn "$ns" "$REPLY" "$T/server2.out" "$TCPCONN" serve 8081 --server-closes --ready "$T/srv2-ready"
wait_until 5 test -e "$T/srv-ready" -a -e "$T/srv2-ready" || die "servers did not start"
start_trace --cgroup "$cg"

# 1. Client closes first, IPv4.
run_in "$ns" "$cg" "$T/c1.out" "$TCPCONN" connect 127.0.0.1 8080 -n "$N"
pid1=$(head -1 "$T/c1.out")
ports1=$(awk '$1 == "ok" { print $2 }' "$T/c1.out" | sort -n | tr '\n' ' ')
# 2. Server closes first, IPv6 loopback.
run_in "$ns" "$cg" "$T/c2.out" "$TCPCONN" connect ::1 8081 -n "$N" --wait-eof
pid2=$(head -1 "$T/c2.out")
ports2=$(awk '$1 == "ok" { print $2 }' "$T/c2.out" | sort -n | tr '\n' ' ')
# 3. v4-mapped destination from an IPv6 socket.
run_in "$ns" "$cg" "$T/c3.out" "$TCPCONN" connect ::ffff:127.0.0.1 8080 -n 1
pid3=$(head -1 "$T/c3.out")

want=$((4 * N + 2))
wait_until 10 '[ "$(events "true")" -ge $want ]' || log "timed out waiting for events"
stop_trace
eq "trace exits 0 on SIGINT" "$TRACE_RC" 0

eq "client-first: connect events" "$(events ".type==\"connect\" and .pid==$pid1")" "$N"
eq "client-first: connect ports are the client's" \
	"$(jq -r "select(.type==\"connect\" and .pid==$pid1) | .sport" "$T/trace.json" | sort -n | tr '\n' ' ')" "$ports1"
eq "client-first: connect cgroup" "$(jq -r "select(.pid==$pid1) | .cgroup" "$T/trace.json" | sort -u)" "$cg"
eq "client-first: time_wait events, owned by the client" \
	"$(events ".type==\"time_wait\" and .pid==$pid1 and .comm==\"tcpconn\" and .dport==8080")" "$N"
eq "client-first: time_wait ports" \
	"$(jq -r "select(.type==\"time_wait\" and .pid==$pid1) | .sport" "$T/trace.json" | sort -n | tr '\n' ' ')" "$ports1"
eq "client-first: no close events" "$(events ".type==\"close\" and .pid==$pid1")" 0
eq "time_wait carries its length" "$(jq -r "select(.type==\"time_wait\") | .time_wait_ns" "$T/trace.json" | sort -u)" 60000000000
eq "addresses are IPv4" "$(jq -r "select(.pid==$pid1) | .saddr + \">\" + .daddr" "$T/trace.json" | sort -u)" "127.0.0.1>127.0.0.1"

eq "server-first: connect events" "$(events ".type==\"connect\" and .pid==$pid2")" "$N"
eq "server-first: close events" "$(events ".type==\"close\" and .pid==$pid2 and .duration_ns > 0")" "$N"
eq "server-first: no time_wait on the client" "$(events ".type==\"time_wait\" and .pid==$pid2")" 0
eq "server-first: close ports" \
	"$(jq -r "select(.type==\"close\" and .pid==$pid2) | .sport" "$T/trace.json" | sort -n | tr '\n' ' ')" "$ports2"
eq "IPv6 addresses" "$(jq -r "select(.pid==$pid2) | .daddr" "$T/trace.json" | sort -u)" "::1"
eq "v4-mapped shown as IPv4" "$(jq -r "select(.pid==$pid3 and .type==\"connect\") | .daddr" "$T/trace.json")" "127.0.0.1"
eq "connect and its end share conn_id" \
	"$(jq -r "select(.pid==$pid1) | .conn_id" "$T/trace.json" | sort | uniq -c | awk '$1 != 2' | wc -l)" 0
eq "servers' accepted sockets are not reported (filtered cgroup)" \
	"$(events ".comm==\"tcpconn\" and (.pid != $pid1 and .pid != $pid2 and .pid != $pid3)")" 0
check "exit summary reports losses" grep -q '0 lost' "$T/trace.err"
finish
