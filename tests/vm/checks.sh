#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# portburn's kernel-facing checks in one hook mode. Runs as PID 1's child in
# the VM guest (busybox sh) and on the host (tests/vm/run.sh, host leg): the
# traffic comes from pbvm-conn in network namespaces of its own, from a process
# in a cgroup created here.
#
# Usage: checks.sh MODE [EXPECTED_MODE]
#   MODE           passed to --mode (auto, fentry, kprobe, tracepoint)
#   EXPECTED_MODE  what portburn must report it runs in (default MODE; auto
#                  must pick fentry on the Debian kernels, tracepoint on hosts
#                  where fentry is refused)
# Environment: PORTBURN (portburn binary), PBVM_CONN (pbvm-conn), PBVM_JQ
# (checks.jq), PBVM_READY_TIMEOUT (seconds to attach, default 60; it takes
# 1-3 s under TCG), PBVM_EVENT_TIMEOUT (seconds for events to
# arrive once the traffic is done, default 8), PBVM_TRACE_ARGS (extra args).
# Output: "PBVM CHECK <mode> <check> PASS|FAIL [why]" per check, then
# "PBVM RESULT <mode> PASS|FAIL"; exit 0 when every check passed.
set -u

mode=${1:?usage: checks.sh MODE [EXPECTED_MODE]}
expect=${2:-$mode}
here=$(cd "$(dirname "$0")" && pwd)
pb=${PORTBURN:-portburn}
conn=${PBVM_CONN:-$here/pbvm-conn}
jqprog=${PBVM_JQ:-$here/checks.jq}
snapjq=${jqprog%/*}/snapshot.jq
ready_timeout=${PBVM_READY_TIMEOUT:-60}
event_timeout=${PBVM_EVENT_TIMEOUT:-8}
failed=0
uptime_s() { cut -d. -f1 /proc/uptime; }
t0=$(uptime_s)
tpid=
cgdir=
hpid=

work=$(mktemp -d "${TMPDIR:-/tmp}/pbvm.XXXXXX") || exit 1

phases=
phase() { # name: seconds since the previous phase, for the RESULT line
	now_s=$(uptime_s)
	phases="$phases $1=$((now_s - ${last_s:-$t0}))s"
	last_s=$now_s
}

report() { # check PASS|FAIL [why]
	printf 'PBVM CHECK %s %s %s%s\n' "$mode" "$1" "$2" "${3:+ $3}"
	[ "$2" = PASS ] || failed=1
}

cleanup() {
	[ -n "$tpid" ] && kill -KILL "$tpid" 2>/dev/null
	[ -n "$hpid" ] && kill -KILL "$hpid" 2>/dev/null
	[ -n "$cgdir" ] && rmdir "$cgdir" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Poll CONDITION (a shell command) every 0.2 s until it holds or SECONDS of
# wall-clock time passed (checks run slowly under TCG: never count iterations).
wait_for() { # seconds condition...
	deadline=$(($(uptime_s) + $1))
	shift
	while ! "$@"; do
		[ "$(uptime_s)" -lt $deadline ] || return 1
		sleep 0.2
	done
}

alive() { kill -0 "$1" 2>/dev/null; }

# Show the tail of a file on failure, indented, so the serial log explains it.
show() { # file
	[ -s "$1" ] && tail -n 15 "$1" | sed "s/^/PBVM LOG $mode | /"
}

# --- a cgroup for the client: its id must show up as the owner's cgroup_id
cgroot=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -z "$cgroot" ]; then
	report setup FAIL "no cgroup2 mount in /proc/self/mounts"
	echo "PBVM RESULT $mode FAIL"
	exit 1
fi
cgdir=$cgroot/pbvm-$$-$mode
mkdir "$cgdir" || { cgdir=; report setup FAIL "cannot create a cgroup under $cgroot"; }

# --- attach
# shellcheck disable=SC2086 # PBVM_TRACE_ARGS is a list of words
"$pb" trace --json --mode "$mode" -v ${PBVM_TRACE_ARGS:-} >"$work/events" 2>"$work/stderr" &
tpid=$!
ready() { grep -q 'portburn: ready (mode ' "$work/stderr" || ! alive "$tpid"; }
wait_for "$ready_timeout" ready
if ! grep -q 'portburn: ready (mode ' "$work/stderr"; then
	if alive "$tpid"; then
		report attach FAIL "no 'portburn: ready' line within ${ready_timeout}s"
	else
		wait "$tpid"
		report attach FAIL "portburn trace --mode $mode exited $? before it was ready"
	fi
	show "$work/stderr"
	echo "PBVM RESULT $mode FAIL"
	exit 1
fi
phase attach
got=$(sed -n 's/.*portburn: ready (mode \([a-z_]*\)).*/\1/p' "$work/stderr" | head -n 1)
if [ "$got" = "$expect" ]; then
	report ready PASS "mode $got"
else
	report ready FAIL "--mode $mode runs in mode '$got', want '$expect'"
fi

# --- traffic: one listener port per scenario
: >"$work/facts"
scenario() { # name helper-args...
	name=$1
	shift
	if "$conn" ${cgdir:+-c "$cgdir"} -n "$name" "$@" >"$work/$name.facts" 2>"$work/$name.err"; then
		cat "$work/$name.facts" >>"$work/facts"
	else
		report "$name" FAIL "pbvm-conn $* failed: $(head -c 300 "$work/$name.err")"
	fi
}
scenario tw_ipv4 -p 5001 conns 5 client
scenario tw_ipv6 -6 -p 5002 conns 3 client
scenario close_ipv4 -p 5003 conns 5 server
scenario eaddrnotavail -p 5004 exhaust 10 15
scenario econnrefused refused
phase traffic

# --- wait until every scenario's events are in (or the deadline), then stop
# Only lines about the scenarios' ports reach jq (a busy host prints thousands
# of others), and every line that is not a JSON object (its first one).
verdicts() {
	{
		grep -v '^{.*}$' "$work/events" | grep -v '^[[:space:]]*$' | head -n 1
		grep -E '"dport": ?(500[0-9]|9)[,}]' "$work/events"
	} | jq -n -R -r --slurpfile facts "$work/facts" --arg mode "$expect" -f "$jqprog" \
		>"$work/verdicts" 2>"$work/jq.err"
}
# jq costs ~0.5 s per run under TCG: only judge again when new lines arrived
# and there are at least as many as the scenarios must produce.
min_lines=$(jq -s '[.[] | (.sports | length) + (.errors | length)] | add // 0' "$work/facts")
seen=-1
all_pass() {
	n=$(wc -l <"$work/events")
	[ "$n" -ge "$min_lines" ] && [ "$n" -ne "$seen" ] || return 1
	seen=$n
	verdicts && ! grep -q '	FAIL' "$work/verdicts"
}
wait_for "$event_timeout" all_pass
phase events

kill -INT "$tpid" 2>/dev/null
stopped() { ! alive "$tpid"; }
if wait_for 10 stopped; then
	wait "$tpid"
	rc=$?
	if [ $rc -eq 0 ]; then
		report exit PASS "SIGINT -> exit 0"
	else
		report exit FAIL "SIGINT -> exit $rc"
	fi
else
	report exit FAIL "still running 10 s after SIGINT"
fi
tpid=
phase exit

# Final verdicts on everything printed until exit (late duplicates count).
if ! verdicts; then
	report verdicts FAIL "jq failed: $(head -c 300 "$work/jq.err")"
fi
while IFS='	' read -r name result why; do
	report "$name" "$result" "$why"
done <"$work/verdicts"

# --- -v names the program attached for each hook: "<kind>_<hook>" (the
# program's name) or "<kind>/<hook>" (its section) on a line about attaching.
case $expect in
fentry) hooks="inet_hash_connect tcp_connect tcp_time_wait" kinds='fentry|fexit' ;;
kprobe) hooks="inet_hash_connect tcp_connect tcp_time_wait" kinds='kprobe|kretprobe' ;;
*) hooks="inet_sock_set_state" kinds='tp|tp_btf|raw_tp|tracepoint' ;;
esac
missing=
for h in $hooks; do
	grep -v 'portburn: ready' "$work/stderr" | grep -i attach |
		grep -Eq "(^|[^a-z_])($kinds)[_/]$h([^a-z0-9_]|\$)" || missing="$missing $h"
