"""StreamingConcat HLS layer (hlslib/sf_concat.hpp) in cppsim: channel-wise
concatenation of 1 to 5 streams (ChannelsPerStream, SIMD dividing each),
1..8-bit types; inputs of different widths are a typed error, as in the RTL
back end."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamfold.errors import StreamfoldError
from hls_test_util import check_cppsim, emit, rand_values, same_beats_as_rtl
from test_rtl_streaming_concat import DESIGNS, cat_model  # the RTL layer's designs and model


def run_cat(niv, chans, simd, dt, n=3, seeds=(0, 1)):
    m, ins = cat_model(niv, chans, simd, [dt] * len(chans), n)
    for seed in seeds:
        rng = np.random.default_rng(seed)
        check_cppsim(m, {name: rand_values(rng, dt, shape) for name, shape, _ in ins})


@pytest.mark.parametrize("niv,chans,simd,dt", DESIGNS)
def test_concat_designs(niv, chans, simd, dt):
    run_cat(niv, chans, simd, dt)


def test_concat_width_mismatch_is_an_error(tmp_path):
    m, _ = cat_model([1, 2], [2, 2], 1, ["INT4", "INT8"], 1)
    with pytest.raises(StreamfoldError, match="StreamingConcat_0.*width"):
        emit(m, tmp_path)


@pytest.mark.full
@given(h=st.integers(1, 5), w=st.integers(1, 5), nin=st.integers(1, 5), simd=st.sampled_from([1, 2, 3]),
       mult=st.lists(st.integers(1, 4), min_size=5, max_size=5),
       dt=st.sampled_from(["INT4", "UINT3", "BIPOLAR", "INT8", "UINT1", "INT2"]), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=25, derandomize=True, suppress_health_check=list(HealthCheck))
def test_concat_sweep(h, w, nin, simd, mult, dt, seed):
    run_cat([1, h, w], [simd * k for k in mult[:nin]], simd, dt, seeds=(seed,))


@pytest.mark.full
def test_concat_beats_match_rtl(tmp_path):
    m, ins = cat_model([1, 3, 3], [6, 3, 9], 3, ["UINT3"] * 3)
    rng = np.random.default_rng(5)
    same_beats_as_rtl(m, {name: rand_values(rng, "UINT3", shape) for name, shape, _ in ins}, tmp_path)
