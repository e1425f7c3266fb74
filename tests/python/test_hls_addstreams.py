"""AddStreams HLS layer (hlslib/sf_addstreams.hpp) in cppsim: element-wise sum
of two streams of possibly different datatypes and signedness (bipolar
included), each input as wide as its own type (as the RTL layer), output type
from the op's infer_datatype, PE folds."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hls_test_util import check_cppsim, node_model, rand_values, same_beats_as_rtl


def run_add(niv, c, pe, dt0, dt1, n=3, seeds=(0, 1)):
    shape = tuple(niv[1:]) + (c,)
    m = node_model("AddStreams", [("x0", (n,) + shape, dt0), ("x1", (n,) + shape, dt1)], [("y", (n,) + shape)],
                   NumChannels=c, PE=pe, numInputVectors=list(niv), inputDataTypes=[dt0, dt1])
    for seed in seeds:
        rng = np.random.default_rng(seed)
        check_cppsim(m, {"x0": rand_values(rng, dt0, (n,) + shape), "x1": rand_values(rng, dt1, (n,) + shape)})


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


DTS = ["INT4", "UINT3", "BIPOLAR", "INT8", "UINT1", "INT2", "UINT8", "UINT5", "INT7"]


@pytest.mark.full
@given(h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 13), pe_i=st.integers(0, 12),
       dt0=st.sampled_from(DTS), dt1=st.sampled_from(DTS), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_addstreams_sweep(h, w, c, pe_i, dt0, dt1, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    run_add([1, h, w], c, divs[pe_i % len(divs)], dt0, dt1, seeds=(seed,))


@pytest.mark.full
def test_addstreams_beats_match_rtl(tmp_path):
    # Inputs of different widths (3- and 5-bit lanes).
    shape = (3, 3, 3, 6)
    m = node_model("AddStreams", [("x0", shape, "UINT3"), ("x1", shape, "INT5")], [("y", shape)], NumChannels=6, PE=3,
                   numInputVectors=[1, 3, 3], inputDataTypes=["UINT3", "INT5"])
    rng = np.random.default_rng(5)
    same_beats_as_rtl(m, {"x0": rand_values(rng, "UINT3", shape), "x1": rand_values(rng, "INT5", shape)}, tmp_path)
