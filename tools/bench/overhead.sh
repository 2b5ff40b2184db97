#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Overhead (issue 8). connstorm opens and closes connections as fast as it can,
# over veth between two namespaces of our own and then over the loopback of a
# third, interleaved A B C D E, A B C D E, ... with: nothing attached; empty
# programs on portburn's tracepoint-mode hooks (the floor); bcc's tcplife
# (libbpf-tools); portburn trace --json >/dev/null; portburn serve. Prints the
# median rate of each, its ratio to "nothing attached", the CPU it adds per
# connection, the tracer's own CPU time per 1,000 events (/proc/<pid>/stat) and,
# in a short extra pass with kernel.bpf_stats_enabled, the BPF run time per
# connection.
#
# Env: BENCH_ROUNDS over veth (5), BENCH_LO_ROUNDS over loopback (3, 0: skip),
#      BENCH_SECONDS per run (3), BENCH_THREADS (2), BENCH_REQUESTS per
#      connection (0: connect and close, the top rate).
set -u
# shellcheck source=tools/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root

ROUNDS=${BENCH_ROUNDS:-5}
LO_ROUNDS=${BENCH_LO_ROUNDS:-3}
SECS=${BENCH_SECONDS:-3}
THREADS=${BENCH_THREADS:-2}
REQS=${BENCH_REQUESTS:-0}
PORTS=20000-20063
NCPU=$(nproc)
SERVE_PORT=$((40000 + $$ % 20000))
CONFIGS=(base empty tcplife trace serve)
declare -A LABEL=([base]="nothing attached" [empty]="empty programs (floor)"
	[tcplife]="bcc tcplife" [trace]="portburn trace --json" [serve]="portburn serve")
declare -A NA=()
CGROUP2=$(cgroup2_mount)
TCPLIFE_BIN=$(find_tcplife) || NA[tcplife]="not installed (libbpf-tools)"
[ -x "$EMPTY_LOADER" ] || NA[empty]="empty_loader not built"
portburn_exists || NA[trace]="no ./portburn"
portburn_exists || NA[serve]="no ./portburn"
[ -n "${NA[serve]:-}" ] || "$PORTBURN" serve --help >/dev/null 2>&1 ||
	NA[serve]="portburn has no 'serve' command yet"
PB_MODE=

# Start the tracer of a configuration; sets TR_PID (empty for base).
start_tracer() { # cfg name
	TR_PID=
	case $1 in
	base) return 0 ;;
	empty)
		bg_start "$2" "$EMPTY_LOADER" ${CGROUP2:+-c "$CGROUP2"}
		TR_PID=$BG_PID
		wait_line "$RUN/$2.err" '^empty_loader: ready' 30 "$TR_PID" && return 0
		;;
	tcplife)
		BG_OUT=/dev/null bg_start "$2" "$TCPLIFE_BIN"
		TR_PID=$BG_PID
		wait_bpf_link "$TR_PID" 30 && return 0
		;;
	trace)
		BG_OUT=/dev/null portburn_start "$2" trace --json || return 1
		TR_PID=$PB_PID
		PB_MODE=$(grep -oE 'ready \(mode [a-z_]+' "$RUN/$2.err" | head -n 1 | sed 's/.* //')
		return 0
		;;
	serve)
		BG_OUT=/dev/null portburn_start "$2" serve --listen "127.0.0.1:$SERVE_PORT" ||
			return 1
		TR_PID=$PB_PID
		return 0
		;;
	esac
	log "$1 did not start: $(tail -n 3 "$RUN/$2.err" 2>/dev/null | tr '\n' ' ')"
	[ -n "$TR_PID" ] && stop_pid "$TR_PID" KILL 5
	return 1
}

storm() { # name secs
	ip netns exec "$NS_C" "$CONNSTORM" -q -a "$SERVER_ADDRS" -p "$PORTS" -t "$THREADS" \
		-d "$2" -r "$REQS" >"$RUN/$1.json" 2>"$RUN/$1.cs.err" ||
		log "connstorm ($1) failed: $(cat "$RUN/$1.cs.err")"
}

# One run: rows "cfg round conn/s connected tracer-ticks lost" in $TSV.
run_one() { # cfg round
	local cfg=$1 name=$P-$1-$2 c0=0 c1=0 lost
	if ! start_tracer "$cfg" "$name"; then
		NA[$cfg]="did not start: $(tail -n 1 "$RUN/$name.err" 2>/dev/null)"
		return 1
	fi
	[ -n "$TR_PID" ] && c0=$(proc_cpu_ticks "$TR_PID")
	storm "$name" "$SECS"
	if [ -n "$TR_PID" ]; then
		# Let the tracer drain what the storm left in its buffers.
		sleep 0.5
		c1=$(proc_cpu_ticks "$TR_PID")
		stop_pid "$TR_PID" INT 30
	fi
	lost=$(portburn_lost "$RUN/$name.err")
	printf '%s %s %s %s %s %s\n' "$cfg" "$2" "$(json_num "$RUN/$name.json" conn_per_s)" \
		"$(json_num "$RUN/$name.json" connected)" $((c1 - c0)) "${lost:--}" >>"$TSV"
	log "$P round $2 $cfg: $(json_num "$RUN/$name.json" conn_per_s) conn/s"
}

