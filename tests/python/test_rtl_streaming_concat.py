"""StreamingConcat RTL (sf_concat): channel-wise concatenation of N streams
(ChannelsPerStream, SIMD dividing each) under random gaps on every input and
output stalls; one output beat per cycle when nothing stalls."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtl_stream_util import check, node_model, rand_values


def cat_model(niv, chans, simd, dts, n=3):
    """The single-node StreamingConcat model and its inputs (name, shape, dtype);
    test_hls_concat.py builds the same."""
    lead = tuple(niv[1:])
    ins = [(f"x{i}", (n,) + lead + (c,), dts[i]) for i, c in enumerate(chans)]
    m = node_model("StreamingConcat", ins, [("y", (n,) + lead + (sum(chans),))], ChannelsPerStream=list(chans),
                   SIMD=simd, numInputVectors=list(niv), inputDataTypes=list(dts))
    return m, ins


def run_cat(niv, chans, simd, dt, n=3, seed=0, runs=None):
    m, ins = cat_model(niv, chans, simd, [dt] * len(chans), n)
    rng = np.random.default_rng(seed)
    xs = {name: rand_values(rng, dt, shape) for name, shape, _ in ins}
    return check(m, xs, **({} if runs is None else {"runs": runs}))


DESIGNS = [
    # numInputVectors, ChannelsPerStream, SIMD, dtype
    ([1, 7, 5], [13, 5], 1, "INT4"),
    ([1, 3, 3], [6, 3, 9], 3, "UINT3"),
    ([1, 4], [2, 2, 2, 4], 2, "BIPOLAR"),
    ([1, 2], [7], 7, "INT8"),
]


@pytest.mark.parametrize("niv,chans,simd,dt", DESIGNS)
def test_concat_designs(niv, chans, simd, dt):
    run_cat(niv, chans, simd, dt)


# The sweep's strategies (also the FIFO schedule tests').
CONCAT_SWEEP = dict(h=st.integers(1, 5), w=st.integers(1, 5), nin=st.integers(1, 5), simd=st.sampled_from([1, 2, 3]),
                    mult=st.lists(st.integers(1, 5), min_size=5, max_size=5),
                    dt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8"]), seed=st.integers(0, 2 ** 16))


@pytest.mark.full
@given(**CONCAT_SWEEP)
@settings(deadline=None, max_examples=30, derandomize=True, suppress_health_check=list(HealthCheck))
def test_concat_sweep(h, w, nin, simd, mult, dt, seed):
    run_cat([1, h, w], [simd * m for m in mult[:nin]], simd, dt, seed=seed,
            runs=((0.0, 0.0, seed), (0.4, 0.4, seed + 1)))
