# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Shared by tests/e2e/lab_pb_*.sh: portburn against the lab (tools/lab), with
# exact known numbers. Not a test itself (not executable: tests/run.sh skips it).
#
# Each test gets its own lab (LAB_STATE, LAB_PREFIX=plp<pid>), its own
# portburn processes and listen ports, and tears all of it down on exit, pass
# or fail: processes first, then the cgroups made by hand, then `lab down`.
#
# Uses tools/lab/testlib.sh for the lab (LAB, result, socks, status_json,
# pod_netns) and tests/e2e/lib.sh for the checks (check, eq, finish,
# wait_until, log, $T, _PIDS); the checks go on after a failure so that every
# "not ok" is reported.
_PB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../tools/lab/testlib.sh
. "$_PB_DIR/../../tools/lab/testlib.sh"
# shellcheck source=lib.sh
. "$_PB_DIR/lib.sh"
set +e +o pipefail
set -u

_PB_CGROUPS=()	# absolute cgroup paths made by the test itself, parents first
declare -A SERVE_PID SERVE_PORT

# pb_init NAME: preconditions, own lab instance, cleanup trap.
pb_init() {
	[ "$(id -u)" -eq 0 ] || die "lab tests need root"
	[ -x "$PORTBURN" ] || die "no $PORTBURN (run: make portburn)"
	[ -x "$LAB_REPO/build/lab/loadgen" ] || die "build/lab/loadgen missing (run: make lab)"
	export LAB_STATE=/run/portburn-lab-test-pb-$1-$$
	export LAB_PREFIX=plp$$
	trap _pb_cleanup EXIT
}

