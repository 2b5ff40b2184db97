#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Least privilege (issue 9): portburn run as uid 0 with only the capabilities
# the DaemonSet grants (the table in deploy/README.md; capsh drops every other
# one from the bounding set, so that is all it can have) works: trace sees a
# connection, serve answers /metrics and counts it, snapshot walks the test's
# network namespace, top --once draws a frame. With one of them missing, every
# command stops at once with exit 1 and a message naming the capability:
# CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, and CAP_SYS_ADMIN (the README's "can it
# go? no" for setns into the pods' namespaces).
. "$(dirname "$0")/lib.sh"
command -v capsh >/dev/null || die "capsh not installed (make deps: libcap2-bin)"
. "$(dirname "$0")/rel_lib.sh"
check "deploy/README.md lists the DaemonSet's capabilities (${GRANTED[*]})" [ ${#GRANTED[@]} -ge 3 ]
lower() { tr '[:upper:]' '[:lower:]' <<<"$1"; }

# What a process started that way holds.
eff=$( (with_caps "${GRANTED[*]}" awk '/^CapEff/ { print $2 }' /proc/self/status) )
held=$(capsh --decode="$eff" | sed 's/.*=//' | tr ',' '\n' | sort | tr '\n' ' ')
want=$(for c in "${GRANTED[@]}"; do lower "$c"; done | sort | tr '\n' ' ')
log "held under capsh: $held"
for c in "${GRANTED[@]}"; do
	if [[ " $held " != *" $(lower "$c") "* ]]; then
		# not ours to grant: this host does not give it to root either
		log "$c: not in this host's bounding set, tested without it"
	fi
done
check "nothing beyond the DaemonSet's capabilities" \
	bash -c '[ -z "$(comm -23 <(tr " " "\n" <<<"$1" | sed "/^$/d" | sort) <(tr " " "\n" <<<"$2" | sed "/^$/d" | sort))" ]' \
	_ "$held" "$want"

# Traffic with an owner of its own.
client_server "lp$$"

# 1. trace with the DaemonSet's capabilities sees the connection.
(with_caps "${GRANTED[*]}" "$PORTBURN" trace --json --cgroup "$cg") >"$T/trace.json" 2>"$T/trace.err" &
tpid=$!
_PIDS+=("$tpid")
wait_until 30 grep -q 'ready (mode' "$T/trace.err" || { cat "$T/trace.err"; die "trace did not start"; }
run_in "$ns" "$cg" "$T/c1.out" "$CLIENT" connect 127.0.0.1 8080 -n 3
pid1=$(head -1 "$T/c1.out")
wait_until 10 '[ "$(jq -c "select(.type==\"connect\" and .pid==$pid1)" "$T/trace.json" | wc -l)" -ge 3 ]'
eq "trace: connect events of the client" "$(jq -c "select(.type==\"connect\" and .pid==$pid1)" "$T/trace.json" | wc -l)" 3
eq "trace: with the client's process name" "$(jq -r "select(.pid==$pid1) | .comm" "$T/trace.json" | sort -u)" "$CNAME"
kill -INT $tpid
wait $tpid
eq "trace: exit 0 on SIGINT" "$?" 0
# (a note that this host has no kubelet logs is fine; a capability or a failure is not)
check "trace: no complaint on stderr" bash -c '! grep -qiE "CAP_|capabilit|failed|denied|not permitted" "$1"' _ "$T/trace.err"
grep -v -e 'ready (mode' -e 'events received' "$T/trace.err" | sed 's/^/# trace stderr: /'

# 2. serve answers /metrics and counts the connections.
(with_caps "${GRANTED[*]}" "$PORTBURN" serve -v --listen 127.0.0.1:0) >"$T/serve.out" 2>"$T/serve.err" &
serve_ready $!
run_in "$ns" "$cg" "$T/c2.out" "$CLIENT" connect 127.0.0.1 8080 -n 4
series="portburn_connects_total{namespace=\"\",pod=\"host\",container=\"$CNAME\",role=\"app\"}"
metric() { curl -sf "http://127.0.0.1:$port/metrics" | awk -v s="$1" '$1 == s { print $2 }'; }
wait_until 10 '[ "$(metric "$series")" == 4 ]'
eq "serve: /metrics counts the client's connections" "$(metric "$series")" 4
eq "serve: /healthz" "$(curl -s "http://127.0.0.1:$port/healthz")" ok
eq "serve: no event lost" "$(metric portburn_events_lost_total)" 0

# 3. snapshot (setns into every namespace) finds the client's TIME_WAIT.
ino=$(stat -L -c %i "/run/netns/$ns")
(with_caps "${GRANTED[*]}" "$PORTBURN" snapshot --json) >"$T/snap.json" 2>"$T/snap.err"
eq "snapshot: exit 0" "$?" 0
eq "snapshot: the test namespace's pool (7 TIME_WAIT)" \
	"$(jq "[.destinations[] | select(.netns == $ino and .dport == 8080) | .time_wait] | add" "$T/snap.json")" 7

# 4. top --once draws a frame.
(with_caps "${GRANTED[*]}" "$PORTBURN" top --once --view dests) >"$T/top.out" 2>"$T/top.err"
eq "top --once: exit 0" "$?" 0
check "top --once: a frame with the destination" grep -q '127.0.0.1:8080' "$T/top.out"
kill -TERM $spid
wait $spid
eq "serve: exit 0 on SIGTERM" "$?" 0

# 5. One capability missing: exit 1, its name on stderr, nothing on stdout.
for missing in CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN; do
	keep=()
	for c in "${GRANTED[@]}"; do [ "$c" == "$missing" ] || keep+=("$c"); done
	for cmd in "trace --duration 2" "snapshot" "serve --listen 127.0.0.1:0" "top --once"; do
		# shellcheck disable=SC2086
		(with_caps "${keep[*]}" timeout 20 "$PORTBURN" $cmd) >"$T/out" 2>"$T/err"
		rc=$?
		if [ $rc -eq 1 ] && grep -q "$missing" "$T/err" && [ ! -s "$T/out" ]; then
			echo "ok - without $missing: ${cmd%% *} exits 1 naming it"
			CHECKS=$((CHECKS + 1))
		else
			eq "without $missing: ${cmd%% *} exits 1 naming it ($(head -c 200 "$T/err" | tr '\n' ' '))" \
				"exit $rc, names it: $(grep -q "$missing" "$T/err" && echo yes || echo no), stdout $(wc -c <"$T/out") bytes" \
				"exit 1, names it: yes, stdout 0 bytes"
		fi
	done
done
finish
