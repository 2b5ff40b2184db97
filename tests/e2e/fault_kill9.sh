#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# kill -9 of portburn in every mode it can run here: afterwards no program,
# link, map or cgroup attachment of ours is left (everything is held by file
# descriptors, nothing is pinned).
. "$(dirname "$0")/lib.sh"
ours() { # programs and maps of ours, by name
	{ bpftool -j prog list; bpftool -j map list; bpftool -j link list; } 2>/dev/null |
		jq -r '.[] | .name // empty' |
		grep -cE '^(tp_inet_sock_set_state|tp_inet_sock_set_state_nested|tp_sys_exit_connect|tp_sys_enter_bind|tp_sys_exit_bind|sockops_tcp_connect|iter_tcp|state_busy|socks|connecting|binding|tw_owners|events|drops|portburn_.*)$'
}
cgattach() { bpftool cgroup show "$CG2" 2>/dev/null | grep -c sockops_tcp; }
before=$(ours)
cg_before=$(cgattach)
for cmd in "trace" "serve --listen 127.0.0.1:0"; do
	for mode in auto tracepoint; do
		# shellcheck disable=SC2086
		"$PORTBURN" $cmd --mode "$mode" >/dev/null 2>"$T/err" &
		pid=$!
		_PIDS+=($pid)
		wait_until 30 grep -q 'ready (mode' "$T/err" || die "$cmd --mode $mode did not start"
		check "$cmd $mode: programs loaded while running" [ "$(ours)" -gt "$before" ]
		check "$cmd $mode: sockops attached while running" [ "$(cgattach)" -gt "$cg_before" ]
		kill -9 $pid
		wait $pid 2>/dev/null
		wait_until 10 '[ "$(ours)" -eq "$before" ]'
		eq "$cmd $mode: nothing of ours left after kill -9" "$(ours)" "$before"
		wait_until 10 '[ "$(cgattach)" -eq "$cg_before" ]'
		eq "$cmd $mode: no cgroup attachment left" "$(cgattach)" "$cg_before"
	done
done
check "nothing pinned in bpffs" [ -z "$(find /sys/fs/bpf -name '*portburn*' 2>/dev/null)" ]
finish
