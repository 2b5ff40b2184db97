#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# lab up/down, twice, leaves the root network namespace byte-for-byte as it was
# (addresses, routes, rules, links, iptables and ip6tables rules) and nothing
# behind: no namespace, cgroup, process, mount or file. The same after `up`
# is killed half-way, and with scenarios still running in the background.
# `down` is idempotent; a second `up` on a running lab refuses.
. "$(dirname "$0")/../../tools/lab/testlib.sh"
lab_test_init lifecycle

snap=$(mktemp -d)
trap 'rc=$?; "$LAB" down >/dev/null 2>&1; rm -rf "$snap"; exit $rc' EXIT
cg2=$(awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break; if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)

# The root namespace as the kernel has it, minus counters and timestamps.
root_ns() { # dir
	ip addr >"$1/addr"
	ip route show table all >"$1/route"
	ip -6 route show table all >"$1/route6"
	ip rule >"$1/rule"
	ip -6 rule >"$1/rule6"
	ip -o link | sed 's/^[0-9]*: //' >"$1/link"
	iptables-save | sed -e '/^#/d' -e 's/\[[0-9]*:[0-9]*\]$//' >"$1/iptables"
	ip6tables-save | sed -e '/^#/d' -e 's/\[[0-9]*:[0-9]*\]$//' >"$1/ip6tables"
}
root_same() { # dir-before label
	local now f
	now=$(mktemp -d)
	root_ns "$now"
	for f in addr route route6 rule rule6 link iptables ip6tables; do
		cmp -s "$1/$f" "$now/$f" || { diff "$1/$f" "$now/$f" >&2; rm -rf "$now"; fail "$2: root $f changed"; }
	done
	rm -rf "$now"
	ok "$2: root addresses, routes, rules, links, iptables, ip6tables unchanged"
}

# What the lab may leave behind, as lists to diff.
leftovers() { # dir
	ip netns list | awk '{ print $1 }' | sort >"$1/netns"
	find "$cg2" -mindepth 1 -type d | sort >"$1/cgroups"
	awk '{ print $5 }' /proc/self/mountinfo | sort >"$1/mounts"
}
# Entries that appeared since DIR that belong to this lab instance (other
# engineers' work may come and go on the same host meanwhile: those are shown,
# not failed on).
nothing_left() { # dir label ids-file
	local now f added
	now=$(mktemp -d)
	leftovers "$now"
	for f in netns cgroups mounts; do
		added=$(comm -13 "$1/$f" "$now/$f")
		[ -z "$added" ] && continue
		if grep -F -f "$3" <<<"$added" >&2; then
			rm -rf "$now"
			fail "$2: lab $f left behind"
		fi
		echo "note: unrelated new $f: $added" >&2
	done
	rm -rf "$now"
	ok "$2: no namespace, cgroup or mount of the lab left"
	[ ! -e "$LAB_STATE" ] || fail "$2: state dir $LAB_STATE left"
	ok "$2: state dir and host root removed"
}

# Identifiers of this instance: namespace prefix, state dir, pod UIDs (both
# spellings), container ids, and the cgroups it recorded as its own.
collect_ids() { # out-file
	{
		echo "$LAB_PREFIX-"
		echo "$LAB_STATE"
		status_json | jq -r '.pods[] | .uid, (.uid | gsub("-"; "_")), .containers[].id'
		awk '$1 == "cgroup" { print $2 }' "$LAB_STATE/created"
	} >"$1"
}

# start time (field 22 of /proc/PID/stat) of PID, empty if gone or a zombie
start_time() {
	local s f
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	read -r -a f <<<"$s"
	[ "${f[0]}" = Z ] || echo "${f[19]}"
}

procs_gone() { # procs-file label
	local pid st role n=0 i
	while read -r pid st role; do
		# bounded: a process being killed needs a moment to exit
		for ((i = 0; i < 250; i++)); do
			[ "$(start_time "$pid")" = "$st" ] || break
			sleep 0.02
		done
		[ "$(start_time "$pid")" != "$st" ] || fail "$2: process $pid ($role) still there"
		n=$((n + 1))
	done <"$1"
	ok "$2: all $n recorded lab processes are gone"
}

# inode of every lab network namespace, to find processes still inside one
# after its name is gone
netns_inodes() { # out-file
	local ns
	for ns in $(ip netns list | awk -v p="$LAB_PREFIX-" 'index($1, p) == 1 { print $1 }'); do
		stat -L -c %i "/run/netns/$ns"
	done >"$1"
}

no_proc_in_netns() { # inodes-file label
	local link ino
	for link in /proc/[0-9]*/ns/net; do
		ino=$(stat -L -c %i "$link" 2>/dev/null) || continue
		grep -qx "$ino" "$1" && fail "$2: ${link%/ns/net} is still in a lab network namespace"
	done
	ok "$2: no process in any lab network namespace"
}

before=$snap/before
mkdir -p "$before"
root_ns "$before"
leftovers "$before"

for round in 1 2; do
	"$LAB" up
	root_same "$before" "round $round, lab up"
	collect_ids "$snap/ids"
	cp "$LAB_STATE/procs" "$snap/procs"
	netns_inodes "$snap/inodes"
	has_node_ns() { ip netns list | grep -q "^$LAB_PREFIX-node"; }
	check "round $round: lab namespaces exist" has_node_ns
	# a second up must not touch the running lab
	if "$LAB" up 2>"$snap/err"; then fail "round $round: a second up succeeded"; fi
	check "round $round: a second up refuses" grep -q "already up" "$snap/err"
	still_works() { "$LAB" loadgen app-0 -- -t 203.0.113.10:80 -n 3 | grep -q ' http_2xx=3 '; }
	check "round $round: the lab still works after the refused up" still_works
	if [ $round = 2 ]; then
		# scenarios running in the background when down comes
		"$LAB" scenario timewait-storm --background --repeat 5
		"$LAB" scenario mesh-amplification --background --repeat 5
		running() { status_json | jq -e '.scenarios | length == 2' >/dev/null; }
		check "background scenarios are running" running
		cp "$LAB_STATE/procs" "$snap/procs"
	fi
	"$LAB" down
	root_same "$before" "round $round, lab down"
	nothing_left "$before" "round $round" "$snap/ids"
	procs_gone "$snap/procs" "round $round"
	no_proc_in_netns "$snap/inodes" "round $round"
done

check "down is idempotent" "$LAB" down
check "down without any lab is fine" "$LAB" down

# crash half-way: `up` SIGKILLed after the first pods, then down
for point in node external pod:app-1; do
	rc=0
	LAB_CRASH_AFTER=$point "$LAB" up 2>/dev/null || rc=$?
	check "up killed after '$point' (exit $rc)" [ "$rc" -eq 137 ]
	collect_ids "$snap/ids" 2>/dev/null || true
	awk '$1 == "cgroup" { print $2 }' "$LAB_STATE/created" >>"$snap/ids"
	echo "$LAB_PREFIX-" >>"$snap/ids"
	cp "$LAB_STATE/procs" "$snap/procs"
	netns_inodes "$snap/inodes"
	"$LAB" down
	root_same "$before" "crash after $point, down"
	nothing_left "$before" "crash after $point" "$snap/ids"
	procs_gone "$snap/procs" "crash after $point"
	no_proc_in_netns "$snap/inodes" "crash after $point"
done
