# mace - Measure the Added Container Expense
# Quiet by default; V=1 shows full commands.  Everything built goes to build/.

# The version is set in include/mace.h only.
VERSION := $(shell awk '/^\#define MACE_VERSION_(MAJOR|MINOR|PATCH) / { v = v s $$3; s = "." } \
	END { print v }' include/mace.h)
# The soname's number: raised whenever a program built against the previous
# release's mace.h would misbehave with this library.  1: the structs of 0.2
# begin with size_t sz (records, counters, summaries, overheads), where 0.1's
# began with their first field.
SOVERSION := 1
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
BINDIR ?= $(PREFIX)/bin
INCDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/mace

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

B := build
PKGS := libbpf libtracefs libtraceevent libelf zlib libcurl json-c
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CURSES_LIBS = $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw)
# mace serve's HTTP server
MHD_CFLAGS = $(shell pkg-config --cflags libmicrohttpd 2>/dev/null)
MHD_LIBS = $(shell pkg-config --libs libmicrohttpd 2>/dev/null || echo -lmicrohttpd)

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
# -MMD -MP: each object's headers go to a .d file beside it (included below),
# so touching any header rebuilds exactly its users.
ALL_CFLAGS = -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -Ilib -I$(B)/bpf $(PKG_CFLAGS) $(CFLAGS) \
	-MMD -MP

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-6s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SUFFIXES:
.PHONY: all lib cli examples tests check unit bench deps demo install uninstall clean fuzz stress man-lint \
	mutants

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(patsubst lib/%.c,$(B)/lib/%.o,$(LIB_SRCS)) $(B)/lib/paths_builtin.o
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(patsubst cli/%.c,$(B)/cli/%.o,$(CLI_SRCS))
EXAMPLES := $(patsubst examples/%.c,$(B)/examples/%,$(wildcard examples/*.c))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
# Programs the integration tests run (tests/integration/*.c).
ITESTS := $(patsubst tests/integration/%.c,$(B)/itests/%,$(wildcard tests/integration/*.c))
ASAN_TESTS := $(patsubst tests/unit/%.c,$(B)/asan/tests/%,$(wildcard tests/unit/test_*.c))
FUZZERS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
BENCHES := $(patsubst tests/bench/%.c,$(B)/bench/%,$(filter-out %.bpf.c,$(wildcard tests/bench/*.c))) \
	$(B)/bench/noop.bpf.o
# Programs of the experiments (tests/experiments/*.c): plain, no library.
EXPERIMENTS := $(patsubst tests/experiments/%.c,$(B)/experiments/%,$(wildcard tests/experiments/*.c))
PATH_FILES := $(wildcard paths/*.path)

SOLIB := $(B)/libmace.so.$(VERSION)
ALIB := $(B)/libmace.a

all: lib cli examples
lib: $(SOLIB) $(ALIB) $(B)/mace.pc
cli: $(B)/mace
examples: $(EXAMPLES)
tests: $(UNIT_TESTS) $(ASAN_TESTS) $(ITESTS) $(BENCHES) $(EXPERIMENTS) $(B)/asan/mace

# ---- BPF: clang -> bpftool gen object (link + strip) -> skeleton ----------
$(B)/bpf/mace.bpf.o: lib/bpf/mace.bpf.c | $(B)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ilib/bpf -MMD -MP -c $< -o $@
$(B)/bpf/mace.linked.o: $(B)/bpf/mace.bpf.o
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $<
$(B)/bpf/mace.skel.h: $(B)/bpf/mace.linked.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name mace_bpf > $@
$(B)/lib/bpf_backend.o $(B)/asan/lib/bpf_backend.o: $(B)/bpf/mace.skel.h

# ---- shipped paths are embedded in the library -----------------------------
$(B)/lib/paths_builtin.c: $(PATH_FILES) tools/embed-paths.sh | $(B)/lib
	$(call msg,GEN,$@)
	$(Q)sh tools/embed-paths.sh $(PATH_FILES) > $@

# ---- library --------------------------------------------------------------
$(B)/lib/%.o: lib/%.c | $(B)/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@
$(B)/lib/paths_builtin.o: $(B)/lib/paths_builtin.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(SOLIB): $(LIB_OBJS) lib/libmace.map Makefile
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,libmace.so.$(SOVERSION) -Wl,--version-script=lib/libmace.map \
		-o $@ $(LIB_OBJS) $(PKG_LIBS) -lm
	$(Q)ln -sf libmace.so.$(VERSION) $(B)/libmace.so.$(SOVERSION)
	$(Q)ln -sf libmace.so.$(SOVERSION) $(B)/libmace.so
$(ALIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $(LIB_OBJS)
$(B)/mace.pc: mace.pc.in | $(B)
	$(call msg,GEN,$@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' $< > $@

# ---- command line and examples (static, so they run from the tree) --------
$(B)/cli/%.o: cli/%.c | $(B)/cli
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(MHD_CFLAGS) -Icli -c $< -o $@
$(B)/mace: $(CLI_OBJS) $(ALIB)
	$(call msg,LD,$@)
	$(Q)$(CC) -o $@ $(CLI_OBJS) $(ALIB) $(PKG_LIBS) $(CURSES_LIBS) $(MHD_LIBS) -lpthread -lm
$(B)/examples/%: examples/%.c $(ALIB) | $(B)/examples
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(ALIB) $(PKG_LIBS) -lm

# ---- unit tests: plain and ASan+UBSan -------------------------------------
$(B)/tests/%: tests/unit/%.c $(ALIB) | $(B)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(ALIB) $(PKG_LIBS) -lm
# A unit test that includes a library source (for its static functions)
# links the library objects without it.
$(B)/asan/tests/test_ftrace_read: INCLUDED := $(B)/asan/lib/ftrace_read.o
$(B)/itests/%: tests/integration/%.c $(ALIB) | $(B)/itests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(ALIB) $(PKG_LIBS) -lm
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_LIB_OBJS := $(patsubst $(B)/lib/%,$(B)/asan/lib/%,$(LIB_OBJS))
$(B)/asan/lib/%.o: lib/%.c | $(B)/asan/lib
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -c $< -o $@
$(B)/asan/lib/paths_builtin.o: $(B)/lib/paths_builtin.c | $(B)/asan/lib
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -c $< -o $@
$(B)/asan/tests/%: tests/unit/%.c $(ASAN_LIB_OBJS) | $(B)/asan/tests
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -Itests/unit -o $@ $< $(filter-out $(INCLUDED),$(ASAN_LIB_OBJS)) \
		$(PKG_LIBS) -lm

# The CLI with ASan+UBSan: the bad-input tests (tests/integration/reliability.sh) run it.
ASAN_CLI_OBJS := $(patsubst cli/%.c,$(B)/asan/cli/%.o,$(CLI_SRCS))
$(B)/asan/cli/%.o: cli/%.c | $(B)/asan/cli
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(MHD_CFLAGS) $(SAN) -Icli -c $< -o $@
$(B)/asan/mace: $(ASAN_CLI_OBJS) $(ASAN_LIB_OBJS)
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(SAN) -o $@ $(ASAN_CLI_OBJS) $(ASAN_LIB_OBJS) $(PKG_LIBS) $(CURSES_LIBS) \
		$(MHD_LIBS) -lpthread -lm

# ---- stress programs (make stress) ------------------------------------------
STRESS := $(patsubst tests/stress/%.c,$(B)/stress/%,$(wildcard tests/stress/*.c))
$(B)/stress/%: tests/stress/%.c $(ALIB) | $(B)/stress
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(ALIB) $(PKG_LIBS) -lm
$(B)/asan/stress/%: tests/stress/%.c $(ASAN_LIB_OBJS) | $(B)/asan/stress
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -o $@ $< $(ASAN_LIB_OBJS) $(PKG_LIBS) -lm

# ---- fuzzers (libFuzzer, clang) --------------------------------------------
# Parsers only: no backends or sessions, so fuzzers need no kernel.
FUZZ_SRCS := $(filter-out lib/bpf_backend.c lib/ftrace%.c lib/session.c,$(LIB_SRCS)) \
	$(B)/lib/paths_builtin.c
# One command compiles many sources: no .d files (they would land in the tree).
$(B)/fuzz/%: tests/fuzz/%.c $(FUZZ_SRCS) $(wildcard include/*.h lib/*.h lib/bpf/*.h) | $(B)/fuzz
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(filter-out -MMD -MP,$(ALL_CFLAGS)) -fsanitize=fuzzer,address,undefined -o $@ $< \
		$(FUZZ_SRCS) $(PKG_LIBS) -lm
fuzz: $(FUZZERS)

# ---- benchmarks ------------------------------------------------------------
$(B)/bench/%: tests/bench/%.c $(ALIB) | $(B)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -O2 -o $@ $< $(ALIB) $(PKG_LIBS) -lm
$(B)/experiments/%: tests/experiments/%.c | $(B)/experiments
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -O2 -o $@ $<
$(B)/bench/noop.bpf.o: tests/bench/noop.bpf.c lib/bpf/vmlinux.h | $(B)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ilib/bpf -MMD -MP -c $< -o $@

$(B) $(B)/bpf $(B)/lib $(B)/cli $(B)/examples $(B)/tests $(B)/itests $(B)/asan/lib $(B)/asan/tests $(B)/asan/cli $(B)/fuzz $(B)/bench $(B)/experiments $(B)/stress $(B)/asan/stress:
	$(Q)mkdir -p $@

# ---- set-up, checks, demo --------------------------------------------------
deps:
	$(Q)sh tools/install-deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory all tests fuzz
	$(Q)sh tests/run.sh

unit: all tests
	$(Q)MACE_ONLY=unit sh tests/run.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all tests
	$(Q)sh tests/bench/run.sh

stress: deps
	$(Q)$(MAKE) --no-print-directory all tests fuzz $(STRESS) $(STRESS:$(B)/%=$(B)/asan/%)
	$(Q)sh tests/stress/run.sh
	$(Q)sh tests/mutants/run.sh

# Each mutant of tests/mutants/mutants.tsv alone, in a private copy of the tree.
mutants: deps
	$(Q)sh tests/mutants/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)sh tools/demo.sh

man-lint:
	$(Q)for m in man/*.[0-9]; do mandoc -T lint -W warning $$m || exit 1; done

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(INCDIR) \
		$(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(DATADIR)/paths
	install -m 0755 $(SOLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libmace.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libmace.so.$(SOVERSION)
	ln -sf libmace.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libmace.so
	install -m 0644 $(ALIB) $(DESTDIR)$(LIBDIR)/
	install -m 0644 include/mace.h $(DESTDIR)$(INCDIR)/
	install -m 0644 $(B)/mace.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 0755 $(B)/mace $(DESTDIR)$(BINDIR)/
	install -m 0644 $(PATH_FILES) $(DESTDIR)$(DATADIR)/paths/
	for m in man/*.[0-9]; do s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libmace.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libmace.so.$(SOVERSION) \
		$(DESTDIR)$(LIBDIR)/libmace.so $(DESTDIR)$(LIBDIR)/libmace.a \
		$(DESTDIR)$(INCDIR)/mace.h $(DESTDIR)$(LIBDIR)/pkgconfig/mace.pc $(DESTDIR)$(BINDIR)/mace
	rm -f $(addprefix $(DESTDIR)$(DATADIR)/paths/,$(notdir $(PATH_FILES)))
	-rmdir $(DESTDIR)$(DATADIR)/paths $(DESTDIR)$(DATADIR) 2>/dev/null
	for m in man/*.[0-9]; do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done

clean:
	rm -rf $(B)

# Headers each object was built from (-MMD); none before the first build.
-include $(shell find $(B) -name '*.d' 2>/dev/null)
