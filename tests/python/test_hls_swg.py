"""ConvolutionInputGenerator HLS layer (hlslib/sf_swg.hpp) in cppsim: bit-exact
against the op's reference for 2-D and 1-D windows, non-square kernels and
images, stride, dilation, SIMD folds, depthwise order (undone by the harness
from the layer's order spec, the same as the RTL layer's) and 1..8-bit types;
plus what the emitted folder holds and the typed errors."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamfold import rtlsim
from streamfold.errors import StreamfoldError
from hls_test_util import check_cppsim, emit, same_beats_as_rtl
from test_rtl_swg import node_model, rand_values, swg_model, sweep_geometry


def run_swg(ifm, k, s, d, c, simd, dt="UINT4", dw=0, ram_style="auto", n=3, seeds=(0, 1)):
    m = swg_model(ifm, k, s, d, c, simd, dt, dw, ram_style, n)
    for seed in seeds:  # one g++ build, several inputs
        x = rand_values(np.random.default_rng(seed), dt, (n, ifm[0], ifm[1], c))
        check_cppsim(m, {"x": x})
    return m


DESIGNS = [
    # ifm,   kernel,  stride, dilation, C, SIMD, dtype, depthwise, ram_style
    ([7, 5], [3, 3], [1, 1], [1, 1], 13, 1, "UINT4", 0, "auto"),
    ([7, 5], [3, 2], [2, 1], [1, 2], 4, 2, "INT3", 1, "distributed"),
    ([1, 9], [1, 3], [1, 2], [1, 2], 6, 3, "BIPOLAR", 0, "auto"),   # 1-D (runs as a column)
    ([8, 8], [3, 3], [3, 3], [2, 2], 2, 1, "UINT2", 1, "block"),
    ([9, 1], [4, 1], [2, 1], [1, 1], 4, 4, "INT8", 1, "auto"),       # 1-D along the height
]


@pytest.mark.parametrize("ifm,k,s,d,c,simd,dt,dw,rs", DESIGNS)
def test_swg_designs(ifm, k, s, d, c, simd, dt, dw, rs):
    run_swg(ifm, k, s, d, c, simd, dt, dw, rs)


def test_swg_emitted_folder(tmp_path):
    m = swg_model([7, 5], [3, 2], [2, 1], [1, 2], 4, 2, "INT3", 1, "block", 1)
    d, man = emit(m, tmp_path)
    top = open(os.path.join(d, "top_ConvolutionInputGenerator_0.cpp")).read()
    for want in ("void ConvolutionInputGenerator_0(", "#pragma HLS INTERFACE axis port=in0_V",
                 "#pragma HLS INTERFACE axis port=out_V", "#pragma HLS INTERFACE ap_ctrl_none port=return",
                 "impl=bram", '#include "hlslib/sf_swg.hpp"'):
        assert want in top, want
    # Self-contained: the library headers it includes are in the folder.
    assert os.path.isfile(os.path.join(d, "hlslib", "sf_swg.hpp"))
    assert os.path.isfile(os.path.join(d, "hlslib", "sf_common.hpp"))
    assert os.path.isfile(os.path.join(d, "hls_syn_ConvolutionInputGenerator_0.tcl"))
    # Depthwise: the same stream order as the RTL layer states.
    out = man["outputs"][0]
    assert out["order_shape"] == [6, 2, 2] and out["order_perm"] == [1, 0, 2]
    rman = rtlsim.load_manifest(rtlsim.emit_node(m, "ConvolutionInputGenerator_0", tmp_path / "rtl"))
    assert rman["outputs"][0]["order_shape"] == out["order_shape"]
    assert rman["outputs"][0]["order_perm"] == out["order_perm"]


def test_swg_auto_ram_style(tmp_path):
    # auto: LUTRAM up to 4 kbit of line buffer, block RAM above (the RTL rule).
    small = swg_model([5, 5], [3, 3], [1, 1], [1, 1], 2, 1, "UINT4", 0, "auto", 1)
    big = swg_model([9, 32], [3, 3], [1, 1], [1, 1], 8, 8, "UINT8", 0, "auto", 1)
    d, _ = emit(small, tmp_path / "s")
    assert "impl=lutram" in open(os.path.join(d, "top_ConvolutionInputGenerator_0.cpp")).read()
    d, _ = emit(big, tmp_path / "b")
    assert "impl=bram" in open(os.path.join(d, "top_ConvolutionInputGenerator_0.cpp")).read()


def test_swg_width_change_is_an_error(tmp_path):
    m = node_model("ConvolutionInputGenerator", (1, 5, 5, 2), (1, 3, 3, 18), in_dt="UINT4", ConvKernelDim=[3, 3],
                   IFMDim=[5, 5], OFMDim=[3, 3], IFMChannels=2, SIMD=1, inputDataType="UINT4",
                   outputDataType="UINT8")
    with pytest.raises(StreamfoldError, match="ConvolutionInputGenerator_0.*width"):
        emit(m, tmp_path)


@pytest.mark.full
@given(h=st.integers(1, 9), w=st.integers(1, 9), kh=st.integers(1, 5), kw=st.integers(1, 5),
       sh=st.integers(1, 3), sw=st.integers(1, 3), dh=st.integers(1, 2), dw_=st.integers(1, 2),
       c=st.integers(1, 13), simd_i=st.integers(0, 12), depthwise=st.integers(0, 1),
       dt=st.sampled_from(["UINT4", "INT2", "BIPOLAR", "INT8", "UINT1", "INT5", "UINT7"]), seed=st.integers(0, 2 ** 16))
@settings(deadline=None, max_examples=40, derandomize=True, suppress_health_check=list(HealthCheck))
def test_swg_sweep(h, w, kh, kw, sh, sw, dh, dw_, c, simd_i, depthwise, dt, seed):
    g = sweep_geometry(h, w, kh, kw, sh, sw, dh, dw_)
    if g is None:
        return
    divs = [v for v in range(1, c + 1) if c % v == 0]
    run_swg(*g, c, divs[simd_i % len(divs)], dt, depthwise, seeds=(seed,))


def test_swg_beats_match_rtl(tmp_path):
    # Depthwise: the beat order a VVAU/Pool consumes; HLS and RTL must agree
    # beat for beat. (test_rtl_swg builds the same RTL design: one shared
    # Verilator build.)
    m = swg_model([7, 5], [3, 2], [2, 1], [1, 2], 4, 2, "INT3", 1, "distributed", 3)
    same_beats_as_rtl(m, {"x": rand_values(np.random.default_rng(5), "INT3", (3, 7, 5, 4))}, tmp_path)


@pytest.mark.full
def test_swg_standard_beats_match_rtl(tmp_path):
    m = swg_model([7, 5], [3, 3], [1, 1], [1, 1], 13, 1, "UINT4", 0, "auto", 3)
    same_beats_as_rtl(m, {"x": rand_values(np.random.default_rng(5), "UINT4", (3, 7, 5, 13))}, tmp_path)
