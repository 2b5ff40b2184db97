#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Degraded modes (issue 9): what --host-root should hold is missing, unreadable
# or hostile. portburn (with the DaemonSet's capabilities, so that file modes
# bite as they do in the pod) must say what is missing, keep tracing (exit 0,
# every connection of a pod's container reported) with names unknown, and
# never crash or hang. A healthy host root first, as the control: there the
# same pod is named.
#   good        proc, sys, var/log/{pods,containers} with the pod's logs
#   hostile     good + a FIFO, a symlink loop, a directory, a 250-byte and a
#               non-UTF-8 name among the logs: still named, no hang
#   nologs      proc and sys only: no var/log (the hostPath mounts forgotten)
#   unreadable  var/log/containers and var/log/pods mode 000
#   notdirs     var/log/containers and var/log/pods are regular files
#   noproc      sys and the logs, no proc (cgroup mount and netns owners unknown)
#   empty       an empty directory
#   /           the default root, when this host has no /var/log/containers
# and serve on the unreadable root: /metrics and /snapshot answer and count.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rel_lib.sh"
command -v capsh >/dev/null || die "capsh not installed (make deps: libcap2-bin)"

new_netns pod; ns=$REPLY
new_cgroup srv
spawn "$ns" "$REPLY" "$T/srv.out" "$TCPCONN" serve 8080 --ready "$T/ready"
wait_until 5 test -e "$T/ready" || die "server did not start"

# The pod: its cgroup (kubelet layout) and its logs in the good root.
R=$T/roots
hostroot_new "$R/good"
pod_new "$R/good" relns web-1 app
uid=$POD_UID pcg=$POD_CG

# The other roots.
cp -a "$R/good" "$R/hostile"
(
	cd "$R/hostile/var/log/containers" || exit 1
	mkfifo "web-2_relns_app-$(printf 'f%.0s' {1..64}).log"
	ln -s loop-b "web-3_relns_app-$(printf 'b%.0s' {1..64}).log"
	ln -s "web-3_relns_app-$(printf 'b%.0s' {1..64}).log" loop-b
	mkdir "web-4_relns_app-$(printf 'd%.0s' {1..64}).log"
	: >"$(printf 'x%.0s' {1..250}).log"
	: >"$(printf 'web-5_rel\xffns_app-%s.log' "$(printf 'e%.0s' {1..64})")"
	mkfifo "../pods/relns_web-2_$(printf '0%.0s' {1..8})-0000-0000-0000-$(printf '0%.0s' {1..12})"
) || die "hostile root"
mkdir -p "$R/nologs" "$R/empty"
ln -s /proc "$R/nologs/proc"
ln -s /sys "$R/nologs/sys"
cp -a "$R/good" "$R/unreadable"
chmod 000 "$R/unreadable/var/log/containers" "$R/unreadable/var/log/pods"
mkdir -p "$R/notdirs/var/log"
ln -s /proc "$R/notdirs/proc"
ln -s /sys "$R/notdirs/sys"
: >"$R/notdirs/var/log/containers"
: >"$R/notdirs/var/log/pods"
cp -a "$R/good" "$R/noproc"
rm "$R/noproc/proc"

