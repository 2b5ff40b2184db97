#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 4 in the lab: every port has an owner. Usage: lab_pb_attribution.sh
# [lab up layout options], e.g. --driver cgroupfs or --runtime crio (the
# lab_pb_attribution_*.sh wrappers run those layouts).
#
# Known traffic, each connection to the web server, client closing first:
#   mesh/mesh-0  app 6 requests, captured by its istio-proxy sidecar, which
#                opens 6 upstream connections of its own
#   shop/app-0   4, shop/app-1 5
# then shop/app-1 is deleted (processes killed, cgroups removed, container log
# link gone; its pod log dir lingers, as until the kubelet's GC) and re-created
# by hand with the same name, a new UID, new container ids and a new revision:
# an init container "init" makes 1 connection and exits, then the main
# container, now called "server" (a mix-up with the old incarnation would show
# as a wrong container name), makes 3 at once, as apps do when they start
# (`lab` has no command to re-create a pod: it is done here by hand, with the
# same cgroup layout and log files the lab and the kubelet make).
#
# portburn trace --json and serve (running from the start, no periodic
# reconciliation inside the test) must name the right namespace/pod/container
# and role for each of them, exactly.
. "$(dirname "$0")/lab_pb_lib.sh"
layout=${*:-default}
layout=${layout//--/}
layout=${layout// /-}
pb_init "attr-$layout"

pb_up --pods 2 --mesh-pods 1 "$@"
st=$(status_json)
ctr() { jq -r --arg p "$1" --arg c "$2" --arg k "$3" \
	'.pods[] | select(.name == $p) | .containers[] | select(.name == $c) | .[$k]' <<<"$st"; }
ns_mesh=$(netns_ino mesh-0) ns_a0=$(netns_ino app-0) ns_a1=$(netns_ino app-1)
ip_mesh=$(pod_ip mesh-0) ip_a0=$(pod_ip app-0) ip_a1=$(pod_ip app-1)
log "layout: $(jq -r '"\(.cgroup_driver)/\(.runtime)"' <<<"$st"); app-1 app cgroup $(ctr app-1 app cgroup)"

start_trace --host-root "$HR"
start_serve main --reconcile 600

# known traffic
out=$(loadgen mesh-0 -- -t 203.0.113.10:80 -n 6 -c 1)
check "mesh-0: 6 requests answered through the sidecar" grep -q ' http_2xx=6 ' <<<"$out"
out=$(loadgen app-0 -- -t 203.0.113.10:80 -n 4 -c 1)
check "app-0: 4 requests answered" grep -q ' http_2xx=4 ' <<<"$out"
out=$(loadgen app-1 -- -t 203.0.113.10:80 -n 5 -c 1)
check "app-1: 5 requests answered" grep -q ' http_2xx=5 ' <<<"$out"

# who portburn says made each connection, per network namespace
who() { # netns type
	jq -r --argjson n "$1" --arg t "$2" \
		'select(.type == $t and .netns == $n) | "\(.namespace)/\(.pod)/\(.container) \(.role)"' \
		"$T/trace.json" | sort | uniq -c | awk '{ print $2, $3, $1 }'
}
want_mesh="mesh/mesh-0/app app 6
mesh/mesh-0/istio-proxy sidecar 6"
wait_until 5 '[ "$(who $ns_mesh connect)" = "$want_mesh" ] && [ "$(who $ns_a1 time_wait)" = "shop/app-1/app app 5" ]'
eq_lines "trace: mesh-0's connects: 6 by the app (role app), 6 by istio-proxy (role sidecar)" \
	"$(who "$ns_mesh" connect)" "$want_mesh"
eq_lines "trace: mesh-0's TIME_WAIT: the app's 6 (it closed first), none credited to the sidecar" \
	"$(who "$ns_mesh" time_wait)" "mesh/mesh-0/app app 6"
eq_lines "trace: app-0's 4 connects are app-0's" "$(who "$ns_a0" connect)" "shop/app-0/app app 4"
eq_lines "trace: app-1's 5 connects are app-1's" "$(who "$ns_a1" connect)" "shop/app-1/app app 5"
eq_lines "trace: app-1's 5 TIME_WAIT are app-1's" "$(who "$ns_a1" time_wait)" "shop/app-1/app app 5"
cgs() { # netns container: the distinct "cgroup_id cgroup" of its events
	jq -r --argjson n "$1" --arg c "$2" \
		'select(.netns == $n and .container == $c and .type != "alert") | "\(.cgroup_id) \(.cgroup)"' \
		"$T/trace.json" | sort -u
}
eq "trace: the app's events carry the app container's cgroup" \
	"$(cgs "$ns_mesh" app)" "$(ctr mesh-0 app cgroup_id) $(ctr mesh-0 app cgroup)"
eq "trace: the sidecar's events carry the sidecar container's cgroup" \
	"$(cgs "$ns_mesh" istio-proxy)" "$(ctr mesh-0 istio-proxy cgroup_id) $(ctr mesh-0 istio-proxy cgroup)"
eq "trace: app-1's events carry its app container's cgroup" \
	"$(cgs "$ns_a1" app)" "$(ctr app-1 app cgroup_id) $(ctr app-1 app cgroup)"

# --- delete shop/app-1 and re-create it: same name, new UID ---------------
uid1=$(jq -r '.pods[] | select(.name == "app-1") | .uid' <<<"$st")
podcg1=$(jq -r '.pods[] | select(.name == "app-1") | .cgroup' <<<"$st")
h=$(printf '%s' "$LAB_PREFIX/pod/shop/app-1/incarnation-2" | sha256sum)
uid2="${h:0:8}-${h:8:4}-4${h:13:3}-a${h:17:3}-${h:20:12}"
podcg2=${podcg1//$uid1/$uid2}
podcg2=${podcg2//${uid1//-/_}/${uid2//-/_}}
[ "$podcg2" != "$podcg1" ] || die "cannot derive the new pod cgroup from $podcg1"
# kubelet: kill the containers, remove their cgroups and log links
echo 1 >"$CG2$podcg1/cgroup.kill"
for c in app pause; do
	cg=$(ctr app-1 "$c" cgroup)
	wait_until 5 "[ ! -s '$CG2$cg/cgroup.procs' ]" || die "app-1/$c did not die"
	rmdir "$CG2$cg" || die "rmdir $cg"
done
rmdir "$CG2$podcg1" || die "rmdir $podcg1"
rm -f "$HR/var/log/containers/app-1_shop_app-$(ctr app-1 app id).log"
# ... and start the new incarnation, as the kubelet does: the pod cgroup and
# its sandbox (pause), then an init container that waits for the web server
# (one request) and exits, then the main container "server", which connects at
# once (3 requests).
newctr() { # name: a new container's cgroup (the runtime's naming) in NEW_CG, id in NEW_ID
	local id leaf cg
	id=$(printf '%s' "$LAB_PREFIX/container/shop/app-1/$1/incarnation-2" | sha256sum | cut -c1-64)
	leaf=$(basename "$(ctr app-1 app cgroup)")
	cg="$podcg2/${leaf//$(ctr app-1 app id)/$id}"
	mkdir "$CG2$cg" || die "mkdir $cg"
	_PB_CGROUPS+=("$CG2$cg")
	if [ "$1" != pause ]; then # the kubelet's logs; a sandbox has none
		mkdir -p "$HR/var/log/pods/shop_app-1_$uid2/$1"
		: >"$HR/var/log/pods/shop_app-1_$uid2/$1/0.log"
		ln -s "/var/log/pods/shop_app-1_$uid2/$1/0.log" \
			"$HR/var/log/containers/app-1_shop_$1-$id.log"
	fi
	NEW_CG=$cg NEW_ID=$id
}
netns1=$(pod_netns app-1)
mkdir "$CG2$podcg2" || die "mkdir $podcg2"
_PB_CGROUPS+=("$CG2$podcg2")
newctr pause
spawn "$netns1" "$NEW_CG" "$T/pause2.out" sleep infinity
newctr init
run_in "$netns1" "$NEW_CG" "$T/init2-load.out" \
	"$LAB_REPO/build/lab/loadgen" -t 203.0.113.10:80 -n 1 -c 1
check "new app-1, init container: 1 request answered" grep -q ' http_2xx=1 ' "$T/init2-load.out"
# the trace has seen (and named) the init container's connection
wait_until 5 "[ \$(jq -c 'select(.type == \"connect\" and .cgroup_id == $(stat -c %i "$CG2$NEW_CG"))' \"\$T/trace.json\" | wc -l) -eq 1 ]"
newctr server
servercg2=$NEW_CG serverid2=$NEW_ID
spawn "$netns1" "$servercg2" "$T/server2.out" sleep infinity
log "app-1 re-created: uid $uid1 -> $uid2, container server ${serverid2:0:12}"
run_in "$netns1" "$servercg2" "$T/server2-load.out" \
	"$LAB_REPO/build/lab/loadgen" -t 203.0.113.10:80 -n 3 -c 1
check "new app-1, server container: 3 requests answered" grep -q ' http_2xx=3 ' "$T/server2-load.out"

want_a1="shop/app-1/app app 5
shop/app-1/init app 1
shop/app-1/server app 3"
wait_until 5 '[ "$(who $ns_a1 time_wait)" = "$want_a1" ]'
eq_lines "trace: app-1's connects: 5 by the old incarnation's app, 1 + 3 by the new one's init and server" \
	"$(who "$ns_a1" connect)" "$want_a1"
eq_lines "trace: app-1's TIME_WAIT: the same split" "$(who "$ns_a1" time_wait)" "$want_a1"
eq "trace: the new incarnation's events carry its own cgroup (new UID)" \
	"$(cgs "$ns_a1" server)" "$(stat -c %i "$CG2$servercg2") $servercg2"
eq "trace: the old incarnation's events still carry the old cgroup" \
	"$(cgs "$ns_a1" app)" "$(ctr app-1 app cgroup_id) $(ctr app-1 app cgroup)"
unnamed=$(jq -c --argjson a "[$ns_mesh,$ns_a0,$ns_a1]" \
	'select(.type != "alert" and (.netns as $n | $a | index($n)) and (.namespace == "" or .container == "")) |
	 {type, ts_ns, comm, cgroup_id, cgroup, owner, namespace, pod, container}' "$T/trace.json")
eq "trace: no event of ours is left without a pod and container name" "$(grep -c . <<<"$unnamed")" 0
[ -z "$unnamed" ] || sed 's/^/#   /' <<<"$unnamed"

# serve, running since before all of it: the ports each container holds
want_ports="ports mesh/mesh-0/app time_wait 6
ports shop/app-0/app time_wait 4
ports shop/app-1/app time_wait 5
ports shop/app-1/init time_wait 1
ports shop/app-1/server time_wait 3"
wait_until 5 'scrape main "$T/m" && [ "$(metrics_ports "$T/m")" = "$want_ports" ]'
scrape main "$T/m"
eq_lines "serve /metrics: ports in use per container (the deleted incarnation's TIME_WAIT stays its own)" \
	"$(metrics_ports "$T/m")" "$want_ports"
eq_lines "serve /metrics: connects per container and role" "$(metrics_connects "$T/m")" \
	"connects mesh/mesh-0/app app 6
connects mesh/mesh-0/istio-proxy sidecar 6
connects shop/app-0/app app 4
connects shop/app-1/app app 5
connects shop/app-1/init app 1
connects shop/app-1/server app 3"

code=$(snap_http main "$T/s.json")
eq "serve /snapshot answers (HTTP status)" "$code" 200
if [ "$code" = 200 ]; then
	eq_lines "serve /snapshot: owners per destination, per container" \
		"$(snap_summary "$T/s.json" "$ns_mesh" "$ns_a0" "$ns_a1" | grep '^owner')" \
		"owner $ip_a0>203.0.113.10:80 shop/app-0/app app in_use=4 open=0 tw=4
owner $ip_a1>203.0.113.10:80 shop/app-1/app app in_use=5 open=0 tw=5
owner $ip_a1>203.0.113.10:80 shop/app-1/init app in_use=1 open=0 tw=1
owner $ip_a1>203.0.113.10:80 shop/app-1/server app in_use=3 open=0 tw=3
owner $ip_mesh>203.0.113.10:80 mesh/mesh-0/app app in_use=6 open=0 tw=6"
fi
stop_trace
eq "trace exits 0" "$TRACE_RC" 0
check "trace: nothing lost" grep -q ' 0 lost ' "$T/trace.err"
finish
