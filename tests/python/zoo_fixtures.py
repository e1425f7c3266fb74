"""Fixtures and helpers for the zoo tests. (conftest.py is shared and already
points STREAMFOLD_CACHE at <repo>/build/zoo-cache; these fixtures do the same
on their own so the zoo tests also work under a different conftest.)"""
import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]

# Brevitas and onnxruntime sum in different orders; exports are otherwise
# exact. Relative to the output's magnitude, so 1-bit nets whose scores are
# integers up to ~1000 get a proportionate absolute tolerance.
RTOL = 1e-5
ATOL_REL = 1e-5


@pytest.fixture(scope="session")
def zoo_cache():
    """The shared on-disk zoo cache (warm across runs and in CI)."""
    os.environ.setdefault("STREAMFOLD_CACHE", str(REPO / "build" / "zoo-cache"))
    from streamfold import zoo
    return zoo.cache_dir()


@pytest.fixture
def isolated_zoo_cache(tmp_path, monkeypatch):
    """An empty zoo cache for this test only (also drops the in-process cache)."""
    from streamfold import zoo
    monkeypatch.setenv("STREAMFOLD_CACHE", str(tmp_path))
    monkeypatch.setattr(zoo, "_built", {})
    return zoo.cache_dir()


def assert_outputs_close(actual, expected, what=""):
    expected = np.asarray(expected, np.float32)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL_REL * scale, err_msg=what)
