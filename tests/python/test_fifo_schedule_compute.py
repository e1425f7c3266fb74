"""Stream schedule models (OpDef::schedule, ops/hw/schedule.h) of the compute
layers against their RTL, beat by beat (schedule_test_util): MVAU
(ops/mvau/mvau_schedule.cpp), VVAU (ops/vvau/vvau_schedule.cpp),
Thresholding and ChannelwiseOp (their OpDefs). Each layer runs alone in
Verilator with random input gaps (0 and 0.3) and an always-ready sink over 3
frames; the model, given the same input offer cycles, must put every input
take and output offer at the same cycle (tol 0). The model's steady-state
frame interval (inputs always there) must equal estimate().cycles.

mem_mode external: the model has only the data stream (the weight stream is
assumed to keep up). The harness's gap applies to every input stream, the
weight stream too, so those designs are checked with the weight stream
always offered (gap 0) and the data stream paced by in_rate (which the
weight stream ignores) at several rates instead of random gaps.

The layers are built with the RTL tests' builders (test_rtl_<op>.py).
Default run: 17 designs (one Verilator build each). The sweeps over datatypes,
shapes and every legal folding are @pytest.mark.full.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import helper

import test_rtl_channelwise as C
import test_rtl_mvau as M
import test_rtl_thresholding as T
import test_rtl_vvau as V
from schedule_test_util import check_schedule, rtl_trace
from streamfold import _core
from streamfold.core.modelwrapper import ModelWrapper

FRAMES = 3
GAPS = ((0.0, 1), (0.3, 2))


def model_interval(mw, node, frames=4):
    """The model's frame interval with every input beat there from cycle 0."""
    raw = mw._model
    s = _core.hw_schedule(raw, node)
    arr = [[0] * (frames * b) for b in s["in_beats"]]
    out = _core.hw_schedule_times(raw, node, frames, arr)["out_take"][0]
    ob = s["out_beats"][0]
    return out[-1] - out[-1 - ob]


def check_interval(mw, node):
    est = _core.hw_estimate(mw._model, node)["cycles"]
    assert model_interval(mw, node) == est, (model_interval(mw, node), est)


def data_error(mw, node, inputs, gap=0.0, seed=0, rate=1.0):
    """schedule_error for a layer with a weight stream (mem_mode external):
    the model's ports are the data streams only, the first ones of the RTL."""
    offer, take, out = rtl_trace(mw, node, inputs, gap, seed, rate)
    ni = len(_core.hw_schedule(mw._model, node)["in_beats"])
    m = _core.hw_schedule_times(mw._model, node, int(np.asarray(inputs[0]).shape[0]),
                                [list(map(int, o)) for o in offer[:ni]])
    worst, first = 0, None
    for kind, got, want in (("in", m["in_take"], take[:ni]), ("out", m["out_take"], out)):
        for p, (g, w) in enumerate(zip(got, want)):
            g, w = np.asarray(g, np.int64), np.asarray(w, np.int64)
            assert g.shape == w.shape, f"{kind}{p}: model has {g.shape[0]} beats, RTL {w.shape[0]}"
            d = np.abs(g - w)
            if d.size and d.max() > worst:
                worst = int(d.max())
                if first is None:
                    k = int(np.argmax(d > 0))
                    first = f"{kind}{p} beat {k}: model {int(g[k])}, RTL {int(w[k])}"
    return worst, first


def check_external(mw, node, inputs, rates=(1.0, 0.6, 0.37)):
    for i, rate in enumerate(rates):
        worst, first = data_error(mw, node, inputs, 0.0, i + 1, rate)
        assert worst == 0, f"{node} rate={rate}: {first}"


# ---------------------------------------------------------------- builders
def mvau(d, seed=0):
    w, thr, x = M.design_data(d, seed, FRAMES)
    return ModelWrapper(M.make_model(d, w, thr)), [x]


def vvau(d, seed=0, external=False):
    w, thr, _ = V.design_data(d, seed)
    m = V.make_model(d["c"], d["k"], d["dim"], d["pe"], d["simd"], d["idt"], d["wdt"], d["odt"], w, thr,
                     d.get("res", "lut"), d.get("ram", "auto"))
    if external:
        m.graph.node[0].attribute.append(helper.make_attribute("mem_mode", "external"))
    (kh, kw), (h, wd) = d["k"], d["dim"]
    x = V.rand_vals(np.random.default_rng(seed + 7), d["idt"], (FRAMES, h, wd, kh * kw * d["c"]))
    return ModelWrapper(m), [x]


