#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Sanitizers and valgrind (issue 9).
#  1. `make OUT=build/rel-san SANITIZE=1` builds the library, the unit tests and
#     portburn (as build/rel-san/portburn, a target of mk/reliability.mk:
#     ./portburn is left alone) with ASan + UBSan.
#  2. Every unit test runs clean under them: exit 0 and no report (UBSan halts
#     on its first finding, LeakSanitizer checks at exit).
#  3. End-to-end tests run the sanitized portburn: a mirror of the repository
#     in a temporary directory whose ./portburn is the sanitized binary (lib.sh
#     finds portburn next to itself): trace_connect_close, trace_failures,
#     snapshot_counts, rel_scrape_storm (serve and its HTTP thread under
#     10000 requests) and rel_degraded (the degraded paths); and a bad value for
#     each flag of each command (the error paths, for leaks). Reports are
#     written to files (log_path), whatever the test does with stderr.
#  4. Every unit test (the normal build) runs clean under
#     `valgrind --error-exitcode=1 --leak-check=full`.
# A unit test whose assertion fails with no report (or only a leak report:
# cmocka jumps past the test's frees) is run once more: functional flakes are
# unit/*'s business and are logged here. A memory error is never retried.
. "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 2
SAN=build/rel-san
E2E=${SAN_E2E:-"trace_connect_close trace_failures snapshot_counts rel_scrape_storm rel_degraded"}
command -v valgrind >/dev/null || die "valgrind not installed (add valgrind to tools/install-deps.sh)"

# 1. Build (incremental after the first time). Not part of an outer make's
# job server.
unset MAKEFLAGS MFLAGS MAKELEVEL
units=()
for u in tests/unit/test_*.c; do units+=("$SAN/tests/unit/$(basename "${u%.c}")"); done
start=$(date +%s)
make -s -j"$(nproc)" OUT="$SAN" SANITIZE=1 "$SAN/portburn" "${units[@]}" >"$T/build.log" 2>&1
rc=$?
[ $rc -eq 0 ] || tail -n 30 "$T/build.log"
eq "make OUT=$SAN SANITIZE=1 builds portburn and ${#units[@]} unit tests ($(($(date +%s) - start)) s)" "$rc" 0
[ $rc -eq 0 ] || finish
check "the sanitized portburn links ASan and UBSan" \
	bash -c "nm -D '$SAN/portburn' | grep -q __asan_init && nm -D '$SAN/portburn' | grep -q __ubsan_handle"

REPORTS=$T/reports
mkdir -p "$REPORTS"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:log_path=$REPORTS/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$REPORTS/ubsan"
export LSAN_OPTIONS="log_path=$REPORTS/lsan"
# reports WHAT: show the reports written since the last call; returns how
# many, sets ONLY_LEAKS when all of them are LeakSanitizer's
reports() {
	local f n=0
	ONLY_LEAKS=1
	for f in "$REPORTS"/*; do
		[ -s "$f" ] || continue
		n=$((n + 1))
		grep -q 'ERROR: LeakSanitizer' "$f" && ! grep -qE 'ERROR: AddressSanitizer|runtime error' "$f" ||
			ONLY_LEAKS=0
		echo "# --- $1: $(basename "$f")"
		head -n 40 "$f" | sed 's/^/#   /'
		mv "$f" "$T/seen.$(basename "$f")"
	done
	return $n
}

# 2. Unit tests. A failed assertion that is retried: one with no report, or
# whose only report is a leak (cmocka jumps out of the test past its frees).
for u in "${units[@]}"; do
	name=$(basename "$u")
	for try in 1 2; do
		"$u" >"$T/$name.log" 2>&1
		rc=$?
		reports "$name"
		nrep=$?
		if [ $rc -ne 0 ] && [ $try -eq 1 ] && grep -q '^\[  FAILED  \]' "$T/$name.log" &&
			{ [ $nrep -eq 0 ] || [ $ONLY_LEAKS -eq 1 ]; }; then
			log "$name: a failed assertion ($(grep -m1 'error:' "$T/$name.log")), $nrep leak reports: run again"
			continue
		fi
		break
	done
	[ $rc -eq 0 ] || tail -n 15 "$T/$name.log" | sed 's/^/#   /'
	eq "ASan+UBSan: unit/$name exit 0, no report" "$rc/$nrep" "0/0"
done

# 3. End-to-end tests on the sanitized binary.
M=$T/mirror
mkdir -p "$M/tests/e2e" "$M/build/tests/helpers" "$M/deploy"
ln -s "$TOP/$SAN/portburn" "$M/portburn"
ln -s "$TOP/build/tests/helpers/tcpconn" "$M/build/tests/helpers/tcpconn"
cp tests/e2e/lib.sh tests/e2e/rel_lib.sh "$M/tests/e2e/"
cp deploy/README.md "$M/deploy/"
for t in $E2E; do
	cp "tests/e2e/$t.sh" "$M/tests/e2e/"
	start=$(date +%s)
	"$M/tests/e2e/$t.sh" >"$T/e2e-$t.log" 2>&1
	rc=$?
	reports "$t"
	nrep=$?
	[ $rc -eq 0 ] || grep -E '^not ok' "$T/e2e-$t.log" | head -n 10 | sed 's/^/#   /'
	eq "ASan+UBSan: e2e/$t passes, no report ($(($(date +%s) - start)) s)" "$rc/$nrep" "0/0"
done

# The usage-error paths: one bad value per flag and command.
bad=0
for args in "trace --pid x" "trace --dport 0" "trace --duration -1" "trace --cgroup=" \
	"trace --mode x" "trace --ring-size 5000" "trace --max-socks 0" "trace --sidecar-names ," \
	"trace --warn 0" "trace --amplification x" "trace --host-root rel" "snapshot --cluster-cidr x" \
	"snapshot --snat-budget 0" "snapshot --node=" "serve --listen x" "serve --reconcile 0" \
	"serve --window 0" "serve --crit 101" "top --view x" "top --sort x" "top --filter $(printf 'f%.0s' {1..200})" \
	"top --bogus" "frobnicate" "trace extra" "serve --warn 90 --crit 80"; do
	# shellcheck disable=SC2086
	"$M/portburn" $args >/dev/null 2>&1
	rc=$?
	reports "portburn $args"
	nrep=$?
	[ $rc -eq 2 ] && [ $nrep -eq 0 ] || { bad=$((bad + 1)); log "portburn $args: exit $rc, $nrep reports"; }
done
eq "ASan+UBSan: usage errors exit 2 with no report" "$bad" 0

# 4. valgrind on the unit tests (normal build).
for u in build/tests/unit/test_*; do
	case $u in *.d) continue ;; esac
	name=$(basename "$u")
	for try in 1 2; do
		valgrind --error-exitcode=1 --leak-check=full "$u" >"$T/vg-$name.log" 2>&1
		rc=$?
		errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$T/vg-$name.log" | tail -1)
		[ $rc -ne 0 ] && [ "${errs:-1}" == 0 ] && [ $try -eq 1 ] &&
			log "$name: failed under valgrind without a valgrind error, run again" && continue
		break
	done
	[ $rc -eq 0 ] || grep -E '==[0-9]+== (Invalid|Conditional|Syscall|.*definitely|.*indirectly)|FAILED|ERROR SUMMARY' \
		"$T/vg-$name.log" | head -n 10 | sed 's/^/#   /'
	eq "valgrind: unit/$name exit 0, ${errs:-?} errors" "$rc/${errs:-?}" "0/0"
done
finish
