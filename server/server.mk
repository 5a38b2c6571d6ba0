# server/server.mk: memtrace-server, the host side that decodes reports with
# the build tree's debug symbols (server/), for the top Makefile to include.
#
#   $(BUILD)/memtrace-server   the program (host only: part of `all` in native builds)
#   $(BUILD)/asan/memtrace-server   the same with AddressSanitizer (test-bins)
#   $(BUILD)/tests/tools/linkpeer   a scripted peer of the server link, for the tests (test-bins)
#   make bench-decode          decoding throughput beside addr2line (bench/decode.sh)
#   make fuzz-server [FUZZ_SECONDS=300]   libFuzzer on the link's messages, the report decoder and the gdb gate
#   make check-server-fuzz     a short run of each (SERVER_FUZZ_CHECK_SECONDS, 7 each) and a corpus replay
#
# Needs libdw (Debian libdw-dev), libstdc++ for its demangler, zlib (zlib1g-dev) for
# gzip'ed cores, and libgdbmi (mi/mi.mk) to drive gdb for --core (server/core.c). Its unit test
# (tests/unit/test_decode.c) and benchmark (bench/decode.c) link the decoder,
# tests/unit/test_cfi_host.c the decoder, the requests and the agent's CFI compiler,
# and tests/unit/test_gdbcmd.c the gdb console's allowlist (server/gdbcmd.c),
# so they have rules of their own here rather than the top Makefile's generic ones.

SERVER_DECODER_SRCS := server/rootfs.c server/elfinfo.c server/strmap.c server/modmap.c \
	server/funcindex.c server/symcache.c server/decode.c server/annotate.c server/cfi_host.c common/util.c common/log.c
# The link's protocol, pure over byte buffers (what the message fuzzer drives), then its sockets.
SERVER_LINK_SRCS := server/msgin.c server/outq.c server/conn.c server/request.c server/discovery.c common/net.c
SERVER_SRCS := server/main.c server/core.c server/coreimage.c server/coreleaks.c common/anchortab.c \
	common/leakjudge.c common/leaksdoc.c common/leaks.c common/glibcheap.c server/work.c server/relay.c server/netserver.c server/corebudget.c server/peer.c server/dialer.c common/proto.c \
	server/gdbcmd.c server/gdbroot.c server/pool.c server/plot.c server/metrics.c server/scrape.c common/trend.c common/report.c common/reportx.c common/pprof.c common/elfsym.c \
	$(SERVER_LINK_SRCS) $(SERVER_DECODER_SRCS)
SERVER := $(BUILD)/memtrace-server
SERVER_CFLAGS := $(BASE_CFLAGS) -Iserver -Imi $(call pc_cflags,libdw libelf libcjson zlib) $(CFLAGS)
SERVER_LIBS := $(call pc_libs,libdw libelf libcjson zlib) -lstdc++ -lm -pthread $(LDFLAGS)

ifeq ($(CROSS_BUILD),)
ifneq ($(filter-out $(NOCHECK_GOALS),$(or $(MAKECMDGOALS),all)),)
ifeq ($(shell $(PKG_CONFIG) --exists libdw && echo y),)
$(error libdw not found by pkg-config: $(call pkg_fix,libdw-dev))
endif
ifeq ($(shell $(PKG_CONFIG) --exists zlib && echo y),)
$(error zlib not found by pkg-config: $(call pkg_fix,zlib1g-dev))
endif
endif

all: $(SERVER)

# Header dependencies as in the top Makefile (DEPFLAGS, prog_deps).
$(BUILD)/server/%.o: %.c $$(call dep_file,$$(basename $$@).d) $(TARGET_STAMP) | $(BUILD)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) $(SERVER_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(SERVER): $(patsubst %.c,$(BUILD)/server/%.o,$(SERVER_SRCS)) $(LIBGDBMI)
	$(echo_cmd) LD $@
	$(Q)$(CC) -o $@ $^ $(SERVER_LIBS)

# With AddressSanitizer and UBSan, for the "[asan]" runs of the integration tests; mi/ is
# compiled in sanitized too, rather than linked from the plain libgdbmi.a.
SERVER_ASAN := $(BUILD)/asan/memtrace-server
test-bins: $(SERVER_ASAN)
$(BUILD)/asan/server/%.o: %.c $$(call dep_file,$$(basename $$@).d) $(TARGET_STAMP) | $(BUILD)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) $(SERVER_CFLAGS) $(ASAN_FLAGS) $(DEPFLAGS) -c $< -o $@
$(SERVER_ASAN): $(patsubst %.c,$(BUILD)/asan/server/%.o,$(SERVER_SRCS) $(MI_SRCS))
	$(echo_cmd) LD $@
	$(Q)$(CC) $(ASAN_FLAGS) -o $@ $^ $(SERVER_LIBS)

