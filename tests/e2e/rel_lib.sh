# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Shared by the reliability tests (tests/e2e/rel_*.sh), sourced after lib.sh;
# not a test itself (not executable).
#  - the DaemonSet's capabilities (deploy/README.md) and with_caps, to run a
#    command with only those (or fewer);
#  - Kubernetes pods without Kubernetes: a host root with the kubelet's log
#    layout (var/log/pods, var/log/containers, proc -> /proc, sys -> /sys) and
#    containers as cgroups laid out like the kubelet's systemd driver does,
#    nested under this test's own cgroup, all removed on exit.

# --- capabilities ----------------------------------------------------------

# The DaemonSet's capabilities, from deploy/README.md's privileges table.
# shellcheck disable=SC2034 # used by the tests that source this
mapfile -t GRANTED < <(sed -n 's/^| `\(CAP_[A-Z_]*\)` |.*/\1/p' "$TOP/deploy/README.md")
_lower() { tr '[:upper:]' '[:lower:]' <<<"$1"; }
_all_caps() {
	local i
	for i in $(seq 0 "$(cat /proc/sys/kernel/cap_last_cap)"); do
		capsh --decode="$(printf '%x' $((1 << i)))" | sed 's/.*=//'
	done
}
ALL_CAPS=
# drop_list CAP...: every capability but these, comma-separated (capsh names)
drop_list() {
	local keep c out=
	[ -n "$ALL_CAPS" ] || ALL_CAPS=$(_all_caps)
	keep=" $(_lower "$*") "
	for c in $ALL_CAPS; do
		[[ $keep == *" $c "* ]] || out+=${out:+,}$c
	done
	echo "$out"
}
# with_caps "CAP..." CMD...: exec CMD (as uid 0) with only those capabilities:
# every other one leaves the bounding set. capsh and the shell it starts exec
# in turn, so CMD keeps the caller's pid; call it in a subshell:
#   (with_caps "${GRANTED[*]}" "$PORTBURN" trace) >out 2>err &
with_caps() {
	local drops
	drops=$(drop_list $1)
	shift
	exec capsh --drop="$drops" -- -c 'exec "$@"' capsh "$@"
}

# --- pods --------------------------------------------------------------------

K8S_CG=/$ID-k8s.slice	# parent of the kubepods tree (a slice: kubepods below it is believed)

# On exit, before lib.sh's cleanup: whatever is left of the tree (pods made in
# subshells are not in lib.sh's list): processes killed, cgroups removed
# deepest first.
_k8s_cleanup() {
	local d p
	[ -d "$CG2$K8S_CG" ] || return 0
	while read -r d; do
		while read -r p; do kill -KILL "$p" 2>/dev/null; done <"$d/cgroup.procs"
	done < <(find "$CG2$K8S_CG" -type d)
	for _ in $(seq 50); do
		[ -z "$(find "$CG2$K8S_CG" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] && break
		sleep 0.1
	done
	for _ in $(seq 20); do
		find "$CG2$K8S_CG" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$CG2$K8S_CG" ] || break
		sleep 0.1
	done
}
# After lib.sh's cleanup: a cgroup whose last task was still exiting cannot be
# removed at once (EBUSY); try again for two seconds.
_rmdir_retry() {
	local cg
	for cg in "${_CGROUPS[@]}"; do
		for _ in $(seq 20); do
			[ -d "$cg" ] || break
			rmdir "$cg" 2>/dev/null && break
			sleep 0.1
		done
	done
}
trap '_k8s_cleanup; _cleanup; _rmdir_retry' EXIT

# hostroot_new DIR: an empty host root with proc and sys.
hostroot_new() {
	mkdir -p "$1/var/log/pods" "$1/var/log/containers"
	ln -sfn /proc "$1/proc"
	ln -sfn /sys "$1/sys"
}

# serve_ready PID: the serve just started in the background (stderr in
# $T/serve.err) attached and answers /metrics; sets spid, port and URL.
serve_ready() {
	spid=$1
	_PIDS+=("$spid")
	wait_until 30 grep -q 'ready (mode' "$T/serve.err" || { cat "$T/serve.err"; die "serve did not start"; }
	port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$T/serve.err" | head -1)
	URL=http://127.0.0.1:$port
	wait_until 5 curl -sf -o /dev/null "$URL/metrics" || die "no /metrics"
}

# client_server NAME: a network namespace with a server on 8080 (its own
# cgroup) and a client cgroup; the client is a copy of the helper named NAME,
# so that its connections have an owner of their own (the process name is
# the owner's name outside Kubernetes). Sets CLIENT, CNAME, ns and cg.
client_server() {
	CLIENT=$T/$1
	cp "$TCPCONN" "$CLIENT"
	CNAME=${CLIENT##*/}
	new_netns a; ns=$REPLY
	new_cgroup client; cg=$REPLY
	new_cgroup srv; spawn "$ns" "$REPLY" "$T/srv.out" "$TCPCONN" serve 8080 --ready "$T/ready"
	wait_until 5 test -e "$T/ready" || die "server did not start"
}

_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# pod_new HOSTROOT NAMESPACE POD CONTAINER: a pod with one container: its log
# in HOSTROOT (if not -), its cgroup
#   $K8S_CG/kubepods.slice/kubepods-besteffort.slice/
#       kubepods-besteffort-pod<uid_>.slice/cri-containerd-<id>.scope
# Sets POD_UID, POD_CID, POD_CG (container cgroup, relative to the mount),
# POD_PCG (pod cgroup).
pod_new() {
	local root=$1 ns=$2 pod=$3 ctr=$4 base rel d
	POD_UID=$(_hex 4)-$(_hex 2)-$(_hex 2)-$(_hex 2)-$(_hex 6)
	POD_CID=$(_hex 32)
	base=$K8S_CG/kubepods.slice/kubepods-besteffort.slice
	POD_PCG=$base/kubepods-besteffort-pod${POD_UID//-/_}.slice
	POD_CG=$POD_PCG/cri-containerd-$POD_CID.scope
	mkdir -p "$CG2$POD_CG" || die "mkdir $CG2$POD_CG"
	[ "$root" == - ] && return 0
	rel=var/log/pods/${ns}_${pod}_$POD_UID/$ctr
	mkdir -p "$root/$rel"
	: >"$root/$rel/0.log"
	ln -sfn "/$rel/0.log" "$root/var/log/containers/${pod}_${ns}_$ctr-$POD_CID.log"
}

# pod_del HOSTROOT NAMESPACE POD CONTAINER: the pod's logs and cgroups go (as
# the kubelet does when a pod is deleted); its processes must be gone.
pod_del() {
	local root=$1 ns=$2 pod=$3 ctr=$4
	rmdir "$CG2$POD_CG" "$CG2$POD_PCG" 2>/dev/null
	[ "$root" == - ] && return 0
	rm -f "$root/var/log/containers/${pod}_${ns}_$ctr-$POD_CID.log"
	rm -rf "$root/var/log/pods/${ns}_${pod}_$POD_UID"
}
