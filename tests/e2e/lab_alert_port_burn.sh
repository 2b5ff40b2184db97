#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 6, done when #1: `lab scenario port-burn` under `portburn trace --json`.
# The exhaustion alert names the right pod, container and destination within
# one second of the first EADDRNOTAVAIL (the alert's ts_ns against the first
# connect_failed EADDRNOTAVAIL event's ts_ns: both wall clock, same trace); the
# 30 failures make one START, not a storm; the neighbour pod, which opens as
# many connections without a failure, gets no alert; and the hint names the
# pool that ran dry: the pod's narrowed ip_local_port_range and its size.
# `portburn serve`, running alongside, prints the same alert on stdout.
. "$(dirname "$0")/lab_alert_lib.sh"
alert_lab_init port-burn

alert_lab_up LAB_PODS=2 LAB_MESH_PODS=0
ns=$(pod_namespace app-0)
victim_cg=$(cgroup_id_of app-0 app)
neighbour_cg=$(cgroup_id_of app-1 app)
start_trace --host-root "$HOST_ROOT"
log "portburn trace ready"
"$PORTBURN" serve --listen 127.0.0.1:0 --host-root "$HOST_ROOT" >"$T/serve.json" 2>"$T/serve.err" &
SERVE_PID=$!
_PIDS+=("$SERVE_PID")
wait_until 30 grep -q 'ready (mode' "$T/serve.err" || { cat "$T/serve.err"; die "portburn serve did not start"; }

out=$("$LAB" scenario port-burn --pod app-0 --neighbour app-1 --range 40000-40049 \
	--extra 30 --hold 2 2>&1) || { echo "$out"; die "lab scenario port-burn failed"; }
sed 's/^/# /' <<<"$out"
failed=$(result "$out" eaddrnotavail)
eq "scenario: app-0 got EADDRNOTAVAIL beyond its 50 ports" "$failed" 30
eq "scenario: the neighbour app-1 opened all 80" "$(result "$out" neighbour_ok)" 80

# Every failure of the victim is in the trace: any alert they raise is printed
# before the event that raised it, so nothing more can come of them.
vfail=".cgroup_id == $victim_cg and .errno == \"EADDRNOTAVAIL\""
poll_until 10 '[ "$(evlines connect_failed "$vfail" | count_lines)" -ge "$failed" ]'
eq "trace: app-0's EADDRNOTAVAIL failures" "$(evlines connect_failed "$vfail" | count_lines)" "$failed"
check "trace: the neighbour's 80 connections" \
	[ "$(evlines connect ".cgroup_id == $neighbour_cg and .dport == 80" | count_lines)" -ge 80 ]

# Three ticks of the detectors (one a second) to show a storm or a late alert
# for the neighbour, should there be one.
if observe 3 '[ "$(alerts ".namespace == \"$ns\" and .pod == \"app-1\"" | count_lines)" -gt 0 ]'; then
	log "the neighbour got an alert"
fi

victim=".namespace == \"$ns\" and .pod == \"app-0\" and .kind == \"exhaustion\""
starts=$(alerts "$victim and .phase == \"start\"")
eq "one exhaustion START for app-0 (30 failures, not a storm)" "$(count_lines <<<"$starts")" 1
eq "no other exhaustion line for app-0 (summaries are due every 30 s)" \
	"$(alerts "$victim" | count_lines)" 1
a=$(head -n 1 <<<"$starts")
if [ -n "$a" ]; then
	log "alert: $a"
	eq "alert names the container" "$(field container <<<"$a")" app
	eq "alert says it is the app, not a sidecar" "$(field role <<<"$a")" app
	eq "alert names the destination address" "$(field daddr <<<"$a")" 203.0.113.10
	eq "alert names the destination port" "$(field dport <<<"$a")" 80
	eq "alert errno" "$(field errno <<<"$a")" EADDRNOTAVAIL
	eq "alert pool: the pod's own range, not SNAT" "$(field pool <<<"$a")" netns
	t_fail=$(evlines connect_failed "$vfail" | min_ts)
	t_alert=$(ts_of <<<"$a")
	lat=$((t_alert - t_fail))
	log "first EADDRNOTAVAIL ts_ns $t_fail, exhaustion alert ts_ns $t_alert: latency $(secs "$lat") s"
	check "alert within 1 s of the first EADDRNOTAVAIL ($(secs "$lat") s)" \
		[ "$lat" -ge 0 ] && [ "$lat" -le 1000000000 ]
	# "Hint: which pool ran dry (pod range or node SNAT), its size, who holds it"
	eq "alert capacity: the pod's range 40000-40049 (50 ports)" "$(field capacity <<<"$a")" 50
	eq "alert in_use: all 50 held" "$(field in_use <<<"$a")" 50
	check "hint names the range that ran dry (40000-40049)" \
		grep -q 'ip_local_port_range 40000-40049 ran dry' <<<"$(field hint <<<"$a")"
	check "hint names the holder" grep -q "top holder $ns/app-0/app" <<<"$(field hint <<<"$a")"
else
	check "an exhaustion alert for app-0" false
fi
nb=$(alerts ".namespace == \"$ns\" and .pod == \"app-1\"")
eq "no alert of any kind for the neighbour app-1" "$(count_lines <<<"$nb")" 0
[ -z "$nb" ] || sed 's/^/# neighbour: /' <<<"$nb"

# the same alert from `portburn serve`
poll_until 5 '[ -n "$(lines_of "$T/serve.json" alert "$victim")" ]'
s=$(lines_of "$T/serve.json" alert "$victim")
eq "serve: one exhaustion line for app-0" "$(count_lines <<<"$s")" 1
if [ -n "$s" ] && [ -n "$a" ]; then
	eq "serve: the same alert (phase pod container daddr dport errno)" \
		"$(jq -r '[.phase, .pod, .container, .daddr, .dport, .errno] | join(" ")' <<<"$s")" \
		"$(jq -r '[.phase, .pod, .container, .daddr, .dport, .errno] | join(" ")' <<<"$a")"
	slat=$(($(ts_of <<<"$s") - t_fail))
	check "serve: within 1 s of the first EADDRNOTAVAIL ($(secs "$slat") s)" \
		[ "$slat" -ge 0 ] && [ "$slat" -le 1000000000 ]
fi
eq "serve: no alert for the neighbour app-1" \
	"$(lines_of "$T/serve.json" alert ".namespace == \"$ns\" and .pod == \"app-1\"" | count_lines)" 0
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
eq "portburn serve exits 0 on SIGTERM" "$?" 0

stop_trace
eq "portburn trace exits 0" "$TRACE_RC" 0
log "portburn: $(trace_summary)"
keep_evidence
finish