# The link tests' scripted peer (tests/integration/t-server-*.sh): host code, sanitized.
LINKPEER := $(BUILD)/tests/tools/linkpeer
test-bins: $(LINKPEER)
LINKPEER_CC = $(CC) $(BASE_CFLAGS) -O1 $(call pc_cflags,libcjson) $(ASAN_FLAGS)
$(LINKPEER): tests/tools/linkpeer.c $(LINKPEER).d $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)$(call prog_deps,$(LINKPEER_CC),tests/tools/linkpeer.c common/net.c common/log.c)
	$(Q)$(LINKPEER_CC) -o $@ tests/tools/linkpeer.c common/net.c common/log.c $(call pc_libs,libcjson)

# The unit test compares the decoder with addr2line; host code, so sanitized.
$(BUILD)/tests/unit/test_decode: tests/unit/test_decode.c $(BUILD)/tests/unit/test_decode.d $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)$(call prog_deps,$(CC) $(SERVER_CFLAGS) -O1 $(ASAN_FLAGS),$< $(SERVER_DECODER_SRCS))
	$(Q)$(CC) $(SERVER_CFLAGS) -O1 $(ASAN_FLAGS) -o $@ $< $(SERVER_DECODER_SRCS) $(SERVER_LIBS)

# The gdb console's allowlist is pure: its test links it alone, sanitized too.
$(BUILD)/tests/unit/test_gdbcmd: tests/unit/test_gdbcmd.c $(BUILD)/tests/unit/test_gdbcmd.d $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)$(call prog_deps,$(CC) $(SERVER_CFLAGS) -O1 $(ASAN_FLAGS),$< server/gdbcmd.c)
	$(Q)$(CC) $(SERVER_CFLAGS) -O1 $(ASAN_FLAGS) -o $@ $< server/gdbcmd.c

# Unwind rows compiled on the host (server/cfi_host.c), beside readelf, beside the agent's own
# compiler (agent/cfi_compile.c, linked in: both compile the modules the test has loaded) and
# through the unwind request (server/request.c); host code, sanitized. Its fixture is built as a
# device's code often is, without unwind tables (its functions' CFI in .debug_frame only), and
# again with them, as a shared object the test loads for the agent to compile.
CFI_HOST_FIXTURES := $(BUILD)/tests/unit/cfi_host_fixture $(BUILD)/tests/unit/cfi_host_fixture_eh.so
TEST_CFI_HOST_SRCS := server/request.c $(SERVER_DECODER_SRCS) agent/cfi_compile.c agent/arena.c
TEST_CFI_HOST_CC = $(CC) $(SERVER_CFLAGS) -O1 $(ASAN_FLAGS) -Iagent -Iagent/arch/$(ARCH) \
	-DFIXTURE_SRC='"$(abspath tests/unit/cfi_host_fixture.c)"'
$(BUILD)/tests/unit/test_cfi_host: tests/unit/test_cfi_host.c $(BUILD)/tests/unit/test_cfi_host.d $(CFI_HOST_FIXTURES) \
		$(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)$(call prog_deps,$(TEST_CFI_HOST_CC),$< $(TEST_CFI_HOST_SRCS))
	$(Q)$(TEST_CFI_HOST_CC) -o $@ $< $(TEST_CFI_HOST_SRCS) $(SERVER_LIBS) -ldl
$(BUILD)/tests/unit/cfi_host_fixture: tests/unit/cfi_host_fixture.c $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) -g -O2 -fno-asynchronous-unwind-tables -fno-unwind-tables -fomit-frame-pointer \
		-o $@ $<
$(BUILD)/tests/unit/cfi_host_fixture_eh.so: tests/unit/cfi_host_fixture.c $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) -shared -fPIC -O2 -fomit-frame-pointer -o $@ $<

# The core reader of leaks on cores, with the judge behind it: host code, sanitized too.
TEST_COREIMAGE_SRCS := server/coreimage.c common/leakjudge.c common/leaks.c common/glibcheap.c common/anchortab.c \
	common/util.c common/log.c
$(BUILD)/tests/unit/test_coreimage: tests/unit/test_coreimage.c $(BUILD)/tests/unit/test_coreimage.d $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)$(call prog_deps,$(CC) $(SERVER_CFLAGS) -O1 $(ASAN_FLAGS),$< $(TEST_COREIMAGE_SRCS))
	$(Q)$(CC) $(SERVER_CFLAGS) -O1 $(ASAN_FLAGS) -o $@ $< $(TEST_COREIMAGE_SRCS)

