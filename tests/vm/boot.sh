#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Boot one cached kernel with the matrix initramfs under qemu's TCG (never KVM,
# no network device) and wait for it to power off; the guest's console goes to
# OUT/SUITE.serial, "EXIT_CODE SECONDS" to OUT/SUITE.status. qemu's exit code
# says nothing about the checks: run.sh reads the markers in the serial log.
# Usage: tests/vm/boot.sh SUITE   (environment: see run.sh)
set -u
k=${1:?usage: boot.sh SUITE}
out=${PBVM_OUT:-build/vm}
modes=$(printf '%s' "${PBVM_MODES-fentry kprobe tracepoint auto}" | tr -s ' ' ,)
kdir=$(cat "$out/$k.kdir")
start=$(date +%s)
rm -f "$out/$k.serial" "$out/$k.status"
timeout --kill-after=5 "${PBVM_BOOT_TIMEOUT:-120}" qemu-system-x86_64 \
	-accel tcg -m 1024 -smp 1 -nodefaults -display none -no-reboot \
	-serial "file:$out/$k.serial" -monitor none \
	-kernel "$kdir/vmlinuz" -initrd "$out/initramfs.cpio" \
	-append "console=ttyS0 panic=-1 loglevel=4 pbvm.modes=$modes pbvm.auto=${PBVM_AUTO:-fentry}" \
	>"$out/$k.qemu" 2>&1
echo "$? $(($(date +%s) - start))" >"$out/$k.status"
