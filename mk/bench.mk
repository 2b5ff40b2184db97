# SPDX-License-Identifier: GPL-2.0-only
# Benchmarks (tools/bench/, issue 8): connstorm load generator, the empty-program
# floor (empty.bpf.c + empty_loader) and `make bench`, which runs every benchmark
# script and prints one table. Builds into $(OUT)/bench/.

BENCH_OUT := $(OUT)/bench
CONNSTORM := $(BENCH_OUT)/connstorm
EMPTY_LOADER := $(BENCH_OUT)/empty_loader
EMPTY_BPF := $(BENCH_OUT)/empty.bpf.o
CONNSTORM_OBJS := $(addprefix $(BENCH_OUT)/,connstorm.o cs_client.o cs_server.o)
BENCH_BINS := $(CONNSTORM) $(EMPTY_LOADER) $(EMPTY_BPF)

TEST_EXTRA += $(BENCH_BINS)

$(BENCH_OUT)/%.o: tools/bench/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itools/bench -c $< -o $@

$(CONNSTORM): $(CONNSTORM_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -lpthread -o $@

$(EMPTY_BPF): tools/bench/empty.bpf.c vmlinux/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(EMPTY_LOADER): $(BENCH_OUT)/empty_loader.o
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -lbpf -lelf -lz -o $@

# portburn is optional here: a benchmark whose portburn feature is missing
# reads n/a, so a tracer that does not build yet does not stop the others.
bench: $(BENCH_BINS)
	$(Q)$(MAKE) --no-print-directory portburn || \
		echo "bench: portburn did not build; its columns will read n/a" >&2
	$(Q)./tools/bench/run.sh

-include $(wildcard $(BENCH_OUT)/*.d)
