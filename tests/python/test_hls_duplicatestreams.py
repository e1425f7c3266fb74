"""DuplicateStreams HLS layer (hlslib/sf_duplicate.hpp) in cppsim: every output
(out0_V, out1_V, ... as the RTL layer) carries every beat, 2 to 4 outputs,
PE folds, 1..8-bit types."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hls_test_util import check_cppsim, emit, rand_values, same_beats_as_rtl
from test_rtl_duplicatestreams import DESIGNS, dup_model  # the RTL layer's designs and model


def run_dup(niv, c, pe, dt, nout, n=3, seeds=(0, 1)):
    m = dup_model(niv, c, pe, dt, nout, n)
    for seed in seeds:
        check_cppsim(m, {"x": rand_values(np.random.default_rng(seed), dt, (n,) + tuple(niv[1:]) + (c,))})


@pytest.mark.parametrize("niv,c,pe,dt,nout", DESIGNS)
def test_dup_designs(niv, c, pe, dt, nout):
    run_dup(niv, c, pe, dt, nout)


def test_dup_ports(tmp_path):
    _, man = emit(dup_model([1, 3], 6, 3, "INT4", 3), tmp_path)
    assert [s["name"] for s in man["outputs"]] == ["out0_V", "out1_V", "out2_V"]
    assert [s["width"] for s in man["outputs"]] == [12] * 3


@pytest.mark.full
@given(h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 13), pe_i=st.integers(0, 12),
       nout=st.integers(1, 4), dt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8", "UINT1", "INT2"]),
       seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=25, derandomize=True, suppress_health_check=list(HealthCheck))
def test_dup_sweep(h, w, c, pe_i, nout, dt, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    run_dup([1, h, w], c, divs[pe_i % len(divs)], dt, nout, seeds=(seed,))


@pytest.mark.full
def test_dup_beats_match_rtl(tmp_path):
    m = dup_model([1, 3], 6, 3, "BIPOLAR", 3)
    same_beats_as_rtl(m, {"x": rand_values(np.random.default_rng(5), "BIPOLAR", (3, 3, 6))}, tmp_path)