done
if [ -z "$missing" ]; then
	report verbose PASS
else
	report verbose FAIL "-v shows no ($kinds) program attached for:$missing"
fi

# --- snapshot (iter/tcp) agrees with the sockets the helper holds: per
# destination (netns, saddr, daddr, dport) its open and TIME_WAIT counts, the
# open ones owned by the helper's cgroup, the TIME_WAIT ones (which predate
# the snapshot and carry no cgroup) by that cgroup or by the namespace.
snapshot() {
	mkfifo "$work/hold.in"
	"$conn" ${cgdir:+-c "$cgdir"} -p 5005 hold 4 3 <"$work/hold.in" >"$work/hold.facts" \
		2>"$work/hold.err" &
	hpid=$!
	exec 3>"$work/hold.in"
	held() { [ -s "$work/hold.facts" ] || ! alive "$hpid"; }
	wait_for 20 held
	timeout 60 "$pb" snapshot --json --mode "$mode" >"$work/snap" 2>"$work/snap.err"
	src=$?
	exec 3>&-
	wait "$hpid"
	hpid=
	if [ ! -s "$work/hold.facts" ]; then
		report snapshot FAIL "pbvm-conn hold failed: $(head -c 300 "$work/hold.err")"
		return
	fi
	if [ $src -ne 0 ]; then
		report snapshot FAIL "portburn snapshot --json exited $src: $(tail -n 3 "$work/snap.err" | head -c 300)"
		return
	fi
	why=$(jq -r -n --slurpfile f "$work/hold.facts" --slurpfile s "$work/snap" \
		--arg mode "$expect" --arg cg "/${cgdir#"$cgroot"/}" -f "$snapjq" 2>&1)
	if [ -z "$why" ]; then
		report snapshot PASS
	else
		report snapshot FAIL "$why"
	fi
}
snapshot
phase snapshot

if [ $failed -ne 0 ]; then
	echo "PBVM LOG $mode portburn stderr (tail):"
	show "$work/stderr"
	echo "PBVM RESULT $mode FAIL $(($(uptime_s) - t0))s:$phases"
	exit 1
fi
echo "PBVM RESULT $mode PASS $(($(uptime_s) - t0))s:$phases"
