#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 7, done when #2: `portburn top` (the curses screen) in tmux, in the lab.
#
# Two detached tmux sessions run `portburn top` against the lab's host root:
# "big" at 100x30 and "small" at 80x24 (no tmux status line: the pane is the
# whole window). Around them: hostile owners (lab_top_lib.sh: a service and a
# docker container whose names carry ESC/OSC/BEL/quotes/invalid UTF-8/bidi
# controls, a pod with the longest names the kubelet can write) and then
# `lab scenario port-burn` (app-0 holds its whole 50-port range towards the
# web server, 30 more connects fail with EADDRNOTAVAIL; the neighbour app-1
# opens 80 connections fine); app-0 then keeps failing (20 connects/s) while
# the keys are tried, and keeps holding until the test ends.
#
# The screen is read with `tmux capture-pane -p`, polled with bounded waits.
# Checks: the burning pod on the first data row with EXH (lab pods: filter
# "shop"); sort by utilization (u); destinations view (d) shows the pool
# 203.0.113.10:80 from app-0's address at 50/50; "/" filter to the neighbour
# shows it alone; help (h) and pause (space); hostile names: rows escaped,
# the screen keeps its shape (height, width, status, header, key line) and the
# pane title does not change (an OSC 0 reaching the terminal would set it);
# long names cut to the column; resize to 60x15 and back; the 80x24 screen
# keeps the IN-USE and FLAGS columns; q quits with exit status 0.
. "$(dirname "$0")/lab_top_lib.sh"
top_init top-tmux
command -v tmux >/dev/null || die "tmux missing (tools/install-deps.sh)"

top_lab_up --pods 3 --mesh-pods 0
hostile_owners

top_session big 100 30
# --reconcile 600: what "small" shows of a pod's port range must not depend on
# when a periodic reconciliation happens to run (see the UTIL check below)
top_session small 80 24 --filter shop --reconcile 600
wait_pane big 30 -E '^NAMESPACE/POD' || { show big; die "top (100x30) did not draw"; }
wait_pane small 30 -E '^NAMESPACE/POD' || { show small; die "top (80x24) did not draw"; }
title0=$(tmx display -p -t big '#{pane_title}')
check "100x30: status line with the hook mode" eval 'pane big | head -n 1 | grep -qE "^node .* mode [a-z]+ "'

# row_is NAME N ERE: data row N (1 = first) of session NAME matches
row_is() { pane "$1" | sed -n "$(($2 + 2))p" | grep -qE "$3"; }
# rows NAME: number of data rows on the screen
rows() { pane "$1" | data_rows | grep -vc '^q quit'; }
# geometry NAME W H: the screen is H lines, none wider than W, status line
# first, header second, key line last
geometry() {
	local s
	s=$(pane "$1")
	[ "$(wc -l <<<"$s")" -eq "$3" ] && [ "$(wider_than "$2" <<<"$s")" -eq 0 ] &&
		sed -n 1p <<<"$s" | grep -q '^node .* mode ' &&
		sed -n 2p <<<"$s" | grep -qE '^(NAMESPACE/POD|NS/POD/CONTAINER|DESTINATION) ' &&
		sed -n "${3}p" <<<"$s" | grep -q '^q quit'
}

type_filter big shop || { show big; die "the / filter did not take"; }

burn
keep_failing 60
t0=$(date +%s%N)

# --- the burning pod, first, with its flag --------------------------------
wait_pane big 10 -E '^shop/app-0 .*EXH'
check "100x30: app-0's row carries EXH within 10 s" eval 'pane big | grep -qE "^shop/app-0 +50 .*EXH"'
log "EXH on screen $(( ($(date +%s%N) - t0) / 1000000 )) ms after the neighbour was done"
wait_until 3 row_is big 1 '^shop/app-0 .*EXH'
check "100x30, pods by ports in use (the default): the burning pod on the first data row with EXH" \
	row_is big 1 '^shop/app-0 .*EXH'
log "first data row: $(pane big | sed -n 3p)"
check "100x30: the neighbour app-1 carries no flag" eval \
	'pane big | grep -E "^shop/app-1 " | grep -qvE " (EXH|PRS|SNT|AMP|CHN)"'
show big

# --- keys -----------------------------------------------------------------
keys big u
wait_pane big 5 -F 'pods by util'
t1=$(date +%s%N)
wait_until 15 row_is big 1 '^shop/app-0 .* 100% .*EXH'
check "u: pods by utilization: the burning pod first, at 100%, with EXH" \
	row_is big 1 '^shop/app-0 .* 100% .*EXH'
log "app-0 at 100% on screen $(( ($(date +%s%N) - t1) / 1000000 )) ms after the u key"

keys big d
wait_pane big 5 -F 'dests by'
wait_until 5 "pane big | grep -qE '^203\\.0\\.113\\.10:80 +10\\.244\\.0\\.10 +50 .* 50 +100% .*shop/app-0'"
check "d: destinations view: the pool 203.0.113.10:80 from app-0 (10.244.0.10), 50 of 50, held by app-0" \
	eval "pane big | grep -qE '^203\\.0\\.113\\.10:80 +10\\.244\\.0\\.10 +50 .* 50 +100% .*shop/app-0'"
