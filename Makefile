# sandtrace: one Makefile, one fragment per component (<dir>/module.mk).
#
#   make            build the `sandtrace` binary, the libraries and the example guests
#   make test       build with -Werror and run every unit and integration test
#   make check      the same under -fsanitize=address,undefined (separate build dir)
#   make demo       build, then run/record/dump/replay a bundled guest
#   make bench      benchmarks (bench/), prints a table
#   make fuzz       bounded fuzzing runs (needs clang)
#   make deps       install the Debian packages the build needs (install-deps.sh)
#   make pypy-fixtures  unpack the real sandbox-2 PyPys (PYPY_ARCHIVES) into $(BUILD)/pypy
#   make install    PREFIX=/usr/local DESTDIR=
#
# Each module.mk appends to the variables below; see docs/hacking.md.

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
WERROR  ?=
SAN     ?=
VERSION := 0.1.0

PKGS      := libzstd libprotobuf-c libseccomp libxxhash libsodium sqlite3
TEST_PKGS := cmocka

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_CFLAGS_PKG := $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS_PKG   := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wvla -Wno-unused-parameter
ifneq ($(WERROR),)
WARN += -Werror
endif
ifneq ($(SAN),)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

# -I$(BUILD)/gen: generated protobuf-c sources live in the build dir, not in git.
CPPFLAGS_ALL := -D_GNU_SOURCE -I. -I$(BUILD)/gen -DSANDTRACE_VERSION='"$(VERSION)"' \
                -DST_BUILD_DIR='"$(abspath $(BUILD))"' -DST_SOURCE_DIR='"$(abspath .)"'
BASE_CFLAGS := -std=c11 -O2 -g $(WARN) $(CPPFLAGS_ALL)
ALL_CFLAGS  := $(BASE_CFLAGS) $(SANFLAGS) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS := $(SANFLAGS) $(LDFLAGS)
# Example guests are test fixtures run under seccomp: never sanitized (ASan's
# runtime makes system calls a jail must refuse), but always warning-clean.
GUEST_CFLAGS := $(BASE_CFLAGS) $(CFLAGS)

# Filled in by the module.mk fragments.
COMPONENTS :=          # static libraries, in link order (dependents first)
BIN_SRCS :=            # sources of the sandtrace binary
TEST_SRCS :=           # each tests/**/test_*.c is one cmocka test program
GUEST_PROGS :=         # example guest programs: $(BUILD)/guests/NAME
BENCH_PROGS :=
FUZZ_TARGETS :=
GEN_SRCS :=            # generated .c files (built into their component)
INSTALL_HEADERS :=

include common/module.mk format/module.mk controller/module.mk tracer/module.mk replayer/module.mk \
        guest/module.mk tools/module.mk tests/module.mk bench/module.mk examples/module.mk

objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(patsubst $(BUILD)/%,%,$(1)))
# Static libraries are linked dependents first, whatever order the fragments
# were included in.
LINK_ORDER := replayer tracer controller format guest common
COMPONENTS := $(filter $(COMPONENTS),$(LINK_ORDER))
LIBS := $(foreach c,$(COMPONENTS),$(BUILD)/lib/libsandtrace_$(c).a)
SANDTRACE := $(BUILD)/bin/sandtrace
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))

.PHONY: all test check demo bench fuzz deps install clean guests pypy-fixtures
.DEFAULT_GOAL := all
all: $(SANDTRACE) $(LIBS) guests $(BUILD)/sandtrace.pc
guests: $(GUEST_PROGS)

# Objects: one rule for hand-written and generated sources.
$(BUILD)/obj/%.o: %.c | $(GEN_SRCS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

define component_rules
$(BUILD)/lib/libsandtrace_$(1).a: $$(call objs,$$($(1)_SRCS))
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach c,$(COMPONENTS),$(eval $(call component_rules,$(c))))

$(SANDTRACE): $(call objs,$(BIN_SRCS)) $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $(call objs,$(BIN_SRCS)) $(LIBS) $(PKG_LIBS)

$(BUILD)/tests/%: tests/%.c $(LIBS) | $(GEN_SRCS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS_PKG) -MMD -MP -o $@ $< $(LIBS) $(PKG_LIBS) $(TEST_LIBS_PKG) $(ALL_LDFLAGS)

