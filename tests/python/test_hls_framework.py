"""The HLS back end's framework (cpp/ops/hw/hls_emit.*, streamfold.cppsim,
the builder steps): what a layer folder holds and that it is self-contained
for vitis_hls, that the synthesis variant of the top compiles too (parameter
header, AP_INT_MAX_W over 1024 bits), that cppsim builds are shared across
weights, that a layer reading too many or too few beats is an error, the
embedded hlslib, the specialize config (FINN's format) and the ipgen step
with and without vitis_hls."""
import json
import os
import stat
import subprocess

import numpy as np
import pytest

import streamfold as sf
from streamfold import _core, cppsim
from streamfold.builder import hw_steps, steps
from streamfold.builder.config import DataflowBuildConfig
from streamfold.cppsim import build as cbuild

from hls_test_util import check_cppsim, node_model, rand_values
from test_rtl_mvau import NODE as MVAU, design_data, make_model

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def thresholding(seed=0, c=4, pe=2):
    rng = np.random.default_rng(seed)
    thr = np.sort(rng.integers(-8, 8, size=(c, 3)), axis=1).astype(np.float32)
    return node_model("Thresholding", [("x", (2, 3, c), "INT4")], [("y", (2, 3, c))], {"T": thr}, NumChannels=c,
                      PE=pe, inputDataType="INT4", outputDataType="UINT2", numInputVectors=[1, 3])


def test_layer_folder(tmp_path):
    d = cppsim.emit_node(thresholding(), "Thresholding_0", tmp_path / "l", fpga_part="xczu3eg-sbva484-1-e",
                         clk_ns=5.0)
    man = cppsim.load_manifest(d)
    t = man["top"]
    assert t == "Thresholding_0"
    for f in [man["top_file"], man["params_header"], man["tcl"], *man["headers"], *(a["file"] for a in man["arrays"])]:
        assert os.path.isfile(os.path.join(d, f)), f
    top = open(os.path.join(d, man["top_file"])).read()
    assert f"void {t}(hls::stream<ap_uint<8>>& in0_V, hls::stream<ap_uint<8>>& out_V)" in top
    for p in ("axis port=in0_V", "axis port=out_V", "ap_ctrl_none port=return"):
        assert f"#pragma HLS INTERFACE {p}" in top
    tcl = open(os.path.join(d, man["tcl"])).read()
    for line in (f"set_top {t}", "set_part xczu3eg-sbva484-1-e", "create_clock -period 5", "csynth_design",
                 "export_design -format ip_catalog", "open_project", "open_solution"):
        assert line in tcl
    assert "-I$d/hlslib" in tcl
    params = open(os.path.join(d, man["params_header"])).read()
    assert "static const ap_uint<5> Thresholding_0_thresholds[2][2][3] =" in params
    assert man["inputs"] == [{"name": "in0_V", "width": 8, "tdata_width": 8, "order_shape": [], "order_perm": []}]


def _syntax_check(d, man):
    """The synthesis variant (no SF_CPPSIM: the initialized parameter arrays)
    compiles with the folder alone plus ap_types."""
    r = subprocess.run(["g++", "-std=c++14", "-fsyntax-only", "-w", f"-I{cbuild.ap_types_dir()}", man["top_file"]],
                       cwd=d, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]


def test_synthesis_variant_compiles_with_wide_words(tmp_path):
    """SIMD 160 x 8-bit words (1280 bits): AP_INT_MAX_W raised, the weights as
    hex-string constructors."""
    d = dict(mw=160, mh=4, simd=160, pe=2, idt="UINT8", wdt="INT8", odt="UINT2", act=True)
    w, thr, x = design_data(d, 0)
    m = make_model(d, w, thr)
    layer = cppsim.emit_node(m, MVAU, tmp_path / "l")
    man = cppsim.load_manifest(layer)
    assert man["ap_int_max_w"] == 2048
    assert "#define AP_INT_MAX_W 2048" in open(os.path.join(layer, man["top_file"])).read()
    assert 'ap_uint<1280>("0x' in open(os.path.join(layer, man["params_header"])).read()
    _syntax_check(layer, man)
    want = sf.execute_onnx(m, {"x": x})["y"]
    np.testing.assert_array_equal(cppsim.simulate_node(m, MVAU, [x]).outputs[0], want)


def test_builds_are_shared_across_weights(tmp_path):
    d = dict(mw=8, mh=4, simd=4, pe=2, idt="INT3", wdt="INT2", odt="UINT2", act=True)
    hashes = []
    for seed in (1, 2):
        w, thr, x = design_data(d, seed)
        m = make_model(d, w, thr)
        layer = cppsim.emit_node(m, MVAU, tmp_path / f"l{seed}")
        hashes.append(cbuild.layer_hash(layer, cppsim.load_manifest(layer)))
        np.testing.assert_array_equal(cppsim.simulate_node(m, MVAU, [x], workdir=tmp_path / f"w{seed}").outputs[0],
                                      sf.execute_onnx(m, {"x": x})["y"])
    assert hashes[0] == hashes[1]


