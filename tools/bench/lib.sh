# SPDX-License-Identifier: GPL-2.0-only
# Shared by the benchmark scripts (sourced, bash): network namespaces of their
# own, background processes ended by pid, waiting on lines a process prints,
# figures from /proc and bpftool, portburn detection, the results file.
#
# Every address and route lives in namespaces created here (prefix "pbb"); the
# root namespace is never changed. Everything is undone by the EXIT trap.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/../.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build/bench}
CONNSTORM=$BUILD/connstorm
# shellcheck disable=SC2034 # used by the scripts that source this file
EMPTY_LOADER=$BUILD/empty_loader
PORTBURN=${PORTBURN:-$ROOT/portburn}
TCPLIFE=${TCPLIFE:-}
# Rows for run.sh's table: section, figure, measured, goal, verdict (tab separated).
RESULTS=${BENCH_RESULTS:-}
# shellcheck disable=SC2034
CLK_TCK=$(getconf CLK_TCK)

# Client side 198.18.0.1, server side 198.18.0.2 (+ extra server addresses):
# RFC 2544's benchmarking range, and only ever inside our own namespaces.
CLIENT_ADDR=198.18.0.1
SERVER_ADDR=198.18.0.2

BENCH_PIDS=()
BENCH_NETNS=()
BENCH_SYSCTL_RESTORE=()
RUN=$(mktemp -d /tmp/portburn-bench.XXXXXX)

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { log "$*"; exit 1; }

