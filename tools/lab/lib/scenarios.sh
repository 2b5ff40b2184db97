# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Scenarios: each one command, bounded in time, printing what it did. The last
# line of every scenario is its result as key=value pairs, starting with
# "scenario=NAME", for scripts and tests.

SCENARIOS="port-burn timewait-storm mesh-amplification snat"

# Runs the lab's load generator inside a pod's container (its cgroup and netns).
loadgen_in() { # pod container|"" loadgen-args...
	local pod=$1 ctr=$2 uid=""
	shift 2
	[ -x "$LAB_LOADGEN" ] || die "no load generator at $LAB_LOADGEN (run: make lab)"
	pod_find "$pod" || die "no pod '$pod' in this lab"
	container_find "$P_NAME" "$ctr" || die "no container '${ctr:-app}' in pod $pod"
	[ "$C_ROLE" = sidecar ] && uid=$LAB_SIDECAR_UID
	cg_exec "$C_CGROUP" "$P_NETNS" "$uid" "$LAB_LOADGEN" "$@"
}

# value of KEY in a "k=v k=v" line
kv() { # line key
	local w
	for w in $1; do
		[ "${w%%=*}" = "$2" ] && { echo "${w#*=}"; return 0; }
	done
	echo 0
}

# --target web|flaky|ADDR:PORT -> "ADDR:PORT"
target_addr() {
	case $1 in
	web) echo "$(web_ip):80" ;;
	flaky) echo "$(flaky_ip):80" ;;
	web6) ipv6_on || usage_err "IPv6 is off in this lab"; echo "[$(web_ip6)]:80" ;;
	flaky6) ipv6_on || usage_err "IPv6 is off in this lab"; echo "[$(flaky_ip6)]:80" ;;
	*:*) echo "$1" ;;
	*) usage_err "invalid target: '$1' (web, flaky, web6, flaky6 or ADDR:PORT)" ;;
	esac
}

