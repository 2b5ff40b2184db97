#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make demo`: brings the lab up, runs every scenario in the background (each
# repeated, so there is always something burning) and opens portburn against
# the lab's host root: `portburn top` when it exists, else `portburn trace`.
# Quitting portburn (q or Ctrl-C) tears the lab down.
#
# LAB_DEMO_REPEAT (default 30) and LAB_DEMO_PAUSE (seconds, default 5) bound
# the scenarios; every LAB_* setting of tools/lab/lab applies.
set -u
cd "$(dirname "$0")/../.." || exit 1
LAB=tools/lab/lab
repeat=${LAB_DEMO_REPEAT:-30}
pause=${LAB_DEMO_PAUSE:-5}

[ "$(id -u)" -eq 0 ] || { echo "demo: must run as root (sudo make demo)" >&2; exit 1; }
[ -x ./portburn ] || { echo "demo: ./portburn is not built (make portburn)" >&2; exit 1; }

# five plain pods: a burner and its neighbour, a TIME_WAIT storm, two more for SNAT
export LAB_PODS=${LAB_PODS:-5} LAB_MESH_PODS=${LAB_MESH_PODS:-1}
"$LAB" up || exit 1
trap '"$LAB" down' EXIT
trap 'exit 130' INT TERM

bg() { "$LAB" scenario "$@" --repeat "$repeat" --pause "$pause" --background || exit 1; }
bg port-burn --pod app-0 --neighbour app-1 --hold 20
bg timewait-storm --pod app-2 --rate 100
bg mesh-amplification --requests 500 --rate 50
if [ "$LAB_PODS" -ge 5 ]; then
	bg snat --pods app-1,app-3,app-4 --rate 100
else
	bg snat
fi

host_root=$("$LAB" status --json | jq -r .host_root)
"$LAB" status
echo "demo: scenario logs in $(dirname "$host_root")/scenarios/; quit portburn to tear the lab down"
if ./portburn top --help >/dev/null 2>&1; then
	./portburn top --host-root "$host_root"
else
	./portburn trace --host-root "$host_root"
fi
