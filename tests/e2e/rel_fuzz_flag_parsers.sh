#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fuzzing the flag and namespace-file parsers (issue 9): the libFuzzer target
# tests/fuzz/fuzz_flag_parsers.c (parse_u64, parse_size, cidr_parse +
# cidr_contains, pb_mode_parse, parse_port_range, count_reserved_in; built by
# mk/reliability.mk with ASan + UBSan) runs for FUZZ_TIME seconds (default 15)
# from its committed seed corpus tests/fuzz/corpus/fuzz_flag_parsers/. Any
# finding (crash, sanitizer report, property violated, leak, timeout) fails,
# with the input shown and copied to build/fuzz/. New inputs go to a temporary
# directory, never into the repository.
. "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 2
t=fuzz_flag_parsers
bin=build/fuzz/$t
seed=tests/fuzz/corpus/$t
if [ ! -x "$bin" ]; then
	log "$bin not built, building it"
	make -s "$bin" || die "cannot build $bin (clang with libFuzzer needed: make deps)"
fi
check "seed corpus $seed is there" [ "$(find "$seed" -type f 2>/dev/null | wc -l)" -gt 0 ]

# Every seed replays clean first (a regression in a parser shows up here
# even if the timed run never reaches it again).
"$bin" -runs=0 "$seed" >"$T/replay.log" 2>&1
rc=$?
[ $rc -eq 0 ] || tail -n 30 "$T/replay.log"
eq "every seed input replays without a finding" "$rc" 0

mkdir -p "$T/corpus"
"$bin" -max_total_time="${FUZZ_TIME:-15}" -max_len=256 -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$T/$t-" -print_final_stats=1 "$T/corpus" "$seed" >"$T/fuzz.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	tail -n 40 "$T/fuzz.log"
	for a in "$T/$t-"*; do
		[ -f "$a" ] || continue
		cp "$a" build/fuzz/ 2>/dev/null
		echo "# input $(basename "$a") (copied to build/fuzz/):"
		od -c "$a" | head -n 20
	done
fi
eq "fuzzing for ${FUZZ_TIME:-15} s: no finding" "$rc" 0
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/fuzz.log")
log "$runs inputs executed, $(sed -n 's/^stat::new_units_added: *//p' "$T/fuzz.log") new, $(find "$seed" -type f | wc -l) seeds"
check "the fuzzer ran (executions counted)" [ "${runs:-0}" -gt 1000 ]
finish
