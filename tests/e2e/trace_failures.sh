#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Failed connects, attributed to the caller: ECONNREFUSED (blocking and
# non-blocking), and EADDRNOTAVAIL in a namespace whose ephemeral range has 10
# ports while more connections than that are held open; a bind() to a taken
# port (EADDRINUSE).
. "$(dirname "$0")/lib.sh"
new_netns a; ns=$REPLY
new_cgroup client; cg=$REPLY
new_cgroup server; srvcg=$REPLY
ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="40000 40009"
spawn "$ns" "$srvcg" "$T/server.out" "$TCPCONN" serve 8080 --ready "$T/ready"
wait_until 5 test -e "$T/ready" || die "server did not start"
start_trace --cgroup "$cg"

run_in "$ns" "$cg" "$T/refused.out" "$TCPCONN" connect 127.0.0.1 9 -n 3
pid_r=$(head -1 "$T/refused.out")
run_in "$ns" "$cg" "$T/refused-nb.out" "$TCPCONN" connect 127.0.0.1 9 -n 2 --nonblock
pid_rnb=$(head -1 "$T/refused-nb.out")

# 14 connections held open against 10 ports: 10 succeed, 4 fail.
mkfifo "$T/hold"
in_ns_cg "$ns" "$cg" "$TCPCONN" connect 127.0.0.1 8080 -n 14 --hold <"$T/hold" >"$T/burn.out" 2>&1 &
holder=$!
_PIDS+=($holder)
exec 9>"$T/hold"
wait_until 10 '[ "$(grep -c '\''^\(ok\|fail\)'\'' "$T/burn.out")" -eq 14 ]' || die "burn client did not finish: $(cat "$T/burn.out")"
pid_b=$(head -1 "$T/burn.out")
fails=$(grep -c '^fail EADDRNOTAVAIL' "$T/burn.out")
eq "the kernel refused 4 of 14 (10-port range)" "$fails" 4

# bind() to a port the held connections already use.
port=$(awk '$1 == "ok" { print $2; exit }' "$T/burn.out")
run_in "$ns" "$cg" "$T/bind.out" "$TCPCONN" bind 127.0.0.1 "$port"
pid_bind=$(head -1 "$T/bind.out")

wait_until 10 '[ "$(events ".type==\"connect_failed\" and .pid==$pid_b")" -ge 4 ]'
exec 9>&-
wait $holder
wait_until 10 '[ "$(events ".type==\"time_wait\" and .pid==$pid_b")" -ge 10 ]'
stop_trace

eq "ECONNREFUSED, blocking" "$(events ".type==\"connect_failed\" and .errno==\"ECONNREFUSED\" and .pid==$pid_r and .dport==9 and .cgroup==\"$cg\"")" 3
eq "ECONNREFUSED, non-blocking" "$(events ".type==\"connect_failed\" and .errno==\"ECONNREFUSED\" and .pid==$pid_rnb")" 2
eq "EADDRNOTAVAIL per refused attempt, to the caller" \
	"$(events ".type==\"connect_failed\" and .errno==\"EADDRNOTAVAIL\" and .pid==$pid_b and .comm==\"tcpconn\" and .daddr==\"127.0.0.1\" and .dport==8080 and .cgroup==\"$cg\"")" 4
eq "no other failure for the burner" "$(events ".type==\"connect_failed\" and .pid==$pid_b")" 4
eq "10 connects in the narrowed range" \
	"$(jq -r "select(.type==\"connect\" and .pid==$pid_b) | .sport" "$T/trace.json" | awk '$1 >= 40000 && $1 <= 40009' | wc -l)" 10
eq "their ends (client closed first: TIME_WAIT)" "$(events ".type==\"time_wait\" and .pid==$pid_b")" 10
if grep -q '^bind fail EADDRINUSE' "$T/bind.out"; then
	eq "bind EADDRINUSE reported" "$(events ".type==\"bind_failed\" and .errno==\"EADDRINUSE\" and .pid==$pid_bind and .sport==$port")" 1
else
	die "bind to a used port did not fail: $(cat "$T/bind.out")"
fi
finish
