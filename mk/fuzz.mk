# SPDX-License-Identifier: GPL-2.0-only
# libFuzzer targets for the parsers of untrusted input (tests/fuzz/fuzz_*.c),
# built with clang and ASan/UBSan into build/fuzz/. Each compiles the src files
# it needs directly (not the gcc-built library). Run by tests/e2e/fuzz_parsers.sh
# for a bounded time each, from the seed corpus in tests/fuzz/corpus/<target>/.

FUZZ_CC ?= clang
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Iinclude -Isrc
FUZZ_LDLIBS := -ljson-c -lbpf

FUZZ_BINS := $(OUT)/fuzz/fuzz_k8s_path $(OUT)/fuzz/fuzz_kubelog_name \
	$(OUT)/fuzz/fuzz_escape $(OUT)/fuzz/fuzz_mountinfo

$(OUT)/fuzz/fuzz_k8s_path: tests/fuzz/fuzz_k8s_path.c src/k8s_path.c src/escape.c
$(OUT)/fuzz/fuzz_kubelog_name: tests/fuzz/fuzz_kubelog_name.c src/kubelog.c src/k8s_path.c \
	src/log.c
$(OUT)/fuzz/fuzz_escape: tests/fuzz/fuzz_escape.c src/escape.c
$(OUT)/fuzz/fuzz_mountinfo: tests/fuzz/fuzz_mountinfo.c src/cgroup.c src/log.c

$(FUZZ_BINS): $(wildcard src/*.h) mk/fuzz.mk
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(filter %.c,$^) $(FUZZ_LDLIBS) -o $@

.PHONY: fuzz
fuzz: $(FUZZ_BINS)

TEST_EXTRA += $(FUZZ_BINS)
