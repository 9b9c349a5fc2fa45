# featcache build. Sources are found by wildcard, so adding a file needs no edit here:
#   common/*.c      -> libcommon.a (the library: never prints to stdout, never exits)
#   common/cmd/*.c, extract/*.c, train/*.c -> the featcache binary (main in common/cmd/main.c)
#   tests/unit/test_*.c -> one test program each, linked with everything but main
#   tests/fuzz/fuzz_*.c -> replay drivers (make test) and libFuzzer targets (make fuzz)
# Out-of-tree objects in $(BUILD); `make asan` uses build-asan with ASan+UBSan.

BUILD    ?= build
CC       ?= cc
PKGS     := hdf5 cairo jansson libpng libtiff-4 libzstd sqlite3 openblas libcrypto zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
CFLAGS   += $(CFLAGS_EXTRA) -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation -Wno-psabi $(if $(findstring clang,$(CC)),-Wno-unknown-warning-option -Wno-string-concatenation -Wno-unknown-pragmas) -pthread -fno-strict-aliasing \
            $(PKG_CFLAGS) $(SAN)
LDFLAGS  += -pthread $(SAN)
LDLIBS   += $(PKG_LIBS) -ljpeg -lhdf5_hl -lm
LDLIBS   := $(filter-out -lhdf5_hl,$(LDLIBS)) $(if $(wildcard /usr/lib/x86_64-linux-gnu/hdf5/serial/libhdf5_hl.so),-lhdf5_hl)

LIB_SRC  := $(wildcard common/*.c)
APP_SRC  := $(filter-out common/cmd/main.c,$(wildcard common/cmd/*.c extract/*.c train/*.c))
TEST_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
TOOL_SRC := $(wildcard tests/tools/*.c)
BENCH_SRC:= $(wildcard bench/*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
APP_OBJ  := $(APP_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/common/cmd/main.o
LIB      := $(BUILD)/libcommon.a
BIN      := $(BUILD)/featcache
TESTS    := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZERS  := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/%)
TOOLS    := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%)
BENCHES  := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

# Keep objects made through pattern chains (never a blanket .SECONDARY: that would make
# build-asan/featcache an intermediate file that make skips when ./featcache is newer).
.PRECIOUS: $(BUILD)/%.o
.PHONY: all featcache test asan bench demo fuzz lint clean check-deps test-slurm
all: featcache

featcache: $(BIN)
ifeq ($(BUILD),build)
	@cp $(BIN) featcache
endif

$(BUILD)/%.o: %.c $(wildcard common/*.h common/cmd/*.h extract/*.h train/*.h) schemas/store.sql
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(APP_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(MAIN_OBJ) $(APP_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(APP_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(APP_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(APP_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/tests/fuzz/replay.o $(APP_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(APP_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(APP_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(APP_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(APP_OBJ) $(LIB) $(LDLIBS)

check-deps:
	@pkg-config --exists $(PKGS) || { echo "missing build dependencies: run 'bash .ci/install-deps' (as root)"; exit 1; }

test: check-deps featcache $(TESTS) $(FUZZERS) $(TOOLS)
	FEATCACHE=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) bash tests/run.sh

# Same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
asan:
	LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	$(MAKE) BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

bench: featcache $(BENCHES)
	FEATCACHE=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) bash bench/run.sh

demo:
	bash tests/demo.sh

# Sharded extraction on a real one-node Slurm cluster (installs slurm-wlm + munge; root only,
# skips otherwise). Called by .ci/run.
test-slurm: featcache $(TOOLS)
	FEATCACHE=$(abspath $(BIN)) BUILD=$(abspath $(BUILD)) bash tests/slurm/run.sh

# libFuzzer: every tests/fuzz/fuzz_*.c target, built with clang, run FUZZ_SECONDS each on
# a copy of its corpus; crashes land in build-fuzz/crash-<target>-* (make them regression
# files under tests/fuzz/corpus/<target>/).
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" \
	    CFLAGS_EXTRA="-fsanitize=fuzzer-no-link" build-fuzz/libcommon.a $(APP_SRC:%.c=build-fuzz/%.o)
	@set -e; for src in $(FUZZ_SRC); do \
	    t=$$(basename $$src .c); name=$${t#fuzz_}; \
	    clang $(FUZZ_FLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -o build-fuzz/$$t $$src \
	        $(APP_SRC:%.c=build-fuzz/%.o) build-fuzz/libcommon.a $(LDLIBS); \
	    mkdir -p build-fuzz/corpus-$$name; cp -r tests/fuzz/corpus/$$name/. build-fuzz/corpus-$$name/ 2>/dev/null || true; \
	    echo "== $$t ($(FUZZ_SECONDS) s)"; \
	    (cd build-fuzz && ./$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -artifact_prefix=crash-$$name- \
	        corpus-$$name 2>&1 | grep -E '^#[0-9]+.*(DONE|pulse)|ERROR|SUMMARY' | tail -3); \
	done

# clang static analyzer over the whole build (product, unit tests, fuzz drivers, tools);
# fails on any finding. The analyzer sees one file at a time: fc.h tells it under
# __clang_analyzer__ what fc_fail and the allocators guarantee. CI runs it (.ci/run).
lint:
	scan-build --status-bugs -o build-lint/report $(MAKE) BUILD=build-lint CC=clang featcache \
	    $(patsubst build/%,build-lint/%,$(TESTS) $(FUZZERS) $(TOOLS))

clean:
	rm -rf build build-asan build-lint build-fuzz featcache

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
