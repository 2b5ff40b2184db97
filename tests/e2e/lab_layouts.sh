#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The lab's containers look to the kernel like a kubelet's: cgroup paths for
# the systemd and cgroupfs drivers, containerd / CRI-O / docker names, every
# QoS class, a nested root; processes in those cgroups and in their pod's
# netns; the host root with the kubelet's log layout.
. "$(dirname "$0")/../../tools/lab/testlib.sh"
lab_test_init layouts

cg2=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break; if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)

# the path a kubelet would give this container (written here independently of the lab)
expected_cgroup() { # driver runtime root qos uid id
	local driver=$1 runtime=$2 root=$3 qos=$4 uid=$5 id=$6 pod leaf
	if [ "$driver" = systemd ]; then
		case $runtime in
		containerd) leaf=cri-containerd-$id.scope ;;
		crio) leaf=crio-$id.scope ;;
		docker) leaf=docker-$id.scope ;;
		esac
		if [ "$qos" = guaranteed ]; then
			pod=kubepods.slice/kubepods-pod${uid//-/_}.slice
		else
			pod=kubepods.slice/kubepods-$qos.slice/kubepods-$qos-pod${uid//-/_}.slice
		fi
	else
		leaf=$id
		[ "$runtime" = crio ] && leaf=crio-$id
		if [ "$qos" = guaranteed ]; then pod=kubepods/pod$uid; else pod=kubepods/$qos/pod$uid; fi
	fi
	echo "$root/$pod/$leaf"
}

verify_layout() { # driver runtime root(with leading / or empty) pause(0|1)
	local driver=$1 runtime=$2 root=$3 pause=$4 st hr
	st=$(status_json)
	hr=$(jq -r .host_root <<<"$st")
	check "$driver/$runtime: host root proc -> /proc" [ "$(readlink "$hr/proc")" = /proc ]
	check "$driver/$runtime: host root sys -> /sys" [ "$(readlink "$hr/sys")" = /sys ]
	local pods n=0 total
	total=$(jq '[.pods[].containers[]] | length' <<<"$st")
	while IFS=$'\t' read -r ns pod uid qos netns name id role cg cgid pid log; do
		n=$((n + 1))
		local want
		want=$(expected_cgroup "$driver" "$runtime" "$root" "$qos" "$uid" "$id")
		[[ $uid =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] ||
			fail "$pod: uid '$uid' is not a UUID"
		[[ $id =~ ^[0-9a-f]{64}$ ]] || fail "$pod/$name: id '$id' is not 64 hex digits"
		[ "$cg" = "$want" ] || fail "$pod/$name: cgroup $cg, expected $want"
		[ -d "$cg2$cg" ] || fail "$pod/$name: no cgroup directory $cg2$cg"
		[ "$cgid" = "$(stat -c %i "$cg2$cg")" ] || fail "$pod/$name: cgroup id $cgid is not the inode"
		[ -n "$pid" ] && [ "$pid" != null ] || fail "$pod/$name: no process"
		grep -qx "0::$cg" "/proc/$pid/cgroup" || fail "$pod/$name: pid $pid is not in $cg"
		[ "$(ip netns identify "$pid")" = "$netns" ] || fail "$pod/$name: pid $pid is not in netns $netns"
		if [ "$role" = pause ]; then
			[ "$log" = null ] || fail "$pod/$name: a pause container has no log"
			compgen -G "$hr/var/log/containers/*-$id.log" >/dev/null &&
				fail "$pod/$name: a pause container has no log link"
		else
			local dir="var/log/pods/${ns}_${pod}_${uid}/$name"
			[ "$log" = "$hr/$dir/0.log" ] || fail "$pod/$name: log $log, expected $hr/$dir/0.log"
			[ -f "$hr/$dir/0.log" ] || fail "$pod/$name: no $dir/0.log"
			[ "$(readlink "$hr/var/log/containers/${pod}_${ns}_${name}-$id.log")" = "/$dir/0.log" ] ||
				fail "$pod/$name: bad or missing var/log/containers link"
		fi
	done < <(jq -r '.pods[] as $p | $p.containers[] |
		[$p.namespace, $p.name, $p.uid, $p.qos, $p.netns, .name, .id, .role, .cgroup,
		 (.cgroup_id | tostring), (.pids[0] // "null" | tostring), (.log // "null")] | @tsv' <<<"$st")
	check "$driver/$runtime: all $total containers laid out as the kubelet does" [ "$n" -eq "$total" ]
	local pauses
	pauses=$(jq '[.pods[].containers[] | select(.role == "pause")] | length' <<<"$st")
	if [ "$pause" = 1 ]; then
		check "$driver/$runtime: every pod has a pause container" \
			[ "$pauses" -eq "$(jq '.pods | length' <<<"$st")" ]
	else
		check "$driver/$runtime: no pause containers" [ "$pauses" -eq 0 ]
	fi
}

# 1. systemd driver, containerd, burstable (the defaults), IPv6 on
"$LAB" up --pods 2 --mesh-pods 1 --ipv6 1
verify_layout systemd containerd "" 1
st=$(status_json)
check "the mesh pod has app and istio-proxy containers" \
	[ "$(jq -r '.pods[] | select(.name == "mesh-0") | [.containers[].name] | join(",")' <<<"$st")" = "pause,app,istio-proxy" ]
app_cg=$(jq -r '.pods[0].containers[] | select(.name == "app") | .cgroup' <<<"$st")
check "lab exec runs in the app container's cgroup" \
	[ "$("$LAB" exec app-0 -- grep "^0::" /proc/self/cgroup)" = "0::$app_cg" ]
check "lab exec runs in the pod's network namespace" \
	[ "$("$LAB" exec app-0 -- ip -4 -o addr show dev eth0 | awk '{ print $4 }')" = 10.244.0.10/24 ]
check "pods have IPv6 addresses" [ "$(jq -r '.pods[0].ip6' <<<"$st")" = fd00:10:244::10 ]
ipv6_works() { "$LAB" loadgen app-1 -- -t '[2001:db8:203::10]:80' -n 5 | grep -q ' http_2xx=5 '; }
check "IPv6 reaches the external server through the node's SNAT" ipv6_works
"$LAB" down

# 2. cgroupfs driver, CRI-O, every QoS class
"$LAB" up --pods 3 --mesh-pods 1 --driver cgroupfs --runtime crio --qos mixed
verify_layout cgroupfs crio "" 1
check "mixed QoS: burstable, besteffort, guaranteed" \
	[ "$(status_json | jq -r '[.pods[0:3][].qos] | join(",")')" = "burstable,besteffort,guaranteed" ]
"$LAB" down

# 3. systemd driver, docker names, guaranteed, nested root, no pause, IPv4 only
nest=plt$$-nest.slice/node.scope
[ ! -e "$cg2/plt$$-nest.slice" ] || fail "$cg2/plt$$-nest.slice already exists"
"$LAB" up --pods 2 --mesh-pods 0 --runtime docker --qos guaranteed --cgroup-parent "$nest" \
	--no-pause --ipv6 0
verify_layout systemd docker "/$nest" 0
check "IPv4 only: no IPv6 addresses" [ "$(status_json | jq -r '.pods[0].ip6')" = null ]
"$LAB" down
check "down removes the nested root it created" [ ! -e "$cg2/plt$$-nest.slice" ]
