# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# Shared by tests/e2e/lab_*.sh: each test runs its own lab instance (own state
# dir and namespace prefix, so it can never meet another lab on this host) and
# tears it down on exit, pass or fail.
set -euo pipefail

LAB_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB=$LAB_REPO/tools/lab/lab

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# lab_test_init NAME: own instance, cleanup trap, preconditions.
lab_test_init() {
	[ "$(id -u)" -eq 0 ] || fail "lab tests need root"
	[ -x "$LAB_REPO/build/lab/loadgen" ] || fail "build/lab/loadgen missing (run: make test-build)"
	export LAB_STATE=/run/portburn-lab-test-$1-$$
	export LAB_PREFIX=plt$$
	trap lab_test_cleanup EXIT
}

lab_test_cleanup() {
	local rc=$?
	"$LAB" down >/dev/null 2>&1 || echo "cleanup: lab down failed" >&2
	exit "$rc"
}

# value of KEY in the "scenario=..." result line of OUTPUT
result() { # output key
	local line w
	line=$(grep '^scenario=' <<<"$1" | tail -n 1)
	for w in $line; do
		[ "${w%%=*}" = "$2" ] && { echo "${w#*=}"; return 0; }
	done
	fail "no '$2' in the scenario result: $line"
}

# check "description" test-expression... (fails the test with the description)
check() {
	local what=$1
	shift
	"$@" || fail "$what"
	ok "$what"
}

# Runs "$@" until it succeeds, every 20 ms, for at most 10 s: for effects that
# trail the event (a socket reaches TIME_WAIT once the peer's FIN is back).
eventually() {
	local i
	for ((i = 0; i < 500; i++)); do
		"$@" && return 0
		sleep 0.02
	done
	"$@"
}

# number of sockets in STATE in NETNS matching the ss filter
socks() { # netns state filter...
	local ns=$1 st=$2
	shift 2
	ip netns exec "$ns" ss -Htan state "$st" "$@" | wc -l
}

# is the count of sockets OP N? e.g. socks_are -ge 50 ns time-wait dst 1.2.3.4
socks_are() { # op n netns state filter...
	local op=$1 n=$2
	shift 2
	[ "$(socks "$@")" "$op" "$n" ]
}

status_json() { "$LAB" status --json; }

pod_netns() { status_json | jq -r --arg p "$1" '.pods[] | select(.name == $p) | .netns'; }
