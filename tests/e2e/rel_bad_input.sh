#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Bad input (issue 9): every flag of every subcommand with malformed, negative,
# overflowing and empty values exits 2, says so on stderr (naming the flag) and
# writes nothing to stdout. The matrix is generated: FLAGS says which flag takes
# what kind of value in which commands, GENERIC holds values tried on every
# flag, EXTRA_<kind> values tried on flags of that kind; a value the flag would
# accept (valid_<kind>, a strict reference of the documented syntax) is skipped,
# so nothing ever starts tracing. Also: flags without a value given one, flags
# with a value given none, ambiguous and unknown options, stray arguments and
# cross-option checks.
# shellcheck disable=SC2034,SC2088 # EXTRA_<kind> are read as ${!name}; "~/x" is a value
. "$(dirname "$0")/lib.sh"

# flag  kind[:min:max]  commands
FLAGS="
pid            uint:1:4294967295      trace
dport          uint:1:65535           trace
duration       uint:1:31536000        trace
cgroup         nonempty               trace
mode           mode                   trace snapshot serve top
host-root      abspath                trace snapshot serve top
ring-size      size:4096:1073741824   trace snapshot serve top
max-socks      uint:1:16777216        trace snapshot serve top
sidecar-names  names                  trace snapshot serve top
warn           uint:1:100             trace serve top
crit           uint:1:100             trace serve top
window         uint:1:3600            trace serve top
amplification  ratio:1:100            trace serve top
cluster-cidr   cidr                   snapshot serve top
snat-budget    uint:1:16776960        snapshot serve top
node           node                   snapshot serve top
reconcile      uint:1:3600            serve top
listen         listen                 serve
view           oneof:pods,containers,dests,snat                    top
sort           oneof:in-use,open,tw,util,rate,fail,amp,name        top
filter         filter                 top
"
# flags without a value, per command
NOARG="
json       trace snapshot
once       top
help       trace snapshot serve top
verbose    trace snapshot serve top
cgroup-v1  trace snapshot serve top
"

long() { printf "%${1}s" "" | tr ' ' "${2:-a}"; }
GENERIC=("" "abc" "-1" "-0" "0" "1.5" " 5" "5 " "+5" "0x10" "12abc" "1e3" "5k" "-5k" "%s%n%x"
	"18446744073709551615" "18446744073709551616" "99999999999999999999999" "4294967296"
	"65536" "101" "3601" "16777217" "16776961" $'5\n' "5%" "nan" "inf" "//" "." "," "-" "--"
	"relative/path" $'\e[2J\a' "$(long 300)" "$(long 1100)")
EXTRA_uint=()
EXTRA_size=("4095" "5000" "2g" "1t" "4096b" "8 m" "k" "m" "99999999999999999999k" "16777216k"
	"3k" "0k" "-4096" "18014398509481984k")
EXTRA_ratio=("0.5" "100.5" "1e400" "-2" "0x2" " 2" "+2" "2x" "2.5.1" "nan(1)" "infinity")
EXTRA_mode=("AUTO" "fast" "auto " " auto" "fentry,kprobe" "kprobes" "tracepoints")
EXTRA_abspath=("relative" "~/x" "./x")
EXTRA_names=("," ",,," "$(seq -s, 1 33)" "$(long 1100 x)")
EXTRA_cidr=("10.0.0.0" "10.0.0.0/" "10.0.0.0/33" "10.0.0.0/-1" "::/129" "10.0.0.0/8/8"
	"10.0.0/8" "abc/8" "/8" "10.0.0.0/ 8" "256.0.0.0/8" "fe80::1%eth0/64" "[::1]/64"
	"10.0.0.0/8 " "$(long 70 1)/8" "10.0.0.0/99999999999999999999")
