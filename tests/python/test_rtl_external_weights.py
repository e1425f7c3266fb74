"""mem_mode="external" for MVAU and VVAU (issue 13): the weights arrive as a
second AXI-Stream in1_V (one weight-memory word per compute step, the pass
repeating for every input vector / output pixel), as a DMA reads them from
DDR. Checked here:

- single MVAU and VVAU layers in external mode at several datatypes and
  foldings in Verilator, bit-exact against the reference execution, with
  random gaps on both input streams and stalls on the output; II = 1 (cycles
  per frame = the cost model's) when no stream stalls;
- the weight stream's layout: the words of the internal ROM, and the bytes
  streamfold.driver.pack makes of the folded weights; repeat per frame;
- the cost model: no weight memory, cycles unchanged;
- a stitched two-layer model with one external layer: the weight stream is
  the top-level s_axis_1 of finn_design, recorded in sf_design.json with its
  packed pass <node>_wstream.npy, and the stitched simulation is bit-exact;
- SetFolding switching the largest weight layers to external when the
  weights exceed Pynq-Z2's BRAM, and saying so.

Default run: 13 Verilator builds and the emotion CNN's export (~70 s cold on
2 cores, ~45 s of it the builds and the export). Random MVAU/VVAU designs in
external mode (the layer tests' hypothesis strategies) are @pytest.mark.full.
"""
import copy
import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import helper

import streamfold as sf
import test_rtl_mvau as M
import test_rtl_vvau as V
from streamfold import _core, rtlsim
from streamfold.builder import folding as F
from streamfold.core.modelwrapper import ModelWrapper
from streamfold.driver.packing import pack
from streamfold.rtlsim import stitched
from streamfold.rtlsim.weights import external_weight_nodes, weight_stream
from test_folding import mvau_chain

# ---------------------------------------------------------------- MVAU
MVAU_DESIGNS = {
    # Bipolar weights, INT2 in/out, 3 vectors per frame: the 12-bit weight
    # beat is wider than the 8-bit input beat.
    "w1a2_nvec3_pe3_simd4": dict(M.DESIGNS["w1a2_mw12_mh6_pe3_simd4_nvec3"], mem="external"),
    # Signed 4-bit MACs in DSP48E1, thresholds, 32-bit weight beats.
    "s4s4_dsp_pe2_simd4": dict(M.DESIGNS["s4s4_dsp_mw16_mh8_pe2_simd4"], mem="external"),
    "noact_pe1_simd1_u3t": dict(M.DESIGNS["noact_pe1_simd1_u3t"], mem="external"),
    "xnor_pe4_simd24": dict(M.DESIGNS["xnor_mw96_mh16_pe4_simd24"], mem="external"),
    "full_s8u8_shared": dict(M.DESIGNS["full_s8u8_u8_shared"], mem="external"),  # one word, reread every vector
    "bipin_int2w": dict(M.DESIGNS["bipin_int2w_bipout"], mem="external"),
    "u8i8_pe1_simd8_nvec2": dict(mw=16, mh=4, simd=8, pe=1, idt="UINT8", wdt="INT8", odt="UINT4", act=True,
                                 nvec=2, mem="external"),
}


def mvau_check(d, **kw):
    return M.check(d, **kw)


@pytest.mark.parametrize("name", sorted(MVAU_DESIGNS))
def test_mvau_external_rtl(name):
    d = MVAU_DESIGNS[name]
    mvau_check(d, seed=0, in_gap=0.0, out_stall=0.0, check_cycles=True, frames=3)  # II = 1
    for seed in (1, 2):
        mvau_check(d, seed=seed, in_gap=0.4, out_stall=0.4)
    mvau_check(d, seed=3, in_gap=0.8, out_stall=0.0)  # starved streams
    mvau_check(d, seed=4, in_gap=0.0, out_stall=0.8)  # heavy backpressure


