"""Thresholding HLS (hlslib/sf_thresholding.hpp) in cppsim against the
reference execution of the same single-node graph, bit-exactly, on the RTL
test's designs (255 per-channel thresholds, shared thresholds with a BIPOLAR
output, signed output with ActVal < 0, fractional and out-of-range
thresholds). The wide sweep is @pytest.mark.full."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import streamfold as sf
from streamfold import cppsim
from hls_test_util import check_cppsim, same_beats_as_rtl
from test_rtl_thresholding import DESIGNS, NODE, design_data, designs, make_model


def check(d, seed, frames=2):
    thr, x = design_data(d, seed, frames)
    return check_cppsim(sf.ModelWrapper(make_model(d, thr)), {"x": x}, NODE)


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_thresholding_hls_designs(name):
    for seed in (0, 1, 2):
        check(DESIGNS[name], seed=seed, frames=3)


@given(name=st.sampled_from(sorted(DESIGNS)), seed=st.integers(0, 2 ** 20))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_thresholding_hls_random_data(name, seed):
    check(DESIGNS[name], seed=seed)


def test_thresholding_hls_array_is_clamped_and_sorted(tmp_path):
    """[PE][rows][steps] words: ceil'ed, clamped to [min, max + 1] of the input
    type, sorted (the RTL's rtl::threshold_rows)."""
    d = dict(c=2, pe=1, idt="UINT3", odt="UINT2")
    thr = np.array([[5.5, -3.0, 9.0], [1.0, 2.0, 3.0]], dtype=np.float32)
    layer = cppsim.emit_node(make_model(d, thr), NODE, tmp_path / "l")
    words = [int(s, 16) for s in open(f"{layer}/{NODE}_thresholds.dat").read().split()]
    assert words == [0, 6, 8, 1, 2, 3]


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_thresholding_hls_beats_equal_rtl(name, tmp_path):
    thr, x = design_data(DESIGNS[name], 7)
    same_beats_as_rtl(sf.ModelWrapper(make_model(DESIGNS[name], thr)), {"x": x}, tmp_path)


@pytest.mark.full
@given(d=designs(), seed=st.integers(0, 2 ** 20))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_thresholding_hls_sweep(d, seed):
    check(d, seed=seed, frames=3)
