# streamfold: `make demo` and `make test` do all set-up themselves (apt, pip,
# build) and skip what is already there on a second run.
SHELL := /bin/bash
PYTHON ?= python3
BUILD_DIR ?= build/dev
JOBS ?= $(shell nproc)
export PYTHONPATH := $(CURDIR)/python:$(PYTHONPATH)

APT_PACKAGES := libprotobuf-dev protobuf-compiler libeigen3-dev libfmt-dev libgtest-dev \
  dataset-fashion-mnist verilator yosys iverilog tcl

.PHONY: demo test test-full lint-rtl setup deps-apt deps-pip dev build-tests test-cpp test-python bench-cpp install clean

demo: setup dev
	$(PYTHON) examples/demo.py

test: setup dev build-tests
	$(MAKE) --no-print-directory test-cpp test-python

# Everything `make test` runs plus the wide sweeps (@pytest.mark.full): run
# before resolving an issue; CI runs `make test` only.
test-full: setup dev build-tests
	$(MAKE) --no-print-directory test-cpp
	SF_TEST_FULL=1 $(PYTHON) -m pytest tests/python -q -p no:cacheprovider

# Verilator -Wall on every RTL library module alone (the rtl/ folders are the
# search path for the shared modules they instantiate).
lint-rtl:
	@for f in cpp/ops/*/rtl/*.sv; do \
	  verilator --lint-only -Wall $$(for d in cpp/ops/*/rtl; do echo -y $$d; done) \
	    --top-module $$(basename $$f .sv) $$f || exit 1; done; echo "RTL library: lint clean"

setup: deps-apt deps-pip

deps-apt:
	@bash scripts/install_deps.sh apt $(APT_PACKAGES)

deps-pip:
	@bash scripts/install_deps.sh pip

# In-tree development build: the extension lands in python/streamfold/ so the
# package runs from the source tree with PYTHONPATH=python. flock serializes
# concurrent builds into the same directory. The copy is renamed into place:
# overwriting a loaded .so in place would crash processes that have it mapped.
dev:
	@mkdir -p $(BUILD_DIR)
	@flock $(BUILD_DIR)/.lock bash -c '\
	  if [ ! -f $(BUILD_DIR)/build.ninja ]; then \
	    cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	      -DSTREAMFOLD_BUILD_TESTS=ON -DSTREAMFOLD_BUILD_PYTHON=ON \
	      -Dpybind11_DIR=$$($(PYTHON) -m pybind11 --cmakedir) -DPython3_EXECUTABLE=$$(command -v $(PYTHON)) >/dev/null; fi && \
	  cmake --build $(BUILD_DIR) -j $(JOBS) --target _core && \
	  for so in $(BUILD_DIR)/_core*.so; do \
	    cp -f $$so python/streamfold/.$$(basename $$so).tmp && mv -f python/streamfold/.$$(basename $$so).tmp python/streamfold/$$(basename $$so); done'

build-tests:
	@flock $(BUILD_DIR)/.lock cmake --build $(BUILD_DIR) -j $(JOBS) --target sf_tests

test-cpp:
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

test-python:
	$(PYTHON) -m pytest tests/python -q -p no:cacheprovider --durations=30

# Kernel microbenchmarks (Google Benchmark) in their own Release build dir;
# libbenchmark-dev is installed here only, so `make test` does not need it.
# BENCH_ARGS passes Google Benchmark flags, e.g. BENCH_ARGS="--benchmark_filter=avx512".
BENCH_DIR ?= build/bench
BENCH_ARGS ?= --benchmark_min_time=0.2
bench-cpp: setup
	@bash scripts/install_deps.sh apt libbenchmark-dev
	@mkdir -p $(BENCH_DIR)
	@flock $(BENCH_DIR)/.lock bash -c '\
	  if ! grep -qs sf_bench_kernels $(BENCH_DIR)/build.ninja; then \
	    cmake -S . -B $(BENCH_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTREAMFOLD_BUILD_BENCH=ON \
	      -DSTREAMFOLD_BUILD_PYTHON=OFF -DPython3_EXECUTABLE=$$(command -v $(PYTHON)) >/dev/null; fi && \
	  cmake --build $(BENCH_DIR) -j $(JOBS) --target sf_bench_kernels'
	$(BENCH_DIR)/sf_bench_kernels $(BENCH_ARGS)

# A regular (non-editable) install, as a user would do it.
install: setup
	$(PYTHON) -m pip install --no-build-isolation .

clean:
	rm -rf build python/streamfold/_core*.so
