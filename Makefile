# streamfold: `make demo` and `make test` do all set-up themselves (apt, pip,
# build) and skip what is already there on a second run.
SHELL := /bin/bash
PYTHON ?= python3
BUILD_DIR ?= build/dev
JOBS ?= $(shell nproc)
export PYTHONPATH := $(CURDIR)/python:$(PYTHONPATH)

APT_PACKAGES := libprotobuf-dev protobuf-compiler libeigen3-dev libfmt-dev libgtest-dev \
  dataset-fashion-mnist verilator yosys iverilog

.PHONY: demo test setup deps-apt deps-pip dev build-tests test-cpp test-python install clean

demo: setup dev
	$(PYTHON) examples/demo.py

test: setup dev build-tests
	$(MAKE) --no-print-directory test-cpp test-python

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
	$(PYTHON) -m pytest tests/python -q -p no:cacheprovider

# A regular (non-editable) install, as a user would do it.
install: setup
	$(PYTHON) -m pip install --no-build-isolation .

clean:
	rm -rf build python/streamfold/_core*.so
