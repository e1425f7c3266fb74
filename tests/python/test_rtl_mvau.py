"""MVAU RTL (cpp/ops/mvau/rtl, sf_mvau) in Verilator against the reference
execution of the same single-node graph, bit-exactly, with random input gaps
and output stalls; cycles per frame against estimate().cycles (within 5 %).

Default run: six designs (six Verilator builds, cached by their Verilog, so
new weights and thresholds reuse a build), several data seeds each, covering
XNOR-popcount, bipolar weights with 2-bit inputs (w1a2), signed 4-bit MACs in
DSP48E1, noActivation, PE = SIMD = 1, full parallelism with 255 shared
thresholds, numInputVectors > 1 and BIPOLAR outputs. Hypothesis draws data and
gap/stall patterns within the built designs. The wide sweep over shapes,
foldings, datatypes, resType and ram_style is @pytest.mark.full.
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
NODE = "MVAU_0"


def dt_range(name):
    """(min, max) of a QONNX integer datatype name."""
    if name in ("BIPOLAR", "TERNARY"):
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


def acc_range(d):
    if d.get("xnor"):
        return 0, d["mw"]
    (a0, a1), (w0, w1) = dt_range(d["idt"]), dt_range(d["wdt"])
    c = [a0 * w0, a0 * w1, a1 * w0, a1 * w1]
    return min(0, min(c)) * d["mw"], max(0, max(c)) * d["mw"]


def make_model(d, w, thr):
    nvec = d.get("nvec", 1)
    act = thr is not None
    attrs = dict(MW=d["mw"], MH=d["mh"], SIMD=d["simd"], PE=d["pe"], inputDataType=d["idt"],
                 weightDataType=d["wdt"], binaryXnorMode=int(d.get("xnor", 0)), noActivation=int(not act),
                 resType=d.get("res", "auto"), ram_style=d.get("ram", "auto"),
                 mem_mode=d.get("mem", "internal_decoupled"), numInputVectors=[1, nvec] if nvec > 1 else [1])
    if d.get("odt"):
        attrs["outputDataType"] = d["odt"]
    if act:
        attrs["ActVal"] = 0 if d["odt"] in ("BIPOLAR", "BINARY") else dt_range(d["odt"])[0]
    ins = ["x", "W"] + (["T"] if act else [])
    inits = [numpy_helper.from_array(np.asarray(w, dtype=np.float32), "W")]
    if act:
        inits.append(numpy_helper.from_array(np.asarray(thr, dtype=np.float32), "T"))
    xs = ["N", nvec, d["mw"]] if nvec > 1 else ["N", d["mw"]]
    ys = xs[:-1] + [d["mh"]]
    g = helper.make_graph([helper.make_node("MVAU", ins, ["y"], domain=HW, name=NODE, **attrs)], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, xs)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ys)], initializer=inits)
    for t, dt in (("x", d["idt"]), ("y", d.get("odt"))):
        if dt:
            a = g.quantization_annotation.add()
            a.tensor_name = t
            e = a.quant_parameter_tensor_names.add()
            e.key, e.value = "finn_datatype", dt
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(HW, 1)])


def design_data(d, seed, frames=2):
    """Weights, thresholds and a `frames`-frame input for design dict d."""
    rng = np.random.default_rng(seed)
    w = rand_vals(rng, d["wdt"], (d["mw"], d["mh"]), narrow=d.get("narrow", False))
    thr = None
    if d.get("act"):
        odt = d["odt"]
        steps = 1 if odt == "BIPOLAR" else dt_range(odt)[1] - dt_range(odt)[0]
        lo, hi = acc_range(d)
        span = max(2, hi - lo)
        rows = 1 if d.get("shared") else d["mh"]
        # Mostly inside the accumulator range, some past either end (clamped in
        # the ROMs), half of them fractional (compared as ceil(t)); unsorted rows.
        t = rng.uniform(lo - 0.1 * span, hi + 0.1 * span, size=(rows, steps))
        thr = np.where(rng.random(t.shape) < 0.5, np.round(t), np.round(t * 2) / 2)
        if rng.random() < 0.5:  # concentrate near small sums so the counts vary in small layers
            thr = np.sort(thr, axis=1)
    nvec = d.get("nvec", 1)
    x = rand_vals(rng, d["idt"], (frames, nvec, d["mw"]) if nvec > 1 else (frames, d["mw"]))
    return w, thr, x


def check(d, seed, in_gap=0.3, out_stall=0.3, check_cycles=False, frames=2):
    w, thr, x = design_data(d, seed, frames)
    m = make_model(d, w, thr)
    want = sf.execute_onnx(m, {"x": x})["y"]
    r = rtlsim.simulate_node(m, NODE, [x], in_gap=in_gap, out_stall=out_stall, seed=seed)
    np.testing.assert_array_equal(r.outputs[0], want)
    if check_cycles:
        est = _core.hw_estimate(ModelWrapper(m)._model, NODE)["cycles"]
        assert abs(r.interval_cycles - est) <= 0.05 * est, (r.interval_cycles, est)
    return r


DESIGNS = {
    # XNOR-popcount, BINARY threshold output, SIMD not a power of two.
    "xnor_mw96_mh16_pe4_simd24": dict(mw=96, mh=16, simd=24, pe=4, idt="BINARY", wdt="BINARY", odt="BINARY",
                                      xnor=True, act=True),
    # w1a2: bipolar weights (stored as {0,1}), INT2 inputs and outputs, numInputVectors 3.
    "w1a2_mw12_mh6_pe3_simd4_nvec3": dict(mw=12, mh=6, simd=4, pe=3, idt="INT2", wdt="BIPOLAR", odt="INT2",
                                          act=True, nvec=3),
    # Signed 4-bit MACs in DSP48E1, per-channel UINT4 thresholds.
    "s4s4_dsp_mw16_mh8_pe2_simd4": dict(mw=16, mh=8, simd=4, pe=2, idt="INT4", wdt="INT4", odt="UINT4", act=True,
                                        res="dsp", ram="block"),
    # noActivation, fully folded, odd sizes, ternary weights, output = accumulator.
    "noact_pe1_simd1_u3t": dict(mw=7, mh=5, simd=1, pe=1, idt="UINT3", wdt="TERNARY", odt="INT6",
                                ram="distributed"),
    # Fully parallel (one beat per vector), 8-bit LUT MACs, 255 shared thresholds.
    "full_s8u8_u8_shared": dict(mw=6, mh=4, simd=6, pe=4, idt="INT8", wdt="UINT8", odt="UINT8", act=True,
                                shared=True, res="lut", mem="internal_embedded"),
    # Bipolar inputs (non-XNOR), INT2 weights, BIPOLAR output (one shared threshold).
    "bipin_int2w_bipout": dict(mw=9, mh=6, simd=3, pe=2, idt="BIPOLAR", wdt="INT2", odt="BIPOLAR", act=True,
                               shared=True),
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_mvau_rtl_designs(name):
    d = DESIGNS[name]
    check(d, seed=0, in_gap=0.0, out_stall=0.0, check_cycles=True, frames=3)
    for seed in (1, 2, 3):
        check(d, seed=seed, in_gap=0.4, out_stall=0.4)
    check(d, seed=4, in_gap=0.0, out_stall=0.8)  # heavy backpressure
    check(d, seed=5, in_gap=0.8, out_stall=0.0)  # starved input


@given(name=st.sampled_from(sorted(DESIGNS)), seed=st.integers(0, 2 ** 20),
       gap=st.sampled_from([0.0, 0.2, 0.6]), stall=st.sampled_from([0.0, 0.3, 0.7]))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mvau_rtl_random_data(name, seed, gap, stall):
    check(DESIGNS[name], seed=seed, in_gap=gap, out_stall=stall)


def test_mvau_rtl_lints_clean(tmp_path):
    d = DESIGNS["s4s4_dsp_mw16_mh8_pe2_simd4"]
    w, thr, _ = design_data(d, 0)
    layer = rtlsim.emit_node(make_model(d, w, thr), NODE, tmp_path / "l")
    assert rtlsim.lint_layer(layer) == []


def test_mvau_rtl_weight_memory_layout(tmp_path):
    """(PE, WMEM, SIMD) words, PE0/SIMD0 in the LSBs, bipolar as {0,1}."""
    d = dict(mw=4, mh=4, simd=2, pe=2, idt="INT2", wdt="BIPOLAR", odt="INT2")
    rng = np.random.default_rng(0)
    w = rand_vals(rng, "BIPOLAR", (4, 4))
    layer = rtlsim.emit_node(make_model(d, w, None), NODE, tmp_path / "l")
    words = [int(s, 16) for s in open(f"{layer}/{NODE}_weights.dat").read().split()]
    assert len(words) == 4  # WMEM = MW*MH/(PE*SIMD)
    for addr, word in enumerate(words):
        nf, sf_ = divmod(addr, 2)
        for p in range(2):
            for s in range(2):
                bit = (word >> (p * 2 + s)) & 1
                assert bit == (w[sf_ * 2 + s, nf * 2 + p] + 1) / 2


# ---------------------------------------------------------------- wide sweep
TYPES = ["BIPOLAR", "TERNARY", "BINARY", "UINT2", "UINT3", "UINT4", "UINT8", "INT2", "INT3", "INT4", "INT5", "INT8"]


def divisors(n):
    return [k for k in range(1, n + 1) if n % k == 0]


@st.composite
def designs(draw):
    mw = draw(st.integers(1, 40))
    mh = draw(st.integers(1, 12))
    xnor = draw(st.integers(0, 4)) == 0
    d = dict(mw=mw, mh=mh, simd=draw(st.sampled_from(divisors(mw))), pe=draw(st.sampled_from(divisors(mh))),
             idt=draw(st.sampled_from(TYPES)), wdt=draw(st.sampled_from(TYPES)),
             res=draw(st.sampled_from(["lut", "dsp", "auto"])),
             ram=draw(st.sampled_from(["auto", "block", "distributed"])),
             mem=draw(st.sampled_from(["internal_embedded", "internal_decoupled"])),
             narrow=draw(st.booleans()), nvec=draw(st.sampled_from([1, 1, 2, 3])))
    if xnor:
        d.update(xnor=True, idt="BINARY", wdt="BINARY")
    if draw(st.booleans()):
        d["act"] = True
        d["shared"] = draw(st.booleans())
        d["odt"] = draw(st.sampled_from(["BIPOLAR", "BINARY", "UINT2", "UINT4", "INT2", "INT3", "UINT8"]))
    else:
        lo, hi = acc_range(d)
        extra = draw(st.sampled_from([0, 1, 8]))
        need = int(np.ceil(np.log2(max(-lo, hi + 1, 1)))) + 1
        d["odt"] = f"INT{need + extra}"
    return d


@pytest.mark.full
@given(d=designs(), seed=st.integers(0, 2 ** 20))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mvau_rtl_sweep(d, seed):
    check(d, seed=seed, in_gap=0.0, out_stall=0.0, check_cycles=True, frames=3)
    check(d, seed=seed + 1, in_gap=0.3, out_stall=0.5)


@pytest.mark.full
@pytest.mark.parametrize("pe", divisors(12))
@pytest.mark.parametrize("simd", divisors(18))
def test_mvau_rtl_every_fold(pe, simd):
    """Every legal (PE, SIMD) of an 18 x 12 layer, UINT3 x INT3 -> UINT3."""
    d = dict(mw=18, mh=12, simd=simd, pe=pe, idt="UINT3", wdt="INT3", odt="UINT3", act=True)
    check(d, seed=pe * 100 + simd, in_gap=0.0, out_stall=0.0, check_cycles=True, frames=3)
    check(d, seed=pe * 100 + simd + 1, in_gap=0.3, out_stall=0.3)


@pytest.mark.full
@pytest.mark.parametrize("mw,simd,pe", [(2048, 64, 2), (3000, 100, 4)])
def test_mvau_rtl_wide_input(mw, simd, pe):
    """MW of a few thousand: a long accumulation (and a deep input buffer)."""
    d = dict(mw=mw, mh=8, simd=simd, pe=pe, idt="UINT2", wdt="INT2", odt="UINT4", act=True, nvec=2)
    check(d, seed=mw, in_gap=0.0, out_stall=0.0, check_cycles=True)
    check(d, seed=mw + 1, in_gap=0.3, out_stall=0.3)


# ---------------------------------------------------------------- synthesis
def yosys_cells(layer):
    """Cell counts of the layer after Yosys synth_xilinx (xc7, flattened)."""
    import json
    import os
    import shutil
    import subprocess
    if not shutil.which("yosys"):
        pytest.skip("yosys not installed")
    man = rtlsim.load_manifest(layer)
    script = (f"read_verilog -defer -sv {' '.join(man['sources'])}; "
              f"synth_xilinx -family xc7 -noiopad -flatten -top {man['top']}; tee -q -o cells.json stat -json")
    r = subprocess.run(["yosys", "-q", "-p", script], cwd=layer, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return json.load(open(os.path.join(layer, "cells.json")))["design"]["num_cells_by_type"]


@pytest.mark.parametrize("res,dsps", [("lut", 0), pytest.param("dsp", 2 * 3, marks=pytest.mark.full)])
def test_mvau_rtl_synthesizes_with_the_chosen_multipliers(tmp_path, res, dsps):
    """Signed LUT multipliers (shift-add, no DSP48E1) or one DSP48E1 per PE x SIMD
    (Yosys maps products of 9 bits and more; INT6 x INT4 gives 10)."""
    d = dict(mw=6, mh=4, simd=3, pe=2, idt="INT6", wdt="INT4", odt="UINT2", act=True, res=res)
    w, thr, _ = design_data(d, 0)
    cells = yosys_cells(rtlsim.emit_node(make_model(d, w, thr), NODE, tmp_path / "l"))
    assert cells.get("DSP48E1", 0) == dsps, cells
