"""FMPadding HLS layer (hlslib/sf_fmpadding.hpp) in cppsim: bit-exact against
the op's reference for any pads per side, signed/unsigned/bipolar pad values,
SIMD folds and 1..8-bit types."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hls_test_util import check_cppsim, same_beats_as_rtl
from test_rtl_fmpadding import DESIGNS, pad_model  # the RTL layer's designs and model
from test_rtl_swg import node_model, rand_values


def run_pad(img, pad, c, simd, dt, pad_value, n=3, seeds=(0, 1)):
    m = pad_model(img, pad, c, simd, dt, pad_value, n)
    for seed in seeds:
        check_cppsim(m, {"x": rand_values(np.random.default_rng(seed), dt, (n, img[0], img[1], c))})


@pytest.mark.parametrize("img,pad,c,simd,dt,pv", DESIGNS)
def test_fmpadding_designs(img, pad, c, simd, dt, pv):
    run_pad(img, pad, c, simd, dt, pv)


@pytest.mark.full
@given(h=st.integers(1, 8), w=st.integers(1, 8), pad=st.lists(st.integers(0, 3), min_size=4, max_size=4),
       c=st.integers(1, 13), simd_i=st.integers(0, 12),
       dt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8", "UINT1", "INT2", "UINT8"]),
       pv_i=st.integers(0, 1000), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_fmpadding_sweep(h, w, pad, c, simd_i, dt, pv_i, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    vals = np.unique(rand_values(np.random.default_rng(pv_i), dt, (64,)))
    run_pad([h, w], pad, c, divs[simd_i % len(divs)], dt, int(vals[pv_i % len(vals)]), seeds=(seed,))


@pytest.mark.full
def test_fmpadding_beats_match_rtl(tmp_path):
    m = node_model("FMPadding", (3, 7, 5, 13), (3, 8, 10, 13), in_dt="INT4", ImgDim=[7, 5], Padding=[1, 2, 0, 3],
                   NumChannels=13, SIMD=1, inputDataType="INT4", PadValue=-3)
    same_beats_as_rtl(m, {"x": rand_values(np.random.default_rng(5), "INT4", (3, 7, 5, 13))}, tmp_path)
