"""GlobalAccPool RTL (sf_globalaccpool): per-channel sums over H*W of an NHWC
frame, PE folds, signed/unsigned/bipolar inputs, random gaps and stalls; the
sums leave during the last pixel, so a frame takes H*W*C/PE cycles
(estimate().cycles)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtl_stream_util import check, node_model, rand_values


def run_gap(h, w, c, pe, dt, n=3, seed=0, runs=None):
    m = node_model("GlobalAccPool", [("x", (n, h, w, c), dt)], [("y", (n, 1, 1, c))], NumChannels=c, PE=pe,
                   numInputVectors=[1, h, w], inputDataType=dt)
    x = rand_values(np.random.default_rng(seed), dt, (n, h, w, c))
    return check(m, {"x": x}, **({} if runs is None else {"runs": runs}))


DESIGNS = [
    # H, W, C, PE, dtype
    (7, 5, 13, 1, "INT4"),
    (3, 3, 6, 3, "UINT8"),
    (1, 1, 4, 4, "INT3"),
    (5, 2, 2, 1, "BIPOLAR"),
]


@pytest.mark.parametrize("h,w,c,pe,dt", DESIGNS)
def test_gap_designs(h, w, c, pe, dt):
    run_gap(h, w, c, pe, dt)


@pytest.mark.full
@given(h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 13), pe_i=st.integers(0, 12),
       dt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8", "UINT1"]), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_gap_sweep(h, w, c, pe_i, dt, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    run_gap(h, w, c, divs[pe_i % len(divs)], dt, seed=seed, runs=((0.0, 0.0, seed), (0.4, 0.4, seed + 1)))
