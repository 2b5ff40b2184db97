#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The kernel matrix: boot Debian's stock cloud kernels under qemu (TCG, no KVM,
# no network device), run tests/vm/checks.sh in every hook mode inside one boot
# per kernel, and the same checks on the host's own kernel in tracepoint mode.
# Prints one result line per kernel and mode; exits 1 if any failed.
#
# Usage: tests/vm/run.sh            (after make; `make vmtest` builds and runs it)
# Environment:
#   PBVM_KERNELS       suites to boot (default "bullseye bookworm trixie")
#   PBVM_MODES         modes in the guest (default "fentry kprobe tracepoint auto")
#   PBVM_AUTO          what auto must pick in the guest (default fentry)
#   PBVM_HOST_MODES    modes on the host kernel (default "tracepoint"; "" skips)
#   PBVM_HOST_AUTO     what auto must pick on the host (default tracepoint)
#   PBVM_JOBS          guests booted at once (default: number of CPUs)
#   PBVM_NO_KCONFIG=1  guests without /boot/config-<release>, like a container
#                      that does not mount /boot
#   PBVM_BOOT_TIMEOUT  seconds per guest before it is killed (default 120: two
#                      rounds of guests stay inside tests/run.sh's 300 s)
#   PORTBURN, PBVM_CONN_BIN  binaries (default ./portburn, build/vm/pbvm-conn)
# Logs: build/vm/<suite>.log (the guest's console), build/vm/host.log.
set -u
cd "$(dirname "$0")/../.." || exit 2

kernels=${PBVM_KERNELS-bullseye bookworm trixie}
modes=${PBVM_MODES-fentry kprobe tracepoint auto}
auto=${PBVM_AUTO:-fentry}
host_modes=${PBVM_HOST_MODES-tracepoint}
host_auto=${PBVM_HOST_AUTO:-tracepoint}
jobs=${PBVM_JOBS:-$(nproc)}
boot_timeout=${PBVM_BOOT_TIMEOUT:-120}
portburn=${PORTBURN:-./portburn}
conn=${PBVM_CONN_BIN:-build/vm/pbvm-conn}
out=build/vm
vm=tests/vm

say() { printf 'vm: %s\n' "$*"; }
now() { date +%s; }
t0=$(now)
mkdir -p "$out"

if [ "$(id -u)" -ne 0 ]; then
	say "FAIL: the kernel matrix needs root (BPF, network namespaces, cgroups)"
	exit 1
fi
for f in "$portburn" "$conn"; do
	[ -x "$f" ] || { say "FAIL: $f is missing: run 'make vmtest'"; exit 1; }
done
command -v qemu-system-x86_64 >/dev/null || { say "FAIL: qemu-system-x86_64 missing (package qemu-system-x86)"; exit 1; }

# --- the judge first: if checks.jq cannot tell right from wrong, stop here
if ! "$vm/selftest.sh" >"$out/selftest.log" 2>&1; then
	grep -v '^ok' "$out/selftest.log"
	say "FAIL: the checks' self-test failed (tests/vm/selftest.sh)"
	exit 1
fi
say "checks self-test: $(grep -c '^ok' "$out/selftest.log") cases ok"

# Result lines, printed last (the tail of the log that tests/run.sh shows).
failed=0
: >"$out/summary"
line() { # PASS|FAIL kernel mode [why]
	printf '%s %-34s %-10s %s\n' "$1" "$2" "$3" "${4:-}" >>"$out/summary"
	[ "$1" = PASS ] || failed=1
}

# --- kernels (downloaded once, then cached in tests/vm/cache)
booted=
for k in $kernels; do
	if "$vm/fetch-kernel.sh" "$k" >"$out/$k.kdir" 2>"$out/$k.fetch"; then
		booted="$booted $k"
		sed 's/^/  /' "$out/$k.fetch"
	else
		cat "$out/$k.fetch"
		say "FAIL: cannot fetch the $k kernel"
		for m in $modes; do line FAIL "$k" "$m" "kernel not fetched (see above)"; done
	fi
