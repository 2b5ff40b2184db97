#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Memory (issue 8): portburn's RSS and the memory of its BPF maps (bpftool map
# show -j: bytes_memlock) while 10k, 100k and 1M connections are held open by
# connstorm -m hold (as many processes as the open-file limit needs), spread
# over 4 server addresses x 32 ports, against `connstorm serve -m queue`, in
# namespaces of our own. portburn runs as `serve` when it has that command (the DaemonSet
# form), else as `trace --json >/dev/null`, with default settings except
# --max-socks raised to fit the size when the default is smaller.
#
# Env: BENCH_MEM_SIZES ("10000 100000 1000000"), BENCH_MEM_BUDGET seconds (300):
# a size that would not finish within the budget is skipped and says so.
set -u
# shellcheck source=tools/bench/lib.sh
source "$(dirname "$0")/lib.sh"
need_root

SIZES=${BENCH_MEM_SIZES:-10000 100000 1000000}
BUDGET=${BENCH_MEM_BUDGET:-300}
PORTS=22000-22031
DEFAULT_MAX_SOCKS=262144
START=$(date +%s)
RATE=20000	# connections/s assumed until the first size measures it

ns_del() { # name...
	local ns keep=()
	for ns in "$@"; do
		ip netns del "$ns" 2>/dev/null
	done
	for ns in "${BENCH_NETNS[@]}"; do
		[[ " $* " == *" $ns "* ]] || keep+=("$ns")
	done
	BENCH_NETNS=("${keep[@]}")
}

bpf_map_ids() {
	bpftool map show -j 2>/dev/null | jq -r '.[].id' | sort
}

maps_memlock() { # "id id ..."
	bpftool map show -j 2>/dev/null | jq -r --arg ids "$(printf '%s' "$*" | tr -s ' \n' ',')" '
		($ids | split(",") | map(select(. != "") | tonumber)) as $want
		| [.[] | select(.id as $i | $want | index($i)) | .bytes_memlock // 0] | add // 0'
}

# Until the process's CPU time stops moving for 0.5 s (at most `secs`).
wait_idle() { # pid secs
	local last=-1 now i
	for ((i = 0; i < $2 * 2; i++)); do
		now=$(proc_cpu_ticks "$1")
		[ "$now" = "$last" ] && return 0
		last=$now
		sleep 0.5
	done
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

PB_ARGS=()
if portburn_exists; then
	if "$PORTBURN" serve --help >/dev/null 2>&1; then
		PB_ARGS=(serve --listen "127.0.0.1:$((40000 + $$ % 20000))")
	else
		PB_ARGS=(trace --json)
	fi
fi
PB_CMD=${PB_ARGS[*]}
HAVE_MAX_SOCKS=
portburn_exists && "$PORTBURN" trace --help 2>&1 | grep -q -- --max-socks && HAVE_MAX_SOCKS=1

printf 'sockets held\tportburn RSS\tpeak RSS\tBPF maps (memlock)\tmax-socks\tuntracked\theld/s\tnote\n' \
	>"$RUN/mem.table"
i=0
for n in $SIZES; do
	i=$((i + 1))
	elapsed=$(($(date +%s) - START))
	need=$((n * 2 / RATE + 15))
	if [ $((elapsed + need)) -gt "$BUDGET" ]; then
		printf '%s\tskipped\t-\t-\t-\t-\t-\tneeds ~%ss, %ss of the %ss budget left\n' \
			"$n" "$need" $((BUDGET - elapsed)) "$BUDGET" >>"$RUN/mem.table"
		result memory "portburn RSS at $n sockets" "skipped (time budget)" "-" "n/a"
		continue
	fi
	ns_veth "m$i" 3
	server_start "mem$i-server" 3600 -a "$SERVER_ADDRS" -p "$PORTS" -m queue

	rss=n/a hwm=n/a maps=n/a untracked=n/a max_socks=-
	pb=
	if [ -n "$PB_CMD" ]; then
		args=("${PB_ARGS[@]}")
		if [ -n "$HAVE_MAX_SOCKS" ] && [ "$n" -gt $((DEFAULT_MAX_SOCKS * 9 / 10)) ]; then
			max_socks=$DEFAULT_MAX_SOCKS
			while [ "$max_socks" -lt "$n" ]; do max_socks=$((max_socks * 2)); done
			args+=(--max-socks "$max_socks")
		fi
		before=$(bpf_map_ids)
		if BG_OUT=/dev/null portburn_start "mem$i-portburn" "${args[@]}"; then
			pb=$PB_PID
			map_ids=$(comm -13 <(echo "$before") <(bpf_map_ids) | tr '\n' ' ')
		fi
	fi

	t0=$(date +%s.%N)
	hold_start "mem$i-hold" "$n" "$SERVER_ADDRS" "$PORTS" 3600
	hold_wait "mem$i-hold" $((n / 2000 + 60)) || log "connstorm did not hold all $n connections"
	held=${HELD:-0}
	rate=$(awk -v n="$held" -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%d", n / (t1 - t0) }')
	[ "${rate:-0}" -gt 0 ] && RATE=$rate
	if [ -n "$pb" ]; then
		wait_idle "$pb" 30
		rss=$(mib "$(proc_rss_kb "$pb")")
		hwm=$(mib "$(awk '/^VmHWM:/ { print $2 }' "/proc/$pb/status")")
		maps=$(mib $(($(maps_memlock "$map_ids") / 1024)))
	fi
	hold_stop
	if [ -n "$pb" ]; then
		stop_pid "$pb" INT 60
		untracked=$(portburn_final_count "$RUN/mem$i-portburn.err" "connections untracked")
	fi
	stop_pid "$SERVER_PID" TERM 60
	ns_del "$NS_C" "$NS_S"
	note=
	[ "${held:-0}" = "$n" ] || note="held only ${held:-0}"
	[ -z "$PB_CMD" ] && note="no ./portburn"
	printf '%s\t%s MiB\t%s MiB\t%s MiB\t%s\t%s\t%s\t%s\n' "$n" "$rss" "$hwm" "$maps" \
		"$max_socks" "${untracked:-n/a}" "${rate:-n/a}" "$note" >>"$RUN/mem.table"
	goal=-
	verdict=-
	if [ "$n" -ge 1000000 ]; then
		goal="<= 64 MiB"
		verdict=$(awk -v r="$rss" 'BEGIN { print r == "n/a" ? "n/a" : (r <= 64 ? "met" : "MISSED") }')
	fi
	result memory "portburn RSS / BPF maps at $n sockets" "$rss / $maps MiB" "$goal" "$verdict"
done

echo "== memory: portburn ${PB_CMD:-(none)} while connstorm holds N connections over veth"
print_table "$RUN/mem.table"
exit 0
