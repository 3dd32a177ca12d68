# SPDX-License-Identifier: Apache-2.0
#
# Sources are found by directory: a new file in common/, conmon/, wrapper/
# or tests/unit/test_*.c is built without editing this file.

VERSION      := 0.1.0
# What `conmon --version` claims on its first line: podman parses it and
# wants >= 2.0.1; the wire behaviour we implement is that of 2.1.6.
CONMON_COMPAT := 2.2.1
GIT_COMMIT   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share
DESTDIR    ?=

CC      ?= cc
CFLAGS  ?= -O2 -g
BUILD   ?= build
# Where the binaries land: the default build puts them beside their sources.
CONMON_BIN ?= conmon/conmon
WRAP_BIN   ?= wrapper/ctr-wrap
# The monitor is installed as ctr-wrap/conmon; its page (docs/man/conmon.8) as
# ctr-wrap-conmon(8), since the conmon package owns conmon(8).
MONITOR_MAN := ctr-wrap-conmon.8

PKG_CONMON := glib-2.0
# libarchive is loaded when an image is unpacked (wrapper/archive_lib.c), not linked.
PKG_WRAP   := glib-2.0 yajl libseccomp libcap
PKG_ALL    := glib-2.0 libsystemd yajl libseccomp libcap libarchive

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral \
	-Wmissing-prototypes -Wstrict-prototypes -Wvla -Wno-missing-field-initializers
DEFS := -D_GNU_SOURCE -DVERSION='"$(VERSION)"' -DCONMON_COMPAT='"$(CONMON_COMPAT)"' \
	-DGIT_COMMIT='"$(GIT_COMMIT)"'
ALL_CFLAGS = -std=gnu11 $(WARN) $(DEFS) -I. -fstack-protector-strong \
	$(shell pkg-config --cflags $(PKG_ALL) 2>/dev/null) $(CFLAGS)

