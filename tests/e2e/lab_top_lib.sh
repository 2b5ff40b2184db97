# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Shared by tests/e2e/lab_top_*.sh and lab_prom_*.sh (sourced, not run: not
# executable, like lib.sh): issue 7's "Done when" for `portburn top` and
# `portburn serve` with Prometheus in the lab.
#
# Each test runs its own lab (LAB_STATE, LAB_PREFIX=plq<pid>), its own
# portburn processes, tmux server (own socket in $T), Prometheus, and hostile
# owners (own cgroups, processes started here), and tears all of it down on
# exit, pass or fail: tmux and processes by PID, then the cgroups it made,
# then `lab down`.
#
# portburn sees the whole host: other sessions' labs and tests show up as rows
# of their own (their pods unnamed: names come from this lab's host root only).
# Checks that need "the first row" filter on this lab's namespace, "shop", which
# only this host root can name.
_TOP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../tools/lab/testlib.sh
. "$_TOP_DIR/../../tools/lab/testlib.sh"
# shellcheck source=lib.sh
. "$_TOP_DIR/lib.sh"
set +e +o pipefail
set -u

LOADGEN=$LAB_REPO/build/lab/loadgen
_TOP_CGROUPS=()	# absolute cgroup paths made by the test, parents first
TMUX_SOCK=

# top_init NAME: preconditions, own lab instance, cleanup trap.
top_init() {
	[ "$(id -u)" -eq 0 ] || die "lab tests need root"
	[ -x "$PORTBURN" ] || die "no $PORTBURN (run: make portburn)"
	[ -x "$LOADGEN" ] || die "$LOADGEN missing (run: make lab)"
	export LAB_STATE=/run/portburn-lab-test-$1-$$
	export LAB_PREFIX=plq$$
	trap _top_cleanup EXIT
}

_top_cleanup() {
	local rc=$? i cg p
	trap - EXIT
	if [ -n "$TMUX_SOCK" ] && [ -S "$TMUX_SOCK" ]; then
		tmux -S "$TMUX_SOCK" kill-server 2>/dev/null
		rm -f "$TMUX_SOCK"
	fi
	for p in "${_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for ((i = ${#_TOP_CGROUPS[@]} - 1; i >= 0; i--)); do
		cg=${_TOP_CGROUPS[$i]}
		[ -d "$cg" ] || continue
		# only processes this test put there
		while read -r p; do kill -KILL "$p" 2>/dev/null; done <"$cg/cgroup.procs"
		for _ in $(seq 50); do rmdir "$cg" 2>/dev/null && break; sleep 0.05; done
	done
	"$LAB" down >/dev/null 2>&1 || echo "# cleanup: lab down failed (LAB_STATE=$LAB_STATE)"
	_cleanup
	exit "$rc"
}

# top_lab_up ARGS...: `lab up ARGS`; sets HR (host root), CG2 (cgroup2 mount
# as the lab uses it), STATUS (lab status --json in a file).
top_lab_up() {
	"$LAB" up "$@" >"$T/up.log" 2>&1 || { cat "$T/up.log"; die "lab up $*"; }
	STATUS=$T/status.json
	"$LAB" status --json >"$STATUS" || die "lab status"
	HR=$(jq -r .host_root "$STATUS")
	CG2=$(jq -r .cgroup2 "$STATUS")
	log "lab up $*: prefix $LAB_PREFIX, host root $HR"
}

st_pod() { jq -r --arg p "$1" --arg k "$2" '.pods[] | select(.name == $p) | .[$k]' "$STATUS"; }
st_ctr() { # pod container key
	jq -r --arg p "$1" --arg c "$2" --arg k "$3" \
		'.pods[] | select(.name == $p) | .containers[] | select(.name == $c) | .[$k]' "$STATUS"
}

# mkcg PATH (relative to the cgroup2 mount, leading /): a cgroup of the test.
mkcg() {
	mkdir "$CG2$1" || die "mkdir cgroup $1"
	_TOP_CGROUPS+=("$CG2$1")
}

