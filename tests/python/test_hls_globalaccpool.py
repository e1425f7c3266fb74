"""GlobalAccPool HLS (hlslib/sf_globalaccpool.hpp) in cppsim against the
reference: per-channel sums over H*W, PE folds, signed/unsigned/bipolar
inputs (the RTL test's designs). The wide sweep is @pytest.mark.full."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hls_test_util import check_cppsim, node_model, rand_values
from test_rtl_globalaccpool import DESIGNS


def run_gap(h, w, c, pe, dt, n=3, seed=0):
    m = node_model("GlobalAccPool", [("x", (n, h, w, c), dt)], [("y", (n, 1, 1, c))], NumChannels=c, PE=pe,
                   numInputVectors=[1, h, w], inputDataType=dt)
    return check_cppsim(m, {"x": rand_values(np.random.default_rng(seed), dt, (n, h, w, c))})


@pytest.mark.parametrize("h,w,c,pe,dt", DESIGNS)
def test_gap_hls_designs(h, w, c, pe, dt):
    for seed in (0, 1):
        run_gap(h, w, c, pe, dt, seed=seed)


@pytest.mark.full
@given(h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 13), pe_i=st.integers(0, 12),
       dt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8", "UINT1"]), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=30, suppress_health_check=list(HealthCheck))
def test_gap_hls_sweep(h, w, c, pe_i, dt, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    run_gap(h, w, c, divs[pe_i % len(divs)], dt, seed=seed)
