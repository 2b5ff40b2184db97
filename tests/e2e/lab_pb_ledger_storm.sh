#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 5 in the lab: portburn started in the middle of a TIME_WAIT storm
# reports the same numbers as one that ran from the start, and one restarted
# mid-storm loses nothing after one reconciliation.
#
# shop/app-1 holds 10 open connections to the web server; shop/app-0 (range
# narrowed to 50000-50999 by the timewait-storm scenario: capacity 1000) makes
# 800 short connections at 150/s, client closing first: 800 TIME_WAIT.
# Three `portburn serve`:
#   full     from the start, --reconcile 600 (events only within the test)
#   mid      started when >= 200 TIME_WAIT are there, --reconcile 600: what it
#            knows of the earlier ones comes from its start-up walk
#   restart  from the start with --reconcile 2, stopped (SIGTERM) at >= 200
#            TIME_WAIT and started again on the same address
# Once the storm is over, all three (and a standalone snapshot) must give the
# same per-pod and per-destination numbers as ss, capacities included (full
# saw the range narrowed while running): full and mid at once (within a view,
# 1 s), restart within one reconciliation. Owner containers differ by
# design: sockets from before a start are known by namespace only
# (container ""), so only full is checked per container.
. "$(dirname "$0")/lab_pb_lib.sh"
pb_init storm

pb_up --pods 2 --mesh-pods 0
ns0=$(netns_ino app-0) ns1=$(netns_ino app-1)
ip0=$(pod_ip app-0) ip1=$(pod_ip app-1)

start_serve full --reconcile 600
start_serve restart --reconcile 2
hold a1 10 app-1

"$LAB" scenario timewait-storm --pod app-0 --range 50000-50999 --fill 80 --rate 150 \
	--concurrency 8 >"$T/storm.out" 2>&1 &
storm=$!
_PIDS+=("$storm")
wait_until 20 '[ "$(ss_tw app-0)" -ge 200 ]' || die "the storm did not start: $(cat "$T/storm.out")"
start_serve mid --reconcile 600
tw_mid=$(ss_tw app-0)
stop_serve restart
eq "restart: the first serve exits 0 on SIGTERM" "$SERVE_RC" 0
start_serve restart --port "${SERVE_PORT[restart]}" --reconcile 2
tw_restart=$(ss_tw app-0)
check "the storm was still going when mid started ($tw_mid TIME_WAIT) and restart came back ($tw_restart)" \
	kill -0 "$storm"
wait "$storm"
out=$(cat "$T/storm.out")
echo "$out" | sed 's/^/# /'
check "storm: 800 requests answered" [ "$(result "$out" ok)" -eq 800 ]
tw=$(ss_tw app-0)
eq "ss: app-0 has 800 TIME_WAIT towards the web server" "$tw" 800
eq "ss: app-0 has no open socket to it" "$(ss_open app-0)" 0
check "the storm went on after the late starts ($tw_mid, $tw_restart < $tw)" \
	test "$tw_mid" -lt "$tw" -a "$tw_restart" -lt "$tw"

want="pod shop/app-0 in_use=800 open=0 tw=800
pod shop/app-1 in_use=10 open=10 tw=0
dest $ip0>203.0.113.10:80 open=0 tw=800 in_use=800 capacity=1000
dest $ip1>203.0.113.10:80 open=10 tw=0 in_use=10 capacity=28232"
want_pods="pod shop/app-0 open=0 tw=800
pod shop/app-1 open=10 tw=0"
sum() { snap_summary --dests "$1" "$ns0" "$ns1"; }
matches() { # serve: /snapshot and /metrics say what ss says
	[ "$(snap_http "$1" "$T/$1.json")" = 200 ] && [ "$(sum "$T/$1.json")" = "$(sort <<<"$want")" ] &&
		scrape "$1" "$T/$1.prom" && [ "$(metrics_pods "$T/$1.prom")" = "$want_pods" ]
}
# full and mid: no reconciliation can help them here; a view is built every second
for s in full mid restart; do
	case $s in restart) bound=6 ;; *) bound=3 ;; esac
	start=$(date +%s%N)
	wait_until "$bound" matches "$s"
	log "$s: matched after $((($(date +%s%N) - start) / 1000000)) ms (bound ${bound} s)"
	snap_http "$s" "$T/$s.json" >/dev/null
	scrape "$s" "$T/$s.prom"
	eq_lines "$s: /snapshot per pod and per destination" "$(sum "$T/$s.json")" "$want"
	eq_lines "$s: /metrics ports per pod" "$(metrics_pods "$T/$s.prom")" "$want_pods"
	eq "$s: no event lost" "$(metric "$T/$s.prom" portburn_events_lost_total)" 0
done
eq_lines "full: every TIME_WAIT credited to app-0's app container" \
	"$(snap_summary "$T/full.json" "$ns0" "$ns1" | grep '^owner')" \
	"owner $ip0>203.0.113.10:80 shop/app-0/app app in_use=800 open=0 tw=800
owner $ip1>203.0.113.10:80 shop/app-1/app app in_use=10 open=10 tw=0"
log "restart: reconcile drift $(metric "$T/restart.prom" portburn_reconcile_drift_total) since its restart"
snap_cli "$T/cli.json"
eq "snapshot --json exits 0" "$?" 0
eq_lines "snapshot --json: the same" "$(sum "$T/cli.json")" "$want"
finish
