# hxq - build, test, demo, bench, install.
#
#   make            build build/libhxq.a and build/hxq
#   make test       unit, fixture and CLI tests (Check)
#   make test-san   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make demo       compress, verify and run the bundled tiny OLMoE
#   make bench      benchmarks (not tests): bench/*.sh
#   make deps       apt-get install the build dependencies
#   make install PREFIX=/usr/local
#
# Variables: CUDA=0 disables the CUDA kernels even when nvcc exists;
# SAN=1 builds with sanitizers (into build-san/); WERROR=0 drops -Werror.

CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
WERROR  ?= 1
SAN     ?= 0
CUDA    ?=

PKGS := libcjson libzstd libxxhash libcrypto openblas libutf8proc libpcre2-8
# Looked up on first use, not when the Makefile is read, so that
# `make deps demo` works on a fresh machine: deps installs the packages
# before any compile or link asks pkg-config for their flags.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null))$(PKG_LIBS)

MODULES := common io kmeans codec receipt infer pipeline
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
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
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
else
CU_OBJ   :=
endif

# AVX2 translation units are compiled with AVX2/FMA and chosen at run time.
$(BUILD)/%_avx2.o: ALL_CFLAGS += -mavx2 -mfma -mf16c

LIBHXQ := $(BUILD)/libhxq.a
HXQ    := $(BUILD)/hxq

.PHONY: all test test-san test-cuda demo bench deps install clean fuzz cuda-check
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

$(LIBHXQ): $(LIB_OBJ) $(CU_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(HXQ): $(CMD_OBJ) $(LIBHXQ)
	$(CC) $(LDFLAGS) -o $@ $(CMD_OBJ) $(LIBHXQ) $(LDLIBS) $(if $(filter 1,$(CUDA)),-lstdc++)

$(BUILD)/test/%: test/%.c $(TEST_SUPPORT_OBJ) $(LIBHXQ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -Itest/common $(shell pkg-config --cflags check) $(LDFLAGS) -o $@ $< \
	    $(TEST_SUPPORT_OBJ) $(LIBHXQ) $(shell pkg-config --libs check) $(LDLIBS) $(if $(filter 1,$(CUDA)),-lstdc++)

# bench/<name>.c -> build/bench/<name>: helper programs of the bench scripts
$(BUILD)/bench/%: bench/%.c $(LIBHXQ)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBHXQ) $(LDLIBS) $(if $(filter 1,$(CUDA)),-lstdc++)

$(BUILD)/test/common/%.o: test/common/%.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itest/common $(shell pkg-config --cflags check) -c $< -o $@

test: $(HXQ) $(TEST_BIN)
	@HXQ_BIN=$(HXQ) bash test/run_tests.sh $(TEST_BIN)

test-san:
	$(MAKE) SAN=1 test

test-cuda: $(HXQ) $(TEST_BIN)
	@HXQ_REQUIRE_GPU=1 HXQ_BIN=$(HXQ) bash test/run_tests.sh $(foreach t,$(TEST_BIN),$(if $(findstring cuda,$(t)),$(t)))

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

deps:
	@missing=""; for p in build-essential pkg-config libopenblas-dev libcjson-dev libzstd-dev \
	    libxxhash-dev libssl-dev check libsubunit-dev libutf8proc-dev libpcre2-dev; do \
	    dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then apt-get update && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y --no-install-recommends $$missing; else echo "deps: all present"; fi

install: $(HXQ)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/hxq
	install -m 755 $(HXQ) $(DESTDIR)$(PREFIX)/bin/hxq
	install -m 644 $(LIBHXQ) $(DESTDIR)$(PREFIX)/lib/libhxq.a
	install -m 644 $(wildcard lib/*/hxq_*.h) $(DESTDIR)$(PREFIX)/include/hxq/

clean:
	rm -rf build build-san build-fuzz

# ---- fuzzing (libFuzzer; owned by the hardening work, see docs/SECURITY.md)
#   make fuzz FUZZ_SECONDS=N   runs every test/fuzz/fuzz_<name>.c for N
#   seconds (one after another) from test/fuzz/corpus/<name>/; new inputs
#   go to build-fuzz/corpus/<name>/, crashes to build-fuzz/crash-<name>-*.
#   make fuzz-build            only builds build-fuzz/fuzz_<name>.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  = -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -pthread -g -O1 \
                -fno-omit-frame-pointer $(FUZZ_SAN) $(INCLUDES) $(PKG_CFLAGS)
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

.SECONDARY: $(TEST_SUPPORT_OBJ)

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(FUZZ_LIB_OBJ:.o=.d)