show big

keys big p
wait_pane big 5 -F 'pods by'
type_filter big shop/app-1
wait_until 5 '[ "$(rows big)" -eq 1 ]'
eq "/ shop/app-1: one data row" "$(rows big)" 1
check "/ shop/app-1: it is the neighbour" row_is big 1 '^shop/app-1 +[0-9]+ '
check "/ shop/app-1: the key line counts 1 pod" eval 'pane big | tail -n 1 | grep -q " 1 pods"'

keys big h
check "h: the help shows the flags" wait_pane big 5 -F 'EXH port exhaustion'
keys big x
check "any key closes the help" wait_until 5 '! pane big | grep -qF "EXH port exhaustion"'
keys big Space
check "space: paused" wait_pane big 5 -F 'PAUSED'
keys big Space
check "space again: running" wait_until 5 '! pane big | grep -qF PAUSED'

# --- hostile names ----------------------------------------------------------
# Containers view: every owner by its own name (the service and the docker
# container are no pods: the pods view may show them as their own rows or
# fold them into "host").
keys big c
wait_pane big 5 -F 'containers by'
type_filter big pwned
wait_until 5 '[ "$(rows big)" -eq 2 ]'
show big
eq "containers, / pwned: the service and the docker container, two rows" "$(rows big)" 2
check "containers view: the docker container's name escaped (\\x1b, not ESC)" \
	eval 'pane big | grep -qF "docker/dock\\x1b]0"'
check "containers view: the service's name escaped (\\x1b, not ESC)" \
	eval 'pane big | grep -qF "evil\\x1b[2J\\x1b[H"'
check "containers view with hostile names: the rows keep their columns (25 and 20 ports, all open)" \
	eval 'pane big | grep -qE "^evil.* 25 +25 +0 203\\.0\\.113\\.10:80 " &&
		pane big | grep -qE "^docker/dock.* 20 +20 +0 203\\.0\\.113\\.10:80 "'
check "containers view with hostile names: 30 lines of at most 100 columns, status, header, key line" \
	geometry big 100 30
keys big p
wait_pane big 5 -F 'pods by'
show big
check "pods view, / pwned: 30 lines of at most 100 columns, status, header, key line" \
	geometry big 100 30
keys big d
wait_pane big 5 -F 'dests by'
show big
check "dests view, / pwned: 30 lines of at most 100 columns, status, header, key line" \
	geometry big 100 30
eq "the pane title did not change (no OSC 0 \"pwned\" reached the terminal)" \
	"$(tmx display -p -t big '#{pane_title}')" "$title0"

keys big c
wait_pane big 5 -F 'containers by'
type_filter big shop-nnnnn
wait_until 5 '[ "$(rows big)" -eq 1 ]'
show big
check "containers view: the long pod's name cut to the column (~), its 5 ports still there" \
	eval 'pane big | sed -n 3p | grep -qE "^shop-n+.*~.* 5 +5 "'
check "containers view with long names: 30 lines of at most 100 columns" geometry big 100 30

# --- resize -----------------------------------------------------------------
tmx resize-window -t big -x 60 -y 15
wait_until 5 geometry big 60 15
check "resized to 60x15: still drawn (15 lines of at most 60 columns, status, header, key line)" \
	geometry big 60 15
check "resized to 60x15: the long pod's row is still there" row_is big 1 '^shop-n.* 5 '
show big
tmx resize-window -t big -x 100 -y 30
wait_until 5 'geometry big 100 30 && pane big | tail -n 1 | grep -q "1 containers"'
check "back to 100x30: drawn at the new size again" \
	eval 'geometry big 100 30 && pane big | tail -n 1 | grep -q "1 containers"'

# --- 80x24 -------------------------------------------------------------------
show small
check "80x24 (started with --filter shop): app-0's row with 50 ports and EXH" \
	eval 'pane small | grep -qE "^shop/app-0 +50 .*EXH"'
# app-0's range was narrowed to 40000-40049 by the scenario, after top had
# started: its pool is full (50 of 50) when connect() fails for lack of a port.
check "80x24: app-0's EXH comes with UTIL 100% (its pool is its current range, 50 ports)" \
	eval 'pane small | grep -qE "^shop/app-0 +50 .* 100% .*EXH"'
check "80x24: the IN-USE and FLAGS columns are kept" \
	eval 'pane small | sed -n 2p | grep -qE "^NAMESPACE/POD +IN-USE .*FLAGS"'
check "80x24: 24 lines of at most 80 columns, status, header, key line" geometry small 80 24

# --- q ----------------------------------------------------------------------
tq=$(date +%s%N)
keys big q
keys small q
for s in big small; do
	wait_until 10 "[ -s '$T/top-$s.rc' ]"
	log "top ($s) ended $(( ($(date +%s%N) - tq) / 1000000 )) ms after q"
	eq "q: top ($s) quits, exit status 0" "$(cat "$T/top-$s.rc" 2>/dev/null)" 0
done
log "$(( ($(date +%s%N) - t0) / 1000000 )) ms from port-burn to the end"
finish
