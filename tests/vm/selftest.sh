#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Self-test of the matrix's judge (checks.jq), without BPF or a VM: the events
# a correct tracer prints must pass, and each way a tracer can be wrong must
# fail the check it breaks. run.sh runs it before booting anything.
# Usage: tests/vm/selftest.sh      exit 0 when the judge behaves
set -u
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pbvm-self.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
bad=0

# What pbvm-conn reports: client pid 100 in netns 7 and cgroup 42.
cat >"$work/facts" <<'EOF'
{"name":"tw","scenario":"client_closes","pid":100,"comm":"pbvm-cli","netns":7,"cgroup_id":42,"family":"ipv4","daddr":"127.0.0.1","dport":5001,"sports":[40001,40002],"errors":[]}
{"name":"cl","scenario":"server_closes","pid":100,"comm":"pbvm-cli","netns":7,"cgroup_id":42,"family":"ipv6","daddr":"::1","dport":5003,"sports":[40003],"errors":[]}
{"name":"ex","scenario":"exhaust","pid":100,"comm":"pbvm-cli","netns":7,"cgroup_id":42,"family":"ipv4","daddr":"127.0.0.1","dport":5004,"sports":[40010,40011],"errors":["EADDRNOTAVAIL","EADDRNOTAVAIL"]}
{"name":"rf","scenario":"refused","pid":100,"comm":"pbvm-cli","netns":7,"cgroup_id":42,"family":"ipv4","daddr":"127.0.0.1","dport":9,"sports":[],"errors":["ECONNREFUSED"]}
EOF

# The events of a correct tracer in fentry mode, one per line.
good() {
	o='"pid":100,"comm":"pbvm-cli","cgroup_id":42,"netns":7'
	l='"saddr":"127.0.0.1","daddr":"127.0.0.1"'
	for p in 40001 40002; do
		echo "{\"type\":\"connect\",$o,$l,\"sport\":$p,\"dport\":5001,\"hook\":\"tcp_connect\"}"
		echo "{\"type\":\"time_wait\",$o,$l,\"sport\":$p,\"dport\":5001,\"duration_ns\":5,\"time_wait_ns\":60000000000,\"hook\":\"tcp_time_wait\"}"
	done
	echo "{\"type\":\"connect\",$o,\"saddr\":\"::1\",\"daddr\":\"::1\",\"sport\":40003,\"dport\":5003}"
	echo "{\"type\":\"close\",$o,\"saddr\":\"::1\",\"daddr\":\"::1\",\"sport\":40003,\"dport\":5003,\"duration_ns\":9}"
	for p in 40010 40011; do
		echo "{\"type\":\"connect\",$o,$l,\"sport\":$p,\"dport\":5004}"
		echo "{\"type\":\"connect_failed\",$o,$l,\"sport\":0,\"dport\":5004,\"errno\":\"EADDRNOTAVAIL\",\"hook\":\"inet_hash_connect\"}"
	done
	echo "{\"type\":\"connect_failed\",$o,$l,\"sport\":0,\"dport\":9,\"errno\":\"ECONNREFUSED\"}"
}

judge() { # mode < events -> verdict lines
	jq -n -R -r --slurpfile facts "$work/facts" --arg mode "$1" -f "$here/checks.jq"
}

expect() { # description mode check PASS|FAIL  (events on stdin)
	got=$(judge "$2" | awk -F '\t' -v c="$3" '$1 == c { print $2 }')
	if [ "$got" = "$4" ]; then
		echo "ok   $1"
	else
		echo "FAIL $1: check $3 gave '${got:-nothing}', want $4"
		bad=1
	fi
}

# A correct tracer passes every check.
for c in tw cl ex rf ndjson; do
	good | expect "correct events: $c passes" fentry "$c" PASS
done
# Each kind of mistake fails the check it breaks.
good | sed '/time_wait.*40001/s/"pid":100/"pid":101/' |
	expect "time_wait credited to the server process" fentry tw FAIL
good | sed '/time_wait.*40001/s/"cgroup_id":42/"cgroup_id":1/' |
	expect "time_wait in the wrong cgroup" fentry tw FAIL
good | sed '/connect".*40002/d' | expect "a connect missing" fentry tw FAIL
good | sed '/connect".*40002/p' | expect "a connect reported twice" fentry tw FAIL
good | sed '/connect".*40002/s/40002/40009/' | expect "a wrong source port" fentry tw FAIL
good | sed '/time_wait/s/"hook":"tcp_time_wait"/"hook":"inet_sock_set_state"/' |
	expect "fentry mode: TIME_WAIT not from tcp_time_wait" fentry tw FAIL