done

# --- one initramfs for every guest
if [ -n "$booted" ] && [ -n "$modes" ]; then
	kdirs=
	if [ "${PBVM_NO_KCONFIG:-0}" != 1 ]; then
		for k in $booted; do kdirs="$kdirs $(cat "$out/$k.kdir")"; done
	fi
	# shellcheck disable=SC2086 # a list of directories without blanks
	if ! "$vm/mkinitramfs.sh" "$out/initramfs.cpio" "$portburn" "$conn" $kdirs; then
		say "FAIL: cannot build the initramfs"
		exit 1
	fi
	say "initramfs $(($(wc -c <"$out/initramfs.cpio") / 1024)) KiB"
else
	booted=
fi

# --- guests, PBVM_JOBS at a time, while the host leg runs
export PBVM_OUT="$out" PBVM_MODES="$modes" PBVM_AUTO="$auto" PBVM_BOOT_TIMEOUT="$boot_timeout"
for k in $booted; do
	say "booting $k ($(cat "$(cat "$out/$k.kdir")/release")) under qemu -accel tcg"
done
# shellcheck disable=SC2086 # one suite per line
[ -n "$booted" ] && printf '%s\n' $booted | xargs -P "$jobs" -n 1 "$vm/boot.sh" &

# --- the host's own kernel, in network namespaces of the checks' own
if [ -n "$host_modes" ]; then
	: >"$out/host.log"
	for m in $host_modes; do
		e=$m
		[ "$m" = auto ] && e=$host_auto
		PORTBURN=$portburn PBVM_CONN=$conn PBVM_JQ=$vm/checks.jq \
			sh "$vm/checks.sh" "$m" "$e" >>"$out/host.log" 2>&1
	done
fi
wait

# --- results: why each failed mode failed, then one line per kernel and mode
results() { # log label modes
	for m in $3; do
		r=$(sed -n "s/^PBVM RESULT $m \(PASS\|FAIL\)\(.*\)/\1\2/p" "$1" | tail -n 1)
		case $r in
		PASS*) line PASS "$2" "$m" "${r#PASS }" ;;
		FAIL*)
			line FAIL "$2" "$m" "$(grep "^PBVM CHECK $m [^ ]* FAIL" "$1" |
				cut -d' ' -f4 | tr '\n' ' ')"
			echo "$2 $m:"
			grep "^PBVM CHECK $m [^ ]* FAIL" "$1" | cut -c1-600 | sed 's/^/    /'
			grep "^PBVM LOG $m " "$1" | tail -n 8 | cut -c1-300 | sed 's/^/    /' ;;
		*) line FAIL "$2" "$m" "no result (guest crashed or timed out, see $1)" ;;
		esac
	done
}
for k in $booted; do
	tr -d '\r' <"$out/$k.serial" >"$out/$k.log" 2>/dev/null
	rc=- secs=-
	[ -r "$out/$k.status" ] && read -r rc secs <"$out/$k.status"
	rel=$(sed -n 's/^PBVM KERNEL \([^[:space:]]*\).*/\1/p' "$out/$k.log" | head -n 1)
	say "$k: guest ran ${secs}s (qemu exit $rc)$(grep -q '^PBVM DONE' "$out/$k.log" ||
		echo ", no PBVM DONE: see $out/$k.log")"
	[ -n "$rel" ] || { grep -E 'Kernel panic|BUG|Oops' "$out/$k.log" | head -n 5; tail -n 5 "$out/$k.log"; }
	results "$out/$k.log" "${rel:-$k}($k)" "$modes"
done
if [ -n "$host_modes" ]; then
	results "$out/host.log" "$(uname -r)(host)" "$host_modes"
fi
echo
cat "$out/summary"
say "matrix done in $(($(now) - t0))s: $(grep -c '^PASS' "$out/summary") passed, $(grep -c '^FAIL' "$out/summary") failed"
exit $failed
