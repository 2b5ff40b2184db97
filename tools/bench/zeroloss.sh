#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Zero loss (issue 8): connstorm at its top rate (connect and close, no request)
# over veth between two namespaces of our own while `portburn trace --json`
# runs with default settings. Its lost-event count must stay 0, and its events
# for connstorm's client process must match connstorm's own counts:
#   connect                == connected
#   close + time_wait      == closes
#   connect_failed         == connect failures
# Env: BENCH_SECONDS (5), BENCH_THREADS (2).
set -u
# shellcheck source=tools/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root

SECS=${BENCH_SECONDS:-5}
THREADS=${BENCH_THREADS:-2}
PORTS=21000-21063

na() {
	echo "== zero loss: n/a ($1)"
	result "zero loss" "lost events at top rate" "n/a ($1)" "0" "n/a"
	result "zero loss" "portburn events = connstorm counts" "n/a" "equal" "n/a"
	exit 0
}

portburn_exists || na "no ./portburn"
ns_veth z
server_start zl-server $((SECS + 120)) -a "$SERVER_ADDR" -p "$PORTS" -t "$THREADS"
BG_OUT=$RUN/zl.ndjson portburn_start zl-portburn trace --json || na "portburn trace did not start"
PB=$PB_PID

bg_start zl-storm ip netns exec "$NS_C" "$CONNSTORM" -q -a "$SERVER_ADDR" -p "$PORTS" \
	-t "$THREADS" -d "$SECS" -r 0
STORM=$BG_PID
wait "$STORM"
# The last connections end just after connstorm: wait until portburn's output
# has stopped growing (at most 10 s), then stop it; it drains its buffers on exit.
last=-1
for ((i = 0; i < 40; i++)); do
	size=$(stat -c %s "$RUN/zl.ndjson")
	[ "$size" = "$last" ] && break
	last=$size
	sleep 0.25
done
stop_pid "$PB" INT 30

J=$RUN/zl-storm.out
connected=$(json_num "$J" connected)
closes=$(json_num "$J" closes)
cfail=$(json_num "$J" connect_failures)
rate=$(json_num "$J" conn_per_s)
lost=$(portburn_lost "$RUN/zl-portburn.err")
untracked=$(portburn_final_count "$RUN/zl-portburn.err" "connections untracked")
# Events of connstorm's client process only (the server's are not its own).
read -r ev_connect ev_close ev_tw ev_fail ev_all < <(awk -v pid="\"pid\":$STORM," '
	{ all++ }
	index($0, pid) {
		if (index($0, "\"type\":\"connect\"")) c++
		else if (index($0, "\"type\":\"close\"")) cl++
		else if (index($0, "\"type\":\"time_wait\"")) tw++
		else if (index($0, "\"type\":\"connect_failed\"")) f++
	}
	END { print c + 0, cl + 0, tw + 0, f + 0, all + 0 }' "$RUN/zl.ndjson")
ends=$((ev_close + ev_tw))

echo "== zero loss: connstorm -r 0 over veth, $THREADS+$THREADS threads, ${SECS}s, portburn defaults"
{
	printf 'figure\tconnstorm\tportburn\n'
	printf 'rate (conn/s)\t%s\t-\n' "$rate"
	printf 'connects\t%s\t%s\n' "$connected" "$ev_connect"
	printf 'closes\t%s\t%s (close %s + time_wait %s)\n' "$closes" "$ends" "$ev_close" "$ev_tw"
	printf 'connect failures\t%s\t%s\n' "$cfail" "$ev_fail"
	printf 'lost events\t-\t%s\n' "${lost:-not reported}"
	printf 'untracked connections\t-\t%s\n' "${untracked:-not reported}"
	printf 'all NDJSON lines\t-\t%s\n' "$ev_all"
} >"$RUN/zl.table"
print_table "$RUN/zl.table"

v_lost=MISSED
[ "${lost:-x}" = 0 ] && v_lost=met
[ -z "$lost" ] && v_lost="n/a (no count printed)"
result "zero loss" "lost events at $rate conn/s" "${lost:-n/a}" "0" "$v_lost"
v_eq=MISSED
[ "$connected" = "$ev_connect" ] && [ "$closes" = "$ends" ] && [ "$cfail" = "$ev_fail" ] && v_eq=met
result "zero loss" "portburn connect/close = connstorm" \
	"$ev_connect/$ends vs $connected/$closes" "equal" "$v_eq"
exit 0
