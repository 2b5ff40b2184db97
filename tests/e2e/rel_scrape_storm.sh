#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# serve under a scrape storm (issue 9): while a pod makes connections without
# pause, /metrics is asked STORM times (default 10000) by 4 curl processes
# from 4 loopback addresses, 12 requests in flight each (within the server's
# limits: 16 per address, 64 in all; two of them with a new connection per
# request, two with keep-alive), next to slow clients holding
# connections: one that sent half a request and stalls, one that sends a
# header a byte at a time, one that asked and never reads. Then an overload:
# 50 in flight from one address (beyond the per-address limit: refusals are
# expected, a stall or a crash is not). Throughout, tracing goes on: every
# connection made is counted in portburn_connects_total, no event is lost
# (portburn_events_lost_total stays 0; on a host busy with other traffic, a
# loss counts against HTTP only if a control phase without HTTP loses none),
# /healthz stays ok, and a last batch made after the storm is counted exactly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rel_lib.sh"
STORM=${STORM:-10000}

client_server "st$$"
"$PORTBURN" serve -v --listen 127.0.0.1:0 >"$T/serve.out" 2>"$T/serve.err" &
serve_ready $!
series="portburn_connects_total{namespace=\"\",pod=\"host\",container=\"$CNAME\",role=\"app\"}"
metric() { curl -s --max-time 5 "$URL/metrics" | awk -v s="$1" '$1 == s { v = $2 } END { print v + 0 }'; }

# Slow clients, all from 127.0.0.1.
exec {half}<>"/dev/tcp/127.0.0.1/$port" || die "connect for the half request"
printf 'GET /metrics HTTP/1.1\r\nHost: portburn\r\nUser-Agent: half' >&$half
exec {reader}<>"/dev/tcp/127.0.0.1/$port" || die "connect for the stalled reader"
printf 'GET /metrics HTTP/1.1\r\nHost: portburn\r\n\r\n' >&$reader
(
	exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
	for c in G E T ' ' / m e t r i c s ' ' H T T P / 1 . 1 $'\r' $'\n' X - a : ' ' b; do
		printf '%s' "$c" >&3 2>/dev/null || exit 0
		sleep 0.5
	done
	sleep 60
) &
_PIDS+=("$!")

# Connections without pause, in batches of 100, until told to stop.
(
	while [ ! -e "$T/stop" ]; do
		run_in "$ns" "$cg" "$T/batch.out" "$CLIENT" connect 127.0.0.1 8080 -n 100
		grep -c '^ok' "$T/batch.out" >>"$T/made"
		grep -c '^fail' "$T/batch.out" >>"$T/failed"
	done
) &
gen=$!
_PIDS+=("$gen")
wait_until 10 test -s "$T/made" || die "no connections made"

lost() { metric portburn_events_lost_total; }
lost0=$(lost)

# The storm: STORM requests, 4 processes from 4 addresses, 12 in flight each.
per=$((STORM / 4))
for _ in $(seq "$per"); do printf 'url = "%s/metrics"\noutput = "/dev/null"\n' "$URL"; done >"$T/storm.cfg"
start=$(date +%s%N)
storms=()
for a in 2 3 4 5; do
	close=()
	[ $a -le 3 ] && close=(-H 'Connection: close')
	curl -s --parallel --parallel-immediate --parallel-max 12 --interface "127.0.0.$a" \
		--max-time 20 "${close[@]}" -w '%{http_code}\n' --config "$T/storm.cfg" \
		>"$T/codes.$a" 2>/dev/null &
	_PIDS+=("$!")
	storms+=("$!")
done
health=0
running() { local p; for p in "${storms[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
while running; do
	[ "$(curl -s --max-time 5 --interface 127.0.0.6 "$URL/healthz")" == ok ] || health=$((health + 1))
	sleep 0.2
done
wait "${storms[@]}"
ms=$((($(date +%s%N) - start) / 1000000))
served=$(cat "$T"/codes.* | grep -c '^200$')
eq "storm: $STORM requests for /metrics, all answered 200" "$served" "$STORM"
log "storm: $served requests served in $ms ms ($(cat "$T"/codes.* | sort | uniq -c | tr '\n' ' '))"
eq "storm: /healthz never failed meanwhile" "$health" 0

# The overload: 50 in flight from one address (limit 16 per address).
for _ in $(seq 500); do printf 'url = "%s/metrics"\noutput = "/dev/null"\n' "$URL"; done >"$T/over.cfg"
curl -s --parallel --parallel-immediate --parallel-max 50 --interface 127.0.0.7 --max-time 20 \
	-H 'Connection: close' -w '%{http_code}\n' --config "$T/over.cfg" >"$T/over.codes" 2>/dev/null
over_ok=$(grep -c '^200$' "$T/over.codes")
log "overload: $over_ok of 500 served, the rest refused by the per-address limit ($(sort "$T/over.codes" | uniq -c | tr '\n' ' '))"
check "overload: some served" [ "$over_ok" -gt 0 ]
check "overload: nothing but 200 or a refused connection" \
	bash -c '! grep -qvE "^(200|000)$" "$1"' _ "$T/over.codes"
http_ms=$((($(date +%s%N) - start) / 1000000))
lost1=$(lost)

# Events lost during the HTTP phases are HTTP's doing unless the host loses
# them without HTTP too: then a control phase (3 times as long, the generator
# still running, no request) tells. On a host running nothing else both are 0.
if [ "$lost1" -eq "$lost0" ]; then
	eq "no event lost during the storm and the overload ($http_ms ms)" "$((lost1 - lost0))" 0
else
	ctl=$((http_ms * 3 > 5000 ? http_ms * 3 : 5000))
	sleep "$(awk -v m="$ctl" 'BEGIN { print m / 1000 }')"
	lost2=$(lost)
	log "$((lost1 - lost0)) events lost during the HTTP phases ($http_ms ms), $((lost2 - lost1)) in $ctl ms without HTTP"
	check "events lost during the storm ($((lost1 - lost0))) are the host's, not HTTP's: the control phase without HTTP lost some too ($((lost2 - lost1)))" \
		[ "$lost2" -gt "$lost1" ]
fi

# Stop the generator; every connection made must be counted.
touch "$T/stop"
wait "$gen"
made=$(awk '{ s += $1 } END { print s }' "$T/made")
failed=$(awk '{ s += $1 } END { print s }' "$T/failed")
log "generator: $made connections made during the storm, $failed failed"
eq "no connection of the generator failed" "$failed" 0
wait_until 10 '[ "$(metric "$series")" -ge "$made" ]'
eq "every connection made during the storm counted" "$(metric "$series")" "$made"

# The slow clients are still there (or timed out): the server is not stuck.
check "the half request did not get an answer" bash -c "! timeout 1 head -c 1 <&$half | grep -q ."
exec {half}>&- {reader}>&-

lost_end=$(lost)
# Tracing goes on after the storm.
run_in "$ns" "$cg" "$T/last.out" "$CLIENT" connect 127.0.0.1 8080 -n 100
wait_until 10 '[ "$(metric "$series")" -ge $((made + 100)) ]'
eq "a batch after the storm counted exactly" "$(metric "$series")" $((made + 100))
eq "/healthz after the storm" "$(curl -s "$URL/healthz")" ok
kill -TERM $spid
wait $spid
eq "serve: exit 0 on SIGTERM" "$?" 0
check "serve: its own count of lost events at exit agrees with /metrics ($lost_end)" \
	grep -q "^portburn: $lost_end events lost" "$T/serve.err"
finish
