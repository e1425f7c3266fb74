"""DuplicateStreams RTL (sf_duplicate): every output gets every beat exactly
once, with independent random stalls on each output (each output stream of the
harness stalls on its own draws), 2 to 4 outputs, PE folds; one beat per cycle
when nothing stalls."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtl_stream_util import check, node_model, rand_values


def dup_model(niv, c, pe, dt, nout, n=3):
    """The single-node DuplicateStreams model (test_hls_duplicatestreams.py builds the same)."""
    shape = tuple(niv[1:]) + (c,)
    outs = [(f"y{j}", (n,) + shape) for j in range(nout)]
    return node_model("DuplicateStreams", [("x", (n,) + shape, dt)], outs, NumChannels=c, PE=pe,
                      NumOutputStreams=nout, numInputVectors=list(niv), inputDataType=dt)


def run_dup(niv, c, pe, dt, nout, n=3, seed=0, runs=None):
    m = dup_model(niv, c, pe, dt, nout, n)
    x = rand_values(np.random.default_rng(seed), dt, (n,) + tuple(niv[1:]) + (c,))
    return check(m, {"x": x}, **({} if runs is None else {"runs": runs}))


DESIGNS = [
    # numInputVectors, C, PE, dtype, outputs
    ([1, 7, 5], 13, 1, "INT4", 2),
    ([1, 3], 6, 3, "BIPOLAR", 3),
    ([1, 4, 3], 10, 10, "UINT8", 4),
]


@pytest.mark.parametrize("niv,c,pe,dt,nout", DESIGNS)
def test_dup_designs(niv, c, pe, dt, nout):
    run_dup(niv, c, pe, dt, nout)


@pytest.mark.full
@given(h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 13), pe_i=st.integers(0, 12),
       dt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8"]), nout=st.integers(2, 5), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_dup_sweep(h, w, c, pe_i, dt, nout, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    run_dup([1, h, w], c, divs[pe_i % len(divs)], dt, nout, seed=seed, runs=((0.0, 0.0, seed), (0.4, 0.4, seed + 1)))