def test_frame_contract_errors(tmp_path):
    """A stream with fewer beats than the frames need is read past its end
    (hls::stream returns 0): an error naming the stream; beats left unread
    are an error too."""
    layer = cppsim.emit_node(thresholding(), "Thresholding_0", tmp_path / "l")
    beats = np.zeros((6, 1), np.uint8)  # 3 vectors x 2 beats per frame
    assert [o.shape for o in cppsim.simulate_layer(layer, [beats], 1, [6])] == [(6, 1)]
    with pytest.raises(cppsim.CppsimError, match="read a stream past.*in0_V"):
        cppsim.simulate_layer(layer, [beats[:5]], 1)
    with pytest.raises(cppsim.CppsimError, match="left unread.*in0_V 1"):
        cppsim.simulate_layer(np.asarray(layer) if False else layer, [np.zeros((7, 1), np.uint8)], 1)
    with pytest.raises(cppsim.CppsimError, match="produced 6 beats.*expected 4"):
        cppsim.simulate_layer(layer, [beats], 1, [4])


def test_removed_parameter_file_is_an_error(tmp_path):
    layer = cppsim.emit_node(thresholding(), "Thresholding_0", tmp_path / "l")
    os.remove(os.path.join(layer, "Thresholding_0_thresholds.dat"))
    with pytest.raises(cppsim.CppsimError, match="cannot open Thresholding_0_thresholds.dat"):
        cppsim.simulate_layer(layer, [np.zeros((6, 1), np.uint8)], 1)


def test_op_without_hls_is_a_clear_error(tmp_path):
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="Relu_0")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    with pytest.raises(sf.UnsupportedOpError, match="Relu_0.*no HLS implementation"):
        cppsim.emit_node(sf.ModelWrapper(helper.make_model(g)), "Relu_0", tmp_path / "l")


def test_hlslib_is_embedded():
    names = set(_core.hls_library_headers())
    on_disk = {f for f in os.listdir(os.path.join(REPO, "hlslib")) if f.endswith(".hpp")}
    assert names == on_disk
    for f in on_disk:
        assert _core.hls_library_source(f) == open(os.path.join(REPO, "hlslib", f)).read()
    assert {"MVAU", "VVAU", "Thresholding", "ChannelwiseOp", "LabelSelect", "GlobalAccPool"} <= set(cppsim.hls_ops())


def test_missing_ap_types_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(cbuild, "_ap_dir", None)
    monkeypatch.setenv("STREAMFOLD_AP_TYPES", str(tmp_path))
    with pytest.raises(cppsim.CppsimError, match="ap_int.h") as e:
        cbuild.ap_types_dir()
    assert "pip install hls4ml" in e.value.hint


# ---- builder: specialize, codegen, ipgen -----------------------------------

def _cfg(tmp_path, **kw):
    return DataflowBuildConfig(output_dir=str(tmp_path / "out"), board="Pynq-Z2", steps=["step_hw_codegen"], **kw)