target_host() { local t=${1%:*}; t=${t#[}; echo "${t%]}"; }
target_port() { echo "${1##*:}"; }

# sockets of NETNS towards ADDR:PORT in STATE (ss state filter)
count_socks() { # netns state addr port
	in_ns "$1" ss -Htan state "$2" dst "$3" dport = ":$4" 2>/dev/null | wc -l
}

# Waits (at most 2 s) until no socket of NETNS towards ADDR:PORT is still
# closing: a client that closed first reaches TIME_WAIT once the server's FIN
# is back, and only then counts as such.
wait_closed() { # netns addr port
	closing_none() {
		[ "$(in_ns "$1" ss -Htan state fin-wait-1 state fin-wait-2 state closing \
			state last-ack dst "$2" dport = ":$3" 2>/dev/null | wc -l)" -eq 0 ]
	}
	wait_for 2 closing_none "$@"
}

# Waits until every load generator writing to the given stderr files says it
# holds its connections (all attempts settled), at most SECONDS.
wait_held() { # seconds file...
	local secs=$1
	shift
	all_held() { local f; for f in "$@"; do grep -q '^loadgen: holding' "$f" || return 1; done; }
	wait_for "$secs" all_held "$@"
}

need_uint() { # name value
	is_uint "$2" || usage_err "invalid $1: '$2' (expected a number)"
}

need_pod() { # option value
	pod_find "$2" || usage_err "invalid $1: no pod '$2' in this lab (see: lab status)"
}

first_plain() { # n-th (0-based) plain pod, or the last one
	local pods
	mapfile -t pods < <(pods_of_kind plain)
	[ ${#pods[@]} -gt 0 ] || die "this lab has no plain pods (LAB_PODS=0)"
	if [ "$1" -lt ${#pods[@]} ]; then echo "${pods[$1]}"; else echo "${pods[-1]}"; fi
}

# port-burn: a pod with a tight ip_local_port_range holds more connections to
# one destination than it has ports: connect() fails with EADDRNOTAVAIL there,
# and only there; the neighbour pod opens the same number without a failure.
sc_port_burn() {
	local pod neighbour range="40000-40049" extra=30 hold=5 target=web
	pod=$(first_plain 0)
	neighbour=$(first_plain 1)
	while [ $# -gt 0 ]; do
		case $1 in
		--pod) pod=${2:?}; shift ;;
		--neighbour) neighbour=${2:?}; shift ;;
		--range) range=${2:?}; shift ;;
		--extra) extra=${2:?}; shift ;;
		--hold) hold=${2:?}; shift ;;
		--target) target=${2:?}; shift ;;
		*) usage_err "port-burn: unknown option '$1'" ;;
		esac
		shift
	done
	local lo hi size n addr vns vpid out nout
	local r
	r=$(parse_range "$range") || usage_err "invalid --range: '$range' (LO-HI)"
	read -r lo hi <<<"$r"
	need_uint --extra "$extra"
	need_uint --hold "$hold"
	[ "$hold" -ge 1 ] && [ "$hold" -le 600 ] || usage_err "invalid --hold: '$hold' (1..600)"
	addr=$(target_addr "$target")
	need_pod --neighbour "$neighbour"
	need_pod --pod "$pod"
	[ "$pod" != "$neighbour" ] || usage_err "--pod and --neighbour must differ"
	vns=$P_NETNS
	size=$((hi - lo + 1))
	n=$((size + extra))
	[ "$n" -le 60000 ] || usage_err "port-burn: range + extra must be at most 60000"

	set_port_range "$vns" "$lo" "$hi"
	echo "port-burn: $P_NS/$pod ip_local_port_range $lo-$hi ($size ports); holding $n connections to $addr for ${hold}s"
	out=$(mktemp -p "$LAB_STATE" port-burn.XXXXXX) # in the state dir: down removes it
	loadgen_in "$pod" "" --mode hold --count "$n" --duration "$hold" --target "$addr" \
		>"$out" 2>"$out.err" &
	vpid=$!
	wait_held "$hold" "$out.err"
	local held
	held=$(count_socks "$vns" established "$(target_host "$addr")" "$(target_port "$addr")")
	echo "port-burn: $pod holds $held established connections; neighbour $neighbour opens $n now"
	nout=$(loadgen_in "$neighbour" "" --mode http --count "$n" --concurrency 16 \
		--duration 30 --target "$addr")
	wait "$vpid"
	wait_closed "$vns" "$(target_host "$addr")" "$(target_port "$addr")"
	local v
	v=$(grep '^loadgen:' "$out")
	rm -f "$out" "$out.err"
	echo "  $pod: $v"
	echo "  $neighbour: $nout"
	echo "port-burn: $pod: $(kv "$v" connected) connected, $(kv "$v" eaddrnotavail) EADDRNOTAVAIL (connect: cannot assign requested address); $neighbour: $(kv "$nout" http_2xx) ok, $(kv "$nout" eaddrnotavail) EADDRNOTAVAIL"
	echo "port-burn: $pod's $(kv "$v" connected) ports now sit in TIME_WAIT for 60 s (it closed first): the pod stays exhausted towards $addr"
	echo "scenario=port-burn pod=$pod neighbour=$neighbour target=$addr range=$lo-$hi ports=$size attempted=$n held=$held connected=$(kv "$v" connected) eaddrnotavail=$(kv "$v" eaddrnotavail) neighbour_ok=$(kv "$nout" http_2xx) neighbour_eaddrnotavail=$(kv "$nout" eaddrnotavail) neighbour_errors=$(($(kv "$nout" requests) - $(kv "$nout" http_2xx)))"
}

# timewait-storm: short connections without keep-alive, the client closing
# first, pile up TIME_WAIT towards one destination until the pod nears the end
# of its port range.
sc_timewait_storm() {
	local pod range="50000-50999" fill=90 rate=400 conc=16 target=web
	pod=$(first_plain 2)
	while [ $# -gt 0 ]; do
		case $1 in
		--pod) pod=${2:?}; shift ;;
		--range) range=${2:?}; shift ;;
		--fill) fill=${2:?}; shift ;;
		--rate) rate=${2:?}; shift ;;
		--concurrency) conc=${2:?}; shift ;;
		--target) target=${2:?}; shift ;;
		*) usage_err "timewait-storm: unknown option '$1'" ;;
		esac
		shift
	done
	local lo hi size n addr dur out tw
	local r
	r=$(parse_range "$range") || usage_err "invalid --range: '$range' (LO-HI)"
	read -r lo hi <<<"$r"
	need_uint --fill "$fill"
	need_uint --rate "$rate"
	need_uint --concurrency "$conc"
	[ "$fill" -ge 1 ] && [ "$fill" -le 200 ] || usage_err "invalid --fill: '$fill' (1..200 %)"
	[ "$rate" -ge 1 ] && [ "$rate" -le 100000 ] || usage_err "invalid --rate: '$rate' (1..100000)"
	addr=$(target_addr "$target")
	need_pod --pod "$pod"
	size=$((hi - lo + 1))
	n=$((size * fill / 100))
	dur=$((n / rate * 2 + 10))
	[ "$dur" -le 3600 ] || usage_err "timewait-storm: $n connections at $rate/s take too long"
	set_port_range "$P_NETNS" "$lo" "$hi"
	echo "timewait-storm: $P_NS/$pod ip_local_port_range $lo-$hi ($size ports); $n short connections to $addr at $rate/s, no keep-alive, client closes first"
	out=$(loadgen_in "$pod" "" --mode http --close client --rate "$rate" --concurrency "$conc" \
		--count "$n" --duration "$dur" --target "$addr")
	wait_closed "$P_NETNS" "$(target_host "$addr")" "$(target_port "$addr")"
	tw=$(count_socks "$P_NETNS" time-wait "$(target_host "$addr")" "$(target_port "$addr")")
	echo "  $pod: $out"
	echo "timewait-storm: $pod has $tw sockets in TIME_WAIT towards $addr: $((tw * 100 / size))% of its $size ports, held 60 s each"
	echo "scenario=timewait-storm pod=$pod target=$addr range=$lo-$hi ports=$size connections=$n ok=$(kv "$out" http_2xx) eaddrnotavail=$(kv "$out" eaddrnotavail) errors=$(($(kv "$out" requests) - $(kv "$out" http_2xx))) time_wait=$tw utilization_pct=$((tw * 100 / size))"
}