# Extra pass: BPF run time per connection, for the tracers only.
bpf_pass() { # cfg
	local cfg=$1 name=bs-$1 before ids ns0 cnt0 ns1 cnt1 conns
	before=$(bpf_prog_ids)
	start_tracer "$cfg" "$name" || return 1
	ids=$(comm -13 <(echo "$before") <(bpf_prog_ids) | tr '\n' ' ')
	read -r ns0 cnt0 <<<"$(bpf_prog_stats "$ids")"
	storm "$name" 2
	read -r ns1 cnt1 <<<"$(bpf_prog_stats "$ids")"
	stop_pid "$TR_PID" INT 30
	conns=$(json_num "$RUN/$name.json" connected)
	[ "${conns:-0}" -gt 0 ] || return 1
	printf '%s %s %s\n' "$cfg" $(((ns1 - ns0) / conns)) \
		"$(awk -v c="$((cnt1 - cnt0))" -v n="$conns" 'BEGIN { printf "%.1f", c / n }')" \
		>>"$RUN/bpfstats.tsv"
}

med_of() { awk -v c="$1" '$1 == c { print $3 }' "$TSV" | median | awk '{ printf "%d\n", $1 + 0.5 }'; }

# Paired with the baseline run of the same round (which cancels slow drift in
# the machine's speed), median over rounds: the rate ratio in % ("ratio") or the
# CPU added per connection in us ("added").
paired() { # ratio|added cfg
	awk -v what="$1" -v c="$2" -v n="$NCPU" '
		$1 == "base" { b[$2] = $3 } $1 == c { r[$2] = $3 }
		END { for (k in r) if (b[k] > 0 && r[k] > 0)
			print what == "ratio" ? 100 * r[k] / b[k] : n * 1e6 * (1 / r[k] - 1 / b[k]) }' "$TSV" |
		median
}

print_path_table() { # title
	local cfg
	{
		printf 'config\tconn/s (median)\tmin-max\tvs base (paired)\tadded CPU/conn\tBPF ns/conn\tBPF runs/conn\ttracer CPU ms/1k events\tlost events\n'
		for cfg in "${CONFIGS[@]}"; do
			if ! grep -q "^$cfg " "$TSV"; then
				printf '%s\tn/a\tn/a\tn/a\tn/a\tn/a\tn/a\tn/a\tn/a\n' "${LABEL[$cfg]}"
				continue
			fi
			awk -v cfg="$cfg" -v label="${LABEL[$cfg]}" -v tck="$CLK_TCK" \
				-v pr="$(paired ratio "$cfg")" -v pa="$(paired added "$cfg")" -v med="$(med_of "$cfg")" \
				-v bs="$(awk -v c="$cfg" '$1 == c { print $2 " " $3 }' "$RUN/bpfstats.tsv" 2>/dev/null)" '
				$1 == cfg { conns += $4; ticks += $5; if (min == "" || $3 < min) min = $3
					if ($3 > max) max = $3; if ($6 != "-") lost = (lost == "" ? $6 : lost "," $6) }
				END {
					ratio = pr == "n/a" ? "n/a" : sprintf("%.1f %%", pr)
					added = pa == "n/a" ? "n/a" : sprintf("%+.2f us", pa)
					if (cfg == "base") added = "-"
					split(bs, b, " ")
					bns = bs == "" ? "-" : b[1]; bruns = bs == "" ? "-" : b[2]
					cpu = cfg == "base" ? "-" : (conns > 0 ? sprintf("%.2f", 1000 * ticks / tck / (2 * conns / 1000)) : "n/a")
					printf "%s\t%d\t%d-%d\t%s\t%s\t%s\t%s\t%s\t%s\n", label, med, min, max, ratio, added, bns, bruns, cpu, (lost == "" ? "-" : lost)
				}' "$TSV"
		done
	} >"$TSV.table"
	echo "== overhead, $1"
	print_table "$TSV.table"
}