# run_case NAME ROOT: trace --json with the DaemonSet's capabilities, 3
# connections from the pod's container; sets EV (the pod's connect events as
# JSON lines), RC and ERR (stderr).
n=0
run_case() {
	local name=$1 root=$2 pid args=(trace --json)
	n=$((n + 1))
	[ "$root" == / ] || args+=(--host-root "$root")
	(with_caps "${GRANTED[*]}" "$PORTBURN" "${args[@]}") >"$T/$n.json" 2>"$T/$n.err" &
	pid=$!
	_PIDS+=("$pid")
	if ! wait_until 30 grep -q 'ready (mode' "$T/$n.err"; then
		echo "not ok - $name: portburn did not start: $(head -c 300 "$T/$n.err")"
		FAILS=$((FAILS + 1))
		kill -KILL $pid 2>/dev/null
		RC=99 EV='' ERR=''
		return 1
	fi
	run_in "$ns" "$pcg" "$T/$n.client" "$TCPCONN" connect 127.0.0.1 8080 -n 3
	cpid=$(head -1 "$T/$n.client")
	wait_until 10 "[ \$(jq -c 'select(.type==\"connect\" and .pid==$cpid)' '$T/$n.json' 2>/dev/null | wc -l) -ge 3 ]"
	kill -INT $pid
	# a hang (a FIFO opened, a loop followed) shows here: killed after 10 s
	(sleep 10; kill -KILL $pid 2>/dev/null) &
	wd=$!
	wait $pid
	RC=$?
	kill $wd 2>/dev/null
	wait $wd 2>/dev/null
	[ $RC -ne 137 ] || log "$name: portburn did not stop within 10 s of SIGINT"
	EV=$(jq -c "select(.type==\"connect\" and .pid==$cpid)" "$T/$n.json")
	ERR=$(grep -v -e 'ready (mode' -e 'events received' "$T/$n.err")
	[ -z "$ERR" ] || log "$name: stderr: $(tr '\n' '|' <<<"$ERR")"
}
names() { jq -r '.namespace + "/" + .pod + "/" + .container' <<<"$EV" | sort -u; }
traced() { # NAME [v1]: exit 0 (no crash), all three connections reported
	eq "$1: exit 0" "$RC" 0
	eq "$1: the pod's 3 connections traced" "$(grep -c . <<<"$EV")" 3
	# without a cgroup2 mount under the root, owners are v1 memory cgroups
	[ "${2:-}" == v1 ] ||
		eq "$1: the events carry the container's cgroup id" \
			"$(jq -r .cgroup_id <<<"$EV" | sort -u)" "$(stat -c %i "$CG2$pcg")"
}
unnamed() { eq "$1: names unknown" "$(names)" "//"; }
says() { # NAME PATTERN WHAT: stderr matches PATTERN
	CHECKS=$((CHECKS + 1))
	if grep -qE -- "$2" <<<"$ERR"; then
		echo "ok - $1: says $3"
	else
		echo "not ok - $1: no message saying $3 (stderr: $(tr '\n' '|' <<<"$ERR"))"
		FAILS=$((FAILS + 1))
	fi
}

run_case good "$R/good"
traced good
eq "good: named from the kubelet's logs" "$(names)" "relns/web-1/app"
check "good: no warning" [ -z "$ERR" ]

run_case hostile "$R/hostile"
traced hostile
eq "hostile: still named" "$(names)" "relns/web-1/app"

LOGS_MSG='var/log/(containers|pods)'
for c in nologs unreadable notdirs; do
	run_case $c "$R/$c"
	traced $c
	unnamed $c
	says $c "$LOGS_MSG" "that the kubelet's logs cannot be read"
done

run_case noproc "$R/noproc"
traced noproc v1
unnamed noproc
says noproc 'cgroup' "that cgroups cannot be resolved"

run_case empty "$R/empty"
traced empty v1
unnamed empty
says empty 'cgroup' "that cgroups cannot be resolved"
says empty "$LOGS_MSG" "that the kubelet's logs cannot be read"

if [ ! -e /var/log/containers ]; then
	run_case "default root" /
	traced "default root"
	unnamed "default root"
	grep -qE "$LOGS_MSG" <<<"$ERR" || log "default root: no message about /var/log/containers (a plain host)"
fi

# serve on the unreadable root: answers, counts the pod by its UID.
(with_caps "${GRANTED[*]}" "$PORTBURN" serve -v --listen 127.0.0.1:0 --host-root "$R/unreadable") \
	>"$T/serve.out" 2>"$T/serve.err" &
spid=$!
_PIDS+=("$spid")
wait_until 30 grep -q 'ready (mode' "$T/serve.err" || { cat "$T/serve.err"; die "serve did not start"; }
port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$T/serve.err" | head -1)
run_in "$ns" "$pcg" "$T/sc.out" "$TCPCONN" connect 127.0.0.1 8080 -n 5
connects() {
	curl -sf "http://127.0.0.1:$port/metrics" |
		awk -v u="$uid" '/^portburn_connects_total\{/ && index($0, u) { s += $2 } END { print s + 0 }'
}
wait_until 10 '[ "$(connects)" -ge 5 ]'
eq "serve, unreadable root: /metrics counts the pod's connections by its UID" "$(connects)" 5
check "serve, unreadable root: /snapshot is JSON" bash -c "curl -sf http://127.0.0.1:$port/snapshot | jq -e .destinations >/dev/null"
eq "serve, unreadable root: /healthz" "$(curl -s "http://127.0.0.1:$port/healthz")" ok
kill -TERM $spid
wait $spid
eq "serve, unreadable root: exit 0" "$?" 0
finish