# column NAME of the `show stat` CSV row whose pxname,svname is PX,SV
stat_col() { # csv px sv name
	awk -F, -v px="$2" -v sv="$3" -v name="$4" '
		NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == px && $2 == sv { v = $(col[name]); print (v == "" ? 0 : v); exit }' <<<"$1"
}

# mesh-amplification: the app's connections are captured into the sidecar,
# which opens its own upstream connections to a flaky server, with retries and
# no reuse. The true ratio comes from haproxy's counters, cross-checked with
# what the upstream logged.
sc_mesh_amplification() {
	local pod requests=200 rate=100 conc=8 target=flaky
	pod=$(pods_of_kind mesh | head -n 1)
	[ -n "$pod" ] || die "this lab has no mesh pods (LAB_MESH_PODS=0)"
	while [ $# -gt 0 ]; do
		case $1 in
		--pod) pod=${2:?}; shift ;;
		--requests) requests=${2:?}; shift ;;
		--rate) rate=${2:?}; shift ;;
		--concurrency) conc=${2:?}; shift ;;
		--target) target=${2:?}; shift ;;
		*) usage_err "mesh-amplification: unknown option '$1'" ;;
		esac
		shift
	done
	local addr dur out csv log before after
	need_uint --requests "$requests"
	need_uint --rate "$rate"
	need_uint --concurrency "$conc"
	[ "$requests" -ge 1 ] && [ "$requests" -le 100000 ] || usage_err "invalid --requests (1..100000)"
	[ "$rate" -ge 1 ] || usage_err "invalid --rate: '$rate'"
	addr=$(target_addr "$target")
	need_pod --pod "$pod"
	[ "$P_KIND" = mesh ] || usage_err "pod '$pod' has no sidecar"
	[[ $addr != \[* ]] || usage_err "the sidecar captures IPv4 only: use an IPv4 --target"
	case $(target_host "$addr") in
	"$(web_ip)" | "$(web_ip6)") log=$(ext_dir)/web.log ;;
	"$(flaky_ip)" | "$(flaky_ip6)") log=$(ext_dir)/flaky.log ;;
	*) log= ;;
	esac
	dur=$((requests / rate * 2 + 15))
	sidecar_clear "$pod" || die "failed to clear the counters of $pod's sidecar"
	before=0
	[ -z "$log" ] || before=$(wc -l <"$log")
	echo "mesh-amplification: $P_NS/$pod app -> $LAB_SIDECAR_NAME (haproxy, uid $LAB_SIDECAR_UID, retries $LAB_SIDECAR_RETRIES, no reuse) -> $addr; $requests requests at $rate/s, no keep-alive"
	out=$(loadgen_in "$pod" "" --mode http --rate "$rate" --concurrency "$conc" \
		--count "$requests" --duration "$dur" --target "$addr")
	csv=$(sidecar_stat "$pod") || die "failed to read the stats of $pod's sidecar"
	local app_conns app_reqs upstream retries redisp srv_sess resp5 upstream_seen=-
	app_conns=$(stat_col "$csv" outbound FRONTEND stot)
	app_reqs=$(stat_col "$csv" outbound FRONTEND req_tot)
	upstream=$(stat_col "$csv" original_dst original_dst connect)
	srv_sess=$(stat_col "$csv" original_dst original_dst stot)
	retries=$(stat_col "$csv" original_dst BACKEND wretr)
	redisp=$(stat_col "$csv" original_dst BACKEND wredis)
	resp5=$(stat_col "$csv" original_dst BACKEND hrsp_5xx)
	if [ -n "$log" ]; then
		# nginx writes its access log line when the request ends: wait for all
		logged_all() { [ $(($(wc -l <"$log") - before)) -ge "$upstream" ]; }
		wait_for 5 logged_all
		after=$(wc -l <"$log")
		upstream_seen=$((after - before))
	fi
	echo "  app: $out"
	local ratio total
	ratio=$(awk -v u="$upstream" -v a="$app_conns" 'BEGIN { printf "%.2f", a ? u / a : 0 }')
	total=$(awk -v u="$upstream" -v a="$app_conns" 'BEGIN { printf "%.2f", a ? (u + a) / a : 0 }')
	# haproxy's wretr counts an L7 retry more than once; the connections it
	# opened beyond one per app connection are the retries that really happened
	echo "mesh-amplification: haproxy stats: $app_conns app connections ($app_reqs requests) accepted; $upstream upstream connections opened ($((upstream - app_conns)) retries; haproxy wretr $retries, wredis $redisp); upstream logged $upstream_seen requests"
	echo "mesh-amplification: ratio upstream/app = $ratio; connections per app connection (app->sidecar + sidecar->upstream) = $total"
	echo "scenario=mesh-amplification pod=$pod target=$addr requests=$requests app_ok=$(kv "$out" http_2xx) app_5xx=$(kv "$out" http_5xx) app_errors=$(($(kv "$out" requests) - $(kv "$out" http_2xx) - $(kv "$out" http_5xx))) app_connections=$app_conns app_requests=$app_reqs upstream_connections=$upstream upstream_sessions=$srv_sess retries=$((upstream - app_conns)) haproxy_wretr=$retries haproxy_wredis=$redisp backend_5xx=$resp5 upstream_logged=$upstream_seen ratio=$ratio connections_per_app_connection=$total"
}

