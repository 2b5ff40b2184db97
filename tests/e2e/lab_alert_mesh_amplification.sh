#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 6, done when #3: `lab scenario mesh-amplification` under `portburn
# trace --json`, the default --amplification 2.0. The lab's flaky upstream
# drops 50 % of requests and answers 503 to 20 % (LAB_FLAKY_DROP/503; with the
# lab's defaults, 30/10, the natural ratio is ~1.6, below 2.0): the sidecar
# (haproxy, 3 retries, no reuse) opens ~2.5 upstream connections per app
# connection.
#  1. The amplification alert names the pod, its sidecar container and the
#     destination, and its ratio is within 10 % of the true ratio from the
#     proxy's own statistics over the same connections: haproxy's counters
#     (admin socket in the lab state dir) are sampled every 50 ms during the
#     run, and the upstream count is read off where haproxy had accepted as
#     many app connections as the alert counted. The scenario's run-wide
#     ratio is printed for comparison.
#  2. Retries off: the lab has no way to change a running sidecar's retries,
#     so the pod is redeployed with LAB_SIDECAR_RETRIES=0 (lab down, lab up:
#     the same namespace, pod, containers and ids; portburn keeps running). The
#     app keeps sending; the ratio drops to ~1 and the alert CLEARs, the clear
#     line carrying the new ratio (within 10 % of the proxy's) over a window
#     that still holds app traffic: it cleared because the ratio dropped, not
#     because the pod went quiet.
. "$(dirname "$0")/lab_alert_lib.sh"
alert_lab_init mesh

THRESHOLD=2.0 # portburn's default --amplification
flaky=(LAB_PODS=0 LAB_MESH_PODS=1 LAB_FLAKY_DROP=50 LAB_FLAKY_503=20)
alert_lab_up "${flaky[@]}"
mns=$(pod_namespace mesh-0)
SOCK=$LAB_STATE/pods/mesh-0/istio-proxy/admin.sock

# haproxy's counters: app connections accepted, upstream connections opened
proxy_counts() {
	echo "show stat" | socat -t 2 - "UNIX-CONNECT:$SOCK" 2>/dev/null | awk -F, '
		NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) c[$i] = i; next }
		$1 == "outbound" && $2 == "FRONTEND" { a = $(c["stot"]) }
		$1 == "original_dst" && $2 == "original_dst" { u = $(c["connect"]) }
		END { if (a != "" && u != "") print a + 0, u + 0 }'
}
# "t_ns app upstream" lines into FILE, every 50 ms (a sampling period)
proxy_poller() {
	while :; do
		c=$(proxy_counts)
		[ -z "$c" ] || echo "$(date +%s%N) $c"
		sleep 0.05
	done >"$1"
}
# upstream connections haproxy had opened when it had accepted A app
# connections (linear between the samples around A); "nan" if never reached
upstream_at() { # file A
	awk -v A="$2" '
		$2 <= A { a0 = $2; u0 = $3; lo = 1 }
		$2 >= A && !hi { a1 = $2; u1 = $3; hi = 1 }
		END {
			if (!lo || !hi) { print "nan"; exit }
			print (a1 == a0 ? u0 : u0 + (A - a0) / (a1 - a0) * (u1 - u0))
		}' "$1"
}
pct_off() { awk -v r="$1" -v t="$2" 'BEGIN { d = (r - t) / t * 100; printf "%.1f", d < 0 ? -d : d }'; }

start_trace --host-root "$HOST_ROOT"
log "portburn trace ready"
amp=".namespace == \"$mns\" and .pod == \"mesh-0\" and .kind == \"amplification\""

# ---- 1: retries on ----
proxy_poller "$T/proxy1" &
poller=$!
_PIDS+=("$poller")
out=$("$LAB" scenario mesh-amplification --pod mesh-0 --requests 300 --rate 60 --concurrency 8 \
	--target flaky 2>&1) || { echo "$out"; die "lab scenario mesh-amplification failed"; }
kill "$poller"
grep -E '^(mesh-amplification:|scenario=)' <<<"$out" | sed 's/^/# /'
run_ratio=$(result "$out" ratio)
check "scenario: retries happened (proxy ratio $run_ratio >= $THRESHOLD)" holds "$run_ratio >= $THRESHOLD"

