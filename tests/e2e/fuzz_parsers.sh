#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs every libFuzzer target in build/fuzz/ (built by mk/fuzz.mk) for a bounded
# time (FUZZ_TIME seconds each, default 20) from its seed corpus in
# tests/fuzz/corpus/<target>/; fails on any finding (crash, sanitizer report,
# leak, timeout). New inputs go to a temp dir, never into the repo.
set -u
cd "$(dirname "$0")/../.." || exit 2
time_each=${FUZZ_TIME:-20}
targets=(fuzz_k8s_path fuzz_kubelog_name fuzz_escape fuzz_mountinfo)
work=$(mktemp -d /tmp/pb-fuzz.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
fail=0

for t in "${targets[@]}"; do
	bin=build/fuzz/$t
	if [ ! -x "$bin" ]; then
		echo "$t: $bin not built, building it"
		if ! make -s "$bin"; then
			echo "FAIL $t: cannot build $bin (clang with libFuzzer needed: make deps)"
			fail=1
			continue
		fi
	fi
	seed=tests/fuzz/corpus/$t
	if [ ! -d "$seed" ]; then
		echo "FAIL $t: no seed corpus $seed"
		fail=1
		continue
	fi
	mkdir -p "$work/$t"
	echo "== $t: ${time_each}s"
	if ! "$bin" -max_total_time="$time_each" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$work/$t-" -print_final_stats=1 "$work/$t" "$seed" \
		>"$work/$t.log" 2>&1; then
		echo "FAIL $t: finding:"
		tail -n 40 "$work/$t.log"
		for a in "$work/$t-"*; do
			[ -f "$a" ] || continue
			echo "-- input $(basename "$a") (copied to build/fuzz/):"
			cp "$a" build/fuzz/ 2>/dev/null
			od -c "$a" | head -n 20
		done
		fail=1
		continue
	fi
	grep -E '^stat::number_of_executed_units|^Done' "$work/$t.log" | sed "s/^/   /"
	echo "ok $t"
done
exit $fail
