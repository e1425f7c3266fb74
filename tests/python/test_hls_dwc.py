"""StreamingDataWidthConverter HLS layer (hlslib/sf_dwc.hpp) in cppsim: values
pass unchanged from inWidth- to outWidth-bit beats for narrowing, widening,
equal widths and widths neither of which divides the other (the RTL gearbox
does the same), 1..8-bit types, and a wide case past ap_int's default 1024-bit
limit (the emitter raises AP_INT_MAX_W)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hls_test_util import check_cppsim, node_model, rand_values, same_beats_as_rtl
from test_rtl_dwc import dwc_model  # the RTL test's model

BITS = {"INT4": 4, "UINT3": 3, "BIPOLAR": 1, "INT8": 8, "UINT2": 2, "UINT1": 1, "INT5": 5, "UINT7": 7}


def run_dwc(shape, ie, oe, dt, n=3, seeds=(0, 1)):
    """shape: normal shape without batch; ie/oe: elements per input/output beat."""
    m = dwc_model(shape, ie, oe, dt, BITS[dt], n)
    for seed in seeds:
        check_cppsim(m, {"x": rand_values(np.random.default_rng(seed), dt, (n,) + tuple(shape))})


DESIGNS = [
    # normal shape, in elems, out elems, dtype
    ((5, 12), 12, 4, "INT4"),     # narrowing 3:1
    ((3, 3, 15), 1, 5, "UINT3"),  # widening 1:5
    ((7, 12), 4, 6, "BIPOLAR"),   # neither divides: lcm 12
    ((4, 30), 6, 10, "INT8"),     # neither divides, wide -> wider
    ((2, 200), 200, 40, "INT8"),  # 1600-bit input beats
]


@pytest.mark.parametrize("shape,ie,oe,dt", DESIGNS)
def test_dwc_designs(shape, ie, oe, dt):
    run_dwc(shape, ie, oe, dt)


@pytest.mark.full
@given(rows=st.integers(1, 6), c=st.sampled_from([1, 2, 6, 12, 15, 20, 30]), i=st.integers(0, 20),
       o=st.integers(0, 20), dt=st.sampled_from(sorted(BITS)), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=40, derandomize=True, suppress_health_check=list(HealthCheck))
def test_dwc_sweep(rows, c, i, o, dt, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    run_dwc((rows, c), divs[i % len(divs)], divs[o % len(divs)], dt, seeds=(seed,))


@pytest.mark.full
def test_dwc_beats_match_rtl(tmp_path):
    m = node_model("StreamingDataWidthConverter", [("x", (3, 7, 12), "BIPOLAR")], [("y", (3, 7, 12))], shape=[1, 7, 12],
                   inWidth=4, outWidth=6, dataType="BIPOLAR")
    same_beats_as_rtl(m, {"x": rand_values(np.random.default_rng(5), "BIPOLAR", (3, 7, 12))}, tmp_path)
