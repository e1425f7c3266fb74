"""GlobalAccPool HLS (hlslib/sf_globalaccpool.hpp) in cppsim against the
reference: per-channel sums over H*W, PE folds, signed/unsigned/bipolar
inputs (the RTL test's designs). The wide sweep is @pytest.mark.full."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hls_test_util import check_cppsim, node_model, rand_values, same_beats_as_rtl
from test_rtl_globalaccpool import DESIGNS


def run_gap(h, w, c, pe, dt, n=3, seed=0, beats_dir=None):
    m = node_model("GlobalAccPool", [("x", (n, h, w, c), dt)], [("y", (n, 1, 1, c))], NumChannels=c, PE=pe,
                   numInputVectors=[1, h, w], inputDataType=dt)
    xs = {"x": rand_values(np.random.default_rng(seed), dt, (n, h, w, c))}
    if beats_dir is not None:
        return same_beats_as_rtl(m, xs, beats_dir)
    return check_cppsim(m, xs)


@pytest.mark.parametrize("h,w,c,pe,dt", DESIGNS)
def test_gap_hls_designs(h, w, c, pe, dt):
    for seed in (0, 1):
        run_gap(h, w, c, pe, dt, seed=seed)


@pytest.mark.parametrize("h,w,c,pe,dt", DESIGNS)
def test_gap_hls_beats_equal_rtl(h, w, c, pe, dt, tmp_path):
    """Same input beats into the HLS and the RTL layer: identical output beats."""
    run_gap(h, w, c, pe, dt, seed=5, beats_dir=tmp_path)


@pytest.mark.full
@given(h=st.integers(1, 7), w=st.integers(1, 7), c=st.integers(1, 13), pe_i=st.integers(0, 12),
       dt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8", "UINT1"]), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=30, suppress_health_check=list(HealthCheck))
def test_gap_hls_sweep(h, w, c, pe_i, dt, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    run_gap(h, w, c, divs[pe_i % len(divs)], dt, seed=seed)
