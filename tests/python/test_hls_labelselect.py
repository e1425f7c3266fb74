"""LabelSelect HLS (hlslib/sf_labelselect.hpp) in cppsim against the
reference: the K largest labels, largest first, ties to the lower index
(narrow types make ties common), PE candidates per beat, K up to Labels, rows
per frame (the RTL test's designs). The wide sweep is @pytest.mark.full."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hls_test_util import check_cppsim, node_model, rand_values, same_beats_as_rtl
from test_rtl_labelselect import DESIGNS


def run_ls(labels, pe, k, dt, rows=1, n=4, seed=0, beats_dir=None):
    lead = (rows,) if rows > 1 else ()
    m = node_model("LabelSelect", [("x", (n,) + lead + (labels,), dt)], [("y", (n,) + lead + (k,))], Labels=labels,
                   PE=pe, K=k, inputDataType=dt, numInputVectors=[1, rows] if rows > 1 else [1])
    xs = {"x": rand_values(np.random.default_rng(seed), dt, (n,) + lead + (labels,))}
    if beats_dir is not None:
        return same_beats_as_rtl(m, xs, beats_dir)
    return check_cppsim(m, xs)


@pytest.mark.parametrize("labels,pe,k,dt,rows", DESIGNS)
def test_labelselect_hls_designs(labels, pe, k, dt, rows):
    for seed in (0, 1, 2):
        run_ls(labels, pe, k, dt, rows, seed=seed)


@pytest.mark.parametrize("labels,pe,k,dt,rows", DESIGNS)
def test_labelselect_hls_beats_equal_rtl(labels, pe, k, dt, rows, tmp_path):
    """Same input beats into the HLS and the RTL layer: identical output beats."""
    run_ls(labels, pe, k, dt, rows, seed=5, beats_dir=tmp_path)


@pytest.mark.full
@given(labels=st.integers(1, 20), pe_i=st.integers(0, 20), k_i=st.integers(0, 20), rows=st.integers(1, 3),
       dt=st.sampled_from(["INT4", "UINT2", "BIPOLAR", "INT8", "UINT1", "INT2"]), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=30, suppress_health_check=list(HealthCheck))
def test_labelselect_hls_sweep(labels, pe_i, k_i, rows, dt, seed):
    divs = [v for v in range(1, labels + 1) if labels % v == 0]
    run_ls(labels, divs[pe_i % len(divs)], 1 + k_i % labels, dt, rows, seed=seed)