$(BUILD)/bench/decode: bench/decode.c $(BUILD)/bench/decode.d $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)$(call prog_deps,$(CC) $(SERVER_CFLAGS) -O2,$< $(SERVER_DECODER_SRCS))
	$(Q)$(CC) $(SERVER_CFLAGS) -O2 -o $@ $< $(SERVER_DECODER_SRCS) $(SERVER_LIBS)

.PHONY: bench-decode install-server
bench-decode: $(BUILD)/bench/decode
	$(Q)BUILD=$(BUILD) bench/decode.sh

# ---------------------------------------------------------------- fuzzing
# Six libFuzzer targets (clang; FUZZ_CC, FUZZ_SECONDS and the corpus habits
# are mi/mi.mk's): server/fuzz_link.c feeds byte streams and datagrams to the
# link's protocol, server/fuzz_report.c feeds JSON to the report decoder with
# the victims' build dir as its sysroot, server/fuzz_gdbcmd.c feeds addresses,
# types and console lines to the gdb gate and checks what passes with a
# reader of its own, server/fuzz_core.c feeds core files to the core reader
# and the leak judge behind it, server/fuzz_plot.c feeds records to --plot
# and checks no markup of theirs reaches the page. Seeds: tests/fuzz/server-*/, plus a
# report made from tests/victims/server_leak's own symbols, so that frames
# land in real functions with DWARF.
SERVER_FUZZ_DIR := $(BUILD)/fuzz/server
SERVER_FUZZ_LINK := $(BUILD)/fuzz/server_link_fuzz
SERVER_FUZZ_REPORT := $(BUILD)/fuzz/server_report_fuzz
SERVER_FUZZ_GDBCMD := $(BUILD)/fuzz/server_gdbcmd_fuzz
SERVER_FUZZ_CORE := $(BUILD)/fuzz/server_core_fuzz
SERVER_FUZZ_PLOT := $(BUILD)/fuzz/server_plot_fuzz
SERVER_FUZZ_METRICS := $(BUILD)/fuzz/server_metrics_fuzz
SERVER_FUZZ_CHECK_SECONDS ?= 7
SERVER_FUZZ_SYSROOT := $(BUILD)/tests/victims
SERVER_FUZZ_FLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -DMEMTRACE_VERSION='"$(VERSION)"' -Icommon -Iserver \
	$(call pc_cflags,libdw libelf libcjson) -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

# server_fuzz_build SOURCES,LIBS: the recipe of each, a program of SOURCES.
server_fuzz_build = \
	$(Q)command -v $(FUZZ_CC) >/dev/null || { echo "server.mk: $(FUZZ_CC) not found: run 'make deps' (clang, libclang-rt-dev)" >&2; exit 1; }; \
	$(call prog_deps,$(FUZZ_CC) $(SERVER_FUZZ_FLAGS),$(1)) && $(FUZZ_CC) $(SERVER_FUZZ_FLAGS) -o $@ $(1) $(2)
$(SERVER_FUZZ_LINK): server/fuzz_link.c $(SERVER_FUZZ_LINK).d
	$(echo_cmd) FUZZCC $@
	$(call server_fuzz_build,server/fuzz_link.c server/metrics.c $(SERVER_LINK_SRCS) $(SERVER_DECODER_SRCS),$(SERVER_LIBS))
$(SERVER_FUZZ_REPORT): server/fuzz_report.c $(SERVER_FUZZ_REPORT).d
	$(echo_cmd) FUZZCC $@
	$(call server_fuzz_build,server/fuzz_report.c $(SERVER_DECODER_SRCS),$(SERVER_LIBS))
$(SERVER_FUZZ_GDBCMD): server/fuzz_gdbcmd.c $(SERVER_FUZZ_GDBCMD).d
	$(echo_cmd) FUZZCC $@
	$(call server_fuzz_build,server/fuzz_gdbcmd.c server/gdbcmd.c)
$(SERVER_FUZZ_PLOT): server/fuzz_plot.c $(SERVER_FUZZ_PLOT).d
	$(echo_cmd) FUZZCC $@
	$(call server_fuzz_build,server/fuzz_plot.c server/plot.c common/trend.c common/report.c common/elfsym.c \
		$(SERVER_DECODER_SRCS),$(SERVER_LIBS))
$(SERVER_FUZZ_METRICS): server/fuzz_metrics.c $(SERVER_FUZZ_METRICS).d
	$(echo_cmd) FUZZCC $@
	$(call server_fuzz_build,server/fuzz_metrics.c server/metrics.c,$(call pc_libs,libcjson) -lm)
$(SERVER_FUZZ_CORE): server/fuzz_core.c $(SERVER_FUZZ_CORE).d
	$(echo_cmd) FUZZCC $@
	$(call server_fuzz_build,server/fuzz_core.c server/coreimage.c common/leakjudge.c common/leaks.c \
		common/glibcheap.c common/anchortab.c common/util.c common/log.c)

