"""MVAU HLS (hlslib/sf_mvau.hpp, cpp/ops/mvau/mvau_hls.cpp) in cppsim against
the reference execution of the same single-node graph, bit-exactly.

The graphs and data are the RTL test's (test_rtl_mvau: the same six designs:
XNOR-popcount, w1a2 with numInputVectors, signed 4-bit MACs, noActivation
with ternary weights, full parallelism with 255 shared thresholds, bipolar
inputs with a BIPOLAR output). A cppsim build does not depend on the weights,
so new data for a design costs a run, not a compile. The wide sweep over
shapes, foldings, datatypes and both mem_modes is @pytest.mark.full.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import streamfold as sf
from streamfold import cppsim
from hls_test_util import check_cppsim, same_beats_as_rtl
from test_rtl_mvau import DESIGNS, NODE, design_data, designs, divisors, make_model


def check(d, seed, frames=2):
    w, thr, x = design_data(d, seed, frames)
    return check_cppsim(sf.ModelWrapper(make_model(d, w, thr)), {"x": x}, NODE)


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_mvau_hls_designs(name):
    for seed in (0, 1, 2):
        check(DESIGNS[name], seed=seed, frames=3)


@given(name=st.sampled_from(sorted(DESIGNS)), seed=st.integers(0, 2 ** 20))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mvau_hls_random_data(name, seed):
    check(DESIGNS[name], seed=seed)


def test_mvau_hls_mem_modes_are_one_build(tmp_path):
    """internal_embedded and internal_decoupled emit the same C++."""
    d = DESIGNS["s4s4_dsp_mw16_mh8_pe2_simd4"]
    w, thr, _ = design_data(d, 0)
    tops = []
    for mem in ("internal_embedded", "internal_decoupled"):
        layer = cppsim.emit_node(make_model(dict(d, mem=mem), w, thr), NODE, tmp_path / mem)
        tops.append(open(f"{layer}/top_{NODE}.cpp").read())
    assert tops[0] == tops[1]


@pytest.mark.parametrize("ram,impl", [("block", "bram"), ("distributed", "lutram"), ("ultra", "uram")])
def test_mvau_hls_weight_storage(tmp_path, ram, impl):
    """ram_style binds the per-lane weight ROMs as the RTL places them."""
    d = dict(DESIGNS["s4s4_dsp_mw16_mh8_pe2_simd4"], ram=ram)
    w, thr, _ = design_data(d, 0)
    layer = cppsim.emit_node(make_model(d, w, thr), NODE, tmp_path / "l")
    assert f"#pragma HLS BIND_STORAGE variable={NODE}_weights type=rom_2p impl={impl}" in \
        open(f"{layer}/top_{NODE}.cpp").read()


@pytest.mark.parametrize("res,dsp", [("dsp", "true"), ("lut", "false"), ("auto", "true")])
def test_mvau_hls_multipliers(tmp_path, res, dsp):
    """resType picks DSP48 or LUT products (sf::mul's BIND_OP) by the RTL rule:
    auto gives DSPs to products of two 4-bit-or-wider operands."""
    d = dict(DESIGNS["s4s4_dsp_mw16_mh8_pe2_simd4"], res=res)
    w, thr, _ = design_data(d, 0)
    layer = cppsim.emit_node(make_model(d, w, thr), NODE, tmp_path / "l")
    assert f"sf::mvau<16, 8, 4, 2, 4, 1, 4, 1, false, {dsp}," in open(f"{layer}/top_{NODE}.cpp").read()


def test_mvau_hls_external_weights_is_a_clear_error(tmp_path):
    d = dict(DESIGNS["noact_pe1_simd1_u3t"], mem="external")
    w, thr, _ = design_data(d, 0)
    with pytest.raises(sf.ModelError, match="mem_mode=external"):
        cppsim.emit_node(make_model(d, w, thr), NODE, tmp_path / "l")


def test_mvau_hls_weight_array_layout(tmp_path):
    """PE lanes of WMEM words, word nf*SF + sf of lane p holding
    W[sf*SIMD + s][nf*PE + p] at bits [s*WBITS +: WBITS], bipolar as {0,1}."""
    d = dict(mw=4, mh=4, simd=2, pe=2, idt="INT2", wdt="BIPOLAR", odt="INT2")
    rng = np.random.default_rng(0)
    w = rng.choice([-1.0, 1.0], size=(4, 4)).astype(np.float32)
    layer = cppsim.emit_node(make_model(d, w, None), NODE, tmp_path / "l")
    words = [int(s, 16) for s in open(f"{layer}/{NODE}_weights.dat").read().split()]
    assert len(words) == 2 * 4  # PE x WMEM
    for i, word in enumerate(words):
        p, addr = divmod(i, 4)
        nf, sf_ = divmod(addr, 2)
        for s in range(2):
            assert (word >> s) & 1 == (w[sf_ * 2 + s, nf * 2 + p] + 1) / 2


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_mvau_hls_beats_equal_rtl(name, tmp_path):
    """Same input beats into the HLS and the RTL layer: identical output beats."""
    w, thr, x = design_data(DESIGNS[name], 7)
    same_beats_as_rtl(sf.ModelWrapper(make_model(DESIGNS[name], w, thr)), {"x": x}, tmp_path)


@pytest.mark.full
@given(d=designs(), seed=st.integers(0, 2 ** 20))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mvau_hls_sweep(d, seed):
    check(d, seed=seed, frames=3)


@pytest.mark.full
@pytest.mark.parametrize("pe", divisors(12))
@pytest.mark.parametrize("simd", divisors(18))
def test_mvau_hls_every_fold(pe, simd):
    d = dict(mw=18, mh=12, simd=simd, pe=pe, idt="UINT3", wdt="INT3", odt="UINT3", act=True)
    check(d, seed=pe * 100 + simd, frames=3)


@pytest.mark.full
@pytest.mark.parametrize("mw,simd,pe", [(2048, 64, 2), (3000, 100, 4)])
def test_mvau_hls_wide_input(mw, simd, pe):
    d = dict(mw=mw, mh=8, simd=simd, pe=pe, idt="UINT2", wdt="INT2", odt="UINT4", act=True, nvec=2)
    check(d, seed=mw)
