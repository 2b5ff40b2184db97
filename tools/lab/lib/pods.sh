# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Pods and their containers, and the host root with the kubelet's log layout:
#   var/log/pods/<namespace>_<pod>_<uid>/<container>/0.log
#   var/log/containers/<pod>_<namespace>_<container>-<id>.log -> /var/log/pods/.../0.log
# (absolute links, as the kubelet makes them: inside the host root they only
# resolve against the host root, exactly like on a real node's hostPath mount),
# plus proc -> /proc and sys -> /sys.
#
# pods.tsv:       namespace name uid qos netns ip ip6 veth kind index cgroup
# containers.tsv: namespace pod container id role cgroup log

# The pods of this layout: "namespace name kind index" lines.
pods_plan() {
	local i
	for ((i = 0; i < LAB_PODS; i++)); do
		echo "$LAB_NAMESPACE app-$i plain $i"
	done
	for ((i = 0; i < LAB_MESH_PODS; i++)); do
		echo "$LAB_MESH_NAMESPACE mesh-$i mesh $((LAB_PODS + i))"
	done
}

hostroot_up() {
	created "hostroot $LAB_HOSTROOT"
	mkdir -p "$LAB_HOSTROOT/var/log/pods" "$LAB_HOSTROOT/var/log/containers"
	ln -sfn /proc "$LAB_HOSTROOT/proc"
	ln -sfn /sys "$LAB_HOSTROOT/sys"
}

# Creates the log file and link of one container; prints the log path.
container_log() { # ns pod uid container id
	local rel="var/log/pods/$1_$2_$3/$4"
	mkdir -p "$LAB_HOSTROOT/$rel"
	: >>"$LAB_HOSTROOT/$rel/0.log"
	ln -sfn "/$rel/0.log" "$LAB_HOSTROOT/var/log/containers/$2_$1_$4-$5.log"
	echo "$LAB_HOSTROOT/$rel/0.log"
}

# Starts one container of a pod; prints its pid.
container_up() { # ns pod uid podcg netns container role
	local ns=$1 pod=$2 uid=$3 podcg=$4 netns=$5 name=$6 role=$7 id cg log
	id=$(container_id "$ns" "$pod" "$name")
	cg=$(container_cgroup "$podcg" "$id")
	cg_mkdir "$cg"
	case $role in
	pause)
		# the sandbox: no log, as on a real node; holds the pod's namespaces
		log=-
		spawn "container:$ns/$pod/$name" "$cg" "$netns" "" /dev/null sleep infinity >/dev/null
		;;
	app)
		log=$(container_log "$ns" "$pod" "$uid" "$name" "$id")
		# The app idles; scenarios `exec` the load generator into it.
		spawn "container:$ns/$pod/$name" "$cg" "$netns" "" "$log" sleep infinity >/dev/null
		;;
	sidecar)
		log=$(container_log "$ns" "$pod" "$uid" "$name" "$id")
		sidecar_up "$pod" "$netns" "$cg" "$log" "$ns/$pod/$name"
		;;
	esac
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ns" "$pod" "$name" "$id" "$role" "$cg" "$log" \
		>>"$LAB_CTRS_TSV"
}

pods_up() {
	local ns pod kind i uid qos netns veth podcg
	: >"$LAB_PODS_TSV"
	: >"$LAB_CTRS_TSV"
	while read -r ns pod kind i; do
		uid=$(pod_uid "$ns" "$pod")
		qos=$(pod_qos "$i")
		netns=$(pod_ns "$pod")
		veth="veth${uid:0:8}"
		podcg=$(pod_cgroup "$qos" "$uid")
		net_pod_up "$i" "$pod" "$veth"
		[ "$kind" = mesh ] && net_capture_up "$netns"
		local ip6=-
		ipv6_on && ip6=$(pod_ip6 "$i")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ns" "$pod" "$uid" "$qos" \
			"$netns" "$(pod_ip "$i")" "$ip6" "$veth" "$kind" "$i" "$podcg" >>"$LAB_PODS_TSV"
		[ "$LAB_PAUSE" = 1 ] && container_up "$ns" "$pod" "$uid" "$podcg" "$netns" pause pause
		container_up "$ns" "$pod" "$uid" "$podcg" "$netns" app app
		[ "$kind" = mesh ] &&
			container_up "$ns" "$pod" "$uid" "$podcg" "$netns" "$LAB_SIDECAR_NAME" sidecar
		crash_point "pod:$pod"
	done < <(pods_plan)
	# readiness: every container is in its cgroup, every sidecar listens
	local cns cpod cname cid crole ccg clog pid
	while IFS=$'\t' read -r cns cpod cname cid crole ccg clog; do
		pid=$(role_pid "container:$cns/$cpod/$cname")
		wait_ready "$LAB_WAIT" "$pid" grep -qx "$pid" "$LAB_CG2$ccg/cgroup.procs" ||
			die "failed to start container $cns/$cpod/$cname (log: $clog)"
		if [ "$crole" = sidecar ]; then
			sidecar_wait "$cpod" "$(pod_ns "$cpod")" "$clog" "$pid"
		fi
	done <"$LAB_CTRS_TSV"
	return 0
}

# Looks a pod up by name (or namespace/name); sets P_* variables. 1 if unknown.
pod_find() {
	local want=$1 ns name uid qos netns ip ip6 veth kind i cg
	while IFS=$'\t' read -r ns name uid qos netns ip ip6 veth kind i cg; do
		if [ "$want" = "$name" ] || [ "$want" = "$ns/$name" ]; then
			P_NS=$ns P_NAME=$name P_UID=$uid P_QOS=$qos P_NETNS=$netns P_IP=$ip
			P_IP6=$ip6 P_VETH=$veth P_KIND=$kind P_INDEX=$i P_CGROUP=$cg
			return 0
		fi
	done <"$LAB_PODS_TSV"
	return 1
}

# Looks a container up; default: the pod's app container. Sets C_* variables.
container_find() { # pod-name [container]
	local ns pod name id role cg log
	while IFS=$'\t' read -r ns pod name id role cg log; do
		[ "$pod" = "$1" ] || continue
		if { [ -z "${2:-}" ] && [ "$role" = app ]; } || [ "${2:-}" = "$name" ]; then
			C_NAME=$name C_ID=$id C_ROLE=$role C_CGROUP=$cg C_LOG=$log
			return 0
		fi
	done <"$LAB_CTRS_TSV"
	return 1
}

pods_of_kind() { # kind -> pod names
	awk -F'\t' -v k="$1" '$9 == k { print $2 }' "$LAB_PODS_TSV"
}