# server_fuzz_seed DIR: the seeds of the targets in DIR/link, DIR/report and DIR/gdbcmd.
server_fuzz_seed = rm -rf $(1) && mkdir -p $(1)/link $(1)/report $(1)/gdbcmd $(1)/core $(1)/plot $(1)/metrics && \
	cp tests/fuzz/server-link/* $(1)/link/ && cp tests/fuzz/server-report/* $(1)/report/ && \
	cp tests/fuzz/server-gdbcmd/* $(1)/gdbcmd/ && cp tests/fuzz/server-core/* $(1)/core/ && \
	cp tests/fuzz/server-plot/* $(1)/plot/ && cp tests/fuzz/server-metrics/* $(1)/metrics/ && \
	tests/fuzz/server-seeds.sh $(SERVER_FUZZ_SYSROOT)/server_leak $(1)
# server_fuzz_run TARGET: libFuzzer's options for all three.
server_fuzz_run = SRV_FUZZ_SYSROOT=$(SERVER_FUZZ_SYSROOT) ASAN_OPTIONS=allocator_may_return_null=1 $(1) \
	-artifact_prefix=$(SERVER_FUZZ_DIR)/ -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
SERVER_FUZZ_BINS := $(SERVER_FUZZ_LINK) $(SERVER_FUZZ_REPORT) $(SERVER_FUZZ_GDBCMD) $(SERVER_FUZZ_CORE) $(SERVER_FUZZ_PLOT) \
	$(SERVER_FUZZ_METRICS) \
	$(SERVER_FUZZ_SYSROOT)/server_leak

.PHONY: fuzz-server check-server-fuzz
fuzz: fuzz-server
fuzz-server: $(SERVER_FUZZ_BINS)
	$(Q)$(call server_fuzz_seed,$(SERVER_FUZZ_DIR)/seeds)
	$(Q)for t in link report gdbcmd core plot metrics; do mkdir -p $(SERVER_FUZZ_DIR)/$$t-corpus && \
		$(call server_fuzz_run,$(BUILD)/fuzz/server_$${t}_fuzz) -max_total_time=$(FUZZ_SECONDS) \
			$(SERVER_FUZZ_DIR)/$$t-corpus $(SERVER_FUZZ_DIR)/seeds/$$t || exit 1; done

check-server-fuzz: $(SERVER_FUZZ_BINS)
	$(Q)$(call server_fuzz_seed,$(SERVER_FUZZ_DIR)/check)
	$(Q)for t in link report gdbcmd core plot metrics; do \
		$(call server_fuzz_run,$(BUILD)/fuzz/server_$${t}_fuzz) -max_total_time=$(SERVER_FUZZ_CHECK_SECONDS) \
			$(SERVER_FUZZ_DIR)/check/$$t >$(SERVER_FUZZ_DIR)/check-$$t.log 2>&1 || \
			{ tail -n 40 $(SERVER_FUZZ_DIR)/check-$$t.log; exit 1; }; \
		$(call server_fuzz_run,$(BUILD)/fuzz/server_$${t}_fuzz) -runs=0 $(SERVER_FUZZ_DIR)/check/$$t \
			$$(find $(SERVER_FUZZ_DIR) -maxdepth 1 -name $$t-corpus) \
			>$(SERVER_FUZZ_DIR)/replay-$$t.log 2>&1 || { tail -n 40 $(SERVER_FUZZ_DIR)/replay-$$t.log; exit 1; }; \
		echo "  FUZZ     server $$t: $$(sed -n 's/.*stat::number_of_executed_units: *//p' \
$(SERVER_FUZZ_DIR)/check-$$t.log) runs in $(SERVER_FUZZ_CHECK_SECONDS) s, then $$(find $(SERVER_FUZZ_DIR)/check/$$t \
-type f | wc -l) inputs replayed: no crash"; done

install: install-server
install-server: $(SERVER)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(SERVER) $(DESTDIR)$(PREFIX)/bin/memtrace-server
	install -D -m 0644 man/memtrace-server.1 $(DESTDIR)$(PREFIX)/share/man/man1/memtrace-server.1
else
# The decoder runs on the host: a cross build makes neither its test nor its
# benchmark (test_decode is then absent, and tests/run.sh runs only what exists),
# nor the link tests' peer; nor the gdb console's test (test_gdbcmd), nor the core reader's (test_coreimage),
# nor the host-compiled unwind rows' (test_cfi_host).
$(BUILD)/tests/unit/test_decode $(BUILD)/tests/unit/test_gdbcmd $(BUILD)/tests/unit/test_coreimage \
	$(BUILD)/tests/unit/test_cfi_host $(BUILD)/bench/decode: ; @:
endif