# conntrack's insert_failed counter of NETNS (summed over CPUs): a new flow
# that found no free SNAT tuple
ct_insert_failed() {
	in_ns "$1" conntrack -S 2>/dev/null |
		awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^insert_failed=/) { sub(/.*=/, "", $i); s += $i } } END { print s + 0 }'
}

# snat: several pods to one external destination through the node's
# MASQUERADE; the node's conntrack table shows every pod's connections folded
# onto the node's address and its port budget. With --hold, every pod keeps its
# connections open: past the node's budget (LAB_SNAT_PORTS) new SYNs are
# dropped by the NAT and the pods see connect() time out, with plenty of ports
# of their own.
sc_snat() {
	local podlist="" requests=300 rate=150 conc=8 target=web hold=0
	while [ $# -gt 0 ]; do
		case $1 in
		--pods) podlist=${2:?}; shift ;;
		--hold) hold=${2:?}; shift ;;
		--requests) requests=${2:?}; shift ;;
		--rate) rate=${2:?}; shift ;;
		--concurrency) conc=${2:?}; shift ;;
		--target) target=${2:?}; shift ;;
		*) usage_err "snat: unknown option '$1'" ;;
		esac
		shift
	done
	[ -n "$podlist" ] || podlist=$(pods_of_kind plain | paste -sd, -)
	[ -n "$podlist" ] || die "this lab has no plain pods (LAB_PODS=0)"
	need_uint --requests "$requests"
	need_uint --rate "$rate"
	need_uint --concurrency "$conc"
	[ "$requests" -ge 1 ] && [ "$requests" -le 100000 ] || usage_err "invalid --requests (1..100000)"
	[ "$rate" -ge 1 ] || usage_err "invalid --rate: '$rate'"
	need_uint --hold "$hold"
	[ "$hold" -le 600 ] || usage_err "invalid --hold: '$hold' (0..600)"
	local addr host port dur p tmp pids=() list=() lgargs failed0 how
	addr=$(target_addr "$target")
	host=$(target_host "$addr")
	port=$(target_port "$addr")
	IFS=, read -r -a list <<<"$podlist"
	for p in "${list[@]}"; do need_pod --pods "$p"; done
	if [ "$hold" -gt 0 ]; then
		lgargs=(--mode hold --count "$requests" --duration "$hold" --connect-timeout 1000)
		how="$requests connections each, held ${hold}s"
	else
		dur=$((requests / rate * 2 + 15))
		lgargs=(--mode http --rate "$rate" --concurrency "$conc" --count "$requests" --duration "$dur")
		how="$requests requests each at $rate/s, no keep-alive"
	fi
	tmp=$(mktemp -d -p "$LAB_STATE" snat.XXXXXX) # in the state dir: down removes it
	failed0=$(ct_insert_failed "$(node_ns)")
	echo "snat: pods ${list[*]} -> $addr through $(node_ns) MASQUERADE ($(node_ip), ports ${LAB_SNAT_PORTS:-auto}); $how"
	for p in "${list[@]}"; do
		loadgen_in "$p" "" "${lgargs[@]}" --target "$addr" >"$tmp/$p" 2>"$tmp/$p.err" &
		pids+=($!)
	done
	# held connections are counted while they are still open
	if [ "$hold" -gt 0 ]; then
		local errs_files=()
		for p in "${list[@]}"; do errs_files+=("$tmp/$p.err"); done
		wait_held "$hold" "${errs_files[@]}"
	fi
	local fam=ipv4 ct total=0 foreign=0 ports ok=0 errs=0 per=() out timeouts=0 eana=0 failed
	[[ $host == *:* ]] && fam=ipv6
	[ "$hold" -gt 0 ] || wait "${pids[@]}"
	ct=$(in_ns "$(node_ns)" conntrack -L -f "$fam" -p tcp --dst "$host" --dport "$port" 2>/dev/null)
	[ "$hold" -eq 0 ] || wait "${pids[@]}"
	for p in "${list[@]}"; do
		pod_find "$p"
		out=$(cat "$tmp/$p")
		echo "  $p: $out"
		local pip=$P_IP n
		[ "$fam" = ipv6 ] && pip=$P_IP6
		n=$(awk -v ip="$pip" '{ for (i = 1; i <= NF; i++) if ($i == "src=" ip) { c++; break } } END { print c + 0 }' <<<"$ct")
		per+=("$p=$n")
		total=$((total + n))
		if [ "$hold" -gt 0 ]; then
			ok=$((ok + $(kv "$out" connected)))
			errs=$((errs + $(kv "$out" requests) - $(kv "$out" connected)))
		else
			ok=$((ok + $(kv "$out" http_2xx)))
			errs=$((errs + $(kv "$out" requests) - $(kv "$out" http_2xx)))
		fi
		timeouts=$((timeouts + $(kv "$out" etimedout)))
		eana=$((eana + $(kv "$out" eaddrnotavail)))
	done
	failed=$(($(ct_insert_failed "$(node_ns)") - failed0))
	rm -rf "$tmp"
	# reply direction: dst= must be the node's address for every tracked flow
	local nip
	if [ "$fam" = ipv6 ]; then nip=$(node_ip6); else nip=$(node_ip); fi
	foreign=$(awk -v ip="$nip" '{ n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^dst=/) { n++; if (n == 2 && $i != "dst=" ip) c++ } } END { print c + 0 }' <<<"$ct")
	ports=$(awk '{ n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^dport=/) { n++; if (n == 2) print $i } }' <<<"$ct" | sort -u | wc -l)
	local budget=28232
	if [ -n "$LAB_SNAT_PORTS" ]; then
		local slo shi
		read -r slo shi <<<"$(parse_range "$LAB_SNAT_PORTS")"
		budget=$((shi - slo + 1))
	fi
	echo "snat: node conntrack: $total flows to $addr from ${#list[@]} pods (${per[*]}), SNATed to $nip: $((total - foreign)); $ports distinct node ports of a budget of $budget"
	echo "snat: pods: $ok ok, $errs failed ($timeouts connect timeouts, $eana EADDRNOTAVAIL); node conntrack insert_failed +$failed (no free SNAT tuple: SYN dropped)"
	echo "scenario=snat pods=$(IFS=,; echo "${list[*]}") target=$addr hold=$hold requests=$((requests * ${#list[@]})) ok=$ok errors=$errs etimedout=$timeouts eaddrnotavail=$eana conntrack_flows=$total snat_flows=$((total - foreign)) not_snat=$foreign node_ports=$ports budget=$budget insert_failed=$failed per_pod=$(IFS=,; echo "${per[*]}")"
}

# Runs one scenario REPEAT times.
scenario_run() { # name repeat pause args...
	local name=$1 repeat=$2 pause=$3 i fn
	shift 3
	fn=sc_${name//-/_}
	for ((i = 1; i <= repeat; i++)); do
		[ "$repeat" -eq 1 ] || echo "== $name run $i/$repeat"
		"$fn" "$@" || return 1
		[ "$i" -eq "$repeat" ] || sleep "$pause" # pacing between runs, not synchronisation
	done
}
