# server/server.mk: memtrace-server, the host side that decodes reports with
# the build tree's debug symbols (server/), for the top Makefile to include.
#
#   $(BUILD)/memtrace-server   the program (host only: part of `all` in native builds)
#   $(BUILD)/asan/memtrace-server   the same with AddressSanitizer (test-bins)
#   make bench-decode          decoding throughput beside addr2line (bench/decode.sh)
#
# Needs libdw (Debian libdw-dev) and libstdc++ for its demangler. Its unit test
# (tests/unit/test_decode.c) and benchmark (bench/decode.c) link the decoder,
# so they have rules of their own here rather than the top Makefile's generic ones.

SERVER_DECODER_SRCS := server/rootfs.c server/elfinfo.c server/strmap.c server/modmap.c \
	server/funcindex.c server/symcache.c server/decode.c server/annotate.c inject/util.c common/log.c
SERVER_SRCS := server/main.c inject/report.c inject/elfsym.c $(SERVER_DECODER_SRCS)
SERVER_HDRS := $(wildcard server/*.h) inject/report.h inject/elfsym.h inject/util.h common/log.h
SERVER := $(BUILD)/memtrace-server
SERVER_CFLAGS := $(BASE_CFLAGS) -Iserver -Iinject $(call pc_cflags,libdw libelf libcjson) $(CFLAGS)
SERVER_LIBS := $(call pc_libs,libdw libelf libcjson) -lstdc++ $(LDFLAGS)

ifeq ($(CROSS_BUILD),)
ifneq ($(filter-out $(NOCHECK_GOALS),$(or $(MAKECMDGOALS),all)),)
ifeq ($(shell $(PKG_CONFIG) --exists libdw && echo y),)
$(error libdw not found by pkg-config: $(call pkg_fix,libdw-dev))
endif
endif

all: $(SERVER)

$(BUILD)/server/%.o: %.c $(SERVER_HDRS) $(TARGET_STAMP) | $(BUILD)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) $(SERVER_CFLAGS) -c $< -o $@

$(SERVER): $(patsubst %.c,$(BUILD)/server/%.o,$(SERVER_SRCS))
	$(echo_cmd) LD $@
	$(Q)$(CC) -o $@ $^ $(SERVER_LIBS)

# With AddressSanitizer and UBSan, for the "[asan]" runs of the integration tests.
SERVER_ASAN := $(BUILD)/asan/memtrace-server
test-bins: $(SERVER_ASAN)
$(BUILD)/asan/server/%.o: %.c $(SERVER_HDRS) $(TARGET_STAMP) | $(BUILD)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) $(SERVER_CFLAGS) $(ASAN_FLAGS) -c $< -o $@
$(SERVER_ASAN): $(patsubst %.c,$(BUILD)/asan/server/%.o,$(SERVER_SRCS))
	$(echo_cmd) LD $@
	$(Q)$(CC) $(ASAN_FLAGS) -o $@ $^ $(SERVER_LIBS)

# The unit test compares the decoder with addr2line; host code, so sanitized.
$(BUILD)/tests/unit/test_decode: tests/unit/test_decode.c tests/unit/check.h $(SERVER_DECODER_SRCS) \
		$(SERVER_HDRS) $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) $(SERVER_CFLAGS) -O1 $(ASAN_FLAGS) -o $@ $< \
		$(SERVER_DECODER_SRCS) $(SERVER_LIBS)

$(BUILD)/bench/decode: bench/decode.c $(SERVER_DECODER_SRCS) $(SERVER_HDRS) $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) $(SERVER_CFLAGS) -O2 -o $@ $< $(SERVER_DECODER_SRCS) $(SERVER_LIBS)

.PHONY: bench-decode install-server
bench-decode: $(BUILD)/bench/decode
	$(Q)BUILD=$(BUILD) bench/decode.sh

install: install-server
install-server: $(SERVER)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(SERVER) $(DESTDIR)$(PREFIX)/bin/memtrace-server
else
# The decoder runs on the host: a cross build makes neither its test nor its
# benchmark (test_decode is then absent, and tests/run.sh runs only what exists).
$(BUILD)/tests/unit/test_decode $(BUILD)/bench/decode: ; @:
endif
