#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# connstorm counts what the kernel counts: in namespaces of its own, a client
# that closes first leaves exactly its connections in TIME_WAIT on the client
# (ss), the kernel's TcpActiveOpens/TcpPassiveOpens (nstat) match connstorm's
# own JSON, a server that closes first leaves TIME_WAIT on the server, hold mode
# holds exactly -n connections, and bad flags exit 2. No timing is asserted:
# waits are for states, with generous bounds that only turn a hang into a
# failure.
set -u
# shellcheck source=tools/bench/lib.sh
source "$(dirname "$0")/../../tools/bench/lib.sh"
need_root

fail() { echo "FAIL: $*"; exit 1; }

# Wait (bounded) until `cmd` prints `want`.
wait_eq() { # want secs cmd...
	local want=$1 secs=$2 i got
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		got=$("$@")
		[ "$got" = "$want" ] && return 0
		sleep 0.1
	done
	echo "$got"
	return 1
}

tw_count() { ip netns exec "$1" ss -tanH state time-wait | wc -l; }
est_count() { ip netns exec "$1" ss -tanH state established | wc -l; }
nstat_of() { # ns counter
	ip netns exec "$1" nstat -asz "$2" | awk -v c="$2" '$1 == c { print $2 }'
}

# Usage errors exit 2, before any network work.
for args in "-x" "-n -1" "-n 12abc" "-p 0" "-p 70000" "-p 10-5" "-t 0" "-d 0" \
	"-m nope" "-a 1.2.3.4," "-a not-an-ip" "-s 65536" "extra" "-m server-close -r 0" \
	"serve -n 5" "serve -m hold"; do
	# shellcheck disable=SC2086
	"$CONNSTORM" $args >/dev/null 2>&1
	rc=$?
	[ $rc -eq 2 ] || fail "connstorm $args: exit $rc, want 2"
done
"$CONNSTORM" -h | grep -q '^usage: connstorm' || fail "-h prints no usage"

ns_veth t
server_start t-server 300 -a "$SERVER_ADDR" -p 24000-24007 -t 2

# 200 connections, client closes first: 200 TIME_WAIT on the client.
ip netns exec "$NS_C" "$CONNSTORM" -q -a "$SERVER_ADDR" -p 24000-24007 -t 2 -n 200 -d 120 \
	-r 1 >"$RUN/c1.json" || fail "client-close run failed"
cat "$RUN/c1.json"
for k in connects connected closes requests; do
	[ "$(json_num "$RUN/c1.json" $k)" = 200 ] || fail "client-close: $k != 200"
done
[ "$(json_num "$RUN/c1.json" connect_failures)" = 0 ] || fail "client-close: failures"
got=$(wait_eq 200 60 tw_count "$NS_C") || fail "client TIME_WAIT: $got, want 200"
[ "$(nstat_of "$NS_C" TcpActiveOpens)" = 200 ] || fail "TcpActiveOpens != 200"
[ "$(nstat_of "$NS_S" TcpPassiveOpens)" = 200 ] || fail "TcpPassiveOpens != 200"
[ "$(tw_count "$NS_S")" = 0 ] || fail "server has TIME_WAIT after client-close"

# 100 connections, server closes first: 100 TIME_WAIT on the server.
ip netns exec "$NS_C" "$CONNSTORM" -q -a "$SERVER_ADDR" -p 24000-24007 -t 2 -n 100 -d 120 \
	-m server-close >"$RUN/c2.json" || fail "server-close run failed"
cat "$RUN/c2.json"
[ "$(json_num "$RUN/c2.json" connected)" = 100 ] || fail "server-close: connected != 100"
jq -e '.io_failed == {} and .connect_failed == {}' "$RUN/c2.json" >/dev/null ||
	fail "server-close: failures reported"
got=$(wait_eq 100 60 tw_count "$NS_S") || fail "server TIME_WAIT: $got, want 100"
[ "$(tw_count "$NS_C")" = 200 ] || fail "client TIME_WAIT changed after server-close"
[ "$(nstat_of "$NS_C" TcpActiveOpens)" = 300 ] || fail "TcpActiveOpens != 300"

# Keep-alive: 4 connections, 50 requests each.
ip netns exec "$NS_C" "$CONNSTORM" -q -a "$SERVER_ADDR" -p 24000-24007 -t 2 -n 4 -d 120 \
	-m keepalive -r 50 >"$RUN/c3.json" || fail "keepalive run failed"
[ "$(json_num "$RUN/c3.json" connected)" = 4 ] || fail "keepalive: connected != 4"
[ "$(json_num "$RUN/c3.json" requests)" = 200 ] || fail "keepalive: requests != 200"

# Hold: 50 established while holding; all closed after SIGTERM.
bg_start t-hold ip netns exec "$NS_C" "$CONNSTORM" -q -m hold -n 50 -a "$SERVER_ADDR" \
	-p 24000-24007 -d 300
HOLD=$BG_PID
wait_line "$RUN/t-hold.err" '^connstorm: holding 50 connections' 60 "$HOLD" ||
	fail "hold: $(cat "$RUN/t-hold.err")"
[ "$(est_count "$NS_C")" = 50 ] || fail "hold: $(est_count "$NS_C") established, want 50"
kill -TERM "$HOLD"
wait "$HOLD"
rc=$?
[ $rc -eq 0 ] || fail "hold exited $rc after SIGTERM"
[ "$(json_num "$RUN/t-hold.out" closes)" = 50 ] || fail "hold: closes != 50"

# The server saw every connection, and reports as it stops.
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
cat "$RUN/t-server.out"
[ "$(json_num "$RUN/t-server.out" accepted)" = 354 ] || fail "server accepted != 354"
[ "$(json_num "$RUN/t-server.out" server_closes)" = 100 ] || fail "server_closes != 100"
echo "PASS"
