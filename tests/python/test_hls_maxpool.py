"""StreamingMaxPool HLS layer (hlslib/sf_streaming_maxpool.hpp) in cppsim:
bit-exact against the op's reference, 1-D and 2-D, square and non-square,
PE folds, signed, unsigned and bipolar, floor and ceil mode."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hls_test_util import check_cppsim, same_beats_as_rtl
from test_rtl_maxpool import DESIGNS, smp_model  # the RTL layer's designs and model
from test_rtl_swg import node_model, rand_values


def run_smp(img, k, c, pe, dt, ceil_mode=0, n=3, seeds=(0, 1)):
    m = smp_model(img, k, c, pe, dt, ceil_mode, n)
    for seed in seeds:
        check_cppsim(m, {"x": rand_values(np.random.default_rng(seed), dt, (n, img[0], img[1], c))})


@pytest.mark.parametrize("img,k,c,pe,dt,ceil_mode", DESIGNS)
def test_maxpool_designs(img, k, c, pe, dt, ceil_mode):
    run_smp(img, k, c, pe, dt, ceil_mode)


@pytest.mark.full
@given(h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 4), kw=st.integers(1, 4), c=st.integers(1, 13),
       pe_i=st.integers(0, 12), ceil_mode=st.integers(0, 1),
       dt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8", "UINT1", "INT2", "UINT8"]), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_maxpool_sweep(h, w, kh, kw, c, pe_i, ceil_mode, dt, seed):
    kh, kw = min(kh, h), min(kw, w)
    divs = [v for v in range(1, c + 1) if c % v == 0]
    run_smp([h, w], [kh, kw], c, divs[pe_i % len(divs)], dt, ceil_mode, seeds=(seed,))


@pytest.mark.full
def test_maxpool_beats_match_rtl(tmp_path):
    m = node_model("StreamingMaxPool", (3, 7, 5, 6), (3, 3, 3, 6), in_dt="UINT3", ImgDim=[7, 5], PoolDim=[3, 2],
                   NumChannels=6, PE=3, dataType="UINT3", CeilMode=1)
    same_beats_as_rtl(m, {"x": rand_values(np.random.default_rng(5), "UINT3", (3, 7, 5, 6))}, tmp_path)
