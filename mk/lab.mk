# SPDX-License-Identifier: GPL-2.0-only
# The lab ("a node in a box", tools/lab/): its C programs go to build/lab/,
# `make lab` builds them, `make demo` runs portburn against a live lab.

LAB_SRCS := $(wildcard tools/lab/*.c)
LAB_BINS := $(patsubst tools/lab/%.c,$(OUT)/lab/%,$(LAB_SRCS))
TEST_EXTRA += $(LAB_BINS)

$(OUT)/lab/%: tools/lab/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< -o $@

.PHONY: lab
lab: $(LAB_BINS)

# Builds portburn and the lab, brings the lab up, runs every scenario in the
# background and opens portburn against it; quitting tears the lab down.
demo: deps
	$(Q)$(MAKE) --no-print-directory portburn lab
	$(Q)./tools/lab/demo.sh

-include $(wildcard $(OUT)/lab/*.d)
