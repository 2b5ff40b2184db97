#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make bench`: every benchmark of issue 8 in turn, each capped in time so the
# whole stays under 10 minutes on a 2-CPU machine, then one table of figures
# next to the goals. A benchmark whose portburn feature is missing reads n/a.
# Also writes the table as Markdown, with the machine, to build/bench/latest.md.
# Usage: tools/bench/run.sh [overhead|zeroloss|memory|snapshot ...]
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/bench/lib.sh
source tools/bench/lib.sh
need_root

declare -A CAP=([overhead]=270 [zeroloss]=45 [memory]=200 [snapshot]=60)
BENCHES=("$@")
[ ${#BENCHES[@]} -gt 0 ] || BENCHES=(overhead zeroloss memory snapshot)
# The memory benchmark skips sizes that would not fit in its share.
export BENCH_MEM_BUDGET=${BENCH_MEM_BUDGET:-$((CAP[memory] - 30))}
export BENCH_RESULTS=$RUN/results.tsv
: >"$BENCH_RESULTS"

for b in "${BENCHES[@]}"; do
	[ -n "${CAP[$b]:-}" ] || { echo "usage: tools/bench/run.sh [overhead|zeroloss|memory|snapshot ...]" >&2; exit 2; }
done
start=$(date +%s)
for b in "${BENCHES[@]}"; do
	echo
	timeout --kill-after=15 "${CAP[$b]}" "tools/bench/$b.sh"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "bench: $b ended with status $rc$([ $rc -eq 124 ] && echo " (over its ${CAP[$b]} s cap)")"
		printf '%s\t%s\t%s\t%s\t%s\n' "$b" "(benchmark did not finish)" "n/a" "-" "n/a" \
			>>"$BENCH_RESULTS"
	fi
done
total=$(($(date +%s) - start))

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
machine="$(nproc) x ${cpu:-unknown CPU}, $(free -g | awk '/^Mem:/ { print $2 }') GiB,"
machine+=" Linux $(uname -r), portburn $(git describe --always --dirty 2>/dev/null || echo '?')"
echo
echo "== portburn benchmarks ($(date -u +%Y-%m-%d), ${total} s): $machine"
{
	printf 'benchmark\tfigure\tmeasured\tgoal\tverdict\n'
	cat "$BENCH_RESULTS"
} >"$RUN/table"
print_table "$RUN/table"

mkdir -p build/bench
{
	echo "Machine: $machine; $(date -u +%Y-%m-%d), \`make bench\` took ${total} s."
	echo
	awk -F'\t' 'NR == 1 { print "| " $1 " | " $2 " | " $3 " | " $4 " | " $5 " |"
			print "|---|---|---|---|---|"; next }
		{ print "| " $1 " | " $2 " | " $3 " | " $4 " | " $5 " |" }' "$RUN/table"
} >build/bench/latest.md
echo "(Markdown: build/bench/latest.md)"
