"""VVAU RTL (cpp/ops/vvau/rtl, sf_vvau) in Verilator against the reference
execution of the same single-node graph, bit-exactly, with random input gaps
and output stalls; cycles per frame against estimate().cycles (within 5 %).

The node's input is in Im2Col order (kh, kw, c); the stream is FINN's
depthwise order (channel fold outside the kernel taps), which the harness
applies from the layer manifest (order_shape / order_perm of in0_V).

Default run: five designs (five Verilator builds), several data seeds each;
hypothesis draws weights, inputs, thresholds and gap/stall patterns within a
built design. The wide sweep over shapes, foldings and datatypes is
@pytest.mark.full (make test-full).
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import streamfold as sf
from streamfold import _core, rtlsim
from streamfold.core.modelwrapper import ModelWrapper

HW = "finn.custom_op.fpgadataflow"
NODE = "VVAU_0"


def dt_range(name):
    """(min, max) of a QONNX integer datatype name."""
    if name == "BIPOLAR":
        return -1, 1
    if name == "TERNARY":
        return -1, 1
    if name == "BINARY":
        return 0, 1
    if name.startswith("UINT"):
        return 0, 2 ** int(name[4:]) - 1
    b = int(name[3:])
    return -(2 ** (b - 1)), 2 ** (b - 1) - 1


def rand_vals(rng, name, shape, narrow=False):
    if name == "BIPOLAR":
        return rng.choice([-1.0, 1.0], size=shape).astype(np.float32)
    lo, hi = dt_range(name)
    if narrow and lo < 0:
        lo += 1
    return rng.integers(lo, hi + 1, size=shape).astype(np.float32)


def acc_range(idt, wdt, kk):
    (a0, a1), (w0, w1) = dt_range(idt), dt_range(wdt)
    c = [a0 * w0, a0 * w1, a1 * w0, a1 * w1]
    return min(c) * kk, max(c) * kk


def make_model(c, k, dim, pe, simd, idt, wdt, odt, w, thr=None, res_type="lut", ram_style="auto"):
    kh, kw = k
    h, wd = dim
    attrs = dict(Dim=[h, wd], Kernel=[kh, kw], Channels=c, PE=pe, SIMD=simd, inputDataType=idt,
                 weightDataType=wdt, outputDataType=odt, noActivation=int(thr is None), resType=res_type,
                 ram_style=ram_style)
    if thr is not None:
        attrs["ActVal"] = 0 if odt == "BIPOLAR" else dt_range(odt)[0]
    ins = ["x", "W"] + ([] if thr is None else ["T"])
    inits = [numpy_helper.from_array(np.asarray(w, dtype=np.float32), "W")]
    if thr is not None:
        inits.append(numpy_helper.from_array(np.asarray(thr, dtype=np.float32), "T"))
    g = helper.make_graph(
        [helper.make_node("VVAU", ins, ["y"], domain=HW, name=NODE, **attrs)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", h, wd, kh * kw * c])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", h, wd, c])], initializer=inits)
    for t, d in (("x", idt), ("y", odt)):
        a = g.quantization_annotation.add()
        a.tensor_name = t
        e = a.quant_parameter_tensor_names.add()
        e.key, e.value = "finn_datatype", d
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(HW, 1)])


def design_data(d, seed):
    """Weights, thresholds and a 2-frame input for design dict d."""
    rng = np.random.default_rng(seed)
    c, (kh, kw) = d["c"], d["k"]
    w = rand_vals(rng, d["wdt"], (c, 1, kh, kw), narrow=d.get("narrow", False))
    thr = None
    if d.get("act"):
        odt = d["odt"]
        steps = 1 if odt == "BIPOLAR" else dt_range(odt)[1] - dt_range(odt)[0]
        lo, hi = acc_range(d["idt"], d["wdt"], kh * kw)
        rows = 1 if d.get("shared") else c
        # Mostly inside the accumulator range, a few past either end (clamped in RTL).
        thr = np.sort(rng.integers(lo - 2, hi + 3, size=(rows, steps)), axis=1).astype(np.float32)
    x = rand_vals(rng, d["idt"], (2, d["dim"][0], d["dim"][1], kh * kw * c))
    return w, thr, x


def check(d, seed, in_gap=0.3, out_stall=0.3, check_cycles=False):
    w, thr, x = design_data(d, seed)
    m = make_model(d["c"], d["k"], d["dim"], d["pe"], d["simd"], d["idt"], d["wdt"], d["odt"], w, thr,
                   d.get("res", "lut"), d.get("ram", "auto"))
    want = sf.execute_onnx(m, {"x": x})["y"]
    r = rtlsim.simulate_node(m, NODE, [x], in_gap=in_gap, out_stall=out_stall, seed=seed)
    np.testing.assert_array_equal(r.outputs[0], want)
    if check_cycles:
        est = _core.hw_estimate(ModelWrapper(m)._model, NODE)["cycles"]
        assert abs(r.interval_cycles - est) <= 0.05 * est, (r.interval_cycles, est)
    return r


# The default designs: one Verilator build each.
DESIGNS = {
    # 3x3 depthwise on 5 channels, fully folded.
    "c5_pe1_simd1_u4s4": dict(c=5, k=(3, 3), dim=(3, 4), pe=1, simd=1, idt="UINT4", wdt="INT4", odt="INT32"),
    # Fully parallel: PE = C, SIMD = Kh*Kw (one beat per pixel, one weight word).
    "c5_pe5_simd9_u4s4": dict(c=5, k=(3, 3), dim=(3, 4), pe=5, simd=9, idt="UINT4", wdt="INT4", odt="INT12"),
    # Signed 4-bit MACs in DSP48E1, partial folding on both axes.
    "c6_pe2_simd3_s4s4_dsp": dict(c=6, k=(3, 3), dim=(2, 3), pe=2, simd=3, idt="INT4", wdt="INT4", odt="INT16",
                                  res="dsp"),
    # Thresholded: ternary weights, 3-bit signed input, UINT2 output, per-channel thresholds.
    "c6_pe3_simd3_s3t_act_u2": dict(c=6, k=(3, 3), dim=(3, 3), pe=3, simd=3, idt="INT3", wdt="TERNARY",
                                    odt="UINT2", act=True),
    # Bipolar x bipolar, BIPOLAR output (one shared threshold), 1x3 kernel.
    "c4_pe2_simd3_bip_act_bip": dict(c=4, k=(1, 3), dim=(4, 2), pe=2, simd=3, idt="BIPOLAR", wdt="BIPOLAR",
                                     odt="BIPOLAR", act=True, shared=True),
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_vvau_rtl_designs(name, tmp_path):
    d = DESIGNS[name]
    w, thr, _ = design_data(d, 0)
    m = make_model(d["c"], d["k"], d["dim"], d["pe"], d["simd"], d["idt"], d["wdt"], d["odt"], w, thr,
                   d.get("res", "lut"), d.get("ram", "auto"))
    assert rtlsim.lint_layer(rtlsim.emit_node(m, NODE, tmp_path / "layer")) == []
    check(d, seed=0, in_gap=0.0, out_stall=0.0, check_cycles=True)
    for seed in (1, 2, 3):
        check(d, seed=seed, in_gap=0.4, out_stall=0.4)
    check(d, seed=4, in_gap=0.0, out_stall=0.8)  # heavy backpressure


@given(name=st.sampled_from(sorted(DESIGNS)), seed=st.integers(0, 2 ** 20),
       gap=st.sampled_from([0.0, 0.2, 0.6]), stall=st.sampled_from([0.0, 0.3, 0.7]))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_vvau_rtl_random_data(name, seed, gap, stall):
    check(DESIGNS[name], seed=seed, in_gap=gap, out_stall=stall)


# ---------------------------------------------------------------- wide sweep
TYPES = ["BIPOLAR", "TERNARY", "BINARY", "UINT2", "UINT3", "UINT4", "UINT8", "INT2", "INT3", "INT4", "INT5", "INT8"]


def divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def designs(draw):
    kh = draw(st.integers(1, 4))
    kw = draw(st.integers(1, 4))
    c = draw(st.integers(1, 9))
    d = dict(c=c, k=(kh, kw), dim=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
             pe=draw(st.sampled_from(divisors(c))), simd=draw(st.sampled_from(divisors(kh * kw))),
             idt=draw(st.sampled_from(TYPES)), wdt=draw(st.sampled_from(TYPES)),
             res=draw(st.sampled_from(["lut", "dsp", "auto"])), ram=draw(st.sampled_from(["auto", "block",
                                                                                            "distributed"])),
             narrow=draw(st.booleans()))
    if draw(st.booleans()):
        d["act"] = True
        d["shared"] = draw(st.booleans())
        d["odt"] = draw(st.sampled_from(["BIPOLAR", "BINARY", "UINT2", "UINT4", "INT2", "INT3"]))
        if d["odt"] == "BIPOLAR":
            d["shared"] = True
    else:
        lo, hi = acc_range(d["idt"], d["wdt"], kh * kw)
        bits = draw(st.sampled_from([0, 1, 8]))  # extra bits over the minimum (0: truncation-free minimum)
        need = int(np.ceil(np.log2(max(-lo, hi + 1)))) + 1
        d["odt"] = f"INT{need + bits}"
    return d


@pytest.mark.full
@given(d=designs(), seed=st.integers(0, 2 ** 20))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_vvau_rtl_sweep(d, seed):
    check(d, seed=seed, in_gap=0.0, out_stall=0.0, check_cycles=True)
    check(d, seed=seed + 1, in_gap=0.3, out_stall=0.5)


@pytest.mark.full
@pytest.mark.parametrize("pe", divisors(12))
@pytest.mark.parametrize("simd", divisors(9))
def test_vvau_rtl_every_fold(pe, simd):
    """Every legal (PE, SIMD) of a 3x3 depthwise conv on 12 channels."""
    d = dict(c=12, k=(3, 3), dim=(2, 2), pe=pe, simd=simd, idt="UINT3", wdt="INT3", odt="UINT3", act=True)
    check(d, seed=pe * 10 + simd, in_gap=0.0, out_stall=0.0, check_cycles=True)
    check(d, seed=pe * 10 + simd + 1, in_gap=0.3, out_stall=0.3)
