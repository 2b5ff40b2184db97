# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Containers: cgroups laid out the way the kubelet does it, and processes
# placed in them (cgroup.procs) and in their pod's network namespace.
#
# systemd driver (the default):
#   kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_>.slice/<runtime>-<id>.scope
#   guaranteed pods sit directly in kubepods.slice/kubepods-pod<uid_>.slice/
#   (systemd slice names cannot hold '-' inside a unit part, so the kubelet
#   writes the pod UID with '_' instead)
# cgroupfs driver:
#   kubepods/<qos>/pod<uid>/<id>   (CRI-O: crio-<id>; guaranteed: kubepods/pod<uid>/<id>)
# Runtimes (systemd): containerd cri-containerd-<id>.scope, CRI-O crio-<id>.scope,
# docker docker-<id>.scope. LAB_CGROUP_PARENT nests it all (kind/k3s-like roots).
# Paths are kept relative to the cgroup2 mount, with a leading '/'.

pod_qos() { # index
	if [ "$LAB_QOS" = mixed ]; then
		local q=(burstable besteffort guaranteed)
		echo "${q[$(($1 % 3))]}"
	else
		echo "$LAB_QOS"
	fi
}

cg_root() { echo "${LAB_CGROUP_PARENT:+/$LAB_CGROUP_PARENT}"; }

pod_cgroup() { # qos uid
	local qos=$1 uid=$2 root
	root=$(cg_root)
	if [ "$LAB_CGROUP_DRIVER" = systemd ]; then
		if [ "$qos" = guaranteed ]; then
			echo "$root/kubepods.slice/kubepods-pod${uid//-/_}.slice"
		else
			echo "$root/kubepods.slice/kubepods-$qos.slice/kubepods-$qos-pod${uid//-/_}.slice"
		fi
	else
		if [ "$qos" = guaranteed ]; then
			echo "$root/kubepods/pod$uid"
		else
			echo "$root/kubepods/$qos/pod$uid"
		fi
	fi
}

container_cgroup() { # pod-cgroup id
	local leaf
	if [ "$LAB_CGROUP_DRIVER" = systemd ]; then
		case $LAB_RUNTIME in
		containerd) leaf="cri-containerd-$2.scope" ;;
		crio) leaf="crio-$2.scope" ;;
		docker) leaf="docker-$2.scope" ;;
		esac
	else
		case $LAB_RUNTIME in
		crio) leaf="crio-$2" ;;
		*) leaf="$2" ;;
		esac
	fi
	echo "$1/$leaf"
}

# mkdir -p under the cgroup2 mount, recording each directory we create (and
# only those: a kubepods.slice that was already there is left alone on down).
cg_mkdir() { # relative path
	local rel=$1 cur=$LAB_CG2 part
	local IFS=/
	for part in ${rel#/}; do
		cur=$cur/$part
		[ -d "$cur" ] && continue
		created "cgroup $cur"
		mkdir "$cur" 2>/dev/null || [ -d "$cur" ] || die "failed to create cgroup $cur"
	done
}

# Starts a container process: in cgroup CG (relative), netns NS, as UID (or
# root if empty), stdout and stderr to LOG, detached in its own session.
# Prints its pid. The process writes itself into cgroup.procs before exec, so
# nothing of it ever runs outside the container's cgroup.
spawn() { # role cg ns uid log cmd...
	local role=$1 cg=$LAB_CG2$2 ns=$3 uid=$4 log=$5 pid
	shift 5
	local priv=()
	[ -z "$uid" ] || priv=(setpriv --reuid="$uid" --regid="$uid" --clear-groups)
	# shellcheck disable=SC2016
	setsid bash -c 'echo $$ >"$1/cgroup.procs" || exit 126; shift; exec "$@"' \
		lab-spawn "$cg" ip netns exec "$ns" "${priv[@]}" "$@" >>"$log" 2>&1 </dev/null &
	pid=$!
	record_proc "$pid" "$role"
	echo "$pid"
}

# Runs a command in the foreground inside a container, as `kubectl exec` does:
# same cgroup, same network namespace, same uid.
cg_exec() { # cg ns uid cmd...
	local cg=$LAB_CG2$1 ns=$2 uid=$3
	shift 3
	local priv=()
	[ -z "$uid" ] || priv=(setpriv --reuid="$uid" --regid="$uid" --clear-groups)
	# shellcheck disable=SC2016
	bash -c 'echo $$ >"$1/cgroup.procs" || exit 126; shift; exec "$@"' \
		lab-exec "$cg" ip netns exec "$ns" "${priv[@]}" "$@"
}

cg_procs() { # relative cgroup -> pids, one a line
	cat "$LAB_CG2$1/cgroup.procs" 2>/dev/null
}

cg_id() { stat -c %i "$LAB_CG2$1" 2>/dev/null || echo 0; }
