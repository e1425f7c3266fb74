"""StreamingMaxPool RTL: bit-exact against the op's reference under random
input gaps and output stalls (1-D and 2-D, square and non-square, PE, signed,
unsigned and bipolar, floor and ceil mode), and the measured frame interval
against estimate().cycles."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_rtl_swg import check, node_model, rand_values


def smp_model(img, k, c, pe, dt, ceil_mode=0, n=3):
    """The single-node StreamingMaxPool model (test_hls_maxpool.py builds the same)."""
    od = [(img[i] + k[i] - 1) // k[i] if ceil_mode else img[i] // k[i] for i in range(2)]
    return node_model("StreamingMaxPool", (n, img[0], img[1], c), (n, od[0], od[1], c), in_dt=dt, ImgDim=list(img),
                      PoolDim=list(k), NumChannels=c, PE=pe, dataType=dt, CeilMode=ceil_mode)


def run_smp(img, k, c, pe, dt, ceil_mode=0, n=3, seed=0, runs=None):
    m = smp_model(img, k, c, pe, dt, ceil_mode, n)
    x = rand_values(np.random.default_rng(seed), dt, (n, img[0], img[1], c))
    return check(m, x, **({} if runs is None else {"runs": runs}))


DESIGNS = [
    # img,   pool,   C, PE, dtype, ceil
    ([7, 5], [2, 2], 13, 1, "INT4", 0),
    ([7, 5], [3, 2], 6, 3, "UINT3", 1),
    ([1, 9], [1, 4], 4, 2, "INT8", 1),
    ([5, 7], [5, 3], 3, 3, "BIPOLAR", 0),
]


@pytest.mark.parametrize("img,k,c,pe,dt,ceil_mode", DESIGNS)
def test_maxpool_designs(img, k, c, pe, dt, ceil_mode):
    run_smp(img, k, c, pe, dt, ceil_mode)


# The sweep's strategies (also the FIFO schedule tests').
MAXPOOL_SWEEP = dict(h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 5), kw=st.integers(1, 5),
                     c=st.integers(1, 13), pe_i=st.integers(0, 12), ceil_mode=st.integers(0, 1),
                     dt=st.sampled_from(["INT4", "UINT2", "BIPOLAR", "INT8", "UINT1"]), seed=st.integers(0, 2 ** 16))


@pytest.mark.full
@given(**MAXPOOL_SWEEP)
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_maxpool_sweep(h, w, kh, kw, c, pe_i, ceil_mode, dt, seed):
    kh, kw = min(kh, h), min(kw, w)
    divs = [v for v in range(1, c + 1) if c % v == 0]
    run_smp([h, w], [kh, kw], c, divs[pe_i % len(divs)], dt, ceil_mode, seed=seed,
            runs=((0.0, 0.0, seed), (0.4, 0.4, seed + 1)))
