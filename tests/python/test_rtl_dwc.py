"""StreamingDataWidthConverter RTL (sf_dwc gearbox): values pass unchanged from
inWidth- to outWidth-bit beats under random input gaps and output stalls, for
narrowing, widening, equal widths and widths neither of which divides the
other; the narrow side moves one beat per cycle (frame interval = frame bits /
narrow width = estimate().cycles)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtl_stream_util import check, node_model, rand_values

BITS = {"INT4": 4, "UINT3": 3, "BIPOLAR": 1, "INT8": 8, "UINT2": 2}


def dwc_model(shape, ie, oe, dt, b, n=3):
    """The single-node DWC model (test_hls_dwc.py builds the same). shape: normal
    shape without batch; ie/oe: elements per input/output beat; b: bits of dt."""
    return node_model("StreamingDataWidthConverter", [("x", (n,) + tuple(shape), dt)], [("y", (n,) + tuple(shape))],
                      shape=[1] + list(shape), inWidth=ie * b, outWidth=oe * b, dataType=dt)


def run_dwc(shape, ie, oe, dt, n=3, seed=0, runs=None):
    m = dwc_model(shape, ie, oe, dt, BITS[dt], n)
    x = rand_values(np.random.default_rng(seed), dt, (n,) + tuple(shape))
    return check(m, {"x": x}, **({} if runs is None else {"runs": runs}))


DESIGNS = [
    # normal shape, in elems, out elems, dtype
    ((5, 12), 12, 4, "INT4"),     # narrowing 3:1
    ((3, 3, 15), 1, 5, "UINT3"),  # widening 1:5
    ((7, 12), 4, 6, "BIPOLAR"),   # neither divides: lcm 12
    ((4, 30), 6, 10, "INT8"),     # neither divides, wide -> wider
    ((9, 10), 10, 2, "UINT2"),
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
    run_dwc((rows, c), divs[i % len(divs)], divs[o % len(divs)], dt, seed=seed,
            runs=((0.0, 0.0, seed), (0.4, 0.4, seed + 1)))
