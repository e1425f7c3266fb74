"""StreamingFIFO HLS layer (hlslib/sf_fifo.hpp) in cppsim: values pass
unchanged for SRL, BRAM and URAM storage; the emitted top is a dataflow region
whose FIFO has the node's depth and the storage its ram_style asks for. (In
cppsim an hls::stream is unbounded, so the depth itself only shows in
hardware.)"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hls_test_util import check_cppsim, emit, node_model, rand_values, same_beats_as_rtl


def fifo_model(nbeats, simd, dt, depth, ram_style="auto", n=3):
    return node_model("StreamingFIFO", [("x", (n, nbeats * simd), dt)], [("y", (n, nbeats * simd))], depth=depth,
                      folded_shape=[1, nbeats, simd], dataType=dt, ram_style=ram_style)


def run_fifo(nbeats, simd, dt, depth, ram_style="auto", n=3, seeds=(0, 1)):
    m = fifo_model(nbeats, simd, dt, depth, ram_style, n)
    for seed in seeds:
        check_cppsim(m, {"x": rand_values(np.random.default_rng(seed), dt, (n, nbeats * simd))})


DESIGNS = [
    # beats, elems/beat, dtype, depth, ram_style
    (37, 3, "INT4", 2, "auto"),
    (29, 5, "UINT7", 300, "auto"),          # BRAM
    (40, 4, "UINT2", 1000, "distributed"),  # deep SRL
]


@pytest.mark.parametrize("nbeats,simd,dt,depth,style", DESIGNS)
def test_fifo_designs(nbeats, simd, dt, depth, style):
    run_fifo(nbeats, simd, dt, depth, style)


@pytest.mark.parametrize("depth,style,impl", [(33, "auto", "srl"), (300, "auto", "bram"), (5, "block", "bram"),
                                              (1000, "distributed", "srl"), (64, "ultra", "uram")])
def test_fifo_pragmas(tmp_path, depth, style, impl):
    d, _ = emit(fifo_model(10, 2, "INT4", depth, style, 1), tmp_path)
    top = open(os.path.join(d, "top_StreamingFIFO_0.cpp")).read()
    assert "#pragma HLS DATAFLOW" in top
    assert f"#pragma HLS STREAM variable=q depth={depth}" in top
    assert f"type=fifo impl={impl}" in top


@pytest.mark.full
@given(nbeats=st.integers(1, 60), simd=st.integers(1, 6), depth=st.integers(2, 600),
       dt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8", "UINT1"]), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=20, derandomize=True, suppress_health_check=list(HealthCheck))
def test_fifo_sweep(nbeats, simd, depth, dt, seed):
    run_fifo(nbeats, simd, dt, depth, seeds=(seed,))


@pytest.mark.full
def test_fifo_beats_match_rtl(tmp_path):
    m = fifo_model(37, 3, "INT4", 2)
    same_beats_as_rtl(m, {"x": rand_values(np.random.default_rng(5), "INT4", (3, 111))}, tmp_path)
