# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Shared by tests/e2e/lab_alert_*.sh (sourced, not run: not executable, like
# lib.sh): issue 6's "Done when" in the lab. Each test runs its own lab (own
# LAB_STATE, LAB_PREFIX=pla<pid>) and its own `portburn trace --json` on the
# lab's host root; the EXIT trap stops what the test started and always runs
# `lab down`, pass or fail.
#
# The trace sees the whole host (other sessions' labs and tests included):
# alerts are matched on the names only this lab's host root can give (its
# pods' namespace/pod/container), events on this lab's cgroup ids.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LAB=$TOP/tools/lab/lab
TRACE=$T/trace.json
_T0=$(date +%s%N)

# log MESSAGE: a comment line with the seconds since the test began
log() { printf '# [%5.1fs] %s\n' "$(awk -v n=$(($(date +%s%N) - _T0)) 'BEGIN { print n / 1e9 }')" "$*"; }

# alert_lab_init NAME: private lab instance, cleanup trap, preconditions.
alert_lab_init() {
	ALERT_TEST=$1
	[ "$(id -u)" -eq 0 ] || die "lab tests need root"
	[ -x "$PORTBURN" ] || die "$PORTBURN missing (run: make portburn)"
	[ -x "$TOP/build/lab/loadgen" ] || die "build/lab/loadgen missing (run: make lab)"
	command -v socat >/dev/null || die "socat missing (tools/install-deps.sh)"
	export LAB_STATE=/run/portburn-lab-test-alert-$1-$$
	export LAB_PREFIX=pla$$
	trap _alert_cleanup EXIT
}

_alert_cleanup() {
	local rc=$?
	trap - EXIT
	_cleanup # background processes of the test (portburn, pollers), then $T
	"$LAB" down >/dev/null 2>&1 || echo "# cleanup: lab down failed (LAB_STATE=$LAB_STATE)"
	exit "$rc"
}

# alert_lab_up [VAR=VALUE...]: lab up with these settings; HOST_ROOT, STATUS.
alert_lab_up() {
	env "$@" "$LAB" up >"$T/lab-up.log" 2>&1 || { cat "$T/lab-up.log"; die "lab up failed"; }
	log "$(tail -n 1 "$T/lab-up.log")"
	STATUS=$T/status.json
	"$LAB" status --json >"$STATUS" || die "lab status failed"
	# shellcheck disable=SC2034 # for the test
	HOST_ROOT=$(jq -r .host_root "$STATUS")
}

# Lab facts from the last alert_lab_up.
pod_netns() { jq -r --arg p "$1" '.pods[] | select(.name == $p) | .netns' "$STATUS"; }
pod_namespace() { jq -r --arg p "$1" '.pods[] | select(.name == $p) | .namespace' "$STATUS"; }
cgroup_id_of() { # pod container
	jq -r --arg p "$1" --arg c "$2" \
		'.pods[] | select(.name == $p) | .containers[] | select(.name == $c) | .cgroup_id' "$STATUS"
}

# value of KEY in the "scenario=..." result line of OUTPUT
result() { # output key
	local line w
	line=$(grep '^scenario=' <<<"$1" | tail -n 1)
	for w in $line; do
		[ "${w%%=*}" = "$2" ] && { echo "${w#*=}"; return 0; }
	done
	echo "# no '$2' in the scenario result: $line" >&2
	echo 0
}

# The same for a loadgen summary line (key=value ...).
kv() { # line key
	local w
	for w in $1; do
		[ "${w%%=*}" = "$2" ] && { echo "${w#*=}"; return 0; }
	done
	echo 0
}

# lines FILE TYPE [JQ_CONDITION]: the raw NDJSON lines of type TYPE for which
# the condition holds, unchanged (jq 1.6 would round the 19-digit ts_ns).
# A half-written last line does not parse and is skipped.
lines_of() {
	local file=$1 type=$2 cond=${3:-true}
	grep -F "{\"type\":\"$type\"," "$file" 2>/dev/null |
		jq -rR ". as \$l | (fromjson? // empty) | select(.type == \"$type\" and ($cond)) | \$l"
}
alerts() { lines_of "$TRACE" alert "${1:-true}"; }
evlines() { lines_of "$TRACE" "$@"; } # TYPE [COND]
count_lines() { grep -c . || true; }

# exact ts_ns of the first line on stdin
ts_of() { head -n 1 | grep -o '"ts_ns":[0-9]*' | cut -d: -f2; }
# a field of the first line on stdin (numbers as jq sees them: fine below 2^53)
field() { head -n 1 | jq -r ".$1"; }

# is the awk expression true?  e.g. holds "$a < 1.5 * $b"
holds() { awk "BEGIN { exit !($1) }"; }
# nanoseconds -> seconds with 3 decimals
secs() { awk -v n="$1" 'BEGIN { printf "%.3f", n / 1e9 }'; }

# poll_until SECONDS EXPR: like wait_until, every 100 ms (the trace file grows
# by thousands of lines a second on a busy host; 20 scans a second are waste).
poll_until() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000))
	until eval "$2"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# On failure: keep the trace and the lab status for the diagnosis.
keep_evidence() {
	[ "$FAILS" -eq 0 ] && return 0
	local d=$TOP/build/test-logs
	mkdir -p "$d"
	cp "$TRACE" "$d/lab_alert_$ALERT_TEST.trace.json" 2>/dev/null &&
		echo "# trace kept in build/test-logs/lab_alert_$ALERT_TEST.trace.json"
	cp "$STATUS" "$d/lab_alert_$ALERT_TEST.status.json" 2>/dev/null
	echo "# alerts seen:"
	alerts true | cut -c1-400 | sed 's/^/#   /'
}

# earliest ts_ns of the lines on stdin
min_ts() { grep -o '"ts_ns":[0-9]*' | cut -d: -f2 | sort -n | head -n 1; }

# observe SECONDS EXPR: watch for something that must NOT happen, for a bounded
# time (absence has no event to wait for); true if it happened.
observe() { poll_until "$1" "$2"; }

# portburn's own accounting at exit (SIGINT), from trace.err
trace_summary() { grep -o '[0-9]* events received, [0-9]* lost' "$T/trace.err" | tail -n 1; }