COMMON_SRC  := $(wildcard common/*.c)
CONMON_SRC  := $(filter-out conmon/main.c,$(wildcard conmon/*.c))
WRAP_SRC    := $(filter-out wrapper/main.c,$(wildcard wrapper/*.c))
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
HELPER_SRC  := $(wildcard tests/helpers/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
COMMON_LIB := $(BUILD)/libcommon.a
CONMON_LIB := $(BUILD)/libconmon.a
WRAP_LIB   := $(BUILD)/libwrap.a
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
HELPER_BINS := $(patsubst tests/helpers/%.c,$(BUILD)/tests/helpers/%,$(HELPER_SRC))

DEB_PACKAGES := build-essential pkg-config libglib2.0-dev libseccomp-dev libyajl-dev libarchive-dev \
	libsystemd-dev libcap-dev runc crun podman conmon busybox-static socat systemd \
	python3 iproute2 rpm valgrind hyperfine gnuplot-nox tmux strace catatonit zstd \
	clang libclang-rt-14-dev clang-format linux-perf

.PHONY: all deps check unit integration demo install uninstall dist rpm asan clean bench fuzz fuzz-build fuzz-replay \
	format check-format

all: $(CONMON_BIN) $(WRAP_BIN) $(UNIT_BINS) $(HELPER_BINS)

# Installs whatever Debian packages are missing; a no-op when all are there.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "make deps: missing Debian packages:$$missing; run 'make deps' as root" >&2; exit 1; \
		fi; \
		echo "make deps: installing$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing </dev/null; \
	fi

# Keep intermediate objects: no rebuilds, and no "rm ..." after the test summary.
.SECONDARY:

# `make V=1` shows the full commands.
Q := $(if $(V),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(COMMON_LIB): $(call obj,$(COMMON_SRC))
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(CONMON_LIB): $(call obj,$(CONMON_SRC))
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(WRAP_LIB): $(call obj,$(WRAP_SRC))
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(CONMON_BIN): $(call obj,conmon/main.c) $(CONMON_LIB) $(COMMON_LIB)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs $(PKG_CONMON))

$(WRAP_BIN): $(call obj,wrapper/main.c) $(WRAP_LIB) $(COMMON_LIB)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs $(PKG_WRAP))

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(CONMON_LIB) $(WRAP_LIB) $(COMMON_LIB)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs $(PKG_ALL))

# Programs the integration tests put into the container rootfs: static.
$(BUILD)/tests/helpers/%: tests/helpers/%.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -o $@ $<

TEST_ARGS ?=
check: deps check-format all fuzz-replay
	python3 tests/run.py --build $(BUILD) --conmon $(CONMON_BIN) --wrapper $(WRAP_BIN) \
		--reference /usr/bin/conmon --asan-conmon build-asan/conmon-asan --valgrind $(TEST_ARGS)

unit: all
	python3 tests/run.py --build $(BUILD) --only unit

demo: deps all
	@sh tests/demo.sh $(CURDIR)/$(CONMON_BIN) $(CURDIR)/$(WRAP_BIN)

ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
# The binaries must not be named like the object directories under build-asan/.
asan:
	$(MAKE) BUILD=build-asan CONMON_BIN=build-asan/conmon-asan WRAP_BIN=build-asan/ctr-wrap-asan \
		CFLAGS='$(ASAN_FLAGS)' LDFLAGS='-fsanitize=address,undefined' all

bench: deps all
	@# Serialized with the test suites: a benchmark on a busy machine measures the machine.
	flock /tmp/ctrwrap-check.lock python3 tests/bench/run.py --conmon $(CONMON_BIN) --reference /usr/bin/conmon

install: $(CONMON_BIN) $(WRAP_BIN)
	install -D -m 0755 $(CONMON_BIN) $(DESTDIR)$(LIBEXECDIR)/ctr-wrap/conmon
	install -D -m 0755 $(WRAP_BIN) $(DESTDIR)$(BINDIR)/ctr-wrap
	@if [ -f docs/man/ctr-wrap.1 ]; then install -D -m 0644 docs/man/ctr-wrap.1 $(DESTDIR)$(MANDIR)/man1/ctr-wrap.1; fi
	install -D -m 0644 docs/man/conmon.8 $(DESTDIR)$(MANDIR)/man8/$(MONITOR_MAN)
	@if [ -f docs/ctr-wrap.bash ]; then install -D -m 0644 docs/ctr-wrap.bash \
		$(DESTDIR)$(DATADIR)/bash-completion/completions/ctr-wrap; fi

uninstall:
	rm -f $(DESTDIR)$(LIBEXECDIR)/ctr-wrap/conmon $(DESTDIR)$(BINDIR)/ctr-wrap \
		$(DESTDIR)$(MANDIR)/man1/ctr-wrap.1 $(DESTDIR)$(MANDIR)/man8/$(MONITOR_MAN) \
		$(DESTDIR)$(DATADIR)/bash-completion/completions/ctr-wrap
	rmdir $(DESTDIR)$(LIBEXECDIR)/ctr-wrap 2>/dev/null || true

DIST_NAME := ctr-wrap-$(VERSION)
dist:
	@mkdir -p $(BUILD)
	git archive --format=tar.gz --prefix=$(DIST_NAME)/ -o $(BUILD)/$(DIST_NAME).tar.gz HEAD
	@echo $(BUILD)/$(DIST_NAME).tar.gz

rpm: dist
	@mkdir -p $(BUILD)/rpmbuild/SOURCES
	cp $(BUILD)/$(DIST_NAME).tar.gz $(BUILD)/rpmbuild/SOURCES/
	rpmbuild -bb --nodeps --define '_topdir $(CURDIR)/$(BUILD)/rpmbuild' \
		--define 'version $(VERSION)' --define 'git_commit $(GIT_COMMIT)' rpm/ctr-wrap.spec
	@find $(BUILD)/rpmbuild/RPMS -name '*.rpm'

clean:
	rm -rf build build-asan $(CONMON_BIN) $(WRAP_BIN)

# The C sources git knows, in .clang-format's style.
FORMAT_SRC = $(shell git ls-files 'common/*.[ch]' 'conmon/*.[ch]' 'wrapper/*.[ch]' 'tests/*.[ch]')
CLANG_FORMAT ?= clang-format

format:
	$(CLANG_FORMAT) -i $(FORMAT_SRC)

# Lists every file that `make format` would change and fails if there is one.
check-format:
	@bad=""; for f in $(FORMAT_SRC); do \
		$(CLANG_FORMAT) $$f | cmp -s $$f - || bad="$$bad $$f"; \
	done; \
	if [ -n "$$bad" ]; then echo "check-format: not formatted (run make format):$$bad" >&2; exit 1; fi

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---------------------------------------------------------------- fuzzing
# `make fuzz [FUZZ_SECONDS=60]`: every tests/fuzz/fuzz_X.c as a libFuzzer
# target (clang, ASan+UBSan, linking the project's sources compiled with
# clang), run for FUZZ_SECONDS each on build/fuzz/corpus-X seeded from
# tests/fuzz/seeds/X; fails on any crash (saved as build/fuzz/crash-X-*).
# `make fuzz-replay`: the same targets built with $(CC) and the ASan build's
# libraries, replaying seeds and saved regressions without libFuzzer (make check).
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_TARGETS := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SAN     := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS   = -std=gnu11 -Wall -Wextra -Wno-missing-field-initializers $(DEFS) -I. \
	$(shell pkg-config --cflags $(PKG_ALL) 2>/dev/null) $(FUZZ_SAN)
FUZZ_OBJS    := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(COMMON_SRC) $(CONMON_SRC) $(WRAP_SRC))
FUZZ_BINS    := $(addprefix $(FUZZ_DIR)/fuzz-,$(FUZZ_TARGETS))
FUZZ_REPLAY_LIBS := build-asan/libwrap.a build-asan/libconmon.a build-asan/libcommon.a
FUZZ_REPLAY_BINS := $(addprefix $(FUZZ_DIR)/standalone-,$(FUZZ_TARGETS))

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(V),,echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/libproject.a: $(FUZZ_OBJS)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz-%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/libproject.a
	@$(if $(V),,echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/libproject.a \
		$(shell pkg-config --libs $(PKG_ALL))

fuzz-build: $(FUZZ_BINS)

fuzz: deps fuzz-build
	$(Q)fail=""; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_DIR)/corpus-$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS)s"; \
		$(FUZZ_DIR)/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/crash-$$t- \
			$(FUZZ_DIR)/corpus-$$t tests/fuzz/seeds/$$t \
			$$(test -d tests/fuzz/regressions/$$t && echo tests/fuzz/regressions/$$t) \
			>$(FUZZ_DIR)/log-$$t.txt 2>&1 || fail="$$fail $$t"; \
		grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|SUMMARY)' \
			$(FUZZ_DIR)/log-$$t.txt | sed "s/^/  $$t: /"; \
	done; \
	if [ -n "$$fail" ]; then echo "fuzz: crashed:$$fail (see $(FUZZ_DIR)/log-*.txt)" >&2; exit 1; fi

$(FUZZ_DIR)/standalone-%: tests/fuzz/fuzz_%.c tests/fuzz/standalone.c tests/fuzz/fuzz.h $(FUZZ_REPLAY_LIBS)
	@mkdir -p $(@D)
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) -std=gnu11 $(WARN) $(DEFS) -I. $(shell pkg-config --cflags $(PKG_ALL) 2>/dev/null) $(ASAN_FLAGS) \
		-o $@ $< tests/fuzz/standalone.c $(FUZZ_REPLAY_LIBS) -fsanitize=address,undefined \
		$(shell pkg-config --libs $(PKG_ALL))

# The replay binaries need the ASan build's libraries: build those first.
fuzz-replay: asan
	$(Q)$(MAKE) --no-print-directory $(FUZZ_REPLAY_BINS)
