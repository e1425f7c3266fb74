"""Shared pytest set-up: the zoo cache lives in the build tree so CI and
repeated runs reuse exports, and hypothesis runs deterministically in CI."""
import os
import sys
from pathlib import Path

from hypothesis import settings

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("STREAMFOLD_CACHE", str(REPO / "build" / "zoo-cache"))
sys.path.insert(0, str(Path(__file__).parent))

# CI: derandomized (same examples every run, so a red run is reproducible);
# locally: random exploration. SF_HYPOTHESIS_PROFILE overrides.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("SF_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# Verilator builds are cached by content hash in the build tree, so a clean
# clone (CI) pays for every build once and repeated runs reuse them.
os.environ.setdefault("STREAMFOLD_CACHE_DIR", str(REPO / "build" / "sim-cache"))
# Test simulations are short: -O1 halves every Verilator build for ~20 % of
# simulation speed (CNV-w1a1 stitched: 15 s vs 28 s to build).
os.environ.setdefault("STREAMFOLD_SIM_OPT", "-O1")

import pytest  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "full: wide sweeps, run by `make test-full` (SF_TEST_FULL=1) only")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("SF_TEST_FULL"):
        return
    skip = pytest.mark.skip(reason="wide sweep: run `make test-full`")
    for item in items:
        if "full" in item.keywords:
            item.add_marker(skip)