poll_until 5 '[ -n "$(alerts "$amp and .phase == \"start\"")" ]'
starts=$(alerts "$amp and .phase == \"start\"")
eq "one amplification START for mesh-0 (not a storm, no pod-wide duplicate)" \
	"$(count_lines <<<"$starts")" 1
a=$(head -n 1 <<<"$starts")
start_ratio=0
if [ -n "$a" ]; then
	log "alert: $a"
	eq "names the sidecar container" "$(field container <<<"$a")" istio-proxy
	eq "role sidecar" "$(field role <<<"$a")" sidecar
	eq "names the destination the app asked for" \
		"$(field daddr <<<"$a"):$(field dport <<<"$a")" 203.0.113.11:80
	eq "scope: that destination" "$(field scope <<<"$a")" destination
	start_ratio=$(field ratio <<<"$a")
	napp=$(field app_conns <<<"$a")
	nside=$(field sidecar_conns <<<"$a")
	up=$(upstream_at "$T/proxy1" "$napp")
	if [ "$up" = nan ]; then
		check "haproxy's counters reached the alert's $napp app connections" false
	else
		true_ratio=$(awk -v u="$up" -v a="$napp" 'BEGIN { printf "%.3f", u / a }')
		off=$(pct_off "$start_ratio" "$true_ratio")
		log "alert: ratio $start_ratio = $nside sidecar / $napp app connections; haproxy at $napp app connections: $up upstream = $true_ratio; run-wide (scenario, 300 app connections): $run_ratio ($(pct_off "$start_ratio" "$run_ratio") % off)"
		check "ratio $start_ratio within 10 % of the proxy's $true_ratio over the same connections ($off % off)" \
			holds "$off <= 10"
	fi
else
	check "an amplification alert for mesh-0" false
fi

# ---- 2: retries off ----
"$LAB" down >/dev/null 2>&1 || die "lab down failed"
alert_lab_up "${flaky[@]}" LAB_SIDECAR_RETRIES=0
check "the redeployed sidecar has retries 0" \
	grep -Eq '^[[:space:]]*retries 0$' "$LAB_STATE/pods/mesh-0/istio-proxy/haproxy.cfg"
log "mesh-0 redeployed with retries off; the app keeps sending"
"$LAB" loadgen mesh-0 -- -t 203.0.113.11:80 -m http -r 60 -c 8 -n 2700 -d 45 >"$T/loadgen2.out" 2>&1 &
_PIDS+=($!)
t_switch=$(date +%s%N)
poll_until 45 '[ -n "$(alerts "$amp and .phase == \"clear\"")" ]'
read -r papp pup <<<"$(proxy_counts)"
clears=$(alerts "$amp and .phase == \"clear\"")
c=$(head -n 1 <<<"$clears")
if [ -n "$c" ]; then
	log "clear: $c"
	log "cleared $(secs $(($(ts_of <<<"$c") - t_switch))) s after the switch"
	cr=$(field ratio <<<"$c")
	ptrue=$(awk -v u="$pup" -v a="$papp" 'BEGIN { printf "%.3f", a ? u / a : 0 }')
	log "clear: ratio $cr ($(field sidecar_conns <<<"$c") sidecar / $(field app_conns <<<"$c") app connections); haproxy since the redeploy: $pup upstream / $papp app = $ptrue"
	eq "the clear is the same alert (sidecar, destination)" \
		"$(field container <<<"$c") $(field daddr <<<"$c"):$(field dport <<<"$c")" "istio-proxy 203.0.113.11:80"
	check "the ratio dropped: $start_ratio -> $cr, below the threshold's hysteresis (0.9 x $THRESHOLD)" \
		holds "$cr < 0.9 * $THRESHOLD && $cr < $start_ratio"
	check "the window still held app traffic (app_conns $(field app_conns <<<"$c") >= 20): cleared by the ratio, not by silence" \
		holds "$(field app_conns <<<"$c") >= 20"
	check "clear ratio $cr within 10 % of the proxy's $ptrue ($(pct_off "$cr" "$ptrue") % off)" \
		holds "$ptrue > 0 && $(pct_off "$cr" "$ptrue") <= 10"
else
	check "the amplification alert clears with retries off (within 45 s)" false
fi
eq "no new amplification START once retries are off" \
	"$(alerts "$amp and .phase == \"start\"" | count_lines)" 1

stop_trace
eq "portburn trace exits 0" "$TRACE_RC" 0
log "portburn: $(trace_summary)"
keep_evidence
finish
