#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 7, done when #1: a real Prometheus (Debian's prometheus package)
# scrapes `portburn serve` in the lab while `lab scenario port-burn` runs.
#
# The test starts, on free loopback ports: its own lab (LAB_PREFIX=plq<pid>),
# `portburn serve --listen 127.0.0.1:P` on the lab's host root, and
# /usr/bin/prometheus with a temporary config and TSDB (scrape and evaluation
# every 1 s, one job for serve, rule_files: deploy/rules/portburn.rules.yml).
# port-burn (in the background, holding 60 s: the checks run while it holds):
# app-0 holds its whole narrowed range (40000-40049, 50 ports) to the web
# server, 30 more connects fail with EADDRNOTAVAIL; the neighbour app-1 opens
# 80 connections without a failure (they then sit in TIME_WAIT).
#
# Checks, through Prometheus' HTTP API:
#  - the target is up; every rule of the rules file evaluates without error;
#  - the burning pod first: topk(3, max by (namespace, pod)
#    (portburn_destination_utilization_ratio{namespace!=""})) -> shop/app-0 at 1
#    (its pool is full); the count of ports per pod,
#    topk(3, sum by (namespace, pod) (portburn_ports_in_use{namespace!=""})),
#    gives each pod exactly its ports (app-0 50, app-1 its TIME_WAIT sockets
#    as ss counts them, 80: by count the neighbour holds more, which is the
#    scenario's point: its pool is the whole default range), and the
#    recording rule top10 holds app-0 with 50;
#  - portburn_connect_failures_total{errno="EADDRNOTAVAIL"} names shop/app-0
#    container app only, 30 times;
#  - alerts: PortburnEphemeralPortExhaustion firing for shop/app-0 (container
#    app, errno EADDRNOTAVAIL) and PortburnPortPressure (critical) pending for
#    its pool 203.0.113.10:80; none for the neighbour. The exhaustion rule
#    ignores failure series that were already there when Prometheus (or the
#    job) is new and looks at their increase(); so once Prometheus has seen
#    the 30, app-0 keeps trying (5 connects, failing: its range is held), as
#    a burning pod does;
#  - `promtool check metrics` passes on the live exposition;
#  - hostile owners (lab_top_lib.sh: a service and a docker container whose
#    names carry ESC/OSC/BEL/quotes/a newline/invalid UTF-8/C1/bidi, a pod with
#    the longest names the kubelet can write) go through Prometheus' parser:
#    the scrape has no error and their label values read back exactly as
#    METRICS.md says (control bytes as U+FFFD, \ " and newline kept);
#  - serve wrote the exhaustion alert for shop/app-0 on stdout (JSON line) and
#    exits 0 on SIGTERM.
# Everything is bounded (waits of at most 5-20 s each); ~15 s here.
. "$(dirname "$0")/lab_top_lib.sh"
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
RULES=$TOP/deploy/rules/portburn.rules.yml
top_init prom
[ -x "$PROMETHEUS" ] || die "no $PROMETHEUS (apt-get install prometheus)"
command -v promtool >/dev/null || die "promtool missing (apt-get install prometheus)"

# A loopback TCP port nobody listens on (and not the other one we took).
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 20000))
		[ "$p" != "${1:-}" ] && [ -z "$(ss -Htln "sport = :$p")" ] && { echo "$p"; return 0; }
	done
	die "no free port"
}
PB_PORT=$(free_port)
PROM_PORT=$(free_port "$PB_PORT")
PROM=http://127.0.0.1:$PROM_PORT

# --- Prometheus first: its discovery hands the target over after ~5 s --------
cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $RULES
scrape_configs:
  - job_name: portburn
    static_configs:
      - targets: ['127.0.0.1:$PB_PORT']
EOF
"$PROMETHEUS" --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
	--web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn >"$T/prometheus.log" 2>&1 &
PROM_PID=$!
_PIDS+=("$PROM_PID")
t0=$(date +%s%N)
wait_until 20 "curl -sf -o /dev/null $PROM/-/ready" || {
	cat "$T/prometheus.log"; die "prometheus did not get ready"; }
log "prometheus $("$PROMETHEUS" --version 2>&1 | head -n 1 | cut -d' ' -f3) ready on 127.0.0.1:$PROM_PORT"

top_lab_up --pods 3 --mesh-pods 0
hostile_owners

"$PORTBURN" serve --listen "127.0.0.1:$PB_PORT" --host-root "$HR" >"$T/serve.out" 2>"$T/serve.err" &
SERVE_PID=$!
_PIDS+=("$SERVE_PID")
wait_until 30 "grep -q 'ready (mode' '$T/serve.err' && curl -sf -o /dev/null http://127.0.0.1:$PB_PORT/metrics" || {
	cat "$T/serve.err"; die "portburn serve did not start"; }

