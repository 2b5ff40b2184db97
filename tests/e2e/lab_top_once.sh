#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 7, done when #2 and #3: `portburn top --once` (the plain frame for
# scripts and tickets) in the lab.
#
# While `lab scenario port-burn` runs (app-0 holds its whole 50-port range
# towards the web server, 30 more connects failed with EADDRNOTAVAIL; the
# neighbour app-1 opened 80 connections fine) app-0 keeps trying and failing
# (20 connects/s) while each `top --once` looks, as a pod in trouble does.
# Hostile owners (lab_top_lib.sh) hold connections
# too: a service and a docker container whose names carry ESC/OSC/BEL/quotes/
# a newline/invalid UTF-8/bidi controls, and a pod with the longest names the
# kubelet can write.
#
# Checks: the burning pod first (lab pods, filter "shop") with EXH and 100%,
# in the default order (ports in use) and by utilization and failures; the
# frames of every view (pods, containers, destinations) hold no control byte
# (ESC above all), the hostile names appear escaped exactly, and the columns
# after them are intact; the long names appear whole.
. "$(dirname "$0")/lab_top_lib.sh"
top_init top-once

top_lab_up --pods 3 --mesh-pods 0
hostile_owners
burn
keep_failing 30

# once FILE ARGS...: `portburn top --once --host-root HR ARGS` into FILE (its
# stderr in FILE.err); prints the exit status.
once() {
	local f=$1
	shift
	"$PORTBURN" top --once --host-root "$HR" "$@" >"$f" 2>"$f.err"
	echo $?
}
frame() { sed 's/^/# |/' "$1"; }

# --- the burning pod first ------------------------------------------------------
eq "top --once --filter shop: exit status" "$(once "$T/pods" --filter shop)" 0
frame "$T/pods"
check "--once, pods by ports in use (the default), lab pods: the burning pod first, with EXH" \
	grep -qE '^shop/app-0 .*EXH' <(first_row "$T/pods")
log "first data row: $(first_row "$T/pods")"
check "--once: app-0's row: 50 ports, 100% of its range, EXH" \
	grep -qE '^shop/app-0 +50 .* 100% .*EXH' "$T/pods"
check "--once: the neighbour app-1 (its 80 connections in TIME_WAIT, <1% of its range) carries no flag" \
	grep -qE '^shop/app-1 +[0-9]+ .*[0-9] +- *$' "$T/pods"

eq "top --once --sort util: exit status" "$(once "$T/util" --filter shop --sort util)" 0
frame "$T/util"
check "--once --sort util: the burning pod first, 100%, EXH" \
	grep -qE '^shop/app-0 +50 .* 100% .*EXH' <(first_row "$T/util")
eq "top --once --sort fail: exit status" "$(once "$T/fail" --filter shop --sort fail)" 0
check "--once --sort fail: the burning pod first, EXH" \
	grep -qE '^shop/app-0 .*EXH' <(first_row "$T/fail")

# --- hostile names ---------------------------------------------------------------
# The names as the terminal escape (ESC_TERM) writes them: C0 and invalid
# bytes as \xNN, the backslash doubled, C1 and bidi controls as \uXXXX, quotes
# and printable text as they are. (The docker name is cut by portburn's name
# length, within the D's.)
unit_esc='evil\x1b[2J\x1b[H\x1b]0;pwned\x07"q'"'"'\\b\xff\xfe\u202eRTL-'"$(printf 'L%.0s' $(seq 120))"'.service'
dock_esc='docker/dock\x1b]0;pwned\x07\x1b[2J\x1b[31mRED"q'"'"'\\b\x0aNL\u202eRTL\u009b31mD'
for v in pods containers dests; do
	eq "top --once --view $v (all owners): exit status" "$(once "$T/all-$v" --view "$v")" 0
	check "--once --view $v: no control byte (ESC, BEL, ...) in the frame" \
		eval "! has_ctl '$T/all-$v'"
	check "--once --view $v: none on stderr either" eval "! has_ctl '$T/all-$v.err'"
done
grep -F -e 'pwned' -e "$LONG_NS" "$T/all-containers" | sed 's/^/# |/'
# after_name FILE NAME: what follows NAME (a fixed string) on the first line
# holding it (through the environment: awk -v would interpret backslashes)
after_name() { N=$2 awk 'i = index($0, ENVIRON["N"]) { print substr($0, i + length(ENVIRON["N"])); exit }' "$1"; }
# In the containers view every owner goes by its own name (the pods view may
# show the service and the docker container, which are no pods, or fold them
# into "host"). The row: the escaped name, padding, then the ports, all open.
check "--once --view containers: the service's name escaped exactly, the columns after it intact" \
	grep -qE '^ +25 +25 +0 203\.0\.113\.10:80 ' <(after_name "$T/all-containers" "$unit_esc")
check "--once --view containers: the docker container's name escaped (ESC, BEL, newline, C1, bidi), the columns after it intact" \
	grep -qE '^D* +20 +20 +0 203\.0\.113\.10:80 ' <(after_name "$T/all-containers" "$dock_esc")
check "--once --view pods: the long pod's names whole, the columns after them intact" \
	grep -qE '^ +5 +5 +0 ' <(after_name "$T/all-pods" "$LONG_NS/$LONG_POD")
check "--once --view containers: the long container's names whole, the columns after them intact" \
	grep -qE '^ +5 +5 +0 ' <(after_name "$T/all-containers" "$LONG_NS/$LONG_POD/$LONG_CTR")
check "--once --view dests: the biggest holder of app-2's pool (the service) is named escaped" \
	eval "grep -E '^203\\.0\\.113\\.10:80 +10\\.244\\.0\\.12 ' '$T/all-dests' | grep -qF 'evil\\x1b[2J'"
finish
