"""FMPadding RTL: bit-exact against the op's reference under random input gaps
and output stalls (any pads per side, signed/unsigned/bipolar pad values,
SIMD), and the measured frame interval against estimate().cycles."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_rtl_swg import check, node_model, rand_values


def pad_model(img, pad, c, simd, dt, pad_value, n=3):
    """The single-node FMPadding model (test_hls_fmpadding.py builds the same)."""
    oh, ow = img[0] + pad[0] + pad[2], img[1] + pad[1] + pad[3]
    return node_model("FMPadding", (n, img[0], img[1], c), (n, oh, ow, c), in_dt=dt, ImgDim=list(img),
                      Padding=list(pad), NumChannels=c, SIMD=simd, inputDataType=dt, PadValue=pad_value)


def run_pad(img, pad, c, simd, dt, pad_value, n=3, seed=0, runs=None):
    m = pad_model(img, pad, c, simd, dt, pad_value, n)
    x = rand_values(np.random.default_rng(seed), dt, (n, img[0], img[1], c))
    return check(m, x, **({} if runs is None else {"runs": runs}))


DESIGNS = [
    # img,   pad [t, l, b, r], C, SIMD, dtype, pad value
    ([7, 5], [1, 2, 0, 3], 13, 1, "INT4", -3),
    ([5, 7], [0, 0, 2, 1], 6, 3, "BIPOLAR", -1),
    ([3, 3], [2, 2, 2, 2], 2, 2, "UINT8", 200),
]


@pytest.mark.parametrize("img,pad,c,simd,dt,pv", DESIGNS)
def test_fmpadding_designs(img, pad, c, simd, dt, pv):
    run_pad(img, pad, c, simd, dt, pv)


@pytest.mark.full
@given(h=st.integers(1, 8), w=st.integers(1, 8), pad=st.lists(st.integers(0, 3), min_size=4, max_size=4),
       c=st.integers(1, 13), simd_i=st.integers(0, 12), dt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8"]),
       pv_i=st.integers(0, 1000), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_fmpadding_sweep(h, w, pad, c, simd_i, dt, pv_i, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    vals = np.unique(rand_values(np.random.default_rng(pv_i), dt, (64,)))
    run_pad([h, w], pad, c, divs[simd_i % len(divs)], dt, int(vals[pv_i % len(vals)]), seed=seed,
            runs=((0.0, 0.0, seed), (0.4, 0.4, seed + 1)))
