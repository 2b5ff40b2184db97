#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# lab scenario snat: several pods reach one external destination through the
# node's MASQUERADE. Checked in the node's conntrack, in what the external
# server saw (only the node's address, ports from the node's budget), and with
# the budget exceeded: SYNs dropped by the NAT while every pod has ports left.
. "$(dirname "$0")/../../tools/lab/testlib.sh"
lab_test_init snat

LAB_PODS=3 LAB_MESH_PODS=0 LAB_SNAT_PORTS=61000-61099 "$LAB" up
st=$(status_json)
ext=$(jq -r .external.netns <<<"$st")
node=$(jq -r .node.netns <<<"$st")
state=$(jq -r .state_dir <<<"$st")

no_route_back() { ! ip -n "$ext" route get 10.244.0.10 >/dev/null 2>&1; }
check "the external namespace has no route back to the pods" no_route_back

out=$("$LAB" scenario snat --requests 60 --rate 300)
echo "$out"
check "180 requests from 3 pods, all answered" [ "$(result "$out" ok)" -eq 180 ]
flows=$(result "$out" conntrack_flows)
check "node conntrack tracks flows to the destination ($flows)" [ "$flows" -ge 90 ]
check "every flow is SNATed to the node's address" [ "$(result "$out" not_snat)" -eq 0 ]
every_pod_seen() { tr ',' '\n' <<<"$(result "$out" per_pod)" | awk -F= '$2 == 0 { bad = 1 } END { exit bad }'; }
check "every pod shows up in the node's conntrack" every_pod_seen

# what the server saw: one client, the node, from ports of the node's budget
# (nginx logs a request just after answering it: wait, bounded, for all 180)
logged_all() { [ "$(wc -l <"$state/ext/web.log")" -ge 180 ]; }
for ((i = 0; i < 250; i++)); do logged_all && break; sleep 0.02; done
peers=$(awk '{ print $2 }' "$state/ext/web.log")
check "the server saw 180 requests" [ "$(wc -l <<<"$peers")" -eq 180 ]
check "the server saw only the node's address" \
	[ "$(cut -d: -f1 <<<"$peers" | sort -u)" = "203.0.113.1" ]
ports_in_budget() { cut -d: -f2 <<<"$peers" | awk '$1 < 61000 || $1 > 61099 { bad = 1 } END { exit bad }'; }
check "every source port the server saw is in the SNAT budget 61000-61099" ports_in_budget
ct=$(ip netns exec "$node" conntrack -L -p tcp --dst 203.0.113.10 --dport 80 2>/dev/null)
check "node conntrack: reply direction goes to 203.0.113.1" \
	grep -q 'src=203.0.113.10 dst=203.0.113.1 sport=80' <<<"$ct"

# over budget: 3 pods hold 50 connections each, the node has 100 ports
hold=$("$LAB" scenario snat --requests 50 --hold 2)
echo "$hold"
check "100 connections fit the node's budget" [ "$(result "$hold" ok)" -eq 100 ]
check "50 more time out: the NAT drops their SYNs" [ "$(result "$hold" etimedout)" -eq 50 ]
check "no pod ran out of its own ports" [ "$(result "$hold" eaddrnotavail)" -eq 0 ]
check "conntrack counted the failed SNAT inserts" [ "$(result "$hold" insert_failed)" -gt 0 ]
check "the budget is used up: 100 node ports" [ "$(result "$hold" node_ports)" -eq 100 ]
