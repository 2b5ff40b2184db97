# SPDX-License-Identifier: GPL-2.0-only
# The qemu kernel matrix (tests/vm/): the static traffic helper booted into the
# guests, the Debian cloud kernels they run (downloaded once into
# tests/vm/cache, see tests/vm/fetch-kernel.sh) and `make vmtest`.
# `make test` runs the matrix as the test "vm/matrix" (tests/vm/run.sh).

VM_KERNELS ?= bullseye bookworm trixie
VM_CONN := $(OUT)/vm/pbvm-conn

$(VM_CONN): tests/vm/pbvm-conn.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -Wall -Wextra -static $< -o $@

# Fetch what is not cached yet (progress on stderr). A failed download does not
# stop the build: vm/matrix then fails and says which kernel is missing.
.PHONY: vm-kernels vmtest
vm-kernels:
	$(Q)for k in $(VM_KERNELS); do \
		tests/vm/fetch-kernel.sh $$k >/dev/null || \
			echo "vm: could not fetch the $$k kernel; vm/matrix will fail" >&2; \
	done

TEST_EXTRA += $(VM_CONN) vm-kernels

vmtest: deps
	$(Q)$(MAKE) --no-print-directory portburn $(VM_CONN) vm-kernels
	$(Q)PBVM_KERNELS="$(VM_KERNELS)" ./tests/vm/run.sh
