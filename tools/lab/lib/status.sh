# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# `lab status [--json]`: what is up, with live pids and cgroup ids.

# One JSON document describing the lab (built by jq from the state files plus
# live data: pids in each cgroup, cgroup ids, each pod's port range).
status_json() {
	local ns pod uid qos netns ip ip6 veth kind i cg range
	local cname cid crole ccg clog
	{
		while IFS=$'\t' read -r ns pod uid qos netns ip ip6 veth kind i cg; do
			range=$(port_range_of "$netns" 2>/dev/null) || range="0 0"
			printf 'pod\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ns" "$pod" "$uid" \
				"$qos" "$netns" "$ip" "$ip6" "$veth" "$kind" "$cg" "$range"
		done <"$LAB_PODS_TSV"
		while IFS=$'\t' read -r ns pod cname cid crole ccg clog; do
			printf 'ctr\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ns" "$pod" "$cname" "$cid" \
				"$crole" "$ccg" "$(cg_id "$ccg")" "$clog" "$(cg_procs "$ccg" | paste -sd, -)"
		done <"$LAB_CTRS_TSV"
		local pid st role
		while read -r pid st role; do
			[[ $role == scenario:* || $role == server:* ]] || continue
			proc_alive "$pid" "$st" || continue
			printf 'proc\t%s\t%s\n' "$role" "$pid"
		done <"$LAB_PROCS"
	} | jq -R -s \
		--arg prefix "$LAB_PREFIX" --arg state "$LAB_STATE" --arg hostroot "$LAB_HOSTROOT" \
		--arg cg2 "$LAB_CG2" --arg driver "$LAB_CGROUP_DRIVER" --arg runtime "$LAB_RUNTIME" \
		--arg node_ns "$(node_ns)" --arg ext_ns "$(ext_ns)" --arg pod_net "$LAB_POD_NET" \
		--arg node_ip "$(node_ip)" --arg node_ip6 "$(ipv6_on && node_ip6)" \
		--arg web "$(web_ip)" --arg web6 "$(ipv6_on && web_ip6)" \
		--arg flaky "$(flaky_ip)" --arg flaky6 "$(ipv6_on && flaky_ip6)" \
		--arg snat "$LAB_SNAT_PORTS" --argjson drop "$LAB_FLAKY_DROP" \
		--argjson err "$LAB_FLAKY_503" --arg sidecar "$LAB_SIDECAR_NAME" \
		--argjson sidecar_uid "$LAB_SIDECAR_UID" --argjson sidecar_port "$LAB_SIDECAR_PORT" \
		--arg loadgen "$LAB_LOADGEN" '
		def nz: if . == "" or . == "-" then null else . end;
		def pids: if . == "" then [] else split(",") | map(tonumber) end;
		[split("\n")[] | select(length > 0) | split("\t")] as $rows
		| ($rows | map(select(.[0] == "ctr"))) as $ctrs
		| ($rows | map(select(.[0] == "proc"))) as $procs
		| {
			prefix: $prefix, state_dir: $state, host_root: $hostroot, cgroup2: $cg2,
			cgroup_driver: $driver, runtime: $runtime, loadgen: $loadgen,
			node: { netns: $node_ns, bridge: "cbr0", pod_cidr: ($pod_net + ".0/24"),
				gateway: ($pod_net + ".1"), ip: $node_ip, ip6: ($node_ip6 | nz),
				snat_ports: ($snat | nz) },
			external: { netns: $ext_ns, servers: [
				{ name: "web", ip: $web, ip6: ($web6 | nz), port: 80 },
				{ name: "flaky", ip: $flaky, ip6: ($flaky6 | nz), port: 80,
				  drop_percent: $drop, status_503_percent: $err } ],
				pids: [$procs[] | select(.[1] == "server:nginx") | .[2] | tonumber] },
			sidecar: { name: $sidecar, uid: $sidecar_uid, port: $sidecar_port },
			pods: [$rows[] | select(.[0] == "pod") | . as $p | {
				namespace: $p[1], name: $p[2], uid: $p[3], qos: $p[4], netns: $p[5],
				ip: $p[6], ip6: ($p[7] | nz), host_veth: $p[8], kind: $p[9],
				cgroup: $p[10],
				port_range: ($p[11] | split(" ") | map(select(length > 0) | tonumber)),
				containers: [$ctrs[] | select(.[1] == $p[1] and .[2] == $p[2]) | {
					name: .[3], id: .[4], role: .[5], cgroup: .[6],
					cgroup_id: (.[7] | tonumber), log: (.[8] | nz), pids: (.[9] | pids) }]
			}],
			scenarios: [$procs[] | select(.[1] | startswith("scenario:")) |
				{ name: (.[1] | ltrimstr("scenario:")), pid: (.[2] | tonumber) }]
		}'
}

status_text() {
	local j
	j=$(status_json) || return 1
	jq -r '
		"lab \(.prefix): state \(.state_dir)  host root \(.host_root)",
		"cgroup2 \(.cgroup2)  driver \(.cgroup_driver)  runtime \(.runtime)",
		"node      netns \(.node.netns)  bridge \(.node.bridge) \(.node.gateway)  uplink \(.node.ip)\(if .node.ip6 then " " + .node.ip6 else "" end)  SNAT MASQUERADE ports \(.node.snat_ports // "auto")",
		"external  netns \(.external.netns)  web \(.external.servers[0].ip):80  flaky \(.external.servers[1].ip):80 (drop \(.external.servers[1].drop_percent)%, 503 \(.external.servers[1].status_503_percent)%)  nginx pid \(.external.pids | map(tostring) | join(","))",
		"",
		(.pods[] |
			"pod \(.namespace)/\(.name)  uid \(.uid)  qos \(.qos)  netns \(.netns)  ip \(.ip)\(if .ip6 then " " + .ip6 else "" end)  ports \(.port_range | map(tostring) | join("-"))",
			"    cgroup \(.cgroup)",
			(.containers[] |
				"    \(.name | . + " " * ([12 - length, 1] | max))id \(.id[0:13])  pids \(.pids | map(tostring) | join(",") | if . == "" then "-" else . end)  cgroup \(.cgroup | split("/") | last)")),
		(if (.scenarios | length) > 0 then "", (.scenarios[] | "scenario \(.name) running, pid \(.pid)") else empty end)
	' <<<"$j"
}
