#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Snapshot (issue 8): with 50,000 sockets in a namespace of our own (half held
# open, half in TIME_WAIT on the client), time `portburn snapshot --json` next
# to the pipeline an SRE types today, `ss -tan | awk | sort | uniq -c`, in one
# run: median of BENCH_SNAP_RUNS (3) each. ss sees one namespace (we give it the
# right one); portburn sees the whole node.
# Env: BENCH_SNAP_SOCKETS (50000), BENCH_SNAP_RUNS (3).
set -u
# shellcheck source=tools/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root

TOTAL=${BENCH_SNAP_SOCKETS:-50000}
RUNS=${BENCH_SNAP_RUNS:-3}
TW=$((TOTAL / 2))
HOLD=$((TOTAL - TW))
STORM_PORTS=23000-23031
HOLD_PORTS=23100-23131

elapsed() { # cmd... ; prints seconds, returns the command's status
	local t0 t1 rc
	t0=$(date +%s.%N)
	"$@"
	rc=$?
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >>"$RUN/times"
	return $rc
}

ss_pipeline() {
	ip netns exec "$NS_C" ss -tan | awk 'NR > 1 { print $1, $5 }' | sort | uniq -c |
		sort -rn >"$RUN/ss.out"
}

pb_snapshot() {
	"$PORTBURN" snapshot --json >"$RUN/snap.json" 2>"$RUN/snap.err"
}

ns_veth p
server_start snap-server 600 -a "$SERVER_ADDR" -p "$STORM_PORTS" -t 2
bg_start snap-queue ip netns exec "$NS_S" "$CONNSTORM" serve -m queue -d 600 \
	-a "$SERVER_ADDR" -p "$HOLD_PORTS"
BENCH_QUEUE_PID=$BG_PID
wait_line "$RUN/snap-queue.err" '^connstorm: serving' 10 "$BENCH_QUEUE_PID" ||
	die "queue server did not start: $(cat "$RUN/snap-queue.err")"

# TIME_WAIT half: the client closes first.
ip netns exec "$NS_C" "$CONNSTORM" -q -a "$SERVER_ADDR" -p "$STORM_PORTS" -t 2 -n "$TW" \
	-d 60 -r 1 >"$RUN/snap-storm.json" || log "connstorm storm failed"
# Open half.
hold_start snap-hold "$HOLD" "$SERVER_ADDR" "$HOLD_PORTS" 600
hold_wait snap-hold 120 || log "connstorm did not hold all $HOLD connections"
n_tw=$(ip netns exec "$NS_C" ss -tanH state time-wait | wc -l)
n_est=$(ip netns exec "$NS_C" ss -tanH state established | wc -l)

: >"$RUN/times"
for ((r = 0; r < RUNS; r++)); do
	elapsed ss_pipeline
done
ss_time=$(median <"$RUN/times")
ss_lines=$(wc -l <"$RUN/ss.out")

pb_time=n/a pb_note=
if ! portburn_exists; then
	pb_note="no ./portburn"
elif ! "$PORTBURN" snapshot --help >/dev/null 2>&1; then
	pb_note="portburn has no 'snapshot' command yet"
else
	: >"$RUN/times"
	ok=1
	for ((r = 0; r < RUNS; r++)); do
		elapsed pb_snapshot || ok=0
	done
	if [ $ok = 1 ] && jq -e . "$RUN/snap.json" >/dev/null 2>&1; then
		pb_time=$(median <"$RUN/times")
		pb_note="$(stat -c %s "$RUN/snap.json") bytes of JSON"
	else
		pb_note="failed: $(tail -n 1 "$RUN/snap.err")"
	fi
fi
hold_stop

echo "== snapshot: $n_est established + $n_tw TIME_WAIT sockets in the client namespace, median of $RUNS"
{
	printf 'method\ttime\tnote\n'
	printf 'ss -tan | awk | sort | uniq -c\t%s s\t%s lines, one namespace\n' "$ss_time" "$ss_lines"
	pb_cell=n/a
	[ "$pb_time" = n/a ] || pb_cell="$pb_time s"
	printf 'portburn snapshot --json\t%s\t%s\n' "$pb_cell" "$pb_note"
} >"$RUN/snap.table"
print_table "$RUN/snap.table"

if [ "$pb_time" = n/a ]; then
	result snapshot "portburn snapshot, $((n_est + n_tw)) sockets" "n/a ($pb_note)" \
		"< 1 s and < ss ($ss_time s)" "n/a"
else
	verdict=$(awk -v p="$pb_time" -v s="$ss_time" 'BEGIN { print (p < 1 && p < s) ? "met" : "MISSED" }')
	result snapshot "portburn snapshot, $((n_est + n_tw)) sockets" "$pb_time s" \
		"< 1 s and < ss ($ss_time s)" "$verdict"
fi
exit 0
