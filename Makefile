# memtrace: one non-recursive Makefile for every part.
#
#   make [all]        memtrace, libmemtrace-agent.so, memtrace-server, victims and unit tests
#   make deps         install the Debian packages that are missing (apt-get)
#   make deps-cross   cross compilers, and ARM target libraries in a sysroot
#   make cross        build `all` for every CROSS_TRIPLETS into build/TRIPLET/
#   make check        make deps (deps-arm, deps-musl, deps-mips), then build, cross, every
#                     test, musl, ARM and MIPS VMs too;
#                     last line "N passed, N failed, N skipped". Its steps after that first
#                     one install nothing (NO_INSTALL=1): a missing package stops them by name
#                     (make check NO_INSTALL=1 skips the first too)
#   make check-arm    cross-build the tests, run them in arm64, armhf and armel VMs (qemu-system)
#   make check-mips   the same for mipsel (Debian's malta kernel; tests/mips/suite)
#   make musl         memtrace (static) and the agent for x86_64 musl, in build/x86_64-linux-musl/
#   make check-musl   the start-mode and attach suites against musl victims (tests/musl/suite)
#   make demo         deps, build, attach to a leaking sample, print a report decoded by memtrace-server
#   make bench        deps, build, per-allocation overhead beside heaptrack
#   make bench-mi     GDB/MI parser throughput;  make bench-decode: decoding beside addr2line
#   make bench-leaks  the leak verdict engine's speed and memory (bench/leaks_engine.c)
#   make fuzz [FUZZ_SECONDS=300]   libFuzzer on the GDB/MI parser and memtrace-server's decoders
#   make install      PREFIX=/usr/local LIBDIR=$(PREFIX)/lib DESTDIR=  (the agent goes to
#                     $(LIBDIR)/memtrace, where memtrace looks for it last)
#   make clean
#
# CROSS_COMPILE=aarch64-linux-gnu- (or CC=...) selects the target compiler; a
# cross build makes the target's parts only (memtrace, the agent, victims, unit
# tests), a native build the host's too (memtrace-server, libgdbmi): there is
# no second, host compiler. V=1 shows command lines, WERROR=1 turns warnings
# into errors.
# A cross build takes the target's libraries from SYSROOT (default: the one
# scripts/sysroot.sh unpacks in $MEMTRACE_CACHE, ~/.cache/memtrace); SYSROOT=
# (empty) uses libraries of that architecture installed with multiarch.

MAKEFLAGS += -rR --no-print-directory

# Built-in values count as unset (with -R a sub-make sees them undefined).
ifneq ($(filter default undefined,$(origin CC)),)
CC := $(CROSS_COMPILE)gcc
endif
ifneq ($(filter default undefined,$(origin AR)),)
AR := $(CROSS_COMPILE)ar
endif
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
DESTDIR ?=
BUILD ?= build
TRIPLET := $(shell $(CC) -dumpmachine 2>/dev/null)
arch_of = $(shell echo '$(1)' | sed -e 's/-.*//' -e 's/^i.86$$/x86/' -e 's/^arm.*/arm/' -e 's/^mips.*/mips/')
ARCH := $(call arch_of,$(TRIPLET))
BUILD_ARCH := $(call arch_of,$(shell uname -m))
VERSION := 0.2.0

ifeq ($(V),1)
Q :=
echo_cmd = @:
else
Q := @
echo_cmd = @printf '  %-8s %s\n'
endif

WARN := -Wall -Wextra -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
	-Wold-style-definition -Wundef -Wwrite-strings -Wimplicit-fallthrough \
	-Wno-unused-parameter
ifeq ($(WERROR),1)
WARN += -Werror
endif
OPT ?= -O2 -g
BASE_CFLAGS = -std=gnu11 $(OPT) $(WARN) -D_GNU_SOURCE -DMEMTRACE_VERSION='"$(VERSION)"' \
	-Icommon -fno-omit-frame-pointer $(MUSL_CFLAGS)
# Header dependencies: each compile writes beside its output the headers it
# read (-MMD, without system headers) and an empty rule for each (-MP), so
# that a deleted header does not stop the build; included at the end.
DEPFLAGS := -MMD -MP
CFLAGS ?=
LDFLAGS ?=

# Cross build: the target's libraries come from a sysroot of Debian packages of
# its architecture (scripts/sysroot.sh DEBARCH); libc from the cross toolchain.
# pkg-config gets its environment on the command line: make 4.3 does not pass
# exported variables to $(shell).
DEBARCH_aarch64-linux-gnu := arm64
DEBARCH_arm-linux-gnueabihf := armhf
DEBARCH_arm-linux-gnueabi := armel
DEBARCH_mipsel-linux-gnu := mipsel
DEBARCH_mips64el-linux-gnuabi64 := mips64el
MEMTRACE_CACHE ?= $(HOME)/.cache/memtrace
CROSS_BUILD :=
PKG_CONFIG_ENV :=
TARGET_LDFLAGS :=
ifneq ($(TRIPLET),)
ifneq ($(ARCH),$(BUILD_ARCH))
CROSS_BUILD := 1
DEBARCH := $(DEBARCH_$(TRIPLET))
SYSROOT ?= $(if $(DEBARCH),$(MEMTRACE_CACHE)/sysroot-$(DEBARCH))
PKG_CONFIG_ENV := PKG_CONFIG_SYSROOT_DIR='$(SYSROOT)' \
	PKG_CONFIG_LIBDIR='$(SYSROOT)/usr/lib/$(TRIPLET)/pkgconfig:$(SYSROOT)/usr/share/pkgconfig'
