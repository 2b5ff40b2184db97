# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Network: node, external and pod namespaces. Nothing here touches the root
# network namespace: every link is created inside a lab namespace (a veth pair
# is made in the node namespace with its peer sent straight into the other
# one), and every address, route, sysctl and iptables rule is applied through
# `ip -n NS` or `ip netns exec NS`.
#
#   pod netns (eth0 10.244.0.10+i) --veth--> node netns: bridge cbr0 10.244.0.1
#                                            eth0 203.0.113.1, MASQUERADE
#                                              |
#                                    external netns: eth0 203.0.113.10 (web), .11 (flaky)
#
# The external namespace has no route to the pods: replies only find their way
# back through the node's SNAT.

node_ns() { echo "$LAB_PREFIX-node"; }
ext_ns() { echo "$LAB_PREFIX-ext"; }
pod_ns() { echo "$LAB_PREFIX-$1"; } # pod name

node_ip() { echo "$LAB_EXT_NET.1"; }
web_ip() { echo "$LAB_EXT_NET.10"; }
flaky_ip() { echo "$LAB_EXT_NET.11"; }
node_ip6() { echo "2001:db8:203::1"; }
web_ip6() { echo "2001:db8:203::10"; }
flaky_ip6() { echo "2001:db8:203::11"; }
pod_ip() { echo "$LAB_POD_NET.$((10 + $1))"; } # pod index
pod_ip6() { echo "fd00:10:244::$(printf '%x' $((16 + $1)))"; }

in_ns() { # ns cmd... (the one way lab code runs something inside a namespace)
	local ns=$1
	shift
	[ -n "$ns" ] || die "internal error: empty namespace name"
	ip netns exec "$ns" "$@"
}

ipv6_on() { [ "$LAB_IPV6" = 1 ]; }

net_prepare() {
	if [ "$LAB_IPV6" = auto ]; then
		# Kernels without IPv6 (ipv6.disable=1) simply get an IPv4-only lab.
		if [ -d /proc/sys/net/ipv6 ]; then LAB_IPV6=1; else LAB_IPV6=0; fi
	fi
	# `ip netns add` turns /run/netns into a mount point the first time it is
	# used on a host; remember whether that was us, to undo it on `down`.
	if [ ! -d /run/netns ]; then
		created "rundir /run/netns"
	fi
	if ! mountpoint -q /run/netns 2>/dev/null; then
		created "netns-mount /run/netns"
	fi
}

ns_add() { # name
	created "netns $1"
	must ip netns add "$1"
	must ip -n "$1" link set lo up
}

ns_sysctl() { # ns key=value...
	local ns=$1
	shift
	must in_ns "$ns" sysctl -qw "$@"
}

net_node_up() {
	local n e
	n=$(node_ns)
	e=$(ext_ns)
	ns_add "$n"
	ns_add "$e"

	# bridge for the pods; no STP, so ports forward at once
	must ip -n "$n" link add cbr0 type bridge forward_delay 0 stp_state 0
	must ip -n "$n" addr add "$LAB_POD_NET.1/24" dev cbr0
	must ip -n "$n" link set cbr0 up

	# uplink to the external namespace
	must ip -n "$n" link add eth0 type veth peer name eth0 netns "$e"
	must ip -n "$n" addr add "$(node_ip)/24" dev eth0
	must ip -n "$n" link set eth0 up
	must ip -n "$e" addr add "$(web_ip)/24" dev eth0
	must ip -n "$e" addr add "$(flaky_ip)/24" dev eth0
	must ip -n "$e" link set eth0 up
	ns_sysctl "$n" net.ipv4.ip_forward=1

	# Real SNAT: pod traffic leaving the node takes the node's address (and, with
	# LAB_SNAT_PORTS, a TCP source port from the node's budget), tracked by conntrack.
	net_masquerade iptables "$LAB_POD_NET.0/24"

	if ipv6_on; then
		ns_sysctl "$n" net.ipv6.conf.all.forwarding=1
		must ip -n "$n" addr add fd00:10:244::1/64 dev cbr0 nodad
		must ip -n "$n" addr add "$(node_ip6)/64" dev eth0 nodad
		must ip -n "$e" addr add "$(web_ip6)/64" dev eth0 nodad
		must ip -n "$e" addr add "$(flaky_ip6)/64" dev eth0 nodad
		net_masquerade ip6tables fd00:10:244::/64
	fi
}

net_masquerade() { # iptables|ip6tables pod-cidr
	local nat=(in_ns "$(node_ns)" "$1" -w -t nat -A POSTROUTING -s "$2" ! -d "$2" -o eth0)
	if [ -n "$LAB_SNAT_PORTS" ]; then
		must "${nat[@]}" -p tcp -j MASQUERADE --to-ports "$LAB_SNAT_PORTS"
	fi
	must "${nat[@]}" -j MASQUERADE
}

net_pod_up() { # index name veth
	local i=$1 p n range
	p=$(pod_ns "$2")
	n=$(node_ns)
	ns_add "$p"
	must ip -n "$n" link add "$3" type veth peer name eth0 netns "$p"
	must ip -n "$n" link set "$3" master cbr0 up
	must ip -n "$p" addr add "$(pod_ip "$i")/24" dev eth0
	must ip -n "$p" link set eth0 up
	must ip -n "$p" route add default via "$LAB_POD_NET.1"
	if ipv6_on; then
		must ip -n "$p" addr add "$(pod_ip6 "$i")/64" dev eth0 nodad
		must ip -n "$p" route add default via fd00:10:244::1
	fi
	range=$(parse_range "$LAB_PORT_RANGE")
	ns_sysctl "$p" "net.ipv4.ip_local_port_range=$range"
	# RFC 1337: a TIME_WAIT socket ignores RSTs. Now and then (1 run in ~5
	# on a busy 2-core host) the server answers a few of a burst of closes
	# with an RST, which would end the client's TIME_WAIT early; the lab's
	# counts are meant to be known.
	ns_sysctl "$p" net.ipv4.tcp_rfc1337=1
}

# Istio-style capture of the pod's outbound TCP into the sidecar, except the
# proxy's own traffic (by uid) and loopback destinations. IPv4 only: the proxy
# cannot recover an IPv6 original destination (see haproxy-sidecar.cfg.in).
net_capture_up() { # pod-netns
	local ipt=(in_ns "$1" iptables -w -t nat)
	must "${ipt[@]}" -N PBL_REDIRECT
	must "${ipt[@]}" -A PBL_REDIRECT -p tcp -j REDIRECT --to-ports "$LAB_SIDECAR_PORT"
	must "${ipt[@]}" -N PBL_OUTPUT
	must "${ipt[@]}" -A OUTPUT -p tcp -j PBL_OUTPUT
	must "${ipt[@]}" -A PBL_OUTPUT -m owner --uid-owner "$LAB_SIDECAR_UID" -j RETURN
	must "${ipt[@]}" -A PBL_OUTPUT -d 127.0.0.1/32 -j RETURN
	must "${ipt[@]}" -A PBL_OUTPUT -j PBL_REDIRECT
}

port_range_of() { # netns -> "LO HI"
	in_ns "$1" cat /proc/sys/net/ipv4/ip_local_port_range | tr -s '\t ' '  '
}

set_port_range() { # netns lo hi
	ns_sysctl "$1" "net.ipv4.ip_local_port_range=$2 $3"
}

listening() { # netns port
	in_ns "$1" ss -Hltn "sport = :$2" | grep -q .
}
