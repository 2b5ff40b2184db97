#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Hook modes on this machine (fentry: EPERM, kprobes: not configured): forcing
# one fails cleanly with exit 1 naming it; auto falls back and says so with -v.
# Bad usage exits 2 and writes nothing to stdout.
. "$(dirname "$0")/lib.sh"

# expect RC PATTERN ARGS...: run portburn, check its exit code and stderr.
expect() {
	local rc=$1 pat=$2; shift 2
	timeout 30 "$PORTBURN" "$@" >"$T/out" 2>"$T/err"
	local got=$?
	eq "portburn $* exits $rc" "$got" "$rc"
	check "portburn $*: stderr says '$pat'" grep -q -- "$pat" "$T/err"
	[ "$rc" -ne 2 ] || eq "portburn $*: nothing on stdout" "$(wc -c <"$T/out")" 0
}

fentry_ok=0
if "$PORTBURN" trace --mode fentry --duration 1 >/dev/null 2>&1; then fentry_ok=1; fi
if [ $fentry_ok -eq 0 ]; then
	expect 1 "failed to start fentry mode: could not load an fentry program: Operation not permitted" trace --mode fentry --duration 1
	expect 1 "failed to start kprobe mode: could not find kprobe support" trace --mode kprobe --duration 1
	expect 0 "fentry mode unavailable" trace -v --duration 1
	check "auto: kprobe fallback logged" grep -q "kprobe mode unavailable" "$T/err"
	check "auto: ends in tracepoint mode" grep -q "ready (mode tracepoint)" "$T/err"
	check "-v: hook per probe logged" grep -q "hook mode tracepoint: connect via" "$T/err"
else
	expect 0 "ready (mode fentry)" trace -v --duration 1
fi
expect 0 "ready (mode tracepoint)" trace --mode tracepoint --duration 1

expect 2 "unrecognized option" trace --bogus
expect 2 "invalid --mode" trace --mode fast
expect 2 "invalid --pid" trace --pid -3
expect 2 "invalid --pid" trace --pid 12abc
expect 2 "invalid --pid" trace --pid ''
expect 2 "invalid --dport" trace --dport 70000
expect 2 "invalid --dport" trace --dport 99999999999999999999999
expect 2 "invalid --ring-size" trace --ring-size 5000
expect 2 "invalid --max-socks" trace --max-socks 0
expect 2 "invalid --duration" trace --duration 0
expect 2 "unexpected argument" trace extra
expect 2 "unknown command" frobnicate
expect 2 "invalid --host-root" trace --host-root relative/path

# Without privileges: a clear message, exit 1.
if command -v capsh >/dev/null; then
	capsh --drop=cap_bpf,cap_perfmon,cap_sys_admin -- -c "exec $PORTBURN trace --duration 1" \
		>"$T/out" 2>"$T/err"
	eq "without CAP_BPF: exit 1" "$?" 1
	check "names the missing capability" grep -q "missing capability CAP_BPF" "$T/err"
fi
finish
