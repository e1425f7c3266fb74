"""VVAU HLS (hlslib/sf_vvau.hpp) in cppsim against the reference execution
of the same single-node graph, bit-exactly, on the RTL test's designs
(fully folded, fully parallel, partial folding on both axes, thresholded with
ternary weights, bipolar x bipolar with a BIPOLAR output). The input stream
has the RTL VVAU's depthwise beat order (order_shape/order_perm in the
manifest), checked here too. The wide sweep is @pytest.mark.full."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import streamfold as sf
from streamfold import cppsim, rtlsim
from hls_test_util import check_cppsim, same_beats_as_rtl
from test_rtl_vvau import DESIGNS, NODE, design_data, designs, divisors, make_model


def model_of(d, w, thr):
    return make_model(d["c"], d["k"], d["dim"], d["pe"], d["simd"], d["idt"], d["wdt"], d["odt"], w, thr,
                      d.get("res", "lut"), d.get("ram", "auto"))


def check(d, seed):
    w, thr, x = design_data(d, seed)
    return check_cppsim(sf.ModelWrapper(model_of(d, w, thr)), {"x": x}, NODE)


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_vvau_hls_designs(name):
    for seed in (0, 1, 2):
        check(DESIGNS[name], seed=seed)


@given(name=st.sampled_from(sorted(DESIGNS)), seed=st.integers(0, 2 ** 20))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_vvau_hls_random_data(name, seed):
    check(DESIGNS[name], seed=seed)


def test_vvau_hls_stream_order_is_the_rtl_layers(tmp_path):
    d = DESIGNS["c6_pe2_simd3_s4s4_dsp"]
    w, thr, _ = design_data(d, 0)
    m = model_of(d, w, thr)
    hls = cppsim.load_manifest(cppsim.emit_node(m, NODE, tmp_path / "h"))
    rtl = rtlsim.load_manifest(rtlsim.emit_node(m, NODE, tmp_path / "r"))
    # The fields that fix the beats; the RTL manifest also says how weight
    # streams repeat (mem_mode external), which the HLS layers do not have.
    keys = ("name", "width", "order_shape", "order_perm")
    for side in ("inputs", "outputs"):
        assert [{k: s.get(k) for k in keys} for s in hls[side]] == [{k: s.get(k) for k in keys} for s in rtl[side]]


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_vvau_hls_beats_equal_rtl(name, tmp_path):
    """Same input beats (the depthwise order) into the HLS and the RTL layer: identical output beats."""
    w, thr, x = design_data(DESIGNS[name], 7)
    same_beats_as_rtl(sf.ModelWrapper(model_of(DESIGNS[name], w, thr)), {"x": x}, tmp_path)


@pytest.mark.full
@given(d=designs(), seed=st.integers(0, 2 ** 20))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_vvau_hls_sweep(d, seed):
    check(d, seed=seed)


@pytest.mark.full
@pytest.mark.parametrize("pe", divisors(12))
@pytest.mark.parametrize("simd", divisors(9))
def test_vvau_hls_every_fold(pe, simd):
    d = dict(c=12, k=(3, 3), dim=(2, 2), pe=pe, simd=simd, idt="UINT3", wdt="INT3", odt="UINT3", act=True)
    check(d, seed=pe * 10 + simd)