# The real sandbox-2 PyPy builds (../shared/pypy/README.md) are test fixtures,
# like data: unpacked into the build directory (which git ignores), never
# committed. An archive that is absent is said so, and the tests that need
# its build skip; one newer than its unpacked tree is unpacked again.
PYPY_ARCHIVES ?= ../shared/pypy
PYPY_FIXTURES := $(BUILD)/pypy
PYPY_BUILDS   := pypy2-sandbox pypy3-sandbox
PYPY_PRESENT  := $(foreach b,$(PYPY_BUILDS),$(if $(wildcard $(PYPY_ARCHIVES)/$(b).tar.zst),$(b)))
PYPY_ABSENT   := $(filter-out $(PYPY_PRESENT),$(PYPY_BUILDS))

pypy-fixtures: $(foreach b,$(PYPY_PRESENT),$(PYPY_FIXTURES)/$(b)/.unpacked)
	@for b in $(PYPY_ABSENT); do \
	  echo "pypy-fixtures: $(PYPY_ARCHIVES)/$$b.tar.zst is absent: the tests that need $$b will skip"; \
	done

$(PYPY_FIXTURES)/%/.unpacked: $(PYPY_ARCHIVES)/%.tar.zst
	@mkdir -p $(PYPY_FIXTURES)
	rm -rf $(PYPY_FIXTURES)/$*
	zstd -dc $< | tar -xf - -C $(PYPY_FIXTURES)
	@test -d $(PYPY_FIXTURES)/$*/lib-python || { echo "pypy-fixtures: $< has no $*/lib-python" >&2; exit 1; }
	@touch $@

# `make test` runs the real-PyPy tests, and `make bench` its real-PyPy
# rows, against every build unpacked above, unless PYPY_SANDBOX /
# PYPY3_SANDBOX are already set (to another build, or empty to skip them).
ifeq ($(origin PYPY_SANDBOX),undefined)
ifneq ($(filter pypy2-sandbox,$(PYPY_PRESENT)),)
test bench: export PYPY_SANDBOX := $(abspath $(PYPY_FIXTURES)/pypy2-sandbox/bin/pypy-c-sandbox)
endif
endif
ifeq ($(origin PYPY3_SANDBOX),undefined)
ifneq ($(filter pypy3-sandbox,$(PYPY_PRESENT)),)
test bench: export PYPY3_SANDBOX := $(abspath $(PYPY_FIXTURES)/pypy3-sandbox/bin/pypy3-c-sandbox)
endif
endif

# The bench is built (not run) by `make test` too, so that CI sees it compile.
test: all $(TEST_BINS) $(BENCH_PROGS) pypy-fixtures
	@tests/run_tests.sh $(BUILD) $(TEST_BINS)

# The sanitized build shares the unpacked PyPys rather than unpacking its own.
check:
	$(MAKE) BUILD=$(BUILD)/asan PYPY_FIXTURES=$(abspath $(PYPY_FIXTURES)) SAN=1 WERROR=1 test

demo: all
	@tests/demo.sh $(BUILD)

bench: all $(BENCH_PROGS) pypy-fixtures
	@bench/run_bench.sh $(BUILD)

fuzz:
	@tests/fuzz/run_fuzz.sh $(BUILD)/fuzz

deps:
	@sh install-deps.sh

$(BUILD)/sandtrace.pc: Makefile
	@mkdir -p $(@D)
	@printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: sandtrace\nDescription: controller, recorder and replayer for sandbox-2 guests\nVersion: %s\nRequires.private: %s\nLibs: -L$${libdir} %s\nCflags: -I$${includedir}/sandtrace\n' \
	  '$(PREFIX)' '$(VERSION)' '$(PKGS)' '$(foreach c,$(COMPONENTS),-lsandtrace_$(c))' > $@

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(SANDTRACE) $(DESTDIR)$(PREFIX)/bin/sandtrace
	install -m 0644 $(LIBS) $(DESTDIR)$(PREFIX)/lib/
	install -m 0644 $(BUILD)/sandtrace.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	for h in $(INSTALL_HEADERS); do install -D -m 0644 $$h $(DESTDIR)$(PREFIX)/include/sandtrace/$$h; done
	if [ -f docs/sandtrace.1 ]; then install -m 0644 docs/sandtrace.1 $(DESTDIR)$(PREFIX)/share/man/man1/; fi

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)