# hold_in NAME NETNS CGROUP N: the lab's load generator holding N connections
# to the web server, as a process of CGROUP in NETNS, in the background (its
# PID recorded), until the test ends (120 s at most). Returns once all are
# connected.
hold_in() {
	local name=$1 ns=$2 cg=$3 n=$4
	sh -c 'echo $$ >"$1/cgroup.procs" && ns=$2 && shift 2 && exec ip netns exec "$ns" "$@"' \
		sh "$CG2$cg" "$ns" "$LOADGEN" -t 203.0.113.10:80 -m hold -n "$n" -d 120 \
		>"$T/hold-$name.out" 2>"$T/hold-$name.err" &
	_PIDS+=($!)
	disown $!	# stopped by PID at the end: no job report
	wait_until 10 grep -q '^loadgen: holding' "$T/hold-$name.err" ||
		die "hold $name: $(cat "$T/hold-$name.err")"
	grep -q "^loadgen: holding $n connections" "$T/hold-$name.err" ||
		die "hold $name: $(cat "$T/hold-$name.err")"
}

# Hostile owners, all holding connections from pod app-2's network namespace
# (app-2 itself stays idle):
#  - a systemd service (25 connections: the biggest holder of app-2's pool)
#    whose cgroup directory name carries ESC sequences
#    (clear screen, cursor home, OSC 0 "set title" to "pwned"), BEL, quotes,
#    a backslash, invalid UTF-8 (\xff\xfe), a bidi override (U+202E) and
#    120 more characters (a cgroup name cannot hold a newline);
#  - a docker container (20 connections) whose name (config.v2.json under the
#    host root) has
#    ESC, OSC, BEL, a newline, quotes, U+202E, C1 CSI (U+009B) and long text;
#  - a Kubernetes pod with the longest names the kubelet's log tree can hold
#    (a 63-character namespace "shop-...", a 63-character pod of two DNS
#    labels, a 40-character container: the kubelet's names are DNS labels and
#    subdomains, portburn checks that, so length is the hostile part there).
# Sets HOSTILE_UNIT, HOSTILE_DOCKER_ID, LONG_NS, LONG_POD, LONG_CTR.
HOSTILE_UNIT=$'evil\e[2J\e[H\e]0;pwned\a"q\'\\b\xff\xfe\xe2\x80\xaeRTL-'"$(printf 'L%.0s' $(seq 120))"'.service'
LONG_NS="shop-$(printf 'n%.0s' $(seq 55))-ns"
LONG_POD="payments-api-$(printf 'x%.0s' $(seq 40))-0.shard-7"
LONG_CTR="sidecar-with-a-long-name-$(printf 'c%.0s' $(seq 15))"
hostile_owners() {
	local ns slice id uid h podcg ctrcg leaf logdir
	ns=$(pod_netns app-2)
	[ -n "$ns" ] || die "no pod app-2 in this lab"
	slice=/$LAB_PREFIX-evil.slice
	mkcg "$slice"
	# the service
	mkcg "$slice/$HOSTILE_UNIT"
	hold_in unit "$ns" "$slice/$HOSTILE_UNIT" 25
	# the docker container
	HOSTILE_DOCKER_ID=$(printf '%s' "$LAB_PREFIX/docker/evil" | sha256sum | cut -c1-64)
	mkdir -p "$HR/var/lib/docker/containers/$HOSTILE_DOCKER_ID" || die "mkdir docker dir"
	printf '{"ID":"%s","Name":"/dock\\u001b]0;pwned\\u0007\\u001b[2J\\u001b[31mRED\\"q'"'"'\\\\b\\nNL\\u202eRTL\\u009b31m%s"}\n' \
		"$HOSTILE_DOCKER_ID" "$(printf 'D%.0s' $(seq 150))" \
		>"$HR/var/lib/docker/containers/$HOSTILE_DOCKER_ID/config.v2.json"
	jq -e '.Name | test("pwned")' "$HR/var/lib/docker/containers/$HOSTILE_DOCKER_ID/config.v2.json" \
		>/dev/null || die "docker config.v2.json is not valid JSON"
	mkcg "$slice/docker-$HOSTILE_DOCKER_ID.scope"
	hold_in docker "$ns" "$slice/docker-$HOSTILE_DOCKER_ID.scope" 20
	# the pod with long names: app-2's cgroup layout with a new UID and id
	h=$(printf '%s' "$LAB_PREFIX/pod/long" | sha256sum)
	uid="${h:0:8}-${h:8:4}-4${h:13:3}-a${h:17:3}-${h:20:12}"
	id=$(printf '%s' "$LAB_PREFIX/container/long" | sha256sum | cut -c1-64)
	local uid2 ctr2
	uid2=$(st_pod app-2 uid)
	ctr2=$(st_ctr app-2 app id)
	podcg=$(st_pod app-2 cgroup)
	podcg=${podcg//$uid2/$uid}
	podcg=${podcg//${uid2//-/_}/${uid//-/_}}
	leaf=$(basename "$(st_ctr app-2 app cgroup)")
	ctrcg=$podcg/${leaf//$ctr2/$id}
	[ "$podcg" != "$(st_pod app-2 cgroup)" ] || die "cannot derive a pod cgroup from app-2's"
	mkcg "$podcg"
	mkcg "$ctrcg"
	logdir="var/log/pods/${LONG_NS}_${LONG_POD}_$uid/$LONG_CTR"
	mkdir -p "$HR/$logdir" || die "mkdir $logdir"
	: >"$HR/$logdir/0.log"
	ln -s "/$logdir/0.log" "$HR/var/log/containers/${LONG_POD}_${LONG_NS}_${LONG_CTR}-$id.log" ||
		die "container log link"
	hold_in long "$ns" "$ctrcg" 5
	log "hostile owners: a service (25 connections), a docker container (20), pod $LONG_NS/$LONG_POD container $LONG_CTR (5)"
}

# burn: `lab scenario port-burn` on app-0 (neighbour app-1) in the background,
# holding for 60 s (the test ends first: `lab down` stops it). Returns once
# app-0 holds its whole narrowed range (40000-40049: 50 established
# connections, 30 more connects failed with EADDRNOTAVAIL) and the neighbour
# has made its 80 connections (none left open: they sit in TIME_WAIT).
# Checked while app-0 holds: established connections keep the pool full,
# whereas the lab's SNAT now and then loses a few of the TIME_WAIT sockets it
# would leave (a retransmitted FIN, then a RST: seen as 44 of 50 in ss).
burn() {
	local held
	NS1=$(pod_netns app-1)
	"$LAB" scenario port-burn --pod app-0 --neighbour app-1 --range 40000-40049 \
		--extra 30 --hold 60 --background >"$T/burn.out" 2>&1 ||
		{ cat "$T/burn.out"; die "lab scenario port-burn failed"; }
	BURN_LOG=$LAB_STATE/scenarios/port-burn.log
	wait_until 20 grep -q 'app-0 holds [0-9]* established' "$BURN_LOG" ||
		{ cat "$BURN_LOG"; die "port-burn: app-0 holds nothing"; }
	held=$(sed -n 's/.*app-0 holds \([0-9]*\) established.*/\1/p' "$BURN_LOG")
	eq "port-burn: app-0 holds 50 established connections (its whole range, 40000-40049)" "$held" 50
	wait_until 20 neighbour_done || { cat "$BURN_LOG"; die "port-burn: the neighbour did not finish"; }
	log "port-burn: the neighbour app-1 is done: $(ip netns exec "$NS1" ss -Htan state time-wait \
		dst 203.0.113.10 | wc -l) sockets in TIME_WAIT"
}

# The neighbour has connected and closed: TIME_WAIT sockets, none open.
neighbour_done() {
	[ "$(ip netns exec "$NS1" ss -Htan state connected exclude time-wait dst 203.0.113.10 | wc -l)" -eq 0 ] &&
		[ "$(ip netns exec "$NS1" ss -Htan state time-wait dst 203.0.113.10 | wc -l)" -gt 0 ]
}

# keep_failing SECONDS: app-0 keeps trying (20 connects/s) and failing with
# EADDRNOTAVAIL (its range is held), in the background.
keep_failing() {
	"$LAB" loadgen app-0 -- -t 203.0.113.10:80 -m connect -r 20 -n $(($1 * 20)) -d "$1" \
		>"$T/failing.out" 2>&1 &
	_PIDS+=($!)
	disown $!
}

# the data rows (after the status and header lines) of a frame on stdin
data_rows() { sed -n '3,$p' | grep -v '^$'; }
# first data row of a --once frame (file)
first_row() { sed -n 3p "$1"; }

# lines of stdin wider than N characters (the names are escaped to ASCII)
wider_than() { awk -v w="$1" 'length($0) > w' | wc -l; }

# does FILE hold a byte ESC (0x1b) or another C0 control but \n and \t?
has_ctl() { LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$1"; }

# --- tmux ---------------------------------------------------------------------

# tmux on the test's own socket, without the user's configuration
tmx() { tmux -S "$TMUX_SOCK" "$@"; }

# top_session NAME W H [top args...]: `portburn top --host-root HR ARGS` in a
# detached tmux session of W x H (no status line, so the pane is W x H). A
# shell in the pane runs it and writes its exit status to $T/top-NAME.rc: its
# own parent reaps it at once (tmux was seen to leave an exited pane process
# unreaped for more than 15 s here, now and then). PIDs: TOP_PID[NAME] (top)
# and the pane's shell, recorded for the cleanup.
declare -A TOP_PID
top_session() {
	local name=$1 w=$2 h=$3 spid
	shift 3
	command -v tmux >/dev/null || die "tmux missing (tools/install-deps.sh)"
	if [ -z "$TMUX_SOCK" ]; then
		TMUX_SOCK=$T/tmux.sock
		printf 'set -g status off\nset -g remain-on-exit on\n' >"$T/tmux.conf"
	fi
	tmx -f "$T/tmux.conf" new-session -d -s "$name" -x "$w" -y "$h" \
		sh -c 'rc=$1; shift; "$@"; echo $? >"$rc"' sh "$T/top-$name.rc" \
		"$PORTBURN" top --host-root "$HR" "$@" || die "tmux new-session $name"
	_PIDS+=("$(tmx display -p '#{pid}')")
	spid=$(tmx display -p -t "$name" '#{pane_pid}')
	_PIDS+=("$spid")
	wait_until 5 "[ -n \"\$(cat /proc/$spid/task/$spid/children 2>/dev/null)\" ]"
	TOP_PID[$name]=$(cat "/proc/$spid/task/$spid/children" 2>/dev/null)
	TOP_PID[$name]=${TOP_PID[$name]%% *}
	[ -n "${TOP_PID[$name]}" ] || die "top ($name) did not start: $(pane "$name")"
	_PIDS+=("${TOP_PID[$name]}")
}

# pane NAME: the screen of session NAME as text
pane() { tmx capture-pane -p -t "$1"; }

# wait_pane NAME SECONDS GREP-ARGS...: poll the screen until grep matches.
wait_pane() {
	local name=$1 s=$2
	shift 2
	wait_until "$s" "pane $name | grep -q $(printf '%q ' "$@")"
}

# keys NAME KEYS...: tmux send-keys (named keys: Enter, C-u, Escape, Space)
keys() {
	local name=$1
	shift
	tmx send-keys -t "$name" "$@"
}

# type_filter NAME TEXT: "/", clear, TEXT, Enter; waits for the status line to
# say so.
type_filter() {
	keys "$1" /
	keys "$1" C-u
	keys "$1" -l "$2"
	keys "$1" Enter
	wait_pane "$1" 5 -F "filter '$2'"
}

# show NAME: the screen in the log, framed
show() {
	echo "# --- screen $1 ($(tmx display -p -t "$1" '#{pane_width}x#{pane_height}'))"
	pane "$1" | sed 's/^/# |/'
}