# The target libraries' own dependencies (libz, liblzma) for the linker.
TARGET_LDFLAGS := -Wl,-rpath-link,$(SYSROOT)/usr/lib/$(TRIPLET):$(SYSROOT)/lib/$(TRIPLET)
endif
endif
# musl (CC=musl-gcc, or a TRIPLET-musl-gcc): the device side built against
# musl libc, with the libraries scripts/musl-libs.sh builds from Debian's
# sources into $(MEMTRACE_CACHE)/musl-TRIPLET (static archives, kernel
# headers beside them: musl-gcc's search path has neither). Target parts
# only, as a cross build: memtrace-server and the GDB/MI library stay host
# code. memtrace is linked statically (it runs on a device whatever its
# libc's version), the agent against the process's musl libc.so with
# libunwind and libgcc's unwinder inside it. No C++ victims: Debian has no
# musl build of libstdc++.
MUSL := $(if $(findstring musl,$(notdir $(firstword $(CC)))),1)
ifneq ($(MUSL),)
MUSL_TRIPLET := $(patsubst %-gnu,%-musl,$(TRIPLET))
MUSL_PREFIX ?= $(MEMTRACE_CACHE)/musl-$(MUSL_TRIPLET)
CROSS_BUILD := 1
PKG_CONFIG_ENV := PKG_CONFIG_LIBDIR='$(MUSL_PREFIX)/lib/pkgconfig'
PKG_CONFIG += --static
TARGET_LDFLAGS := -Wl,--eh-frame-hdr
# musl-gcc's link spec leaves out --eh-frame-hdr, which gcc's own passes:
# without PT_GNU_EH_FRAME no unwinder finds a module's .eh_frame (here for
# the programs linked with their compile flags, TARGET_LDFLAGS for the rest).
MUSL_CFLAGS := -isystem $(MUSL_PREFIX)/include -Wl,--eh-frame-hdr
MEMTRACE_LDFLAGS := -static
endif
# 32-bit ARM code has no frame records libunwind can follow: it needs the
# .ARM.exidx tables, in the agent's own frames and in the victims'.
ARCH_CFLAGS_arm := -funwind-tables
# Debian's MIPS gcc emits no unwind tables by default, and MIPS code has no
# frame record to follow: every target part is built with .eh_frame.
ARCH_CFLAGS_mips := -funwind-tables -fasynchronous-unwind-tables
ARCH_CFLAGS := $(ARCH_CFLAGS_$(ARCH))

# Libraries through pkg-config; a missing one names the Debian package.
# Checked when parsing for the goals that build here; check, demo, bench and
# cross install what is missing first and build in a sub-make, which checks.
PKGS_TARGET := libunwind:libunwind-dev libelf:libelf-dev libcjson:libcjson-dev zlib:zlib1g-dev
NOCHECK_GOALS := deps deps-cross deps-arm deps-musl deps-mips cross arm-bins musl musl-bins mips-bins check check-arm check-musl check-mips demo bench clean help
ifneq ($(MUSL),)
pkg_fix = not in $(MUSL_PREFIX): run 'make musl' or scripts/musl-libs.sh $(MUSL_TRIPLET)
else ifeq ($(CROSS_BUILD),)
pkg_fix = run 'make deps' or apt-get install $(1)
else ifeq ($(SYSROOT),$(if $(DEBARCH),$(MEMTRACE_CACHE)/sysroot-$(DEBARCH),-))
pkg_fix = not in $(SYSROOT): run 'make deps-cross' or scripts/sysroot.sh $(DEBARCH)
else ifneq ($(SYSROOT),)
pkg_fix = not in SYSROOT '$(SYSROOT)': unpack $(1) of $(TRIPLET) there$(or_default)
else
pkg_fix = SYSROOT is empty: apt-get install $(1):$(or $(DEBARCH),ARCH) (multiarch)$(or_default)
endif
or_default = $(if $(DEBARCH),$(comma) or leave SYSROOT unset for the one 'make deps-cross' makes)
comma := ,
ifneq ($(filter-out $(NOCHECK_GOALS),$(or $(MAKECMDGOALS),all)),)
ifeq ($(TRIPLET),)
$(error $(CC) does not run: $(if $(CROSS_COMPILE),run 'make deps-cross' for the cross compilers,run 'make deps'))
endif
$(foreach p,$(PKGS_TARGET),$(if $(shell $(PKG_CONFIG_ENV) $(PKG_CONFIG) --exists $(word 1,$(subst :, ,$(p))) && echo y),,\
  $(error $(word 1,$(subst :, ,$(p))) not found by pkg-config$(if $(CROSS_BUILD), for $(TRIPLET)): $(call pkg_fix,$(word 2,$(subst :, ,$(p)))))))
