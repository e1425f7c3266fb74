"""StreamingFIFO RTL (sf_streaming_fifo around the shared sf_fifo): values pass
unchanged under random input gaps and output stalls, SRL and BRAM storage, one
beat per cycle (frame interval = beats per frame)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtl_stream_util import check, node_model, rand_values


def run_fifo(nbeats, simd, dt, depth, ram_style="auto", n=3, seed=0, runs=None):
    folded = [1, nbeats, simd]
    m = node_model("StreamingFIFO", [("x", (n, nbeats * simd), dt)], [("y", (n, nbeats * simd))],
                   depth=depth, folded_shape=folded, dataType=dt, ram_style=ram_style)
    x = rand_values(np.random.default_rng(seed), dt, (n, nbeats * simd))
    return check(m, {"x": x}, **({} if runs is None else {"runs": runs}))


DESIGNS = [
    # beats, elems/beat, dtype, depth, ram_style
    (37, 3, "INT4", 2, "auto"),
    (50, 1, "BIPOLAR", 33, "auto"),
    (29, 5, "UINT7", 300, "auto"),          # BRAM
    (17, 2, "INT3", 5, "block"),            # BRAM forced, shallow
    (40, 4, "UINT2", 1000, "distributed"),  # deep SRL
]


@pytest.mark.parametrize("nbeats,simd,dt,depth,style", DESIGNS)
def test_fifo_designs(nbeats, simd, dt, depth, style):
    r, est = run_fifo(nbeats, simd, dt, depth, style)
    assert est == nbeats


@pytest.mark.full
@given(nbeats=st.integers(1, 60), simd=st.integers(1, 9), dt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8"]),
       depth=st.sampled_from([2, 3, 4, 16, 31, 32, 33, 64, 256, 257, 512, 700]), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_fifo_sweep(nbeats, simd, dt, depth, seed):
    run_fifo(nbeats, simd, dt, depth, seed=seed, runs=((0.0, 0.0, seed), (0.4, 0.4, seed + 1)))
