#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A 4 KiB ring buffer flooded by hundreds of connections while trace is
# stopped (SIGSTOP: a reader that cannot keep up, made certain): events are
# lost, and the count of lost events is exact (received + lost == sent), at
# exit and in what the ledger will later export.
. "$(dirname "$0")/lib.sh"
new_netns a; ns=$REPLY
new_cgroup client; cg=$REPLY
new_cgroup server; spawn "$ns" "$REPLY" "$T/server.out" "$TCPCONN" serve 8080 --ready "$T/ready"
wait_until 5 test -e "$T/ready" || die "server did not start"
start_trace --ring-size 4k
kill -STOP "$TRACE_PID"
run_in "$ns" "$cg" "$T/c.out" "$TCPCONN" connect 127.0.0.1 8080 -n 400
kill -CONT "$TRACE_PID"
pid=$(head -1 "$T/c.out")
eq "client connections" "$(grep -c '^ok' "$T/c.out")" 400
stop_trace
eq "trace exits 0" "$TRACE_RC" 0
line=$(grep 'events received' "$T/trace.err")
log "$line"
recv=$(echo "$line" | sed -E 's/.* ([0-9]+) events received.*/\1/')
lost=$(echo "$line" | sed -E 's/.* ([0-9]+) lost .*/\1/')
sent=$(echo "$line" | sed -E 's/.* of ([0-9]+) sent.*/\1/')
eq "received count equals NDJSON event lines" "$(events ".type != \"alert\"")" "$recv"
check "events were lost ($lost)" [ "$lost" -gt 0 ]
eq "received + lost == sent" "$((recv + lost))" "$sent"
check "at least our 800 events were sent ($sent)" [ "$sent" -ge 800 ]
ours=$(events ".pid==$pid")
check "some of ours arrived, not all ($ours of 800)" [ "$ours" -gt 0 -a "$ours" -lt 800 ]
finish