endif
pc_cflags = $(shell $(PKG_CONFIG_ENV) $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pc_libs = $(shell $(PKG_CONFIG_ENV) $(PKG_CONFIG) --libs $(1) 2>/dev/null)

# ---------------------------------------------------------------- sources
# Per-architecture agent code (agent/arch/arm/atomic64.c). The table-driven
# stack walk (agent/table_walk.h) is the architecture's own where its
# agent/arch/ARCH/table_walk_arch.h brings one (32-bit ARM: libgcc's EHABI
# unwinder), else libunwind's; the agent links libunwind only for the latter.
ARCH_OWN_TABLE_WALK := $(shell grep -qs table_walk_libunwind.h agent/arch/$(ARCH)/table_walk_arch.h || echo yes)
ARCH_AGENT_SRCS := $(wildcard agent/arch/$(ARCH)/*.c)
COMMON_SRCS := common/proto.c common/proto_msg.c common/log.c common/net.c
AGENT_SRCS := agent/hooks.c agent/hooks_cxx.c agent/real.c agent/arena.c agent/blocks.c \
	agent/contexts.c agent/unwind.c agent/unwinders.c agent/unwind_fp.c agent/unwind_libunwind.c \
	agent/unwind_tables.c agent/findobj.c agent/cfi_compile.c agent/cfi_merge.c agent/unwind_cmds.c agent/stackmap.c \
	agent/control.c agent/replies.c agent/commands.c agent/jsonw.c agent/jsonr.c agent/report.c agent/entry.c agent/startmode.c agent/lifecycle.c agent/exit.c agent/state.c \
	agent/modules.c agent/dynelf.c agent/got.c agent/loaderlock.c agent/hold.c agent/snapshot.c agent/gdb.c agent/glibc_heap.c common/proto.c \
	$(ARCH_AGENT_SRCS)
# When the tables may be given back (detach).
AGENT_SRCS += agent/quiesce.c agent/tables.c
# memtrace, by part (inject/'s folders; docs/architecture.md, "Layout").
INJECTOR_SRCS := inject/injector/inject.c inject/injector/loader.c inject/injector/ptrace.c \
	inject/injector/remote.c inject/injector/regs.c inject/injector/arch/$(ARCH)/regs.c \
	inject/injector/safepoint.c inject/injector/stackwalk.c inject/injector/seccomp.c
CONSOLE_SRCS := inject/console/console.c inject/console/console_core.c inject/console/console_hold.c \
	inject/console/console_gdb.c inject/console/console_server.c inject/console/console_leaks.c inject/console/console_util.c \
	inject/console/console_trend.c common/trend.c common/reportx.c common/pprof.c \
	inject/console/lineedit.c
# The leak scan: memtrace stops the process and judges it (common/ judges a core alike).
LEAKS_SRCS := inject/leaks/scan.c common/leakjudge.c common/leaksdoc.c common/leaks.c common/glibcheap.c common/anchortab.c
INJECT_SRCS := inject/main.c inject/loop.c inject/start.c inject/attach.c inject/exitleaks.c inject/spawn.c \
	inject/session.c inject/outfile.c inject/ns.c inject/reach.c \
	$(INJECTOR_SRCS) $(CONSOLE_SRCS) $(LEAKS_SRCS) inject/link/srvlink.c inject/link/discover.c inject/link/hostrows.c inject/core/coredump.c \
	common/report.c common/elfsym.c common/util.c $(COMMON_SRCS)

# An architecture with its own table walk (32-bit ARM: libgcc's, which
# agent/arch/arm/table_walk_arch.h says why) takes no libunwind; libunwind's
# headers would hide gcc's unwind.h there.
AGENT_UNWIND_CFLAGS := $(if $(ARCH_OWN_TABLE_WALK),,$(call pc_cflags,libunwind))
AGENT_UNWIND_LIBS := $(if $(ARCH_OWN_TABLE_WALK),-lgcc_s,$(call pc_libs,libunwind))
# The agent's thread-local variables: initial-exec under glibc, whose
# __tls_get_addr may allocate (inside a malloc hook). musl refuses that
# model in a library it dlopens (attach), and its dynamic TLS is allocated
# for every thread by dlopen itself: __tls_get_addr there is a lookup.
AGENT_TLS := $(if $(MUSL),,-ftls-model=initial-exec)
AGENT_CFLAGS := $(BASE_CFLAGS) -fPIC -fvisibility=hidden $(AGENT_TLS) \
	-fno-stack-protector -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc \
	-fno-builtin-realloc -Iagent -Iagent/arch/$(ARCH) $(AGENT_UNWIND_CFLAGS) $(ARCH_CFLAGS) $(CFLAGS)

# libgcc_s also for the C++ operators' hooks, which an exception may leave
# (agent/hooks_cxx.c, built with -fexceptions): the personality routine and
# _Unwind_Resume. Named first, so that where the agent brings it into a
# process its unwinder comes before libunwind's _Unwind_* functions.
AGENT_LIBS := -lgcc_s $(filter-out -lgcc_s,$(AGENT_UNWIND_LIBS)) -lpthread $(TARGET_LDFLAGS)
# musl-gcc links libgcc's unwinder (libgcc_eh.a) into every program and
# library it links: no libgcc_s.so there.
ifneq ($(MUSL),)
AGENT_LIBS := $(filter-out -lgcc_s,$(AGENT_LIBS))
endif
INJECT_CFLAGS := $(BASE_CFLAGS) -Iinject -Iagent -Iagent/arch/$(ARCH) $(call pc_cflags,libelf libcjson zlib libunwind-ptrace) $(CFLAGS)
INJECT_LIBS := $(call pc_libs,libelf libcjson zlib libunwind-ptrace) $(TARGET_LDFLAGS)
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined

AGENT := $(BUILD)/libmemtrace-agent.so
TARGET_STAMP := $(BUILD)/.target
MEMTRACE := $(BUILD)/memtrace
MEMTRACE_ASAN := $(BUILD)/asan/memtrace

VICTIM_C := $(filter-out tests/victims/plugin_%.c tests/victims/linked_%.c,$(wildcard tests/victims/*.c))
VICTIM_CXX := $(if $(MUSL),,$(wildcard tests/victims/*.cc))
VICTIMS := $(patsubst tests/victims/%.c,$(BUILD)/tests/victims/%,$(VICTIM_C)) \
	$(patsubst tests/victims/%.c,$(BUILD)/tests/victims/lib%.so,$(wildcard tests/victims/plugin_*.c)) \
	$(patsubst tests/victims/%.c,$(BUILD)/tests/victims/lib%.so,$(wildcard tests/victims/linked_*.c)) \
	$(patsubst tests/victims/%.cc,$(BUILD)/tests/victims/%,$(VICTIM_CXX))
VICTIM_CFLAGS = $(MUSL_CFLAGS) -std=gnu11 -O1 -g -fno-omit-frame-pointer -fno-inline -fno-optimize-sibling-calls \
	-D_GNU_SOURCE -pthread -Wall $(ARCH_CFLAGS)
# Victims named attach_*.c are also built as variants: non-PIE, full RELRO
# (-z now), -fno-plt and no RELRO, to attach to every way a GOT can look.
ATTACH_VICTIMS := $(patsubst tests/victims/%.c,%,$(wildcard tests/victims/attach_*.c))
VARIANT_FLAGS_nopie := -fno-pie -no-pie
VARIANT_FLAGS_now := -Wl,-z,relro,-z,now
VARIANT_FLAGS_noplt := -fno-plt -Wl,-z,relro,-z,now
VARIANT_FLAGS_norelro := -Wl,-z,norelro
VARIANTS := nopie now noplt norelro
VICTIMS += $(foreach v,$(ATTACH_VICTIMS),$(foreach x,$(VARIANTS),$(BUILD)/tests/victims/$(v)-$(x)))
# The C++ operators through GLOB_DAT slots under full RELRO.
VICTIMS += $(if $(MUSL),,$(BUILD)/tests/victims/attach_cxx_ops-noplt)
# The unwinders' call shapes as compilers make them: at -O0, -O2 and -Os, with
# and without frame pointers, inlining and sibling calls allowed (t-unwind-tables).
SHAPES_FLAGS_O0 := -O0 -fno-omit-frame-pointer
SHAPES_FLAGS_O2 := -O2 -fno-omit-frame-pointer
SHAPES_FLAGS_O2-nofp := -O2 -fomit-frame-pointer
SHAPES_FLAGS_Os-nofp := -Os -fomit-frame-pointer
SHAPES_VICTIMS := $(foreach v,O0 O2 O2-nofp Os-nofp,$(BUILD)/tests/victims/unwind_shapes-$(v))
# Code without unwind tables or frame pointers, only -g's .debug_frame (t-unwind-host).
$(BUILD)/tests/victims/nounwind: VICTIM_CFLAGS += -fno-asynchronous-unwind-tables -fno-unwind-tables -fomit-frame-pointer
VICTIMS += $(if $(MUSL),,$(SHAPES_VICTIMS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNITS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
# What test_inject injects and attaches to, built for the target here so the
# ARM VMs need no compiler.
UNITS += $(addprefix $(BUILD)/tests/unit/inject/,libtestagent.so libundef.so static_victim)
# The GDB/MI tests are host side (gdb runs on the host): not in cross builds.
ifneq ($(CROSS_BUILD),)
UNITS := $(filter-out $(BUILD)/tests/unit/test_mi_%,$(UNITS))
endif
# glibc's heap, walked from outside: not in a musl process.
ifneq ($(MUSL),)
UNITS := $(filter-out $(BUILD)/tests/unit/test_glibcheap,$(UNITS))
endif
# The agent tests' scripted client (tests/tools/agentpeer.c): it runs where
# the agent does, so it is built for the target, as the victims are.
AGENTPEER := $(BUILD)/tests/tools/agentpeer
BENCH_SRCS := $(wildcard bench/*.c)
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

.PHONY: all test-bins target-bins deps deps-cross deps-arm deps-musl deps-mips cross arm-bins musl musl-bins mips-bins check-musl check-arm check-mips check check-unit check-integration demo bench install clean help
all: $(MEMTRACE) $(AGENT)
test-bins: all $(MEMTRACE_ASAN) $(VICTIMS) $(UNITS) $(AGENTPEER) $(BENCHES)
# What the ARM VMs run (tests/arm/vm.sh): no AddressSanitizer build there.
target-bins: all $(VICTIMS) $(UNITS) $(AGENTPEER)

# ---------------------------------------------------------------- rules
# Every object and program lists its source and its dependency file (X.o:
# X.d, program P: P.d); the headers come from that file (DEPFLAGS). A
# missing one (a fresh tree, or objects older than this rule) rebuilds its
# target, which writes it. In a pattern rule the file is named through
# dep_file, by second expansion: a .d named by a pattern alone would be an
# "intermediate" file to make 4.3, whose absence rebuilds nothing (a stale
# program then passed its tests). An explicit rule names its .d itself;
# the empty rule below stands for a missing one.
#
# A program compiled and linked from several sources in one command cannot
# use -MMD: each compile writes the same P.d and the last one wins. Its
# recipe starts with $(call prog_deps,COMPILER AND FLAGS,SOURCES), which
# writes P.d from a preprocessor pass over them all (before the link, so
# P.d is older than P), with an empty rule for each source too: a source
# moved elsewhere then does not stop the build either.
prog_deps = mkdir -p $(dir $@) && $(1) -MM -MP -MT $@ $(2) >$@.d.tmp && \
	printf '%s:\n' $(2) >>$@.d.tmp && mv $@.d.tmp $@.d
# The same for a program from one source: the compiler writes P.d itself.
PROG_DEPFLAGS = $(DEPFLAGS) -MF $@.d -MT $@
%.d: ;
.PRECIOUS: %.d
.SECONDEXPANSION:
dep_file = $(if $(wildcard $(1)),,missing-dep-file)
.PHONY: missing-dep-file
missing-dep-file: ;

include mi/mi.mk
include server/server.mk
$(BUILD)/agent/%.o: %.c $$(call dep_file,$$(basename $$@).d) $(TARGET_STAMP) | $(BUILD)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) $(AGENT_CFLAGS) $(AGENT_CFLAGS_$(notdir $*)) $(DEPFLAGS) -c $< -o $@
# The C++ operators' hooks put the recursion guard back while an exception
# thrown by the real operator passes through them.
AGENT_CFLAGS_hooks_cxx := -fexceptions
$(BUILD)/inject/%.o: %.c $$(call dep_file,$$(basename $$@).d) $(TARGET_STAMP) | $(BUILD)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) $(INJECT_CFLAGS) $(INJECT_CFLAGS_$*) $(DEPFLAGS) -c $< -o $@
$(BUILD)/asan/%.o: %.c $$(call dep_file,$$(basename $$@).d) $(TARGET_STAMP) | $(BUILD)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) $(INJECT_CFLAGS) $(INJECT_CFLAGS_$*) $(ASAN_FLAGS) $(DEPFLAGS) -c $< -o $@
# Where memtrace looks for the agent last (inject/spawn.c): the install
# dir. Its object is rebuilt when LIBDIR changes ($(LIBDIR_STAMP)).
INJECT_CFLAGS_inject/spawn := -DMEMTRACE_LIBDIR='"$(LIBDIR)/memtrace"'
LIBDIR_STAMP := $(BUILD)/.libdir
$(BUILD)/inject/inject/spawn.o $(BUILD)/asan/inject/spawn.o: $(LIBDIR_STAMP)

$(AGENT): $(patsubst %.c,$(BUILD)/agent/%.o,$(AGENT_SRCS)) agent/agent.map
	$(echo_cmd) LD $@
	$(Q)$(CC) -shared -Wl,--version-script=agent/agent.map -Wl,-z,now -Wl,-z,relro \
		-o $@ $(filter %.o,$^) $(AGENT_LIBS) $(LDFLAGS)
$(MEMTRACE): $(patsubst %.c,$(BUILD)/inject/%.o,$(INJECT_SRCS))
	$(echo_cmd) LD $@
	$(Q)$(CC) $(MEMTRACE_LDFLAGS) -o $@ $^ $(INJECT_LIBS) $(LDFLAGS)
$(MEMTRACE_ASAN): $(patsubst %.c,$(BUILD)/asan/%.o,$(INJECT_SRCS)) $(AGENT)
	$(echo_cmd) LD $@
	$(Q)$(CC) $(ASAN_FLAGS) -o $@ $(filter %.o,$^) $(INJECT_LIBS) $(LDFLAGS)
	$(Q)ln -sf ../libmemtrace-agent.so $(BUILD)/asan/libmemtrace-agent.so

$(BUILD)/tests/victims/%: tests/victims/%.c $$(call dep_file,$$@.d) $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) $(VICTIM_CFLAGS) $(PROG_DEPFLAGS) $(if $(filter static_%,$*),-static) \
		-o $@ $< $(VICTIM_LIBS) -ldl
define variant_rule
$(BUILD)/tests/victims/%-$(1): tests/victims/%.c $$$$(call dep_file,$$$$@.d) $(TARGET_STAMP)
	$$(echo_cmd) CC $$@
	$$(Q)mkdir -p $$(dir $$@) && $$(CC) $$(VICTIM_CFLAGS) $$(PROG_DEPFLAGS) $$(VARIANT_FLAGS_$(1)) -o $$@ $$< -ldl
endef
$(foreach x,$(VARIANTS),$(eval $(call variant_rule,$(x))))
# Libraries victims are linked with, not dlopen'ed (tests/victims/linked_*.c,
# built by the rule below), found through the victim's $ORIGIN RUNPATH.
$(BUILD)/tests/victims/ctor_leak: $(BUILD)/tests/victims/liblinked_ctor.so
$(BUILD)/tests/victims/ctor_leak: VICTIM_LIBS := -L$(BUILD)/tests/victims -llinked_ctor -Wl,-rpath,'$$ORIGIN'
$(BUILD)/tests/victims/ctor_spawn: $(BUILD)/tests/victims/liblinked_spawn.so
$(BUILD)/tests/victims/ctor_spawn: VICTIM_LIBS := -L$(BUILD)/tests/victims -llinked_spawn -Wl,-rpath,'$$ORIGIN'
# Plugins dlopen'ed by victims (tests/victims/plugin_*.c) and linked libraries -> lib*.so
$(BUILD)/tests/victims/lib%.so: tests/victims/%.c $$(call dep_file,$$@.d) $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) $(VICTIM_CFLAGS) $(PROG_DEPFLAGS) -fPIC -shared -o $@ $<
$(BUILD)/tests/victims/%: tests/victims/%.cc $$(call dep_file,$$@.d) $(TARGET_STAMP)
	$(echo_cmd) CXX $@
	$(Q)mkdir -p $(dir $@) && $(CROSS_COMPILE)g++ $(filter-out -std=gnu11,$(VICTIM_CFLAGS)) $(PROG_DEPFLAGS) -o $@ $<
$(SHAPES_VICTIMS): $(BUILD)/tests/victims/unwind_shapes-%: tests/victims/unwind_shapes.cc $$(call dep_file,$$@.d) $(TARGET_STAMP)
	$(echo_cmd) CXX $@
	$(Q)mkdir -p $(dir $@) && $(CROSS_COMPILE)g++ -g -D_GNU_SOURCE -pthread -Wall $(ARCH_CFLAGS) $(SHAPES_FLAGS_$*) \
		$(PROG_DEPFLAGS) -o $@ $<
$(BUILD)/tests/victims/%-noplt: tests/victims/%.cc $$(call dep_file,$$@.d) $(TARGET_STAMP)
	$(echo_cmd) CXX $@
	$(Q)mkdir -p $(dir $@) && $(CROSS_COMPILE)g++ $(filter-out -std=gnu11,$(VICTIM_CFLAGS)) $(PROG_DEPFLAGS) \
		$(VARIANT_FLAGS_noplt) -o $@ $<
$(BUILD)/bench/%: bench/%.c $$(call dep_file,$$@.d) $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) $(MUSL_CFLAGS) -std=gnu11 -O2 -g -fno-omit-frame-pointer -pthread -Wall -Icommon $(PROG_DEPFLAGS) -o $@ $<

# The leak engine's benchmark links the engine: make bench-leaks (bench/README.md).
$(BUILD)/bench/leaks_engine: bench/leaks_engine.c $(BUILD)/bench/leaks_engine.d $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)$(call prog_deps,$(CC) $(BASE_CFLAGS) -O2,bench/leaks_engine.c common/leaks.c)
	$(Q)$(CC) $(BASE_CFLAGS) -O2 -o $@ bench/leaks_engine.c common/leaks.c
.PHONY: bench-leaks
bench-leaks: $(BUILD)/bench/leaks_engine
	$(Q)$(BUILD)/bench/leaks_engine
	$(Q)$(BUILD)/bench/leaks_engine -V

# Unit tests are host code: built with AddressSanitizer and UBSan, except the ones
# that exercise agent code, which runs inside targets without sanitizers.
UNIT_test_proto := common/proto.c common/proto_msg.c common/log.c
UNIT_test_jsonr := agent/jsonr.c agent/jsonw.c agent/arena.c
UNIT_test_tables := agent/arena.c agent/blocks.c agent/contexts.c $(filter-out %/cfi_exidx.c,$(ARCH_AGENT_SRCS))
UNIT_test_quiesce := agent/quiesce.c
UNIT_test_unwind := agent/real.c agent/unwind.c agent/unwinders.c agent/unwind_fp.c agent/unwind_libunwind.c agent/loaderlock.c agent/dynelf.c agent/arena.c agent/modules.c \
	agent/unwind_tables.c agent/findobj.c agent/cfi_compile.c agent/cfi_merge.c agent/stackmap.c agent/quiesce.c $(ARCH_AGENT_SRCS)
UNIT_test_unwind_tables := $(UNIT_test_unwind)
UNIT_test_lineedit := inject/console/lineedit.c
UNIT_test_glibcheap := common/glibcheap.c agent/glibc_heap.c agent/dynelf.c agent/quiesce.c
UNIT_test_elfsym := common/elfsym.c common/util.c common/log.c
UNIT_test_inject := $(INJECTOR_SRCS) common/util.c common/log.c
UNIT_test_seccomp := $(INJECTOR_SRCS) common/util.c common/log.c
UNIT_test_safepoint := $(INJECTOR_SRCS) common/util.c common/log.c
UNIT_test_leaks := common/leaks.c
UNIT_test_trend := common/trend.c
UNIT_LIBS_test_trend := -lm
# The injector walks stacks with libunwind-ptrace; on 32-bit ARM its headers
# must stay away from the agent's units (see AGENT_UNWIND_CFLAGS).
UNIT_CFLAGS_test_inject := $(call pc_cflags,libunwind-ptrace)
UNIT_LIBS_test_inject := $(call pc_libs,libunwind-ptrace)
UNIT_CFLAGS_test_seccomp := $(UNIT_CFLAGS_test_inject)
UNIT_LIBS_test_seccomp := $(UNIT_LIBS_test_inject)
UNIT_CFLAGS_test_safepoint := $(UNIT_CFLAGS_test_inject)
UNIT_LIBS_test_safepoint := $(UNIT_LIBS_test_inject)
ifeq ($(CROSS_BUILD),)
UNIT_SAN_test_proto := $(ASAN_FLAGS)
UNIT_SAN_test_lineedit := $(ASAN_FLAGS)
UNIT_SAN_test_elfsym := $(ASAN_FLAGS)
UNIT_SAN_test_jsonr := $(ASAN_FLAGS)
UNIT_SAN_test_leaks := $(ASAN_FLAGS)
UNIT_SAN_test_trend := $(ASAN_FLAGS)
endif
UNIT_CC = $(CC) $(BASE_CFLAGS) -O1 $(ARCH_CFLAGS) -Iagent -Iagent/arch/$(ARCH) -Iinject \
	$(AGENT_UNWIND_CFLAGS) $(UNIT_CFLAGS_$*) $(call pc_cflags,libelf libcjson) $(UNIT_SAN_$*)
$(BUILD)/tests/unit/%: tests/unit/%.c $$(call dep_file,$$@.d) $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)$(call prog_deps,$(UNIT_CC),$< $(UNIT_$*))
	$(Q)$(UNIT_CC) -o $@ $< $(UNIT_$*) $(UNIT_LIBS_$*) $(AGENT_UNWIND_LIBS) $(call pc_libs,libelf libcjson) \
		-lpthread $(TARGET_LDFLAGS)

AGENTPEER_CC = $(CC) $(BASE_CFLAGS) -O1 $(ARCH_CFLAGS) -Icommon
$(AGENTPEER): tests/tools/agentpeer.c $(AGENTPEER).d $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)$(call prog_deps,$(AGENTPEER_CC),tests/tools/agentpeer.c common/proto.c)
	$(Q)$(AGENTPEER_CC) -o $@ tests/tools/agentpeer.c common/proto.c $(TARGET_LDFLAGS)

$(BUILD)/tests/unit/inject/lib%.so: tests/unit/inject/%.c $$(call dep_file,$$@.d) $(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) -shared -fPIC -O1 $(ARCH_CFLAGS) $(PROG_DEPFLAGS) -o $@ $< -lm
$(BUILD)/tests/unit/inject/static_victim: tests/unit/inject/static_victim.c $(BUILD)/tests/unit/inject/static_victim.d \
		$(TARGET_STAMP)
	$(echo_cmd) CC $@
	$(Q)mkdir -p $(dir $@) && $(CC) -static -O1 $(PROG_DEPFLAGS) -o $@ $<

$(BUILD):
	$(Q)mkdir -p $@

# The compiler's target, kept in $(BUILD)/.target and rewritten only when it
# changes: a build dir that held objects of another architecture is rebuilt
# whole instead of linking them. The same for LIBDIR, compiled into memtrace
# (inject/spawn.c). A new stamp is dated 1970 so that it alone does not
# rebuild a dir made before it existed. Both are brought up to date when the
# Makefile is read, for the goals that build here, not by a rule that always
# runs: `make -n` then lists only what an edit rebuilds. The rules make a
# stamp that is missing all the same (make clean all).
update_stamp = if [ ! -f $(1) ]; then echo '$(2)' >$(1) && touch -d @0 $(1); \
	elif ! echo '$(2)' | cmp -s - $(1); then echo '$(2)' >$(1); fi
ifneq ($(filter-out $(NOCHECK_GOALS),$(or $(MAKECMDGOALS),all)),)
$(shell mkdir -p $(BUILD) && { $(call update_stamp,$(TARGET_STAMP),$(TRIPLET)); } && \
	{ $(call update_stamp,$(LIBDIR_STAMP),$(LIBDIR)); })
endif
$(TARGET_STAMP): | $(BUILD)
	$(Q)$(call update_stamp,$@,$(TRIPLET))
$(LIBDIR_STAMP): | $(BUILD)
	$(Q)$(call update_stamp,$@,$(LIBDIR))

# ---------------------------------------------------------------- entry points
# Installing is the deps targets' alone (scripts/deps.sh, apt-get through
# sudo); demo, bench, cross, arm-bins and check run them first. NO_INSTALL=1
# makes them check instead: name what is missing and stop. check installs
# once, first, then runs every later step with NO_INSTALL=1.
DEPS_SH := scripts/deps.sh$(if $(filter 1,$(NO_INSTALL)), --check)
deps:
	$(Q)$(DEPS_SH)

deps-cross:
	$(Q)$(DEPS_SH) --cross $(foreach t,$(CROSS_TRIPLETS),$(DEBARCH_$(t)))

# Target parts for each of CROSS_TRIPLETS, each in its own build dir.
CROSS_TRIPLETS ?= aarch64-linux-gnu arm-linux-gnueabihf arm-linux-gnueabi
cross: deps-cross
	$(Q)$(foreach t,$(CROSS_TRIPLETS),$(MAKE) all CROSS_COMPILE=$(t)- CC=$(t)-gcc AR=$(t)-ar \
		BUILD=$(BUILD)/$(t) &&) :

# The ARM test VMs (tests/arm/vm.sh) run the cross builds' target-bins.
ARM_DEBARCHS := $(foreach t,$(CROSS_TRIPLETS),$(DEBARCH_$(t)))
deps-arm:
	$(Q)$(DEPS_SH) --arm $(ARM_DEBARCHS)
# Each cross build uses every core (ARM_JOBS): they are most of check-arm's time.
ARM_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
arm-bins: deps-arm
	$(Q)$(foreach t,$(CROSS_TRIPLETS),$(MAKE) -j$(ARM_JOBS) target-bins CROSS_COMPILE=$(t)- CC=$(t)-gcc AR=$(t)-ar \
		BUILD=$(BUILD)/$(t) &&) :
check-arm: arm-bins
	$(Q)BUILD=$(BUILD) tests/arm/run.sh $(ARM_DEBARCHS)

# MIPS: mipsel (o32) cross builds, run in Debian's malta kernel under qemu
# by tests/mips/run.sh (the ARM VMs' tests/arm/vm.sh). mips64el-linux-gnuabi64
# (n64) builds and boots too, but memtrace refuses to run there yet
# (docs/architecture.md, "MIPS"): not in the default list.
MIPS_TRIPLETS ?= mipsel-linux-gnu
MIPS_DEBARCHS := $(foreach t,$(MIPS_TRIPLETS),$(DEBARCH_$(t)))
deps-mips:
	$(Q)$(DEPS_SH) --mips $(MIPS_DEBARCHS)
mips-bins: deps-mips
	$(Q)$(foreach t,$(MIPS_TRIPLETS),$(MAKE) -j$(ARM_JOBS) target-bins CROSS_COMPILE=$(t)- CC=$(t)-gcc AR=$(t)-ar \
		BUILD=$(BUILD)/$(t) &&) :
check-mips: mips-bins
	$(Q)$(MAKE) NO_INSTALL=1 all
	$(Q)BUILD=$(BUILD) tests/mips/run.sh $(MIPS_DEBARCHS)

# musl: the device side for x86_64 musl in $(MUSL_BUILD) (the MUSL section
# above); musl-bins adds what tests/musl/run.sh runs there.
MUSL_CC ?= musl-gcc
MUSL_BUILD := $(BUILD)/x86_64-linux-musl
deps-musl:
	$(Q)$(DEPS_SH) --musl
musl: deps-musl
	$(Q)$(MAKE) all CC=$(MUSL_CC) BUILD=$(MUSL_BUILD)
musl-bins: deps-musl
	$(Q)$(MAKE) -j$(ARM_JOBS) target-bins CC=$(MUSL_CC) BUILD=$(MUSL_BUILD)
check-musl: musl-bins
	$(Q)$(MAKE) NO_INSTALL=1 all $(BUILD)/tests/tools/linkpeer
	$(Q)BUILD=$(BUILD) tests/musl/run.sh

# What check needs is installed first (make deps, deps-arm or deps-cross,
# and deps-musl); the later steps install nothing (NO_INSTALL=1). The cross
# and musl builds run before the tests, quietly (their log is shown only
# when one fails), then a short fuzzing of the GDB/MI parser; tests/check.sh
# then runs the host suite, the musl suite (CHECK_MUSL=0: not it) and the
# ARM VMs (CHECK_ARM=0: not the VMs) and ends with the sum of their summaries.
CHECK_ARM ?= 1
CHECK_MUSL ?= 1
CHECK_MIPS ?= 1
check:
	$(Q)$(MAKE) deps $(if $(filter 1,$(CHECK_ARM)),deps-arm,deps-cross) $(if $(filter 1,$(CHECK_MUSL)),deps-musl) \
		$(if $(filter 1,$(CHECK_MIPS)),deps-mips)
	$(Q)$(MAKE) NO_INSTALL=1 test-bins
	$(Q)t0=$$(date +%s); $(MAKE) NO_INSTALL=1 $(if $(filter 1,$(CHECK_ARM)),arm-bins,cross) \
		$(if $(filter 1,$(CHECK_MUSL)),musl-bins) $(if $(filter 1,$(CHECK_MIPS)),mips-bins) >$(BUILD)/cross.log 2>&1 || \
		{ cat $(BUILD)/cross.log; exit 1; }; \
		echo "  CROSS    $(CROSS_TRIPLETS)$(if $(filter 1,$(CHECK_MUSL)), x86_64-linux-musl)$(if $(filter 1,$(CHECK_MIPS)), $(MIPS_TRIPLETS)): built in $$(($$(date +%s) - t0)) s"
	$(Q)$(MAKE) NO_INSTALL=1 check-mi-fuzz
	$(Q)$(MAKE) NO_INSTALL=1 check-server-fuzz
	$(Q)BUILD=$(BUILD) CHECK_ARM=$(CHECK_ARM) CHECK_MUSL=$(CHECK_MUSL) CHECK_MIPS=$(CHECK_MIPS) ARM_DEBARCHS='$(ARM_DEBARCHS)' \
		MIPS_DEBARCHS='$(MIPS_DEBARCHS)' tests/check.sh

check-unit check-integration: test-bins
	$(Q)BUILD=$(BUILD) tests/run.sh $(subst check-,,$@)

demo:
	$(Q)$(DEPS_SH)
	$(Q)$(MAKE) all $(BUILD)/tests/victims/demo_leaky
	$(Q)scripts/demo.sh $(BUILD)

bench:
	$(Q)$(DEPS_SH) --bench
	$(Q)$(MAKE) all $(BENCHES)
	$(Q)BUILD=$(BUILD) bench/run.sh
	$(Q)BUILD=$(BUILD) bench/attach.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/memtrace
	install -m 0755 $(MEMTRACE) $(DESTDIR)$(PREFIX)/bin/memtrace
	install -m 0644 $(AGENT) $(DESTDIR)$(LIBDIR)/memtrace/libmemtrace-agent.so
	install -D -m 0644 gdbinit/memtrace.gdb $(DESTDIR)$(PREFIX)/share/memtrace/memtrace.gdb
	install -D -m 0644 man/memtrace.1 $(DESTDIR)$(PREFIX)/share/man/man1/memtrace.1

clean:
	rm -rf $(BUILD)

help:
	@sed -n '2,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

# The dependency files of this build dir's objects and programs (not those
# of the cross builds made inside it, build/TRIPLET/).
-include $(shell find $(BUILD) $(foreach t,$(CROSS_TRIPLETS),-path '$(BUILD)/$(t)' -prune -o) \
	-name '*.d' -print 2>/dev/null)