@pytest.mark.full
@given(d=M.designs(), seed=st.integers(0, 2 ** 20))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mvau_external_rtl_sweep(d, seed):
    d = dict(d, mem="external")
    mvau_check(d, seed=seed, in_gap=0.0, out_stall=0.0, check_cycles=True, frames=3)
    mvau_check(d, seed=seed + 1, in_gap=0.5, out_stall=0.5)


def test_mvau_weight_stream_layout(tmp_path):
    """One pass = the internal ROM's words in order = pack() of the folded
    weights (nf, sf, pe, simd); repeat = numInputVectors per frame."""
    d = dict(M.DESIGNS["w1a2_mw12_mh6_pe3_simd4_nvec3"], mem="external")
    w, thr, _ = M.design_data(d, 0)
    m = M.make_model(d, w, thr)
    ws = weight_stream(m, M.NODE)
    pe, simd, mw, mh = d["pe"], d["simd"], d["mw"], d["mh"]
    assert (ws.width, ws.tdata_width, ws.pass_beats, ws.repeat) == (pe * simd, 16, mw * mh // (pe * simd), 3)
    folded = w.reshape(mw // simd, simd, mh // pe, pe).transpose(2, 0, 3, 1).reshape(-1, pe * simd)
    np.testing.assert_array_equal(ws.beats, pack(folded, d["wdt"]))
    assert ws.frames(2).shape == (2 * 3 * ws.pass_beats, 2)
    # The same words as the ROM of the internal mode.
    layer = rtlsim.emit_node(M.make_model(dict(d, mem="internal_decoupled"), w, thr), M.NODE, tmp_path / "rom")
    rom = [int(s, 16) for s in open(f"{layer}/{M.NODE}_weights.dat").read().split()]
    assert rom == [int.from_bytes(b.tobytes(), "little") for b in ws.beats]
    # The external layer has no weight memory file and a weights input stream.
    man = rtlsim.load_manifest(rtlsim.emit_node(m, M.NODE, tmp_path / "ext"))
    assert not any("weights" in f for f in man["mem_files"])
    assert [(s["name"], s["weights"]) for s in man["inputs"]] == [("in0_V", False), ("in1_V", True)]
    assert (man["inputs"][1]["pass_beats"], man["inputs"][1]["repeat"]) == (ws.pass_beats, 3)
    with pytest.raises(sf.ModelError, match="does not stream its weights"):
        weight_stream(M.make_model(dict(d, mem="internal_decoupled"), w, thr), M.NODE)


def test_mvau_external_cost_model():
    """No weight memory at all, cycles unchanged."""
    m = sf.ModelWrapper(mvau_chain((1024, 256, 10), wbits=8))
    n = m.graph.node[0]
    n.set_int("SIMD", 8)
    n.set_string("ram_style_thresholds", "distributed")  # the thresholds out of BRAM: what is left is the weights
    internal = _core.hw_estimate(m._model, n.name)
    n.set_string("mem_mode", "external")
    ext = _core.hw_estimate(m._model, n.name)
    assert internal["bram18"] > 50 and ext["bram18"] == 0 and ext["uram"] == 0
    assert ext["cycles"] == internal["cycles"] == 1024 * 256 // 8
    assert ext["lut"] <= internal["lut"]


# ---------------------------------------------------------------- VVAU
VVAU_DESIGNS = {
    # Partial folding on both axes, signed 4-bit DSP MACs, 3x3 on 6 channels.
    "c6_pe2_simd3_s4s4_dsp": dict(V.DESIGNS["c6_pe2_simd3_s4s4_dsp"]),
    "c5_pe1_simd1_u4s4": dict(V.DESIGNS["c5_pe1_simd1_u4s4"]),
    "c5_pe5_simd9_u4s4": dict(V.DESIGNS["c5_pe5_simd9_u4s4"]),  # one word, reread every pixel
    "c6_pe3_simd3_s3t_act_u2": dict(V.DESIGNS["c6_pe3_simd3_s3t_act_u2"]),
    "c4_pe2_simd3_bip_act_bip": dict(V.DESIGNS["c4_pe2_simd3_bip_act_bip"]),
    # 8-bit weights wider than the 2-bit inputs.
    "c4_pe4_simd1_u2s8": dict(c=4, k=(3, 3), dim=(2, 2), pe=4, simd=1, idt="UINT2", wdt="INT8", odt="INT14"),
}


def vvau_model(d, w, thr):
    m = V.make_model(d["c"], d["k"], d["dim"], d["pe"], d["simd"], d["idt"], d["wdt"], d["odt"], w, thr,
                     d.get("res", "lut"), d.get("ram", "auto"))
    m.graph.node[0].attribute.append(helper.make_attribute("mem_mode", "external"))
    return m


def vvau_check(d, seed, in_gap=0.3, out_stall=0.3, check_cycles=False):
    w, thr, x = V.design_data(d, seed)
    m = vvau_model(d, w, thr)
    want = sf.execute_onnx(m, {"x": x})["y"]
    r = rtlsim.simulate_node(m, V.NODE, [x], in_gap=in_gap, out_stall=out_stall, seed=seed)
    np.testing.assert_array_equal(r.outputs[0], want)
    if check_cycles:
        est = _core.hw_estimate(ModelWrapper(m)._model, V.NODE)["cycles"]
        assert abs(r.interval_cycles - est) <= 0.05 * est, (r.interval_cycles, est)
    return r


@pytest.mark.parametrize("name", sorted(VVAU_DESIGNS))
def test_vvau_external_rtl(name):
    d = VVAU_DESIGNS[name]
    vvau_check(d, seed=0, in_gap=0.0, out_stall=0.0, check_cycles=True)
    for seed in (1, 2):
        vvau_check(d, seed=seed, in_gap=0.4, out_stall=0.4)
    vvau_check(d, seed=3, in_gap=0.8, out_stall=0.0)
    vvau_check(d, seed=4, in_gap=0.0, out_stall=0.8)


@pytest.mark.full
@given(d=V.designs(), seed=st.integers(0, 2 ** 20))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_vvau_external_rtl_sweep(d, seed):
    vvau_check(d, seed=seed, in_gap=0.0, out_stall=0.0, check_cycles=True)
    vvau_check(d, seed=seed + 1, in_gap=0.5, out_stall=0.5)


def test_vvau_weight_stream_layout():
    """Word cf*SF + sf holds channel cf*PE + p, tap sf*SIMD + s at element
    p*SIMD + s; one pass per output pixel; no weight memory in the estimate."""
    d = VVAU_DESIGNS["c6_pe2_simd3_s4s4_dsp"]
    w, thr, _ = V.design_data(d, 0)
    m = vvau_model(d, w, thr)
    ws = weight_stream(m, V.NODE)
    c, kk, pe, simd = d["c"], 9, d["pe"], d["simd"]
    folded = w.reshape(c // pe, pe, kk // simd, simd).transpose(0, 2, 1, 3).reshape(-1, pe * simd)
    np.testing.assert_array_equal(ws.beats, pack(folded, d["wdt"]))
    assert (ws.pass_beats, ws.repeat) == (c * kk // (pe * simd), d["dim"][0] * d["dim"][1])
    ext = _core.hw_estimate(ModelWrapper(m)._model, V.NODE)
    internal = _core.hw_estimate(ModelWrapper(V.make_model(d["c"], d["k"], d["dim"], pe, simd, d["idt"], d["wdt"], d["odt"], w, thr,
                                              "dsp", "block"))._model, V.NODE)
    assert internal["bram18"] >= 1 and ext["bram18"] == 0 and ext["cycles"] == internal["cycles"]


def test_external_layers_lint_clean(tmp_path):
    # (the weight beats are wider than the input beats in all three: the input is zero-padded)
    for name in ("s4s4_dsp_pe2_simd4", "xnor_pe4_simd24", "full_s8u8_shared"):
        d = MVAU_DESIGNS[name]
        w, thr, _ = M.design_data(d, 0)
        assert rtlsim.lint_layer(rtlsim.emit_node(M.make_model(d, w, thr), M.NODE, tmp_path / name)) == []
    d = VVAU_DESIGNS["c4_pe4_simd1_u2s8"]
    w, thr, _ = V.design_data(d, 0)
    assert rtlsim.lint_layer(rtlsim.emit_node(vvau_model(d, w, thr), V.NODE, tmp_path / "v")) == []


# ---------------------------------------------------------------- stitched
def chain_model():
    """UINT2 MVAU chain 12 -> 8 -> 6, 2 vectors per frame; MVAU_0 streams its
    INT3 weights (18-bit beats, padded to 24), MVAU_1 keeps them in a ROM."""
    mw = sf.ModelWrapper(mvau_chain((12, 8, 6), nvec=2, wbits=3))
    a, b = mw.graph.node
    a.set_int("SIMD", 3)
    a.set_int("PE", 2)
    a.set_string("mem_mode", "external")
    b.set_int("SIMD", 2)
    b.set_int("PE", 3)
    for t in ("x", "a0", "y"):
        mw.set_tensor_datatype(t, "UINT2")
    return mw


def test_stitched_with_external_weights(tmp_path):
    mw = chain_model()
    assert external_weight_nodes(mw) == ["MVAU_0"]
    d = str(tmp_path / "stitched")
    man = stitched.stitch(mw, d)
    assert [s["name"] for s in man["inputs"]] == ["s_axis_0", "s_axis_1"]
    (wsm,) = stitched.weight_streams(man)
    ws = weight_stream(mw, "MVAU_0")
    assert wsm["name"] == "s_axis_1" and wsm["node"] == "MVAU_0"
    assert (wsm["width"], wsm["tdata_width"], wsm["pass_beats"], wsm["repeat"]) == (18, 24, 16, 2)
    assert wsm["weights_file"] == "MVAU_0_wstream.npy"
    assert (wsm["tensor"], wsm["dtype"]) == ("W0", "INT3")
    np.testing.assert_array_equal(np.load(os.path.join(d, wsm["weights_file"])), ws.beats)
    assert np.load(os.path.join(d, wsm["weights_file"])).dtype == np.uint8
    top = open(os.path.join(d, "finn_design.v")).read()
    assert "input  wire [23:0] s_axis_1_tdata" in top and ".in1_V_TDATA(s_axis_1_tdata)" in top
    with open(os.path.join(d, "sf_design.json")) as f:
        assert json.load(f)["inputs"][1]["weights"] is True
    x = np.random.default_rng(3).integers(0, 4, size=(3, 2, 12)).astype(np.float32)
    want = np.concatenate([sf.execute_onnx(mw, {"x": x[i:i + 1]})["y"] for i in range(3)])
    for seed, gap, stall in ((0, 0.0, 0.0), (1, 0.4, 0.4)):
        outs, st = stitched.simulate_design(mw, d, {"x": x}, in_gap=gap, out_stall=stall, seed=seed)
        np.testing.assert_array_equal(outs["y"].reshape(want.shape), want)
    # node-by-node rtlsim feeds the weight stream too
    from streamfold.rtlsim.exec import execute_node_by_node
    got = execute_node_by_node(mw, {"x": x[:1]}, workdir=str(tmp_path / "nbn"))["y"]
    np.testing.assert_array_equal(got.reshape(want[:1].shape), want[:1])


# ---------------------------------------------------------------- SetFolding
def test_set_folding_streams_weights_that_do_not_fit():
    """16.8 Mbit of 8-bit weights vs Pynq-Z2's 4.9 Mbit of BRAM: the big layer
    streams from DDR, the small one keeps its ROM, the design fits, and the
    message says which layer and why. PE*SIMD*wbits stays within 64 bits."""
    big = sf.ModelWrapper(mvau_chain((1024, 2048, 10), wbits=8))
    m, r = F.set_folding(big, 1e3, board="Pynq-Z2")
    modes = {n.name: n.get_attr("mem_mode") for n in m.graph.node}
    assert modes["MVAU_0"] in (b"external", "external") and modes["MVAU_1"] in (None, b"internal_decoupled")
    assert [e["node"] for e in r.external_weights] == ["MVAU_0"]
    assert not r.over_budget, r.message()
    assert r.limiting_node == "the external weights' DDR traffic" and r.max_cycles == 1024 * 2048 // 8
    msg = r.message()
    assert "MVAU_0" in msg and "mem_mode=\"external\"" in msg and "BRAM18" in msg and "budget" in msg
    n0 = m.graph.node[0]
    assert int(n0.get_attr("PE")) * int(n0.get_attr("SIMD")) * 8 <= F.EXT_WEIGHT_BITS
    assert not F.set_folding(big, 1e3, board="Pynq-Z2", external_weights=False)[1].external_weights
    # A design that fits keeps all weights on chip.
    small = sf.ModelWrapper(mvau_chain((64, 32, 10), wbits=8))
    assert not F.set_folding(small, 1e3, board="Pynq-Z2")[1].external_weights


def test_set_folding_emotion_cnn_8b_streams_weights():
    """The seed paper's emotion CNN at 8 bit (11 Mbit of weights): SetFolding
    moves the weight layers to DDR, fully connected ones first, and says so;
    the frame rate is then bounded by their DDR traffic. (What still exceeds
    the BRAM is the 8-bit thresholds, 255 per channel; the diagnosis says
    that too.)"""
    pytest.importorskip("torch")
    pytest.importorskip("brevitas")
    from streamfold import zoo
    from streamfold.builder import steps
    from streamfold.partition import create_dataflow_partition
    from streamfold.transformation import run_pipeline

    m = steps.step_streamline(steps.step_tidy_up(steps.step_qonnx_to_finn(sf.ModelWrapper(
        zoo.export("emotion_cnn_8b")))))
    hw, _ = run_pipeline(m, ["ConvertToHW"])
    _, children, _ = create_dataflow_partition(hw)
    child = children[0]
    folded, r = F.set_folding(child, 50, board="Pynq-Z2")
    ext = [e["node"] for e in r.external_weights]
    assert len(ext) >= 3, r.message()
    bits = {n.name: F.weight_bits(n) for n in folded.graph.node}
    assert max(bits, key=bits.get) in ext
    # Fully connected layers (weights read once per frame) before the
    # convolutions (once per output pixel): DDR bytes per weight byte rise.
    nodes = {n.name: n for n in folded.graph.node}
    per_weight = [F.ddr_bytes_per_frame(nodes[e]) / bits[e] for e in ext]
    assert per_weight[0] == min(per_weight) and per_weight[-1] > per_weight[0]
    assert r.ddr_cycles > 0 and r.achieved_fps <= 1e9 / (10.0 * r.ddr_cycles) + 1e-6
    assert sum(bits.values()) > 4.9e6 and "mem_mode=\"external\"" in r.message() and ext[0] in r.message()
    for n in folded.graph.node:
        if n.name in ext:
            assert n.get_attr("mem_mode") in (b"external", "external")
    if r.over_budget:
        assert "thresholds" in r.message(), r.message()


@pytest.mark.full
def test_build_flow_with_an_external_layer(tmp_path):
    """TFC-w1a1's largest MVAU in external mode through FINN's steps from
    step_generate_estimate_reports on: FIFO sizing, the stitched design and
    rtlsim_performance feed the weight stream; bit-exact with the parent, and
    the measured throughput equals the estimate (the weight stream keeps II = 1)."""
    import rtl_zoo
    from streamfold.builder import steps
    from streamfold.builder.config import ALL_STEPS

    name = "tfc_w1a1"
    cfg, parent, child = rtl_zoo.folded(name, 100_000, generate_outputs=("estimate_reports", "stitched_ip",
                                                                          "rtlsim_performance"),
                                        rtlsim_batch_size=4)
    cfg = copy.copy(cfg)  # rtl_zoo caches (cfg, parent, child) for other tests: change copies only
    cfg.output_dir = str(tmp_path / "out")
    m = child.copy()
    big = max((n for n in m.graph.node if F.weight_bits(n)), key=F.weight_bits)
    big.set_string("mem_mode", "external")
    for s in ALL_STEPS[9:15]:
        m = getattr(steps, s)(m, cfg)
    man = stitched.load_design(os.path.join(cfg.output_dir, "stitched_ip"))
    assert [s["node"] for s in stitched.weight_streams(man)] == [big.name]
    x = rtl_zoo.inputs(name, 3, seed=5)
    want = np.concatenate([rtl_zoo.run_parent(parent, x[i:i + 1]) for i in range(len(x))])
    got = rtl_zoo.run_parent(rtl_zoo.with_child(parent, m), x, backend="rtlsim", in_gap=0.3, out_stall=0.3, seed=1)
    np.testing.assert_array_equal(got, want)
    rep = os.path.join(cfg.output_dir, "report")
    perf = json.load(open(os.path.join(rep, "rtlsim_performance.json")))
    est = json.load(open(os.path.join(rep, "estimate_network_performance.json")))
    assert 0.95 <= perf["stable_throughput[images/s]"] / est["estimated_throughput_fps"] <= 1.05


@pytest.mark.full
def test_stitched_two_external_layers(tmp_path):
    """Two weight streams: s_axis_1 and s_axis_2 in layer order, each with its
    own pass file; bit-exact under gaps and stalls."""
    mw = chain_model()
    mw.graph.node[1].set_string("mem_mode", "external")
    d = str(tmp_path / "stitched")
    man = stitched.stitch(mw, d)
    assert [(s["name"], s["node"], s["repeat"]) for s in stitched.weight_streams(man)] == [
        ("s_axis_1", "MVAU_0", 2), ("s_axis_2", "MVAU_1", 2)]
    for s in stitched.weight_streams(man):
        np.testing.assert_array_equal(stitched.load_weight_stream(d, s), weight_stream(mw, s["node"]).beats)
    x = np.random.default_rng(4).integers(0, 4, size=(2, 2, 12)).astype(np.float32)
    want = np.concatenate([sf.execute_onnx(mw, {"x": x[i:i + 1]})["y"] for i in range(2)])
    outs, _ = stitched.simulate_design(mw, d, {"x": x}, in_gap=0.5, out_stall=0.5, seed=2)
    np.testing.assert_array_equal(outs["y"].reshape(want.shape), want)


@pytest.mark.full
def test_external_layers_synthesize_without_bram(tmp_path):
    """Yosys (synth_xilinx) takes the external-mode RTL; no BRAM is left for
    the weights (measured: MVAU 16x8 INT4 PE=2 SIMD=4 1 -> 0 BRAM18, +21 LUT,
    +28 FF for the weight register and handshake)."""
    from streamfold.rtlsim.synth import yosys_exe

    try:
        yosys_exe()
    except Exception:  # noqa: BLE001 - no Yosys here
        pytest.skip("yosys not installed")
    d = MVAU_DESIGNS["s4s4_dsp_pe2_simd4"]
    w, thr, _ = M.design_data(d, 0)
    r = rtlsim.synth_layer(rtlsim.emit_node(M.make_model(d, w, thr), M.NODE, tmp_path / "m"))
    assert r["BRAM_18K"] == 0 and r["LUT"] > 0
    d = VVAU_DESIGNS["c6_pe2_simd3_s4s4_dsp"]
    w, thr, _ = V.design_data(d, 0)
    r = rtlsim.synth_layer(rtlsim.emit_node(vvau_model(d, w, thr), V.NODE, tmp_path / "v"))
    assert r["BRAM_18K"] == 0 and r["LUT"] > 0
