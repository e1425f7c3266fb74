"""AddStreams RTL (sf_addstreams): element-wise sum of two streams of possibly
different datatypes and signedness (bipolar included), output type from the
op's infer_datatype, PE folds, random gaps on each input and output stalls;
one beat per cycle when nothing stalls."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtl_stream_util import check, node_model, rand_values


def add_model(niv, c, pe, dt0, dt1, n=3):
    """The single-node AddStreams model and a function seed -> its inputs
    (test_hls_addstreams.py uses the same)."""
    shape = (n,) + tuple(niv[1:]) + (c,)
    m = node_model("AddStreams", [("x0", shape, dt0), ("x1", shape, dt1)], [("y", shape)],
                   NumChannels=c, PE=pe, numInputVectors=list(niv), inputDataTypes=[dt0, dt1])

    def inputs(seed):
        rng = np.random.default_rng(seed)
        return {"x0": rand_values(rng, dt0, shape), "x1": rand_values(rng, dt1, shape)}
    return m, inputs


def run_add(niv, c, pe, dt0, dt1, n=3, seed=0, runs=None):
    m, inputs = add_model(niv, c, pe, dt0, dt1, n)
    return check(m, inputs(seed), **({} if runs is None else {"runs": runs}))


DESIGNS = [
    # numInputVectors, C, PE, dtype0, dtype1
    ([1, 7, 5], 13, 1, "INT4", "INT4"),
    ([1, 3, 3], 6, 3, "UINT3", "INT5"),
    ([1, 5], 4, 4, "BIPOLAR", "UINT2"),
    ([1, 2, 3], 9, 9, "INT8", "BINARY"),
]


@pytest.mark.parametrize("niv,c,pe,dt0,dt1", DESIGNS)
def test_addstreams_designs(niv, c, pe, dt0, dt1):
    run_add(niv, c, pe, dt0, dt1)


DTS = ["INT4", "UINT3", "BIPOLAR", "INT8", "UINT1", "INT2", "UINT8"]


# The sweep's strategies (also the FIFO schedule tests').
ADD_SWEEP = dict(h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 13), pe_i=st.integers(0, 12),
                 dt0=st.sampled_from(DTS), dt1=st.sampled_from(DTS), seed=st.integers(0, 2 ** 16))


@pytest.mark.full
@given(**ADD_SWEEP)
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_addstreams_sweep(h, w, c, pe_i, dt0, dt1, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    run_add([1, h, w], c, divs[pe_i % len(divs)], dt0, dt1, seed=seed,
            runs=((0.0, 0.0, seed), (0.4, 0.4, seed + 1)))
