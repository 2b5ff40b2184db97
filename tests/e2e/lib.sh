#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Shared by the end-to-end tests: namespaces, cgroups and processes made here
# are recorded and removed on exit, even when the test fails.
set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PORTBURN=$TOP/portburn
TCPCONN=$TOP/build/tests/helpers/tcpconn
ID=pbt$$
T=$(mktemp -d /tmp/portburn-test.XXXXXX)
CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
FAILS=0
CHECKS=0
_NETNS=()
_CGROUPS=()
_PIDS=()

_cleanup() {
	local p ns cg
	for p in "${_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	for cg in "${_CGROUPS[@]}"; do
		if [ -f "$cg/cgroup.procs" ]; then
			while read -r p; do kill -KILL "$p" 2>/dev/null; done <"$cg/cgroup.procs"
			for _ in $(seq 50); do [ -s "$cg/cgroup.procs" ] || break; sleep 0.1; done
		fi
		# the last task's exit is seen a moment later: EBUSY until then
		for _ in $(seq 50); do rmdir "$cg" 2>/dev/null && break; [ -d "$cg" ] || break; sleep 0.1; done
	done
	for ns in "${_NETNS[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$T"
}
trap _cleanup EXIT
trap 'exit 1' INT TERM

log() { echo "# $*"; }

# check DESCRIPTION COMMAND...: one assertion.
check() {
	local what=$1; shift
	CHECKS=$((CHECKS + 1))
	if "$@"; then
		echo "ok - $what"
	else
		echo "not ok - $what"
		FAILS=$((FAILS + 1))
	fi
}

# eq DESCRIPTION GOT WANT
eq() {
	CHECKS=$((CHECKS + 1))
	if [ "$2" == "$3" ]; then
		echo "ok - $1 ($2)"
	else
		echo "not ok - $1: got '$2', want '$3'"
		FAILS=$((FAILS + 1))
	fi
}

finish() {
	echo "# $CHECKS checks, $FAILS failed"
	[ "$FAILS" -eq 0 ] && [ "$CHECKS" -gt 0 ]
	exit $?
}

die() { echo "not ok - $*"; exit 1; }

# wait_until SECONDS COMMAND...: poll (every 50 ms) until COMMAND succeeds.
# A single argument is a shell expression, evaluated anew each time:
#   wait_until 5 '[ "$(events ".type==\"connect\"")" -ge 3 ]'
wait_until() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000)); shift
	until if [ $# -eq 1 ]; then eval "$1"; else "$@"; fi; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# new_netns SUFFIX: a network namespace with lo up; its name in REPLY.
# (Not called in $(...): the cleanup list must be the caller's.)
new_netns() {
	REPLY=$ID-$1
	ip netns add "$REPLY" || die "ip netns add $REPLY"
	_NETNS+=("$REPLY")
	ip -n "$REPLY" link set lo up
}

# new_cgroup SUFFIX: a cgroup v2 directory; its path under the mount in REPLY.
new_cgroup() {
	mkdir "$CG2/$ID-$1" || die "mkdir $CG2/$ID-$1"
	_CGROUPS+=("$CG2/$ID-$1")
	REPLY=/$ID-$1
}

# in_ns_cg NETNS CGROUP CMD...: exec CMD in the cgroup, then the namespace,
# keeping one pid (printed first). The cgroup comes first: ip netns exec
# mounts a fresh /sys, which hides the cgroup mounts.
in_ns_cg() {
	local ns=$1 cg=$2; shift 2
	sh -c 'echo $$ > "$1/cgroup.procs" && echo $$ && ns=$2 && shift 2 && exec ip netns exec "$ns" "$@"' \
		sh "$CG2$cg" "$ns" "$@"
}

# spawn NETNS CGROUP OUTFILE CMD...: start CMD in the namespace and cgroup in
# the background; its pid is the first line of OUTFILE.
spawn() {
	local ns=$1 cg=$2 out=$3; shift 3
	in_ns_cg "$ns" "$cg" "$@" >"$out" 2>&1 &
	_PIDS+=($!)
	wait_until 5 test -s "$out" || die "spawn $*"
}

# run_in NETNS CGROUP OUTFILE CMD...: the same, in the foreground.
run_in() {
	local ns=$1 cg=$2 out=$3; shift 3
	in_ns_cg "$ns" "$cg" "$@" >"$out" 2>&1
}

# start_trace ARGS...: portburn trace --json in the background, waiting until
# it is attached. Output in $T/trace.json, log in $T/trace.err.
start_trace() {
	"$PORTBURN" trace --json "$@" >"$T/trace.json" 2>"$T/trace.err" &
	TRACE_PID=$!
	_PIDS+=($TRACE_PID)
	wait_until 30 grep -q 'ready (mode' "$T/trace.err" || {
		cat "$T/trace.err"; die "portburn trace did not start"; }
}

# stop_trace: SIGINT, wait; sets TRACE_RC.
stop_trace() {
	kill -INT "$TRACE_PID"
	wait "$TRACE_PID"
	TRACE_RC=$?
}

# jq_true FILTER FILE: the filter yields true.
jq_true() { jq -e "$1" "$2" >/dev/null; }

# events JQ_FILTER: count trace events matching a jq filter.
events() { jq -c "select($1)" "$T/trace.json" | wc -l; }