# q PROMQL: the instant query's result vector, as compact JSON lines
# {"m": labels, "v": value}, in Prometheus' order (topk: largest first).
q() {
	curl -sf -m 5 -G "$PROM/api/v1/query" --data-urlencode "query=$1" |
		jq -c '.data.result[] | {m: .metric, v: .value[1]}'
}
# pods PROMQL: "namespace/pod value" per result line, in order
pods() { q "$1" | jq -r '"\(.m.namespace)/\(.m.pod) \(.v)"'; }
first_pod() { pods "$1" | head -n 1; }
alerts() { curl -sf -m 5 "$PROM/api/v1/alerts" | jq -c '.data.alerts[]'; }
# alert_state NAME JQ-CONDITION: the states of the matching alerts, sorted
alert_state() {
	alerts | jq -r --arg n "$1" "select(.labels.alertname == \$n and ($2)) | .state" | sort -u |
		paste -sd, -
}

wait_until 20 '[ "$(q "up{job=\"portburn\"}" | jq -r .v)" = 1 ]'
eq "Prometheus scrapes portburn serve: up" "$(q 'up{job="portburn"}' | jq -r .v)" 1
log "target up $(( ($(date +%s%N) - t0) / 1000000 )) ms after Prometheus started"
check "portburn_build_info scraped, with its hook mode" \
	eval '[ -n "$(q portburn_build_info | jq -r .m.mode)" ]'

# --- port-burn (lab_top_lib.sh: in the background, checked while app-0 holds) --
burn
t1=$(date +%s%N)
# app-1's sockets in TIME_WAIT, as ss counts them
tw1() { ip netns exec "$NS1" ss -Htan state time-wait dst 203.0.113.10 | wc -l; }

fq='portburn_connect_failures_total{errno="EADDRNOTAVAIL",namespace!=""}'
failing() { q "$fq" | jq -r '"\(.m.namespace)/\(.m.pod)/\(.m.container) \(.v)"' | sort; }
wait_until 10 '[ "$(failing)" = "shop/app-0/app 30" ]'
eq "Prometheus: $fq names the burning pod's container only, 30 failures" "$(failing)" "shop/app-0/app 30"
log "failures in Prometheus $(( ($(date +%s%N) - t1) / 1000000 )) ms after app-0 held its range"

curl -sf -m 5 "http://127.0.0.1:$PB_PORT/metrics" >"$T/metrics" || die "scrape /metrics"
promtool check metrics <"$T/metrics" >"$T/promtool.out" 2>&1
pt=$?
sed 's/^/# promtool: /' "$T/promtool.out" | head -n 20
eq "promtool check metrics on the live exposition ($(grep -vc '^#' "$T/metrics") series)" "$pt" 0

# --- hostile names through Prometheus' parser ---------------------------------
# Label values as the exposition escapes them (ESC_PROM) and Prometheus reads
# them back: \\ \" \n kept as the characters they stand for; ESC, BEL, C1 and
# invalid UTF-8 replaced by U+FFFD; other valid UTF-8 (the bidi override
# U+202E) as it is. Compared as jq -a writes them (\uXXXX).
# ((?s): the docker name holds a newline, which "." does not match otherwise)
hq='portburn_ports_in_use{namespace="",pod="host",container=~"(?s).*pwned.*"}'
wait_until 5 '[ "$(q "$hq" | wc -l)" -eq 2 ]'
eq "Prometheus holds the series of the two hostile owners (the scrape's last error: '$(curl -sf -m 5 "$PROM/api/v1/targets" |
	jq -r '.data.activeTargets[0].lastError')')" "$(q "$hq" | wc -l)" 2
unit_prom='evil\ufffd[2J\ufffd[H\ufffd]0;pwned\ufffd\"q'"'"'\\b\ufffd\ufffd\u202eRTL-'"$(printf 'L%.0s' $(seq 120))"'.service'
dock_prom='dock\ufffd]0;pwned\ufffd\ufffd[2J\ufffd[31mRED\"q'"'"'\\b\nNL\u202eRTL\ufffd31mD'
labels=$(q "$hq" | jq -a '.m.container')
log "hostile container labels in Prometheus (jq -a): $(cut -c1-120 <<<"$labels" | paste -sd' ')"
check "Prometheus: the service's container label, control bytes as U+FFFD, the rest whole" \
	grep -qxF "\"$unit_prom\"" <<<"$labels"
check "Prometheus: the docker container's label, its newline and quotes kept, control bytes as U+FFFD" \
	grep -qF "\"$dock_prom" <<<"$labels"
eq "Prometheus: the long pod's series, names whole" \
	"$(q "portburn_ports_in_use{namespace=\"$LONG_NS\",pod=\"$LONG_POD\",container=\"$LONG_CTR\"}" | jq -r .v)" 5

