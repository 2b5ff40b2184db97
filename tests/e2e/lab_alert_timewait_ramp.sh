#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 6, done when #2: `lab scenario timewait-storm` as a ramp under
# `portburn trace --json`. A pod with a 1000-port range opens short HTTP
# connections to one destination at a constant 75/s, no keep-alive, the client
# closing first: every port stays 60 s in TIME_WAIT, so the pool runs dry after
# ~13 s and the rest of the 1100 attempts fail with EADDRNOTAVAIL. The true
# time to exhaustion is the pod's first connect_failed EADDRNOTAVAIL event in
# the trace. `pressure` must START before it, and its forecast_s must be within
# 25 % of the time it actually took from that alert.
#
# Four pods ramp the same way, their starts 0.25 s apart: portburn measures
# rates once a second, so the four ramps begin at four different points of
# its second (where a ramp starts within that second changes what the first
# measurement sees); each pod is judged on its own.
#
# The ranges are narrowed before portburn starts (the scenario sets the same
# range again): this test is about the forecast, not about noticing a range
# that changes under a running portburn (lab_alert_port_burn covers that).
. "$(dirname "$0")/lab_alert_lib.sh"
alert_lab_init timewait-ramp

PODS=4 RANGE_LO=50000 RANGE_HI=50999 RATE=75 FILL=110
ports=$((RANGE_HI - RANGE_LO + 1))
alert_lab_up LAB_PODS=$PODS LAB_MESH_PODS=0
for ((i = 0; i < PODS; i++)); do
	ip netns exec "$(pod_netns app-$i)" sysctl -qw net.ipv4.ip_local_port_range="$RANGE_LO $RANGE_HI" ||
		die "failed to narrow app-$i's port range"
done
ns=$(pod_namespace app-0)
start_trace --host-root "$HOST_ROOT"
log "portburn trace ready"

log "ramps: $ports ports, $RATE conn/s: dry after ~$(awk -v p=$ports -v r=$RATE 'BEGIN { printf "%.1f", p / r }') s"
pids=()
for ((i = 0; i < PODS; i++)); do
	"$LAB" scenario timewait-storm --pod "app-$i" --range "$RANGE_LO-$RANGE_HI" --fill "$FILL" \
		--rate "$RATE" --concurrency 16 --target web >"$T/ramp-$i.out" 2>&1 &
	pids+=($!)
	_PIDS+=($!)
	[ "$i" -eq $((PODS - 1)) ] || sleep 0.25 # staggering the starts, not synchronisation
done
for ((i = 0; i < PODS; i++)); do
	wait "${pids[$i]}" || { cat "$T/ramp-$i.out"; die "lab scenario timewait-storm --pod app-$i failed"; }
done

worst=0
for ((i = 0; i < PODS; i++)); do
	pod=app-$i
	out=$(cat "$T/ramp-$i.out")
	grep '^scenario=' <<<"$out" | sed 's/^/# /'
	cg=$(cgroup_id_of "$pod" app)
	failed=$(result "$out" eaddrnotavail)
	check "$pod: the pool ran dry (EADDRNOTAVAIL: $failed)" [ "$failed" -gt 0 ]
	eq "$pod: every port of the range was used once" "$(result "$out" ok)" "$ports"
	fail_cond=".cgroup_id == $cg and .errno == \"EADDRNOTAVAIL\""
	poll_until 10 '[ "$(evlines connect_failed "$fail_cond" | count_lines)" -ge "$failed" ]'
	eq "$pod: trace has its EADDRNOTAVAIL failures" \
		"$(evlines connect_failed "$fail_cond" | count_lines)" "$failed"
	t_fail=$(evlines connect_failed "$fail_cond" | min_ts)
	t_first=$(evlines connect ".cgroup_id == $cg and .dport == 80" | min_ts)

	pressure=".namespace == \"$ns\" and .pod == \"$pod\" and .kind == \"pressure\""
	starts=$(alerts "$pressure and .phase == \"start\"")
	eq "$pod: one pressure START (escalations are summaries, not a storm)" \
		"$(count_lines <<<"$starts")" 1
	a=$(head -n 1 <<<"$starts")
	if [ -z "$a" ] || [ -z "$t_fail" ] || [ -z "$t_first" ]; then
		check "$pod: a pressure alert and the ramp's first connect and failure in the trace" false
		continue
	fi
	t_alert=$(ts_of <<<"$a")
	fc=$(field forecast_s <<<"$a")
	took=$(secs $((t_fail - t_alert)))
	log "$pod: alert $(secs $((t_alert - t_first))) s into the ramp at utilization $(field utilization <<<"$a") (opens_per_s $(field opens_per_s <<<"$a")), forecast $fc s; first EADDRNOTAVAIL $took s after the alert ($(secs $((t_fail - t_first))) s into the ramp)"
	eq "$pod: pressure names the container" "$(field container <<<"$a")" app
	eq "$pod: pressure names the destination" "$(field daddr <<<"$a"):$(field dport <<<"$a")" 203.0.113.10:80
	eq "$pod: pressure capacity is the pod's range" "$(field capacity <<<"$a")" "$ports"
	check "$pod: pressure STARTs before the first failed connect ($took s before)" [ "$t_alert" -lt "$t_fail" ]
	check "$pod: the hint gives the forecast" grep -q "exhausted in ~" <<<"$(field hint <<<"$a")"
	err=$(awk -v f="$fc" -v t="$took" 'BEGIN { printf "%.1f", (t > 0 && f != "null" ? (f - t) / t * 100 : 999) }')
	check "$pod: forecast $fc s within 25 % of the $took s it took (error $err %)" \
		holds "(($err) < 0 ? -($err) : ($err)) <= 25"
	worst=$(awk -v w="$worst" -v e="$err" 'BEGIN { e = e < 0 ? -e : e; print (e > w ? e : w) }')
done
log "worst forecast error: $worst %"

stop_trace
eq "portburn trace exits 0" "$TRACE_RC" 0
log "portburn: $(trace_summary)"
keep_evidence
finish
