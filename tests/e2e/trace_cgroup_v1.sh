#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# --cgroup-v1: on a host whose container runtime uses cgroup v1 (this one is
# hybrid), owners are named by their memory-hierarchy cgroup, read in the BPF
# program through CO-RE: a kubelet cgroupfs-driver layout there, with the
# kubelet's logs in a host root, gives namespace/pod/container.
. "$(dirname "$0")/lib.sh"
MEM=$(awk '$9 == "cgroup" && $NF ~ /(^|,)memory(,|$)/ { print $5; exit }' /proc/self/mountinfo)
[ -n "$MEM" ] || die "no cgroup v1 memory hierarchy on this host"
uid=5f0c0d5e-1c2b-4d6e-9f00-$(printf '%012d' $$)
cid=$(printf '%064x' $$)
cg=/kubepods/besteffort/pod$uid/$cid
mkdir -p "$MEM$cg" || die "mkdir $MEM$cg"
cleanup_v1() {
	local d=$MEM$cg
	# only the leaf holds our processes; parents are removed if empty
	[ -f "$d/cgroup.procs" ] && while read -r p; do kill -KILL "$p" 2>/dev/null; done <"$d/cgroup.procs"
	for _ in $(seq 50); do [ -s "$d/cgroup.procs" ] 2>/dev/null || break; sleep 0.1; done
	for d in "$MEM$cg" "$MEM/kubepods/besteffort/pod$uid" "$MEM/kubepods/besteffort" "$MEM/kubepods"; do
		rmdir "$d" 2>/dev/null
	done
}
trap 'cleanup_v1; _cleanup' EXIT
# The kubelet's log tree for that container.
root=$T/hostroot
mkdir -p "$root/var/log/pods/shop_cart-7d9f_$uid/app" "$root/var/log/containers"
ln -s /proc "$root/proc"; ln -s /sys "$root/sys"
: >"$root/var/log/pods/shop_cart-7d9f_$uid/app/0.log"
ln -s "/var/log/pods/shop_cart-7d9f_$uid/app/0.log" "$root/var/log/containers/cart-7d9f_shop_app-$cid.log"

new_netns a; ns=$REPLY
new_cgroup srv; spawn "$ns" "$REPLY" "$T/server.out" "$TCPCONN" serve 8080 --ready "$T/ready"
wait_until 5 test -e "$T/ready" || die "server did not start"
start_trace --cgroup-v1 --host-root "$root"
# the client: into the v1 memory cgroup, then the namespace
sh -c 'echo $$ > "$1/cgroup.procs" && echo $$ && shift && exec ip netns exec "$@"' sh "$MEM$cg" \
	"$ns" "$TCPCONN" connect 127.0.0.1 8080 -n 3 >"$T/c.out" 2>&1
pid=$(head -1 "$T/c.out")
wait_until 10 '[ "$(events ".pid==$pid")" -ge 6 ]'
stop_trace
eq "connects of the v1 cgroup's process" "$(events ".type==\"connect\" and .pid==$pid")" 3
eq "cgroup path in the memory hierarchy" "$(jq -r "select(.pid==$pid) | .cgroup" "$T/trace.json" | sort -u)" "$cg"
eq "pod and container from the kubelet's logs" \
	"$(jq -r "select(.pid==$pid) | .namespace + \"/\" + .pod + \"/\" + .container" "$T/trace.json" | sort -u)" \
	"shop/cart-7d9f/app"
finish