good | sed '/time_wait/s/,"hook":"tcp_time_wait"//' |
	expect "fentry mode: TIME_WAIT without a hook" fentry tw FAIL
good | sed '/time_wait/s/,"hook":"tcp_time_wait"//' |
	expect "tracepoint mode: TIME_WAIT from the state tracepoint" tracepoint tw PASS
good | sed '/time_wait.*40002/s/60000000000/0/' | expect "TIME_WAIT length 0" fentry tw FAIL
good | sed '/time_wait.*40002/s/60000000000/15000/' | expect "TIME_WAIT length in jiffies" fentry tw FAIL
good | sed 's/"type":"connect",/"type":"connect","conn_id":1,/; s/"type":"time_wait",/"type":"time_wait","conn_id":2,/' |
	expect "TIME_WAIT linked to another connection" fentry tw FAIL
good | sed 's/"type":"connect",/"type":"connect","conn_id":1,/; s/"type":"time_wait",/"type":"time_wait","conn_id":1,/' |
	expect "TIME_WAIT linked to its connection" fentry tw PASS
good | sed '/"sport":40003/s/"::1"/"::"/g' | expect "IPv6 addresses lost" fentry cl FAIL
good | sed 's/"type":"close"/"type":"time_wait"/' |
	expect "TIME_WAIT on the side that did not close first" fentry cl FAIL
good | sed '/"type":"close"/s/"duration_ns":9/"duration_ns":0/' |
	expect "close without a lifetime" fentry cl FAIL
good | sed '0,/EADDRNOTAVAIL/{/EADDRNOTAVAIL/d}' | expect "one EADDRNOTAVAIL missing" fentry ex FAIL
good | sed 's/EADDRNOTAVAIL/EADDRINUSE/' | expect "EADDRINUSE instead of EADDRNOTAVAIL" fentry ex FAIL
good | sed '/EADDRNOTAVAIL/s/"hook":"inet_hash_connect"/"hook":"sys_exit_connect"/' |
	expect "kprobe mode: EADDRNOTAVAIL not from inet_hash_connect" kprobe ex FAIL
good | sed '/dport":9/s/"pid":100/"pid":1/' | expect "ECONNREFUSED misattributed" fentry rf FAIL
good | sed '/dport":9/d' | expect "ECONNREFUSED missing" fentry rf FAIL
{ good; echo 'portburn: oops'; } | expect "a line that is not JSON" fentry ndjson FAIL

# The snapshot judge: 2 ports held open by cgroup /t, 1 left in TIME_WAIT.
echo '{"sports":[40001,40002],"tw_sports":[40003],"netns":7,"daddr":"127.0.0.1","dport":5005}' \
	>"$work/hold"
snap() { # open time_wait in_use owner-of-open mode
	printf '{"mode":"%s","destinations":[{"netns":8,"daddr":"127.0.0.1","dport":5005,"open":9,"time_wait":0,"in_use":9,"owners":[]},' "$5"
	printf '{"netns":7,"saddr":"127.0.0.1","daddr":"127.0.0.1","dport":5005,"open":%d,"time_wait":%d,"in_use":%d,"owners":[' "$1" "$2" "$3"
	printf '{"owner":"netns:7","open":0,"time_wait":1},{"owner":"%s","open":2,"time_wait":0}]}]}\n' "$4"
}
expect_snap() { # description PASS|FAIL  (snapshot on stdin)
	cat >"$work/snap"
	why=$(jq -r -n --slurpfile f "$work/hold" --slurpfile s "$work/snap" --arg mode fentry \
		--arg cg /t -f "$here/snapshot.jq" 2>&1)
	got=FAIL
	[ -z "$why" ] && got=PASS
	if [ "$got" = "$2" ]; then
		echo "ok   snapshot: $1"
	else
		echo "FAIL snapshot: $1: gave $got ($why), want $2"
		bad=1
	fi
}
snap 2 1 3 /t fentry | expect_snap "agrees" PASS
snap 1 1 2 /t fentry | expect_snap "an open socket missing" FAIL
snap 2 0 2 /t fentry | expect_snap "TIME_WAIT not visited" FAIL
snap 2 1 3 /other fentry | expect_snap "open sockets owned by another cgroup" FAIL
snap 2 1 3 /t kprobe | expect_snap "reports another mode" FAIL
echo '{"mode":"fentry","destinations":[]}' | expect_snap "destination missing" FAIL

exit $bad
