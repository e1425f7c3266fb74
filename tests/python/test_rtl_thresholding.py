"""Thresholding RTL (cpp/ops/thresholding/rtl, sf_thresholding, with the
binary-search pipeline sf_thresh_bsearch) in Verilator against the reference
execution of the same single-node graph, bit-exactly, with random input gaps
and output stalls; cycles per frame against estimate().cycles (within 5 %).

Default run: three designs (three Verilator builds): 255 per-channel
thresholds on signed 8-bit inputs, BIPOLAR output from one shared threshold
with full parallelism on NHWC data, and a signed 3-bit output (ActVal < 0) with
PE = 1. The wide sweep is @pytest.mark.full.
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
NODE = "Thresholding_0"


def dt_range(name):
    if name in ("BIPOLAR", "TERNARY"):
        return -1, 1
    if name == "BINARY":
        return 0, 1
    if name.startswith("UINT"):
        return 0, 2 ** int(name[4:]) - 1
    b = int(name[3:])
    return -(2 ** (b - 1)), 2 ** (b - 1) - 1


def make_model(d, thr):
    c, pix = d["c"], d.get("pix", ())
    attrs = dict(NumChannels=c, PE=d["pe"], inputDataType=d["idt"], outputDataType=d["odt"],
                 ActVal=0 if d["odt"] in ("BIPOLAR", "BINARY") else dt_range(d["odt"])[0],
                 numInputVectors=[1] + list(pix) if pix else [1], ram_style=d.get("ram", "distributed"),
                 mem_mode=d.get("mem", "internal_embedded"))
    shape = ["N"] + list(pix) + [c]
    g = helper.make_graph([helper.make_node("Thresholding", ["x", "T"], ["y"], domain=HW, name=NODE, **attrs)], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
                          initializer=[numpy_helper.from_array(np.asarray(thr, dtype=np.float32), "T")])
    for t, dt in (("x", d["idt"]), ("y", d["odt"])):
        a = g.quantization_annotation.add()
        a.tensor_name = t
        e = a.quant_parameter_tensor_names.add()
        e.key, e.value = "finn_datatype", dt
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(HW, 1)])


def design_data(d, seed, frames=2):
    rng = np.random.default_rng(seed)
    lo, hi = dt_range(d["idt"])
    steps = 1 if d["odt"] == "BIPOLAR" else dt_range(d["odt"])[1] - dt_range(d["odt"])[0]
    rows = 1 if d.get("shared") else d["c"]
    span = max(2, hi - lo)
    t = rng.uniform(lo - 0.1 * span, hi + 0.1 * span, size=(rows, steps))
    thr = np.where(rng.random(t.shape) < 0.5, np.round(t), np.round(t * 2) / 2)  # some fractional
    if rng.random() < 0.7:
        thr = np.sort(thr, axis=1)  # (count semantics do not need sorted rows)
    x = rng.integers(lo, hi + 1, size=(frames,) + tuple(d.get("pix", ())) + (d["c"],)).astype(np.float32)
    return thr, x


def check(d, seed, in_gap=0.3, out_stall=0.3, check_cycles=False, frames=2):
    thr, x = design_data(d, seed, frames)
    m = make_model(d, thr)
    want = sf.execute_onnx(m, {"x": x})["y"]
    r = rtlsim.simulate_node(m, NODE, [x], in_gap=in_gap, out_stall=out_stall, seed=seed)
    np.testing.assert_array_equal(r.outputs[0], want)
    if check_cycles:
        est = _core.hw_estimate(ModelWrapper(m)._model, NODE)["cycles"]
        assert abs(r.interval_cycles - est) <= 0.05 * est, (r.interval_cycles, est)
    return r


DESIGNS = {
    # 255 per-channel thresholds (8 search stages), signed 8-bit input, PE 3 of 12.
    "c12_pe3_s8_u8": dict(c=12, pe=3, idt="INT8", odt="UINT8", pix=(2,), ram="block"),
    # Fully parallel, one shared threshold, BIPOLAR output, NHWC pixels.
    "c6_pe6_u4_bipolar_shared": dict(c=6, pe=6, idt="UINT4", odt="BIPOLAR", shared=True, pix=(2, 3)),
    # Signed output (ActVal -4), PE = 1, odd channel count, shared thresholds.
    "c5_pe1_s5_s3_shared": dict(c=5, pe=1, idt="INT5", odt="INT3", shared=True, ram="auto"),
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_thresholding_rtl_designs(name):
    d = DESIGNS[name]
    check(d, seed=0, in_gap=0.0, out_stall=0.0, check_cycles=True, frames=3)
    for seed in (1, 2, 3):
        check(d, seed=seed, in_gap=0.4, out_stall=0.4)
    check(d, seed=4, in_gap=0.0, out_stall=0.8)
    check(d, seed=5, in_gap=0.8, out_stall=0.0)


@given(name=st.sampled_from(sorted(DESIGNS)), seed=st.integers(0, 2 ** 20),
       gap=st.sampled_from([0.0, 0.2, 0.6]), stall=st.sampled_from([0.0, 0.3, 0.7]))
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_thresholding_rtl_random_data(name, seed, gap, stall):
    check(DESIGNS[name], seed=seed, in_gap=gap, out_stall=stall)


def test_thresholding_rtl_lints_clean(tmp_path):
    d = DESIGNS["c12_pe3_s8_u8"]
    thr, _ = design_data(d, 0)
    layer = rtlsim.emit_node(make_model(d, thr), NODE, tmp_path / "l")
    assert rtlsim.lint_layer(layer) == []


def test_thresholding_rtl_search_roms(tmp_path):
    """One ROM per search stage and lane: stage k holds 2^k thresholds per row,
    ceil'ed, clamped to [min, max + 1] of the input type, sorted."""
    d = dict(c=2, pe=1, idt="UINT3", odt="UINT2")
    thr = np.array([[5.5, -3.0, 9.0], [1.0, 2.0, 3.0]], dtype=np.float32)
    layer = rtlsim.emit_node(make_model(d, thr), NODE, tmp_path / "l")
    read = lambda k: [int(s, 16) for s in open(f"{layer}/{NODE}_thr_s{k}_p000.dat").read().split()]  # noqa: E731
    # row 0 -> sorted [0, 6, 8]; row 1 -> [1, 2, 3]; stage 0: middle, stage 1: the outer two
    assert read(0) == [6, 2]
    assert read(1) == [0, 8, 1, 3]


# ---------------------------------------------------------------- wide sweep
ITYPES = ["BINARY", "UINT2", "UINT4", "UINT8", "INT2", "INT3", "INT5", "INT8"]
OTYPES = ["BIPOLAR", "BINARY", "UINT2", "UINT3", "UINT4", "UINT8", "INT2", "INT4", "INT8"]


@st.composite
def designs(draw):
    c = draw(st.integers(1, 12))
    d = dict(c=c, pe=draw(st.sampled_from([k for k in range(1, c + 1) if c % k == 0])),
             idt=draw(st.sampled_from(ITYPES)), odt=draw(st.sampled_from(OTYPES)), shared=draw(st.booleans()),
             pix=draw(st.sampled_from([(), (2,), (2, 3)])), ram=draw(st.sampled_from(["auto", "block",
                                                                                        "distributed"])))
    return d


@pytest.mark.full
@given(d=designs(), seed=st.integers(0, 2 ** 20))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_thresholding_rtl_sweep(d, seed):
    check(d, seed=seed, in_gap=0.0, out_stall=0.0, check_cycles=True, frames=3)
    check(d, seed=seed + 1, in_gap=0.3, out_stall=0.5)