bench_cleanup() {
	local pid ns kv
	for pid in "${BENCH_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${BENCH_PIDS[@]}"; do
		stop_pid "$pid" KILL 5 >/dev/null 2>&1
	done
	for ns in "${BENCH_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	for kv in "${BENCH_SYSCTL_RESTORE[@]}"; do
		sysctl -qw "$kv" 2>/dev/null
	done
	[ -n "${BENCH_KEEP_RUN:-}" ] || rm -rf "$RUN"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

need_root() {
	[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, BPF)"
	[ -x "$CONNSTORM" ] || die "missing $CONNSTORM: run make $BUILD/connstorm"
}

# Set a global sysctl for this run only; the old value comes back on exit.
sysctl_for_run() { # key value
	local old
	old=$(sysctl -n "$1" 2>/dev/null) || return 1
	BENCH_SYSCTL_RESTORE+=("$1=$old")
	sysctl -qw "$1=$2"
}

# Tuning inside a bench namespace: the whole port range, deep accept queues,
# a bounded TIME_WAIT table so that runs reach a steady state.
ns_tune() { # ns [max_tw_buckets]
	ip netns exec "$1" sysctl -qw \
		net.ipv4.ip_local_port_range="1024 65535" \
		net.core.somaxconn=65535 \
		net.ipv4.tcp_max_syn_backlog=65535 \
		net.ipv4.tcp_tw_reuse=1 \
		net.ipv4.tcp_max_tw_buckets="${2:-262144}"
}

ns_new() { # name
	ip netns add "$1" || die "failed to create network namespace $1"
	BENCH_NETNS+=("$1")
	ip -n "$1" link set lo up
}

# Two namespaces joined by a veth pair: NS_C (client) and NS_S (server).
# Extra server addresses 198.18.0.3.. with nextra > 0 (many destinations).
ns_veth() { # tag [nextra] [max_tw_buckets]
	local i
	NS_C=pbb$$$1c
	NS_S=pbb$$$1s
	ns_new "$NS_C"
	ns_new "$NS_S"
	ip link add "pbb$$$1a" netns "$NS_C" type veth peer name "pbb$$$1b" netns "$NS_S" ||
		die "failed to create veth pair"
	ip -n "$NS_C" addr add "$CLIENT_ADDR/16" dev "pbb$$$1a"
	ip -n "$NS_S" addr add "$SERVER_ADDR/16" dev "pbb$$$1b"
	SERVER_ADDRS=$SERVER_ADDR
	for ((i = 0; i < ${2:-0}; i++)); do
		ip -n "$NS_S" addr add "198.18.$((1 + i / 250)).$((1 + i % 250))/16" dev "pbb$$$1b"
		SERVER_ADDRS+=",198.18.$((1 + i / 250)).$((1 + i % 250))"
	done
	ip -n "$NS_C" link set "pbb$$$1a" up
	ip -n "$NS_S" link set "pbb$$$1b" up
	ns_tune "$NS_C" "${3:-}"
	ns_tune "$NS_S" "${3:-}"
}

# One namespace, client and server over its loopback.
ns_lo() { # tag [max_tw_buckets]
	NS_C=pbb$$$1l
	NS_S=$NS_C
	ns_new "$NS_C"
	ns_tune "$NS_C" "${2:-}"
	SERVER_ADDRS=127.0.0.1
}

# Start a command in the background with its own stdout/stderr files.
# Sets BG_PID. Usage: [BG_OUT=file] bg_start name cmd...
# (stdout to $BG_OUT or $RUN/name.out, stderr to $RUN/name.err)
bg_start() {
	local name=$1
	shift
	"$@" >"${BG_OUT:-$RUN/$name.out}" 2>"$RUN/$name.err" &
	BG_PID=$!
	BENCH_PIDS+=("$BG_PID")
}

# Signal a pid and wait for it, at most `secs` seconds, then SIGKILL.
stop_pid() { # pid [signal] [secs]
	local pid=$1 sig=${2:-TERM} secs=${3:-20} i
	kill -"$sig" "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return; }
	for ((i = 0; i < secs * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# Wait until `file` has a line matching `regex`, `pid` (if given) is still
# alive, at most `secs` seconds. 0 when the line came.
wait_line() { # file regex secs [pid]
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		[ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null && break
		sleep 0.05
	done
	grep -Eq -- "$2" "$1" 2>/dev/null
}

# Start the connstorm server in NS_S; dies if it does not come up.
server_start() { # name secs args...
	local name=$1 secs=$2
	shift 2
	bg_start "$name" ip netns exec "$NS_S" "$CONNSTORM" serve -d "$secs" "$@"
	SERVER_PID=$BG_PID
	wait_line "$RUN/$name.err" '^connstorm: serving' 10 "$SERVER_PID" ||
		die "connstorm server did not start: $(cat "$RUN/$name.err")"
}

# Hold n connections open from NS_C, in as many `connstorm -m hold` processes
# as the open-file limit needs (each holds at most HOLD_PER; the server side,
# `connstorm serve -m queue`, needs no descriptors). Sets HOLD_PIDS.
HOLD_PER=$(($(ulimit -Hn) - 1000))
hold_start() { # name n addrs ports secs
	local name=$1 n=$2 k=0 share
	HOLD_PIDS=()
	while [ "$n" -gt 0 ]; do
		share=$((n < HOLD_PER ? n : HOLD_PER))
		bg_start "$name.$k" ip netns exec "$NS_C" "$CONNSTORM" -q -m hold -n "$share" -t 1 \
			-a "$3" -p "$4" -d "$5"
		HOLD_PIDS+=("$BG_PID")
		n=$((n - share))
		k=$((k + 1))
	done
}

# Wait until every holder said "holding N"; HELD = the sum. 1 if one did not.
hold_wait() { # name secs
	local k held rc=0
	HELD=0
	for k in "${!HOLD_PIDS[@]}"; do
		wait_line "$RUN/$1.$k.err" '^connstorm: holding' "$2" "${HOLD_PIDS[$k]}" || rc=1
		held=$(grep -oE 'holding [0-9]+' "$RUN/$1.$k.err" | grep -oE '[0-9]+')
		HELD=$((HELD + ${held:-0}))
	done
	return $rc
}

hold_stop() {
	local pid
	for pid in "${HOLD_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${HOLD_PIDS[@]}"; do
		stop_pid "$pid" TERM 60
	done
}

# A JSON number field from connstorm's one-line report.
json_num() { # file key
	jq -r ".$2 // 0" "$1" 2>/dev/null | tail -n 1
}

# utime + stime of a process, in clock ticks.
proc_cpu_ticks() { # pid
	[ -r "/proc/$1/stat" ] || { echo 0; return; }
	sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

proc_rss_kb() { # pid
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# BPF program ids currently loaded, one a line.
bpf_prog_ids() {
	bpftool prog show -j 2>/dev/null | jq -r '.[].id' | sort
}

# Sum of run_time_ns and run_cnt over the given program ids (needs
# kernel.bpf_stats_enabled=1 to count).
bpf_prog_stats() { # "id id ..."
	bpftool prog show -j 2>/dev/null | jq -r --arg ids "$(printf '%s' "$*" | tr -s ' \n' ',')" '
		($ids | split(",") | map(select(. != "") | tonumber)) as $want
		| [.[] | select(.id as $i | $want | index($i))]
		| "\(map(.run_time_ns // 0) | add // 0) \(map(.run_cnt // 0) | add // 0)"'
}

# The tcplife of Debian's libbpf-tools (bcc's libbpf port), if installed.
find_tcplife() {
	local p
	for p in "$TCPLIFE" /usr/sbin/tcplife /usr/sbin/libbpf-tcplife /usr/bin/tcplife; do
		[ -n "$p" ] && [ -x "$p" ] && { echo "$p"; return 0; }
	done
	return 1
}

portburn_exists() { [ -x "$PORTBURN" ]; }

# Start `portburn <args>`, wait for its "portburn: ready" line. Sets PB_PID.
# 1 (and nothing left running) when it does not come up: the caller prints n/a.
portburn_start() { # name args...
	local name=$1
	shift
	portburn_exists || return 1
	bg_start "$name" "$PORTBURN" "$@"
	PB_PID=$BG_PID
	if ! wait_line "$RUN/$name.err" 'portburn: ready' 30 "$PB_PID"; then
		log "portburn $* did not become ready: $(tail -n 3 "$RUN/$name.err" | tr '\n' ' ')"
		stop_pid "$PB_PID" KILL 5
		return 1
	fi
}

# The lost-event count portburn prints when it stops ("N lost" or "lost: N");
# empty when it printed none.
portburn_lost() { # errfile
	local line
	line=$(grep -iE 'lost' "$1" 2>/dev/null | tail -n 1)
	[ -n "$line" ] || return 0
	if [[ $line =~ ([0-9]+)\ (events?\ )?lost ]]; then
		echo "${BASH_REMATCH[1]}"
	elif [[ $line =~ lost[^0-9]*([0-9]+) ]]; then
		echo "${BASH_REMATCH[1]}"
	fi
}

# A count portburn prints when it stops, by the word after it ("N events").
portburn_final_count() { # errfile word
	grep -oE "[0-9]+ $2" "$1" 2>/dev/null | tail -n 1 | grep -oE '^[0-9]+'
}

# Until the process holds a BPF link (for tools that print no ready line).
wait_bpf_link() { # pid secs
	local i fd
	for ((i = 0; i < $2 * 20; i++)); do
		kill -0 "$1" 2>/dev/null || return 1
		for fd in /proc/"$1"/fd/*; do
			[[ $(readlink "$fd" 2>/dev/null) == *bpf[-_]link* ]] && return 0
		done
		sleep 0.05
	done
	return 1
}

# Where cgroup v2 is mounted (empty when it is not).
cgroup2_mount() {
	awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts
}

# BPF programs on tracing hooks that are not ours: they skew every figure.
foreign_tracers() {
	bpftool prog show -j 2>/dev/null | jq -r '.[] | select(.type == "tracing" or
		.type == "tracepoint" or .type == "raw_tracepoint" or .type == "kprobe" or
		.type == "sock_ops") | "\(.id):\(.name // "?")"' | tr '\n' ' '
}

# Add a row to the results file that run.sh prints as one table.
result() { # section figure measured goal verdict
	[ -n "$RESULTS" ] && printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"
	return 0
}

median() { # numbers on stdin, one a line
	grep -E '^-?[0-9.e+-]+$' | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "n/a"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Print rows (tab separated) as an aligned table.
print_table() { # file
	awk -F'\t' '
		{ for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) }
		  if (NF > nf) nf = NF }
		END { for (r = 1; r <= NR; r++) { line = ""
			for (i = 1; i <= nf; i++) line = line sprintf("%-" w[i] "s  ", c[r, i])
			sub(/ +$/, "", line); print line } }' "$1"
}