# value of KEY in a loadgen summary line (key=value ...)
lg_kv() { local w; for w in $1; do [ "${w%%=*}" = "$2" ] && { echo "${w#*=}"; return; }; done; echo "?"; }
# app-0 keeps trying: its range is held, so 5 more EADDRNOTAVAIL
more=$("$LAB" loadgen app-0 -- -t 203.0.113.10:80 -m connect -n 5 2>&1)
log "$more"
eq "app-0 tries 5 more connects: EADDRNOTAVAIL" "$(lg_kv "$more" eaddrnotavail)" 5
t2=$(date +%s%N)

exh='.labels.namespace == "shop" and .labels.pod == "app-0" and .labels.container == "app" and .labels.errno == "EADDRNOTAVAIL"'
wait_until 10 '[ "$(alert_state PortburnEphemeralPortExhaustion "$exh")" = firing ]'
eq "alert PortburnEphemeralPortExhaustion for shop/app-0 container app, EADDRNOTAVAIL" \
	"$(alert_state PortburnEphemeralPortExhaustion "$exh")" firing
log "exhaustion alert firing $(( ($(date +%s%N) - t2) / 1000000 )) ms after the 5 more failures"

# --- the burning pod first -------------------------------------------------------
uq='topk(3, max by (namespace, pod) (portburn_destination_utilization_ratio{namespace!=""}))'
t3=$(date +%s%N)
wait_until 15 '[ "$(first_pod "$uq")" = "shop/app-0 1" ]'
pods "$uq" | sed "s/^/# $uq: /"
eq "Prometheus: $uq: the burning pod first, its pool full" "$(first_pod "$uq")" "shop/app-0 1"
log "waited $(( ($(date +%s%N) - t3) / 1000000 )) ms for app-0 first at 1"

pq='.labels.namespace == "shop" and .labels.pod == "app-0" and .labels.daddr == "203.0.113.10" and .labels.dport == "80" and .labels.severity == "critical"'
wait_until 5 '[ "$(alert_state PortburnPortPressure "$pq")" = pending ]'
eq "alert PortburnPortPressure (critical, for: 2m) pending for shop/app-0 towards 203.0.113.10:80" \
	"$(alert_state PortburnPortPressure "$pq")" pending
alerts | jq -r '"\(.labels.alertname) \(.labels.severity) \(.state) \(.labels.namespace)/\(.labels.pod)/\(.labels.container // "") \(.labels.errno // "") \(.labels.daddr // ""):\(.labels.dport // "")"' |
	sed 's/^/# alert: /'
eq "no alert for the neighbour shop/app-1" \
	"$(alerts | jq -c 'select(.labels.namespace == "shop" and .labels.pod == "app-1")' | wc -l)" 0

cq='topk(3, sum by (namespace, pod) (portburn_ports_in_use{namespace!=""}))'
pods "$cq" | sed "s/^/# $cq: /"
# app-1: its 80 connections in TIME_WAIT, as ss counts them (lab_top_lib.sh)
cpods() { pods "$cq" | LC_ALL=C sort | paste -sd' '; }
cwant() { printf '%s\n' "shop/app-0 50" "shop/app-1 $(tw1)" "$LONG_NS/$LONG_POD 5" | LC_ALL=C sort | paste -sd' '; }
wait_until 5 '[ "$(cpods)" = "$(cwant)" ]'
eq "Prometheus: $cq: every pod's ports (app-0 50 held, app-1 what ss shows in TIME_WAIT, the long pod 5)" \
	"$(cpods)" "$(cwant)"
eq "recording rule namespace_pod:portburn_ports_in_use:top10 holds the burning pod, 50 ports" \
	"$(pods 'namespace_pod:portburn_ports_in_use:top10{namespace="shop",pod="app-0"}')" "shop/app-0 50"

rules=$(curl -sf -m 5 "$PROM/api/v1/rules" | jq -r '.data.groups[].rules[] | "\(.health) \(.name) \(.lastError // "")"')
eq "every rule of deploy/rules/portburn.rules.yml loaded ($(wc -l <<<"$rules") rules)" \
	"$(wc -l <<<"$rules")" "$(grep -cE '^ *- (alert|record):' "$RULES")"
eq "every rule evaluates without error on live data" "$(grep -vc '^ok ' <<<"$rules")" 0
grep -v '^ok ' <<<"$rules" | sed 's/^/# rule: /'

# --- serve's own alert line and exit -----------------------------------------------
check "serve wrote the exhaustion alert for shop/app-0 on stdout (JSON line)" \
	jq -e -s 'map(select(.type == "alert" and .kind == "exhaustion" and .namespace == "shop" and .pod == "app-0")) | length > 0' "$T/serve.out" >/dev/null
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
eq "portburn serve exits 0 on SIGTERM" "$?" 0
log "test time $(( ($(date +%s%N) - t0) / 1000000 )) ms"
finish
