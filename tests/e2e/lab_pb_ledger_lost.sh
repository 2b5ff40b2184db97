#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 5 in the lab: a ring buffer made too small to keep up loses events,
# counts them, and the ledger is exact again after the next reconciliation.
#
# `portburn serve --ring-size 4k --reconcile 3` (a ring of 32 records) watches
# shop/app-1 open 10 connections; then shop/app-2 makes 1500 short
# connections as fast as it can (64 at a time, client closing first), and
# shop/app-0 as many while serve is stopped (SIGSTOP ... SIGCONT: a DaemonSet
# pod throttled at its CPU limit), so that losing events is certain, not a
# matter of scheduling: 3000 TIME_WAIT, about 6000 events. Then:
#   - portburn_events_lost_total > 0 (and the exit line says so),
#   - within one reconciliation /snapshot and /metrics say exactly what ss
#     says, per pod and per destination,
#   - portburn_reconcile_drift_total > 0: the reconciliation is what fixed it,
#   - and each port is still credited to the container that opened it (the
#     kernel side recorded the owner at connect, whatever the ring dropped).
. "$(dirname "$0")/lab_pb_lib.sh"
pb_init lost

pb_up --pods 3 --mesh-pods 0
ns0=$(netns_ino app-0) ns1=$(netns_ino app-1) ns2=$(netns_ino app-2)
ip0=$(pod_ip app-0) ip1=$(pod_ip app-1) ip2=$(pod_ip app-2)

start_serve tiny --ring-size 4k --reconcile 3
hold a1 10 app-1
burst() { # pod: 1500 connections, client closing first (TIME_WAIT at the client)
	"$LAB" loadgen "$1" -- -t 203.0.113.10:80 -n 1500 -c 64 >"$T/load-$1.out" 2>&1
	check "$1: 1500 requests answered" grep -q ' http_2xx=1500 ' "$T/load-$1.out"
}
burst app-2
kill -STOP "${SERVE_PID[tiny]}"
burst app-0
kill -CONT "${SERVE_PID[tiny]}"
wait_until 5 '[ "$(ss_tw app-0) $(ss_tw app-2)" = "1500 1500" ]'
eq "ss: TIME_WAIT of app-0, app-2; open of app-1" "$(ss_tw app-0) $(ss_tw app-2) $(ss_open app-1)" "1500 1500 10"
done_at=$(date +%s%N)

# a view (and its exposition) is built every second
wait_until 3 'scrape tiny "$T/m" && [ "$(metric "$T/m" portburn_events_lost_total)" -gt 0 ]'
lost=$(metric "$T/m" portburn_events_lost_total)
check "events were lost and counted (portburn_events_lost_total $lost > 0)" [ "$lost" -gt 0 ]

want="pod shop/app-0 in_use=1500 open=0 tw=1500
pod shop/app-1 in_use=10 open=10 tw=0
pod shop/app-2 in_use=1500 open=0 tw=1500
dest $ip0>203.0.113.10:80 open=0 tw=1500 in_use=1500 capacity=28232
dest $ip1>203.0.113.10:80 open=10 tw=0 in_use=10 capacity=28232
dest $ip2>203.0.113.10:80 open=0 tw=1500 in_use=1500 capacity=28232"
want_pods="pod shop/app-0 open=0 tw=1500
pod shop/app-1 open=10 tw=0
pod shop/app-2 open=0 tw=1500"
sum() { snap_summary --dests "$1" "$ns0" "$ns1" "$ns2"; }
matches() {
	[ "$(snap_http tiny "$T/s.json")" = 200 ] && [ "$(sum "$T/s.json")" = "$(sort <<<"$want")" ] &&
		scrape tiny "$T/m" && [ "$(metrics_pods "$T/m")" = "$want_pods" ]
}
# one reconciliation (3 s) and one view (1 s) later, with some slack
wait_until 6 matches
log "exact $((($(date +%s%N) - done_at) / 1000000)) ms after the load"
snap_http tiny "$T/s.json" >/dev/null
scrape tiny "$T/m"
eq_lines "/snapshot: per pod and per destination, exact again" "$(sum "$T/s.json")" "$want"
eq_lines "/metrics: ports per pod, exact again" "$(metrics_pods "$T/m")" "$want_pods"
drift=$(metric "$T/m" portburn_reconcile_drift_total)
check "the reconciliation corrected the drift (portburn_reconcile_drift_total $drift > 0)" [ "$drift" -gt 0 ]
check "/snapshot counts the lost events too (events_lost > 0)" jq_true '.events_lost > 0' "$T/s.json"
# The owner of every connection was recorded in the kernel when it was opened
# (socks map), in process context: a lost ring record must not lose it, so the
# reconciliation must give each TIME_WAIT port back to the container that
# opened it, not just to its pod.
eq_lines "/snapshot: per owner container, exact again" \
	"$(snap_summary "$T/s.json" "$ns0" "$ns1" "$ns2" | grep '^owner')" \
	"owner $ip0>203.0.113.10:80 shop/app-0/app app in_use=1500 open=0 tw=1500
owner $ip1>203.0.113.10:80 shop/app-1/app app in_use=10 open=10 tw=0
owner $ip2>203.0.113.10:80 shop/app-2/app app in_use=1500 open=0 tw=1500"

stop_serve tiny
eq "serve exits 0 on SIGTERM" "$SERVE_RC" 0
n=$(sed -n 's/^portburn: \([0-9]*\) events lost.*/\1/p' "$T/tiny.err" | tail -n 1)
check "the exit line counts the lost events (${n:-none} > 0)" [ "${n:-0}" -gt 0 ]
finish