def thresholding(d, seed=0):
    thr, x = T.design_data(d, seed, FRAMES)
    return ModelWrapper(T.make_model(d, thr)), [x]


def channelwise(niv, c, pe, func, idt, pdt, bc=False, style="auto", seed=0):
    m, xs = C.cw_model(niv, c, pe, func, idt, pdt, bc, style, n=FRAMES, seed=seed)
    return m, [xs["x"]]


def run(mw, node, xs, external=False):
    check_interval(mw, node)
    if external:
        check_external(mw, node, xs)
    else:
        check_schedule(mw, node, xs, gaps=GAPS)


# ---------------------------------------------------------------- CI designs
MVAU_DESIGNS = {
    # NF = 2, SF = 3 (input buffer), bipolar weights, thresholds, 3 vectors.
    "w1a2_nf2_sf3_nvec3": M.DESIGNS["w1a2_mw12_mh6_pe3_simd4_nvec3"],
    # PE = SIMD = 1 (NF = 5, SF = 7), noActivation.
    "noact_pe1_simd1": M.DESIGNS["noact_pe1_simd1_u3t"],
    # XNOR-popcount, SIMD 24 (4 popcount groups), NF = SF = 4.
    "xnor_nf4_sf4": M.DESIGNS["xnor_mw96_mh16_pe4_simd24"],
    # NF = SF = 1, 255 shared thresholds (8 search stages).
    "full_255thr": M.DESIGNS["full_s8u8_u8_shared"],
    # Conv-style: 25 pixels per frame, NF = 4, SF = 6, DSP MACs.
    "conv_25px_nf4_sf6": dict(mw=18, mh=8, simd=3, pe=2, idt="UINT4", wdt="INT4", odt="UINT4", act=True, nvec=25,
                              res="dsp"),
    # NF = 3, SF = 1 (no input buffer: the register holds the one beat).
    "nf3_sf1_noact": dict(mw=4, mh=6, simd=4, pe=2, idt="INT2", wdt="INT2", odt="INT6", nvec=4),
    # NF = 1, SF = 8: only fold 0, one input beat per step.
    "nf1_sf8_bip": dict(mw=16, mh=3, simd=2, pe=3, idt="UINT2", wdt="BIPOLAR", odt="BIPOLAR", act=True, shared=True,
                        nvec=2),
}


@pytest.mark.parametrize("name", sorted(MVAU_DESIGNS))
def test_mvau_schedule(name):
    mw, xs = mvau(MVAU_DESIGNS[name])
    run(mw, M.NODE, xs)


def test_mvau_external_schedule():
    """mem_mode external with the weight stream always offered: the same
    schedule as the ROM (NF = 4, SF = 4, weight beats wider than data)."""
    mw, xs = mvau(dict(M.DESIGNS["s4s4_dsp_mw16_mh8_pe2_simd4"], mem="external", nvec=3))
    run(mw, M.NODE, xs, external=True)


VVAU_DESIGNS = {
    # NF = 3, SF = 3, DSP MACs, noActivation.
    "c6_pe2_simd3_dsp": V.DESIGNS["c6_pe2_simd3_s4s4_dsp"],
    # Fully folded, 12 pixels, 45 beats each.
    "c5_pe1_simd1": V.DESIGNS["c5_pe1_simd1_u4s4"],
    # Fully parallel (one beat per pixel).
    "c5_pe5_simd9": V.DESIGNS["c5_pe5_simd9_u4s4"],
    # Thresholds (sf_thresholding behind the MAC), 9 pixels.
    "c6_pe3_simd3_act": V.DESIGNS["c6_pe3_simd3_s3t_act_u2"],
}


@pytest.mark.parametrize("name", sorted(VVAU_DESIGNS))
def test_vvau_schedule(name):
    mw, xs = vvau(VVAU_DESIGNS[name])
    run(mw, V.NODE, xs)


def test_vvau_external_schedule():
    mw, xs = vvau(V.DESIGNS["c4_pe2_simd3_bip_act_bip"], external=True)
    run(mw, V.NODE, xs, external=True)


@pytest.mark.parametrize("name", sorted(T.DESIGNS)[:2])
def test_thresholding_schedule(name):
    mw, xs = thresholding(T.DESIGNS[name])
    run(mw, T.NODE, xs)