# Goal rows for run.sh's table, from the current path's runs.
path_results() { # path
	local p=$1 tl ratio add_pb add_em floor2 cpu v pb_ns em_ns
	verdict() { awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN {
		if (v == "n/a" || g == "n/a" || v == "" || g == "") { print "n/a"; exit }
		ok = op == ">=" ? v >= g : v <= g; print ok ? "met" : "MISSED" }'; }
	if ! grep -q '^trace ' "$TSV"; then
		result "overhead $p" "portburn trace rate vs baseline" "n/a (${NA[trace]:-})" ">= 97 %" "n/a"
		return
	fi
	ratio=$(paired ratio trace | awk '{ printf "%.1f", $1 }')
	result "overhead $p" "portburn trace rate vs baseline" "$ratio %" ">= 97 %" \
		"$(verdict "$ratio" ">=" 97)"
	if grep -q '^tcplife ' "$TSV"; then
		tl=$(paired ratio tcplife | awk '{ printf "%.1f", $1 }')
		result "overhead $p" "portburn trace vs tcplife (% of baseline)" "$ratio vs $tl %" \
			">= tcplife" "$(verdict "$ratio" ">=" "$tl")"
	fi
	if grep -q '^empty ' "$TSV"; then
		add_pb=$(paired added trace | awk '{ printf "%.2f", $1 / 2 }')
		add_em=$(paired added empty | awk '{ printf "%.2f", $1 / 2 }')
		floor2=$(awk -v e="$add_em" 'BEGIN { printf "%.2f", (e > 0 ? 2 * e : 0) }')
		v=$(verdict "$add_pb" "<=" "$floor2")
		# An empty-program run as fast as the baseline: the floor is in the noise.
		[ "$floor2" = 0.00 ] && v="n/a (floor within noise)"
		result "overhead $p" "portburn added CPU per event vs floor" "$add_pb vs $add_em us" \
			"<= 2 x floor ($floor2 us)" "$v"
	fi
	read -r pb_ns em_ns < <(awk '$1 == "trace" { t = $2 } $1 == "empty" { e = $2 }
		END { if (t != "" && e != "") print t, e }' "$RUN/bpfstats.tsv" 2>/dev/null)
	if [ -n "${pb_ns:-}" ]; then
		result "overhead $p" "portburn BPF run time per connection vs floor" \
			"$pb_ns vs $em_ns ns" "<= 2 x floor ($((2 * em_ns)) ns)" \
			"$(verdict "$pb_ns" "<=" $((2 * em_ns)))"
	fi
	cpu=$(awk -v t="$CLK_TCK" '$1 == "trace" { c += $4; k += $5 }
		END { if (c) printf "%.2f", 1000 * k / t / (2 * c / 1000) }' "$TSV")
	result "overhead $p" "portburn trace own CPU per 1,000 events" "${cpu:-n/a} ms" "-" "-"
	if grep -q '^serve ' "$TSV"; then
		ratio=$(paired ratio serve | awk '{ printf "%.1f", $1 }')
		result "overhead $p" "portburn serve rate vs baseline" "$ratio %" ">= 97 %" \
			"$(verdict "$ratio" ">=" 97)"
	else
		result "overhead $p" "portburn serve rate vs baseline" "n/a (${NA[serve]:-})" \
			">= 97 %" "n/a"
	fi
}

measure_path() { # veth|lo rounds
	local r cfg
	P=$1
	TSV=$RUN/$P.tsv
	: >"$TSV"
	if [ "$P" = veth ]; then
		ns_veth o 0 131072
	else
		ns_lo o 131072
	fi
	server_start "$P-server" $(($2 * ${#CONFIGS[@]} * (SECS + 40) + 120)) \
		-a "$SERVER_ADDRS" -p "$PORTS" -t "$THREADS"
	# Warm-up, not counted: fill the TIME_WAIT table to its steady state.
	storm "$P-warmup" "$SECS"
	for ((r = 1; r <= $2; r++)); do
		for cfg in "${CONFIGS[@]}"; do
			[ -n "${NA[$cfg]:-}" ] || run_one "$cfg" "$r"
		done
	done
}

foreign=$(foreign_tracers)
[ -n "$foreign" ] && log "warning: BPF programs of others are attached, figures are skewed: $foreign"
load=$(cut -d' ' -f1 /proc/loadavg)

measure_path veth "$ROUNDS"
: >"$RUN/bpfstats.tsv"
if sysctl_for_run kernel.bpf_stats_enabled 1; then
	for cfg in empty tcplife trace serve; do
		[ -n "${NA[$cfg]:-}" ] || bpf_pass "$cfg"
	done
	sysctl -qw "${BENCH_SYSCTL_RESTORE[-1]}"
fi
print_path_table "connstorm -r $REQS over veth between two namespaces, $THREADS client + $THREADS server threads, $ROUNDS rounds x ${SECS}s interleaved${PB_MODE:+, portburn mode $PB_MODE}"
path_results veth
if [ "$LO_ROUNDS" -gt 0 ]; then
	: >"$RUN/bpfstats.tsv"
	measure_path lo "$LO_ROUNDS"
	print_path_table "the same over loopback in one namespace, $LO_ROUNDS rounds"
	path_results loopback
fi

echo "   vs base and added CPU/conn: each run against the baseline run of its round, median"
echo "   over rounds; added CPU/conn = $NCPU CPUs x (1/rate - 1/base rate); 2 events per connection"
echo "   the floor's hooks: tp_btf/inet_sock_set_state, sys_{enter,exit}_bind, sys_exit_connect${CGROUP2:+, sockops}"
for cfg in "${CONFIGS[@]}"; do
	[ -n "${NA[$cfg]:-}" ] && echo "   ${LABEL[$cfg]}: n/a, ${NA[$cfg]}"
done
echo "   load average when the benchmark started: $load"
[ -n "$foreign" ] && echo "   WARNING: other BPF tracers were attached during the run: $foreign"
exit 0