EXTRA_listen=("127.0.0.1" "127.0.0.1:" "127.0.0.1:65536" "127.0.0.1:-1" ":9808" "[::1]"
	"[::1:9808" "::1:9808" "localhost:9808" "1.2.3.4.5:80" "127.0.0.1:80x"
	"127.0.0.1:18446744073709551617" "[127.0.0.1]:80" "[::1]9808" "[]:80" "127.0.0.1: 80"
	" 127.0.0.1:80" "$(long 60 1):80")
EXTRA_node=("$(long 254 n)")
EXTRA_oneof=("pod" "PODS" "pods " "in_use" "IN-USE" "util,name")
EXTRA_filter=("$(long 128 f)")
EXTRA_nonempty=()

# big decimal strings: compare after stripping leading zeros
numcmp() { # A B -> prints -1, 0, 1
	local a=$1 b=$2
	while [[ $a == 0* ]]; do a=${a#0}; done
	while [[ $b == 0* ]]; do b=${b#0}; done
	if [ ${#a} -ne ${#b} ]; then [ ${#a} -lt ${#b} ] && echo -1 || echo 1; return; fi
	if [ "$a" == "$b" ]; then echo 0; elif [[ "$a" < "$b" ]]; then echo -1; else echo 1; fi
}
in_range() { [ "$(numcmp "$1" "$2")" != -1 ] && [ "$(numcmp "$1" "$3")" != 1 ]; }

# valid KIND VALUE: would portburn accept it? (the documented syntax, strictly)
valid() {
	local kind=${1%%:*} v=$2 args lo hi
	IFS=: read -r _ lo hi <<<"$1"
	case $kind in
	uint) [[ $v =~ ^[0-9]+$ ]] && in_range "$v" "$lo" "$hi" ;;
	size)
		[[ $v =~ ^([0-9]+)([kKmMgG]?)$ ]] || return 1
		local n=${BASH_REMATCH[1]} s=${BASH_REMATCH[2],,} mul=1
		[ "$(numcmp "$n" 1073741824)" != 1 ] || return 1
		n=$((10#$n))
		case $s in k) mul=1024 ;; m) mul=1048576 ;; g) mul=1073741824 ;; esac
		n=$((n * mul))
		[ $n -ge "$lo" ] && [ $n -le "$hi" ] && [ $((n & (n - 1))) -eq 0 ] ;;
	ratio)
		[[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]] && awk -v v="$v" -v lo="$lo" -v hi="$hi" \
			'BEGIN { exit !(v + 0 >= lo && v + 0 <= hi) }' ;;
	mode) [[ $v =~ ^(auto|fentry|kprobe|tracepoint)$ ]] ;;
	abspath) [[ $v == /* ]] ;;
	nonempty) [ -n "$v" ] ;;
	names)
		[ ${#v} -lt 1024 ] && [[ $v =~ [^,] ]] &&
			[ "$(tr ',' '\n' <<<"$v" | grep -c .)" -le 32 ] ;;
	node) [ -n "$v" ] && [ ${#v} -le 253 ] ;;
	filter) [ ${#v} -lt 128 ] ;;
	oneof) [[ ",${1#oneof:}," == *",$v,"* ]] && [ -n "$v" ] ;;
	cidr)
		# IPv6 forms are only tried from EXTRA_cidr, all invalid
		[[ $v =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]+)$ ]] || return 1
		for i in 1 2 3 4; do [ "${BASH_REMATCH[$i]}" -le 255 ] || return 1; done
		in_range "${BASH_REMATCH[5]}" 0 32 ;;
	listen)
		[[ $v =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}:([0-9]+)$ ]] && in_range "${BASH_REMATCH[2]}" 0 65535 ;;
	*) return 0 ;;	# unknown kind: never try it
	esac
}

SENTINEL=--zz-sentinel
# try NAME-FOR-LOG FLAGWORD ARGV...: must exit 2, stderr non-empty and naming
# FLAGWORD and starting "portburn" (not a path, not a bare command name), stdout
# empty; one "not ok" line otherwise. Uses $OUT and $ERR.
# Values are tried with an unknown option after them (try_value): had the value
# been accepted, getopt would complain about that option instead, and nothing
# starts (a 5 s timeout guards the rest).
OUT=$T/out ERR=$T/err
try() {
	local what=$1 word=$2 rc err=; shift 2
	echo run >>"$T/runs"
	timeout 5 "$PORTBURN" "$@" >"$OUT" 2>"$ERR" </dev/null
	rc=$?
	IFS= read -r -d '' err <"$ERR"
	if [ $rc -ne 2 ]; then
		echo "not ok - $what: exit $rc, want 2 (${err:0:200})"
	elif [ -s "$OUT" ]; then
		echo "not ok - $what: $(wc -c <"$OUT") bytes on stdout: $(head -c 120 "$OUT" | tr '\n' ' ')"
	elif [[ $err == *"${SENTINEL#--}"* ]]; then
		echo "not ok - $what: value accepted (${err:0:200})"
	elif [[ $err != *"$word"* ]]; then
		echo "not ok - $what: stderr does not name '$word': ${err:0:200}"
	elif [[ $err != portburn* ]]; then
		echo "not ok - $what: stderr does not start with the program's name: ${err:0:200}"
	else
		return 0
	fi
	return 1
}
show() { printf '%q' "$1"; }
# try_value CMD FLAG VALUE [=]: --FLAG VALUE (or --FLAG=VALUE), then the sentinel
# (not after --listen: it is checked after parsing, a later error would hide it)
try_value() {
	local cmd=$1 flag=$2 v=$3 args label
	if [ "${4:-}" == = ]; then
		args=("--$flag=$v") label="$cmd --$flag=$(show "$v")"
	else
		args=("--$flag" "$v") label="$cmd --$flag $(show "$v")"
	fi
	[ "$flag" == listen ] || args+=("$SENTINEL")
	try "$label" "$flag" "$cmd" "${args[@]}"
}

# 0. The table covers every flag each command's --help lists.
for cmd in trace snapshot serve top; do
	missing=
	for f in $("$PORTBURN" "$cmd" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
		f=${f#--}
		grep -qE "^$f +[^ ]+ .*\b$cmd\b" <<<"$FLAGS" || grep -qE "^$f .*\b$cmd\b" <<<"$NOARG" ||
			missing+=" --$f"
	done
	eq "$cmd: every flag of --help is in the table" "${missing:-none missing}" "none missing"
done

# 1. Every flag that takes a value, with every bad value, in every command;
# one worker per command (they run in parallel), one summary line per flag.
flag_values() { # KIND: the values to try, NUL-separated
	local kind=$1 base=${1%%:*} lo hi extra
	extra="EXTRA_${base}[@]"
	printf '%s\0' "${GENERIC[@]}" "${!extra}"
	if [ "$base" == uint ]; then
		IFS=: read -r _ lo hi <<<"$kind"
		awk -v h="$hi" 'BEGIN { printf "%.0f\0", h + 1 }'
		[ "$lo" -gt 0 ] && printf '%s\0' "$((lo - 1))"
	fi
}
worker() { # CMD
	local cmd=$1 flag kind cmds n bad skipped v
	OUT=$T/out.$cmd ERR=$T/err.$cmd
	while read -r flag kind cmds; do
		[[ " $cmds " == *" $cmd "* ]] || continue
		n=0 bad=0 skipped=0
		while IFS= read -r -d '' v; do
			if valid "$kind" "$v"; then
				skipped=$((skipped + 1))
				continue
			fi
			n=$((n + 1))
			try_value "$cmd" "$flag" "$v" || bad=$((bad + 1))
			# the = form too, for the empty value and one more
			if [ -z "$v" ] || [ "$v" == abc ]; then
				n=$((n + 1))
				try_value "$cmd" "$flag" "$v" = || bad=$((bad + 1))
			fi
		done < <(flag_values "$kind")
		# no value at all (last on the line)
		n=$((n + 1))
		try "$cmd --$flag (no value)" "$flag" "$cmd" "--$flag" || bad=$((bad + 1))
		if [ $bad -eq 0 ]; then
			echo "ok - $cmd --$flag: $n bad values rejected ($skipped valid ones skipped)"
		else
			echo "not ok - $cmd --$flag: $bad of $n bad values not rejected properly"
		fi
		echo "$n" >>"$T/values"
	done <<<"$FLAGS"
}
for cmd in trace snapshot serve top; do
	worker $cmd >"$T/log.$cmd" 2>&1 &
done
wait
for cmd in trace snapshot serve top; do
	cat "$T/log.$cmd"
	CHECKS=$((CHECKS + $(grep -cE '^(not )?ok - [a-z]+ --[a-z-]+: [0-9]+' "$T/log.$cmd")))
	FAILS=$((FAILS + $(grep -cE '^not ok - [a-z]+ --[a-z-]+: [0-9]+ of' "$T/log.$cmd")))
done

# 2. Flags without a value, given one.
while read -r flag cmds; do
	[ -n "$flag" ] || continue
	for cmd in $cmds; do
		bad=0
		for v in 1 "" yes; do
			try "$cmd --$flag=$(show "$v")" "$flag" "$cmd" "--$flag=$v" || bad=$((bad + 1))
		done
		eq "$cmd --$flag=VALUE rejected" "$bad" 0
	done
done <<<"$NOARG"

# 3. Unknown, ambiguous and short options, stray arguments, in every command;
# top also as the default command (no command word).
for cmd in trace snapshot serve top ""; do
	c=${cmd:-"(default)"}
	bad=0
	try "$c --bogus" "bogus" $cmd --bogus || bad=$((bad + 1))
	try "$c -z" "z" $cmd -z || bad=$((bad + 1))
	try "$c -vz" "z" $cmd -vz || bad=$((bad + 1))
	try "$c --" "unexpected" $cmd -- extra || bad=$((bad + 1))
	# without a command word the first argument names the command
	word="unexpected argument"
	[ -n "$cmd" ] || word="unknown command"
	try "$c extra" "$word" $cmd extra || bad=$((bad + 1))
	try "$c --mode auto extra" "unexpected argument" $cmd --mode auto extra || bad=$((bad + 1))
	try "$c --m auto (ambiguous: mode, max-socks)" "ambiguous" $cmd --m auto || bad=$((bad + 1))
	eq "$c: unknown options and stray arguments rejected" "$bad" 0
done
bad=0
try "trace --d 5 (ambiguous)" "ambiguous" trace --d 5 || bad=$((bad + 1))
try "frobnicate" "unknown command" frobnicate || bad=$((bad + 1))
try "'' as command" "unknown command" "" || bad=$((bad + 1))
try "default command --pid" "pid" --pid 5 || bad=$((bad + 1))
eq "ambiguous option, unknown command, other command's flag" "$bad" 0

# 4. Checks across options and repetitions.
cidrs=()
for i in $(seq 17); do cidrs+=(--cluster-cidr "10.$i.0.0/16"); done
for cmd in snapshot serve top; do
	bad=0
	try "$cmd: 17 --cluster-cidr" "cluster-cidr" $cmd "${cidrs[@]}" || bad=$((bad + 1))
	eq "$cmd: too many --cluster-cidr rejected" "$bad" 0
done
for cmd in trace serve top; do
	bad=0
	try "$cmd --warn 90 --crit 80" "warn" $cmd --warn 90 --crit 80 || bad=$((bad + 1))
	try "$cmd --crit 10 (below the default warn)" "warn" $cmd --crit 10 || bad=$((bad + 1))
	eq "$cmd: --warn above --crit rejected" "$bad" 0
done

log "$(wc -l <"$T/runs") invocations, $(awk '{ s += $1 } END { print s }' "$T/values") of them bad flag values; none started tracing"
finish