@pytest.mark.parametrize("design", C.DESIGNS[:2])
def test_channelwise_schedule(design):
    mw, xs = channelwise(*design)
    run(mw, "ChannelwiseOp_0", xs)


# ---------------------------------------------------------------- wide sweeps
@st.composite
def mvau_designs(draw):
    d = draw(M.designs())
    if draw(st.integers(0, 3)) == 0:
        d["mem"] = "external"
    return d


@pytest.mark.full
@given(d=mvau_designs(), seed=st.integers(0, 2 ** 20))
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
def test_mvau_schedule_sweep(d, seed):
    mw, xs = mvau(d, seed)
    run(mw, M.NODE, xs, external=d.get("mem") == "external")


@pytest.mark.full
@pytest.mark.parametrize("pe", M.divisors(12))
@pytest.mark.parametrize("simd", M.divisors(18))
def test_mvau_schedule_every_fold(pe, simd):
    """Every legal (PE, SIMD) of an 18 x 12 layer over 6 vectors."""
    d = dict(mw=18, mh=12, simd=simd, pe=pe, idt="UINT3", wdt="INT3", odt="UINT3", act=True, nvec=6)
    mw, xs = mvau(d, pe * 100 + simd)
    run(mw, M.NODE, xs)


@pytest.mark.full
@pytest.mark.parametrize("nvec,simd,pe,xnor", [(64, 9, 4, False), (49, 36, 1, True), (100, 1, 8, False)])
def test_mvau_schedule_conv(nvec, simd, pe, xnor):
    """Conv-style layers, many pixels per frame."""
    d = dict(mw=36, mh=8, simd=simd, pe=pe, idt="UINT4", wdt="INT3", odt="UINT2", act=True, nvec=nvec)
    if xnor:
        d.update(xnor=True, idt="BINARY", wdt="BINARY", odt="BINARY")
    mw, xs = mvau(d, nvec)
    run(mw, M.NODE, xs)


@pytest.mark.full
@given(d=V.designs(), seed=st.integers(0, 2 ** 20), ext=st.integers(0, 3))
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
def test_vvau_schedule_sweep(d, seed, ext):
    mw, xs = vvau(d, seed, external=ext == 0)
    run(mw, V.NODE, xs, external=ext == 0)


@pytest.mark.full
@pytest.mark.parametrize("pe", V.divisors(12))
@pytest.mark.parametrize("simd", V.divisors(9))
def test_vvau_schedule_every_fold(pe, simd):
    """Every legal (PE, SIMD) of a 3x3 depthwise conv on 12 channels, 16 pixels."""
    d = dict(c=12, k=(3, 3), dim=(4, 4), pe=pe, simd=simd, idt="UINT3", wdt="INT3", odt="UINT3", act=True)
    mw, xs = vvau(d, pe * 10 + simd)
    run(mw, V.NODE, xs)


@pytest.mark.full
@given(d=T.designs(), seed=st.integers(0, 2 ** 20))
@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
def test_thresholding_schedule_sweep(d, seed):
    mw, xs = thresholding(d, seed)
    run(mw, T.NODE, xs)


@pytest.mark.full
@pytest.mark.parametrize("pe", M.divisors(12))
def test_thresholding_schedule_every_fold(pe):
    d = dict(c=12, pe=pe, idt="INT5", odt="UINT3", pix=(3, 2))
    mw, xs = thresholding(d, pe)
    run(mw, T.NODE, xs)


@pytest.mark.full
@given(h=st.integers(1, 5), w=st.integers(1, 5), c=st.integers(1, 13), pe_i=st.integers(0, 12),
       func=st.sampled_from(["add", "mul", "cmp_le", "cmp_ge"]), idt=st.sampled_from(C.DTS + ["BIPOLAR"]),
       pdt=st.sampled_from(C.DTS), bc=st.booleans(), style=st.sampled_from(["auto", "block", "distributed"]),
       seed=st.integers(0, 2 ** 16))
@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_channelwise_schedule_sweep(h, w, c, pe_i, func, idt, pdt, bc, style, seed):
    divs = [v for v in range(1, c + 1) if c % v == 0]
    mw, xs = channelwise([1, h, w], c, divs[pe_i % len(divs)], func, idt, pdt, bc, style, seed)
    run(mw, "ChannelwiseOp_0", xs)