_pb_cleanup() {
	local rc=$? i cg p
	for p in "${_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; kill -CONT "$p" 2>/dev/null; done
	for ((i = ${#_PB_CGROUPS[@]} - 1; i >= 0; i--)); do
		cg=${_PB_CGROUPS[$i]}
		[ -d "$cg" ] || continue
		[ -e "$cg/cgroup.kill" ] && echo 1 >"$cg/cgroup.kill" 2>/dev/null
		while read -r p; do kill -KILL "$p" 2>/dev/null; done <"$cg/cgroup.procs"
		for _ in $(seq 50); do rmdir "$cg" 2>/dev/null && break; sleep 0.05; done
	done
	"$LAB" down >/dev/null 2>&1 || echo "# cleanup: lab down failed" >&2
	_cleanup
	exit "$rc"
}

# pb_up ARGS...: `lab up` with ARGS; sets HR (host root) and CG2 (cgroup2 mount).
pb_up() {
	"$LAB" up "$@" >"$T/up.log" 2>&1 || { cat "$T/up.log"; die "lab up $*"; }
	HR=$(status_json | jq -r .host_root)
	# shellcheck disable=SC2034 # lib.sh's, for the tests and in_ns_cg
	CG2=$(status_json | jq -r .cgroup2)
	log "lab up $*: prefix $LAB_PREFIX, host root $HR"
}

# POD's IPv4 address
pod_ip() { status_json | jq -r --arg p "$1" '.pods[] | select(.name == $p) | .ip'; }

# inode of POD's network namespace (what portburn calls netns)
netns_ino() { stat -L -c %i "/run/netns/$(pod_netns "$1")"; }

# loadgen POD [--container NAME] -- ARGS...: the lab's load generator in a
# container, in the foreground; its summary line on stdout.
loadgen() { "$LAB" loadgen "$@" 2>"$T/loadgen.err"; }

# hold NAME N POD [--container C]: N connections to the web server, held
# open (60 s at most) in the background until the test ends; returns once all
# are connected.
hold() {
	local name=$1 n=$2
	shift 2
	"$LAB" loadgen "$@" -- -t 203.0.113.10:80 -m hold -n "$n" -d 60 \
		>"$T/hold-$name.out" 2>"$T/hold-$name.err" &
	_PIDS+=($!)
	wait_until 20 grep -q '^loadgen: holding' "$T/hold-$name.err" ||
		die "hold $name: $(cat "$T/hold-$name.err")"
	grep -q "^loadgen: holding $n connections" "$T/hold-$name.err" ||
		die "hold $name: $(cat "$T/hold-$name.err")"
}

# A TCP port nobody listens on, for serve.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 20000))
		[ -z "$(ss -Htln "sport = :$p")" ] && { echo "$p"; return 0; }
	done
	die "no free port"
}

# start_serve NAME [--port P] ARGS...: portburn serve on 127.0.0.1 against the
# lab's host root; returns once /metrics answers (the first view is built).
# Output in $T/NAME.out (alerts), log in $T/NAME.err.
start_serve() {
	local name=$1 port
	shift
	if [ "${1:-}" = --port ]; then port=$2; shift 2; else port=$(free_port); fi
	"$PORTBURN" serve --listen "127.0.0.1:$port" --host-root "$HR" "$@" \
		>>"$T/$name.out" 2>>"$T/$name.err" &
	SERVE_PID[$name]=$!
	SERVE_PORT[$name]=$port
	_PIDS+=($!)
	wait_until 30 "curl -sf -o /dev/null http://127.0.0.1:$port/metrics" || {
		cat "$T/$name.err"; die "portburn serve ($name) did not start"; }
}

# stop_serve NAME: SIGTERM, wait; its exit status in SERVE_RC.
stop_serve() {
	kill -TERM "${SERVE_PID[$1]}"
	wait "${SERVE_PID[$1]}"
	# shellcheck disable=SC2034 # for the test
	SERVE_RC=$?
}

# scrape NAME FILE: /metrics of serve NAME into FILE.
scrape() { curl -sf -m 5 "http://127.0.0.1:${SERVE_PORT[$1]}/metrics" >"$2"; }

# snap_http NAME FILE: /snapshot of serve NAME into FILE; prints the HTTP status.
snap_http() {
	curl -s -m 5 -o "$2" -w '%{http_code}' "http://127.0.0.1:${SERVE_PORT[$1]}/snapshot"
}

# snap_cli FILE: a standalone `portburn snapshot --json` into FILE; 0 if it
# exits 0 with JSON.
snap_cli() {
	"$PORTBURN" snapshot --json --host-root "$HR" >"$1" 2>"$1.err" && jq -e . "$1" >/dev/null
}

# metric FILE SERIES: the value of one exact series (name{labels}); 0 when the
# series is absent (portburn exports no gauge at 0).
metric() {
	awk -v s="$2" '$1 == s { v = $2 } END { print v == "" ? 0 : v }' "$1"
}

# Our pods' ports in the exposition, one line per owner and state, sorted:
# "ports NS/POD/CONTAINER STATE N" (namespaces shop and mesh: this lab's; other
# labs on the host have no names under our host root).
metrics_ports() {
	sed -n 's/^portburn_ports_in_use{namespace="\(shop\|mesh\)",pod="\([^"]*\)",container="\([^"]*\)",state="\([^"]*\)"} \(.*\)$/ports \1\/\2\/\3 \4 \5/p' "$1" |
		sort
}

# ... and per pod: "pod NS/POD open=N tw=N"
metrics_pods() {
	metrics_ports "$1" | awk '{ split($2, a, "/"); p = a[1] "/" a[2]; pods[p] = 1
		if ($3 == "open") o[p] += $4; else t[p] += $4 }
		END { for (p in pods) printf "pod %s open=%d tw=%d\n", p, o[p], t[p] }' | sort
}

# connects_total of our pods: "connects NS/POD/CONTAINER ROLE N"
metrics_connects() {
	sed -n 's/^portburn_connects_total{namespace="\(shop\|mesh\)",pod="\([^"]*\)",container="\([^"]*\)",role="\([^"]*\)"} \(.*\)$/connects \1\/\2\/\3 \4 \5/p' "$1" |
		awk '$4 != 0' | sort
}

# The snapshot JSON (CLI or /snapshot) reduced to what the tests compare, for
# the pools of the given network namespaces (inodes) and our pods:
#   pod NS/POD in_use=N open=N tw=N
#   dest SADDR>DADDR:DPORT open=N tw=N in_use=N capacity=N
#   owner SADDR>DADDR:DPORT NS/POD/CONTAINER ROLE in_use=N open=N tw=N
# (no ROLE when the container is not known: it cannot be told then)
# With --pods only the pod lines, with --dests only pod and dest lines.
snap_summary() { # [--pods|--dests] FILE NETNS...
	local level=owners
	case $1 in --pods) level=pods; shift ;; --dests) level=dests; shift ;; esac
	local f=$1
	shift
	jq -r --arg level "$level" --argjson ns "[$(IFS=,; echo "$*")]" '
		def pool: "\(.saddr)>\(.daddr):\(.dport)";
		[ (.pods[] | select(.namespace == "shop" or .namespace == "mesh") |
			"pod \(.namespace)/\(.pod) in_use=\(.in_use) open=\(.open) tw=\(.time_wait)"),
		  (if $level != "pods" then
			.destinations[] | select(.netns as $n | $ns | index($n)) |
			"dest \(pool) open=\(.open) tw=\(.time_wait) in_use=\(.in_use) capacity=\(.capacity)"
		   else empty end),
		  (if $level == "owners" then
			.destinations[] | select(.netns as $n | $ns | index($n)) | pool as $p |
			.owners[] | "owner \($p) \(.namespace)/\(.pod)/\(.container)\(if .container == "" then "" else " " + .role end) in_use=\(.in_use) open=\(.open) tw=\(.time_wait)"
		   else empty end) ] | sort | .[]' "$f" 2>/dev/null
}

# eq_lines DESCRIPTION GOT WANT: the same lines (in any order), with a diff
# when not.
eq_lines() {
	set -- "$1" "$(sort <<<"$2")" "$(sort <<<"$3")"
	CHECKS=$((CHECKS + 1))
	if [ "$2" == "$3" ]; then
		echo "ok - $1"
		printf '%s\n' "$3" | sed 's/^/#   /'
	else
		echo "not ok - $1 (- want, + got)"
		diff <(printf '%s\n' "$3") <(printf '%s\n' "$2") | grep '^[<>]' |
			sed 's/^</#   -/; s/^>/#   +/'
		FAILS=$((FAILS + 1))
	fi
}

# TIME_WAIT and open sockets of POD towards the web server, as ss sees them.
ss_tw() { socks "$(pod_netns "$1")" time-wait dst 203.0.113.10 dport = :80; }
ss_open() {
	ip netns exec "$(pod_netns "$1")" ss -Htan state connected exclude time-wait \
		dst 203.0.113.10 dport = :80 | wc -l
}
