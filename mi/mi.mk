# mi/mi.mk: libgdbmi, the GDB/MI driver (mi/), for the top Makefile to include.
#
#   $(BUILD)/libgdbmi.a   the library (host only: part of `all` in native builds)
#   make fuzz [FUZZ_SECONDS=300]   libFuzzer on the parser, seeded with tests/mi-fixtures
#   make check-mi-fuzz    a short fuzz run (MI_FUZZ_CHECK_SECONDS, 20) and a replay of the corpus
#   make bench-mi         parser throughput (bench/mi_parse.c)
#
# Unit tests tests/unit/test_mi_*.c are built by the top Makefile's generic
# rule from the UNIT_* variables below.

MI_PARSE_SRCS := mi/arena.c mi/cstr.c mi/parse.c mi/value.c mi/decode.c
MI_SRCS := $(MI_PARSE_SRCS) mi/spawn.c mi/command.c mi/session.c mi/target.c mi/data.c
LIBGDBMI := $(BUILD)/libgdbmi.a

# Header dependencies as in the top Makefile (DEPFLAGS, prog_deps).
$(BUILD)/mi/%.o: mi/%.c $$(call dep_file,$$(basename $$@).d) $(TARGET_STAMP) | $(BUILD)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) $(BASE_CFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIBGDBMI): $(patsubst mi/%.c,$(BUILD)/mi/%.o,$(MI_SRCS))
	$(echo_cmd) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Host only: a cross build makes the target's programs, and gdb runs on the host.
ifeq ($(CROSS_BUILD),)
all: $(LIBGDBMI)
endif

# ---------------------------------------------------------------- unit tests
UNIT_test_mi_parse := $(MI_PARSE_SRCS)
UNIT_test_mi_cstr := $(MI_PARSE_SRCS)
UNIT_test_mi_fixtures := $(MI_PARSE_SRCS)
UNIT_test_mi_session := $(MI_SRCS)
UNIT_test_mi_live := $(MI_SRCS)
ifeq ($(CROSS_BUILD),)
UNIT_SAN_test_mi_parse := $(ASAN_FLAGS)
UNIT_SAN_test_mi_cstr := $(ASAN_FLAGS)
UNIT_SAN_test_mi_fixtures := $(ASAN_FLAGS)
UNIT_SAN_test_mi_session := $(ASAN_FLAGS)
UNIT_SAN_test_mi_live := $(ASAN_FLAGS)
endif

# ---------------------------------------------------------------- benchmark
$(BUILD)/bench/mi_parse: bench/mi_parse.c $(BUILD)/bench/mi_parse.d $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)$(call prog_deps,$(CC) $(BASE_CFLAGS) -O2 -Imi,bench/mi_parse.c $(MI_PARSE_SRCS))
	$(Q)$(CC) $(BASE_CFLAGS) -O2 -Imi -o $@ bench/mi_parse.c $(MI_PARSE_SRCS)

.PHONY: bench-mi fuzz check-mi-fuzz
bench-mi: $(BUILD)/bench/mi_parse
	$(Q)$(BUILD)/bench/mi_parse

# ---------------------------------------------------------------- fuzzing
# libFuzzer comes with clang's runtime: Debian packages clang and libclang-rt-dev.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 300
MI_FUZZ_CHECK_SECONDS ?= 20
MI_FUZZ := $(BUILD)/fuzz/mi_fuzz
MI_FUZZ_DIR := $(BUILD)/fuzz
MI_FUZZ_CORPUS := $(MI_FUZZ_DIR)/mi-corpus
MI_FIXTURES := $(wildcard tests/mi-fixtures/*.mi)

MI_FUZZ_CC = $(FUZZ_CC) -std=gnu11 -g -O1 -D_GNU_SOURCE -Imi -Icommon \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
$(MI_FUZZ): mi/fuzz_parse.c $(MI_FUZZ).d
	$(echo_cmd) FUZZCC $@
	$(Q)command -v $(FUZZ_CC) >/dev/null || { echo "mi.mk: $(FUZZ_CC) not found: run 'make deps' (clang, libclang-rt-dev)" >&2; exit 1; }
	$(Q)$(call prog_deps,$(MI_FUZZ_CC),mi/fuzz_parse.c $(MI_PARSE_SRCS))
	$(Q)$(MI_FUZZ_CC) -o $@ mi/fuzz_parse.c $(MI_PARSE_SRCS)

# The seeds are the fixtures' bodies (headers dropped). `make fuzz` keeps
# what it finds in $(MI_FUZZ_CORPUS) from run to run, merged down to the
# inputs that add coverage; check-mi-fuzz fuzzes a fresh copy of the seeds,
# then replays what it found and the kept corpus.
mi_fuzz_seed = rm -rf $(1) && mkdir -p $(1) && for f in $(MI_FIXTURES); do \
	sed '1,/^$$/d' $$f >$(1)/seed-$$(basename $$f .mi); done
mi_fuzz_run = ASAN_OPTIONS=allocator_may_return_null=1 $(MI_FUZZ) -artifact_prefix=$(MI_FUZZ_DIR)/ \
	-max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

fuzz: $(MI_FUZZ)
	$(Q)mkdir -p $(MI_FUZZ_CORPUS) && for f in $(MI_FIXTURES); do \
		sed '1,/^$$/d' $$f >$(MI_FUZZ_CORPUS)/seed-$$(basename $$f .mi); done
	$(Q)$(mi_fuzz_run) -max_total_time=$(FUZZ_SECONDS) $(MI_FUZZ_CORPUS)
	$(Q)$(call mi_fuzz_seed,$(MI_FUZZ_DIR)/merged) && \
		$(mi_fuzz_run) -merge=1 $(MI_FUZZ_DIR)/merged $(MI_FUZZ_CORPUS) >$(MI_FUZZ_DIR)/merge.log 2>&1 && \
		rm -rf $(MI_FUZZ_CORPUS) && mv $(MI_FUZZ_DIR)/merged $(MI_FUZZ_CORPUS) && \
		echo "  FUZZ     corpus merged: $$(ls $(MI_FUZZ_CORPUS) | wc -l) inputs in $(MI_FUZZ_CORPUS)"

check-mi-fuzz: $(MI_FUZZ)
	$(Q)$(call mi_fuzz_seed,$(MI_FUZZ_DIR)/check-corpus)
	$(Q)$(mi_fuzz_run) -max_total_time=$(MI_FUZZ_CHECK_SECONDS) $(MI_FUZZ_DIR)/check-corpus \
		>$(MI_FUZZ_DIR)/check.log 2>&1 || { tail -n 40 $(MI_FUZZ_DIR)/check.log; exit 1; }
	$(Q)$(mi_fuzz_run) -runs=0 $(MI_FUZZ_DIR)/check-corpus $(wildcard $(MI_FUZZ_CORPUS)) \
		>$(MI_FUZZ_DIR)/replay.log 2>&1 || { tail -n 40 $(MI_FUZZ_DIR)/replay.log; exit 1; }
	$(Q)echo "  FUZZ     mi parser: $$(sed -n 's/.*stat::number_of_executed_units: *//p' \
$(MI_FUZZ_DIR)/check.log) runs in $(MI_FUZZ_CHECK_SECONDS) s, then $$(find $(MI_FUZZ_DIR)/check-corpus \
$(wildcard $(MI_FUZZ_CORPUS)) -type f | wc -l) inputs replayed: no crash"
