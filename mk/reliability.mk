# SPDX-License-Identifier: GPL-2.0-only
# Reliability (issue 9), tests/e2e/rel_*.sh:
#  - the libFuzzer target for the flag and namespace-file parsers (number,
#    size, CIDR, mode, port range, reserved ports), built like mk/fuzz.mk's but
#    from every library source (the parsers live in files that need the rest:
#    ledger.c, tracer.c), run by tests/e2e/rel_fuzz_flag_parsers.sh;
#  - $(OUT)/portburn: the binary inside the output folder, so that
#    `make OUT=build/rel-san SANITIZE=1 build/rel-san/portburn` builds a
#    sanitized portburn without touching ./portburn (tests/e2e/rel_sanitize.sh).

REL_FUZZ := $(OUT)/fuzz/fuzz_flag_parsers

$(REL_FUZZ): tests/fuzz/fuzz_flag_parsers.c $(LIB_SRCS) $(wildcard src/*.h include/*.h) mk/reliability.mk \
	| $(SKELS)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -I$(OUT)/skel $(shell pkg-config --cflags glib-2.0) \
		$(filter %.c,$^) $(LDLIBS) -o $@

.PHONY: fuzz-rel
fuzz-rel: $(REL_FUZZ)

TEST_EXTRA += $(REL_FUZZ)

$(OUT)/portburn: $(OUT)/src/main.o $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