def _two_layers():
    """Thresholding -> ChannelwiseOp (add), a two-layer HW graph."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    thr = np.sort(rng.integers(-8, 8, size=(4, 3)), axis=1).astype(np.float32)
    nodes = [helper.make_node("Thresholding", ["x", "T"], ["h"], domain=hw_steps_domain(), name="Thresholding_0",
                              NumChannels=4, PE=2, inputDataType="INT4", outputDataType="UINT2",
                              numInputVectors=[1, 3]),
             helper.make_node("ChannelwiseOp", ["h", "P"], ["y"], domain=hw_steps_domain(), name="ChannelwiseOp_0",
                              NumChannels=4, PE=1, Func="add", inputDataType="UINT2", paramDataType="INT3",
                              outputDataType="INT4", numInputVectors=[1, 3])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 3, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 3, 4])],
                          initializer=[numpy_helper.from_array(thr, "T"),
                                       numpy_helper.from_array(np.array([1, -2, 3, 0], np.float32), "P")])
    m = sf.ModelWrapper(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                                            helper.make_opsetid(hw_steps_domain(), 1)]))
    m.set_tensor_datatype("x", "INT4")
    return m.transform("InferDataTypes") if hasattr(m, "transform") else m


def hw_steps_domain():
    return "finn.custom_op.fpgadataflow"


def _styles(m):
    return {n.name: n.get_attr("preferred_impl_style").decode() for n in m.graph.node}


def _spec(tmp_path, conf):
    p = tmp_path / "spec.json"
    p.write_text(json.dumps(conf))
    return _cfg(tmp_path, specialize_layers_config_file=str(p))


def test_specialize_config(tmp_path):
    m = steps.step_specialize_layers(_two_layers(), _spec(tmp_path, {"Defaults": {"preferred_impl_style":
                                                                                  ["hls", ["all"]]}}))
    assert _styles(m) == {"Thresholding_0": "hls", "ChannelwiseOp_0": "hls"}
    conf = {"Defaults": {"preferred_impl_style": ["hls", ["Thresholding"]]}, "ChannelwiseOp_0": {}}
    assert _styles(steps.step_specialize_layers(_two_layers(), _spec(tmp_path, conf))) == \
        {"Thresholding_0": "hls", "ChannelwiseOp_0": "rtl"}
    conf = {"Defaults": {"preferred_impl_style": "hls"}, "Thresholding_0": {"preferred_impl_style": "rtl"}}
    assert _styles(steps.step_specialize_layers(_two_layers(), _spec(tmp_path, conf))) == \
        {"Thresholding_0": "rtl", "ChannelwiseOp_0": "hls"}
    # No config: rtl where the op has it (the default back end).
    assert set(_styles(steps.step_specialize_layers(_two_layers(), _cfg(tmp_path))).values()) == {"rtl"}


@pytest.mark.parametrize("conf,match", [
    ({"Thresholding_9": {"preferred_impl_style": "hls"}}, "(?s)Thresholding_9.*did you mean 'Thresholding_0'"),
    ({"Thresholding_0": {"preferred_impl_style": "vhdl"}}, "'vhdl' is not 'rtl' or 'hls'"),
    ({"Thresholding_0": {"PE": 2}}, "unknown key 'PE'"),
    ({"Defaults": {"preferred_impl_style": ["hls"]}}, "value, ops"),
])
def test_specialize_config_errors(tmp_path, conf, match):
    with pytest.raises(sf.ConfigError, match=match):
        steps.step_specialize_layers(_two_layers(), _spec(tmp_path, conf))


def test_specialize_falls_back_with_a_warning(tmp_path, monkeypatch):
    """An op without the asked style gets the other one and a warning naming the node."""
    monkeypatch.setattr(_core, "hls_ops", lambda: ["Thresholding"])
    conf = {"Defaults": {"preferred_impl_style": ["hls", ["all"]]}}
    with pytest.warns(UserWarning, match="ChannelwiseOp_0.*hls is not available.*rtl is used"):
        m = steps.step_specialize_layers(_two_layers(), _spec(tmp_path, conf))
    assert _styles(m) == {"Thresholding_0": "hls", "ChannelwiseOp_0": "rtl"}


def test_codegen_ipgen_and_mixed_execution(tmp_path, monkeypatch):
    """Thresholding in HLS, ChannelwiseOp in RTL: codegen writes one folder of
    each kind, ipgen compiles the cppsim and (without vitis_hls) says the
    layer stays at source level, execute_onnx(backend='cppsim') runs the pair
    mixed and equals the reference; the stitched steps refuse HLS layers."""
    monkeypatch.setenv("PATH", os.environ["PATH"])
    cfg = _spec(tmp_path, {"Thresholding_0": {"preferred_impl_style": "hls"}})
    m = steps.step_specialize_layers(_two_layers(), cfg)
    m = hw_steps.step_hw_codegen(m, cfg)
    dirs = {n.name: n.get_attr("code_gen_dir_ipgen").decode() for n in m.graph.node}
    assert os.path.isfile(os.path.join(dirs["Thresholding_0"], "sf_hls_layer.json"))
    assert os.path.isfile(os.path.join(dirs["ChannelwiseOp_0"], "sf_layer.json"))
    assert m.graph.node[0].get_attr("code_gen_dir_cppsim").decode() == dirs["Thresholding_0"]
    tcl = open(os.path.join(dirs["Thresholding_0"], "hls_syn_Thresholding_0.tcl")).read()
    assert f"set_part {cfg.resolved_fpga_part()}" in tcl
    if not __import__("shutil").which("vitis_hls"):
        m = hw_steps.step_hw_ipgen(m, cfg)
        assert "vitis_hls is not on PATH" in m._step_note and "hls_syn_<node>.tcl" in m._step_note
        script = tmp_path / "out" / "hw" / "run_vitis_hls.sh"
        assert f"bash {script}" in m._step_note
        assert f"(cd '{dirs['Thresholding_0']}' && vitis_hls -f hls_syn_Thresholding_0.tcl)" in script.read_text()
    x = rand_values(np.random.default_rng(1), "INT4", (3, 3, 4))
    want = sf.execute_onnx(m, {"x": x})["y"]
    np.testing.assert_array_equal(sf.execute_onnx(m, {"x": x}, backend="cppsim")["y"], want)
    with pytest.raises(sf.UnsupportedOpError, match="Thresholding_0 are HLS layers"):
        hw_steps.step_create_stitched_ip(m, cfg)


def test_ipgen_runs_vitis_hls_when_on_path(tmp_path, monkeypatch):
    """A stand-in vitis_hls on PATH is called with -f hls_syn_<node>.tcl in the
    layer folder, and the node gets its ip_path."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "vitis_hls"
    exe.write_text("#!/bin/sh\necho \"$PWD $@\" >> \"$(dirname \"$0\")/calls.txt\"\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    cfg = _spec(tmp_path, {"Defaults": {"preferred_impl_style": "hls"}})
    m = hw_steps.step_hw_codegen(steps.step_specialize_layers(_two_layers(), cfg), cfg)
    m = hw_steps.step_hw_ipgen(m, cfg)
    calls = (bindir / "calls.txt").read_text().splitlines()
    assert len(calls) == 2
    for n, call in zip(m.graph.node, calls):
        d = n.get_attr("code_gen_dir_ipgen").decode()
        assert call == f"{d} -f hls_syn_{n.name}.tcl"
        assert n.get_attr("ip_path").decode().startswith(d)
    assert "vitis_hls is not on PATH" not in m._step_note


def test_single_node_helper():
    check_cppsim(thresholding(3), {"x": rand_values(np.random.default_rng(3), "INT4", (2, 3, 4))})


def test_build_verifies_folded_hls_cppsim(tmp_path, monkeypatch):
    """A build with the specialize config (all HLS) and verify_steps
    folded_hls_cppsim: the folded network runs in cppsim after
    step_apply_folding_config and matches the expected output."""
    from streamfold.builder import build_dataflow_cfg

    from test_builder import HW_STEPS
    from test_folding import example_input, mvau_chain

    model_file = str(tmp_path / "hw.onnx")
    sf.ModelWrapper(mvau_chain()).save(model_file)
    x = example_input()
    np.save(tmp_path / "in.npy", x)
    np.save(tmp_path / "exp.npy", sf.execute_onnx(sf.ModelWrapper(model_file), {"x": x})["y"])
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"Defaults": {"preferred_impl_style": ["hls", ["all"]]}}))
    c = DataflowBuildConfig(output_dir=str(tmp_path / "out"), board="Pynq-Z2", target_fps=1e6, steps=HW_STEPS,
                            mvau_wwidth_max=1024, specialize_layers_config_file=str(spec),
                            verify_steps=["folded_hls_cppsim"], verify_input_npy=str(tmp_path / "in.npy"),
                            verify_expected_output_npy=str(tmp_path / "exp.npy"))
    runs = []
    real = cppsim.simulate_emitted
    monkeypatch.setattr(cppsim, "simulate_emitted", lambda *a: runs.append(a[1].name) or real(*a))
    s = build_dataflow_cfg(model_file, c, progress=False)
    assert s["verification"] == [{"step": "step_apply_folding_config", "result": "SUCCESS"}]
    assert runs == ["MVAU_0", "MVAU_1", "MVAU_2"]
    m = sf.ModelWrapper(str(tmp_path / "out" / "intermediate_models" / "step_specialize_layers.onnx"))
    assert {n.get_attr("preferred_impl_style") for n in m.graph.node} == {b"hls"}


