#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs every test and ends with "N passed, N failed".
# A test is a cmocka binary (build/tests/unit/test_*) or an executable script
# tests/e2e/*.sh; exit 0 is a pass, anything else a failure (there is no "skip":
# a test that cannot run here fails and says why; so does a script whose shell
# reported an error, such as a command not found).
# Usage: tests/run.sh [GLOB]   e.g. tests/run.sh 'e2e/trace_*'
set -u
cd "$(dirname "$0")/.." || exit 2
filter=${1:-*}
pass=0 fail=0 failed=()
logdir=build/test-logs
mkdir -p "$logdir"

run_one() { # name cmd...
	local name=$1; shift
	case "$name" in $filter) ;; *) return ;; esac
	local log="$logdir/${name//\//_}.log" start end rc
	start=$(date +%s.%N)
	timeout --kill-after=10 "${PORTBURN_TEST_TIMEOUT:-300}" "$@" >"$log" 2>&1
	rc=$?
	end=$(date +%s.%N)
	# A shell error in a test script (a helper it lacks, a typo) would
	# otherwise only print, and a check could silently not run.
	if [ $rc -eq 0 ] && grep -qE '^[^ ]*\.sh: line [0-9]+: .*(command not found|unbound variable|syntax error)' "$log"; then
		echo "run.sh: a shell error in the test script (above): failed" >>"$log"
		rc=125
	fi
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		printf 'PASS %-40s %6.1fs\n' "$name" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')"
	else
		fail=$((fail + 1)); failed+=("$name")
		printf 'FAIL %-40s %6.1fs (exit %d, log %s)\n' "$name" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')" $rc "$log"
		tail -n 25 "$log" | sed 's/^/    | /'
	fi
}

for t in build/tests/unit/test_*; do
	[ -x "$t" ] || continue
	run_one "unit/${t##*/}" "$t"
done
for t in tests/e2e/*.sh; do
	[ -x "$t" ] || continue
	n=${t##*/}
	run_one "e2e/${n%.sh}" "$t"
done
for t in tests/vm/run.sh; do
	[ -x "$t" ] || continue
	case "vm/matrix" in $filter) ;; *) continue ;; esac
	run_one "vm/matrix" "$t"
	# one line per kernel and mode, pass or fail
	grep -E '^(PASS|FAIL) ' "$logdir/vm_matrix.log" 2>/dev/null | sed 's/^/    /'
done

[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[*]}"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
