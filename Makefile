# SPDX-License-Identifier: GPL-2.0-only
# portburn build. Quiet by default; V=1 shows commands. Generated files live in
# build/ and vmlinux/ (both ignored by git).

.DELETE_ON_ERROR:
.SUFFIXES:

V ?= 0
ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CLANG ?= clang
CC ?= gcc
BPFTOOL ?= bpftool
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

OUT := build
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Wno-unused-parameter -std=gnu11 -MMD -MP \
	$(shell pkg-config --cflags glib-2.0) -Iinclude -Isrc -I$(OUT)/skel -DPORTBURN_VERSION='"$(VERSION)"'
LDLIBS += -lbpf -lelf -lz -ljson-c -lmicrohttpd -lncursesw -lcap -lm -lpthread -lglib-2.0

ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Iinclude -Ivmlinux -MMD -MP

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(OUT)/skel/%.skel.h,$(BPF_SRCS))
# Kept: the objects are worth inspecting (bpftool, llvm-objdump) next to their skeletons.
.SECONDARY: $(BPF_OBJS)

# Every src/*.c except main.c goes into a library that tests link against.
LIB_SRCS := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJS := $(patsubst src/%.c,$(OUT)/src/%.o,$(LIB_SRCS))
LIB := $(OUT)/libportburn.a

.PHONY: all deps clean test demo bench
# deps first, then a fresh make: flags from pkg-config need the packages.
all: deps
	$(Q)$(MAKE) --no-print-directory portburn

deps:
	$(Q)./tools/install-deps.sh

vmlinux/vmlinux.h: $(VMLINUX_BTF)
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file $< format c > $@.tmp && mv $@.tmp $@

$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c vmlinux/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/skel/%.skel.h: $(OUT)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(OUT)/src/%.o: src/%.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

portburn: $(OUT)/src/main.o $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Per-area fragments (tests, lab, bench, fuzz, vm) live in mk/.
include $(wildcard mk/*.mk)

# Fragments add their test prerequisites to TEST_EXTRA; expanded after all are read.
.PHONY: test-build
test-build: portburn $(UNIT_BINS) $(HELPER_BINS) $(TEST_EXTRA)

# T=glob selects tests by name, e.g. make test T='e2e/trace_*'
test: deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)./tests/run.sh $(T)

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(OUT) vmlinux/vmlinux.h portburn

-include $(wildcard $(OUT)/src/*.d $(OUT)/bpf/*.d $(OUT)/tests/*/*.d)