def test_specialize_config_across_partitions(tmp_path):
    """Two dataflow partitions (a host Relu between them): the config may name
    layers of either; each partition takes its own, and the built parent runs
    mixed through backend='cppsim' with the source's numbers."""
    from streamfold.builder import build_dataflow_cfg

    from test_folding import example_input, mvau_chain
    from test_partitions import DIMS, PART_STEPS, run, split_chain

    src = tmp_path / "split.onnx"
    split_chain().save(src)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"MVAU_0": {"preferred_impl_style": "hls"}, "MVAU_2": {"preferred_impl_style": "hls"}}))
    c = DataflowBuildConfig(output_dir=str(tmp_path / "out"), board="Pynq-Z2", target_fps=1e6, steps=PART_STEPS,
                            mvau_wwidth_max=1024, specialize_layers_config_file=str(spec))
    s = build_dataflow_cfg(str(src), c, progress=False)
    styles = {n.name: n.get_attr("preferred_impl_style").decode() for p in s["partitions"] for n in p.graph.node}
    assert styles == {"MVAU_0": "hls", "MVAU_1": "rtl", "MVAU_2": "hls"}
    x = example_input(DIMS)
    p = s["parent"]
    got = sf.execute_onnx(p, {p.graph.input[0].name: x}, backend="cppsim")[p.graph.output[0].name]
    np.testing.assert_array_equal(got, run(sf.ModelWrapper(mvau_chain(DIMS)), x))
