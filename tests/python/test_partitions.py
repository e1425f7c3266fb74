"""Dataflow partitions (issue 16, items 2-4): several partitions built each
on its own with the parent running them in order; FINN's file-path form of
StreamingDataflowPartition.model read and written beside our serialized
form; a float-input first layer refused with the right hint, or kept on the
host with host_float_layers."""
import json
import os

import numpy as np
import onnx
import pytest
from onnx import helper

import streamfold as sf
from streamfold.builder import DataflowBuildConfig, build_dataflow_cfg
from streamfold.builder.config import ALL_STEPS
from streamfold.partition import (child_models, create_dataflow_partition, inline_children, is_file_path_form,
                                  save_parent_finn_form, sdp_nodes)

from test_folding import example_input, mvau_chain

DIMS = (64, 32, 16, 10)
ESTIMATE_BUILD = ALL_STEPS[:ALL_STEPS.index("step_generate_estimate_reports") + 1]
PART_STEPS = ["step_create_dataflow_partition", "step_specialize_layers", "step_target_fps_parallelization",
              "step_minimize_bit_width", "step_generate_estimate_reports"]


def split_chain():
    """MVAU_0 -> Relu (host) -> MVAU_1 -> MVAU_2: two dataflow regions. The
    Relu of UINT2 codes changes nothing, so the output equals the chain's."""
    m = mvau_chain(DIMS)
    g = m.graph
    relu = helper.make_node("Relu", ["a0"], ["a0r"], name="Relu_host")
    g.node.insert(1, relu)
    g.node[2].input[0] = "a0r"
    mw = sf.ModelWrapper(m)
    mw.set_tensor_datatype("a0r", sf.DataType["UINT2"])
    return mw.transform(sf.transformation.InferShapes())


def run(m, x):
    return sf.execute_onnx(m, {m.graph.input[0].name: x})[m.graph.output[0].name]


def test_two_partitions_and_both_attribute_forms(tmp_path):
    m = split_chain()
    x = example_input(DIMS)
    want = run(sf.ModelWrapper(mvau_chain(DIMS)), x)
    parent, children, cpu = create_dataflow_partition(m)
    assert len(children) == 2 and [r for _, r in cpu if "between dataflow partitions" in r]
    np.testing.assert_array_equal(run(parent, x), want)
    # FINN's form: children beside the parent, the attribute a path
    paths = save_parent_finn_form(parent, tmp_path / "dataflow_parent.onnx")
    assert [os.path.relpath(p, tmp_path) for p in paths] == \
        [f"dataflow_partition_{i}/partition_{i}.onnx" for i in range(2)]
    raw = onnx.load(str(tmp_path / "dataflow_parent.onnx"))
    attrs = [helper.get_attribute_value(a) for n in raw.graph.node if n.op_type == "StreamingDataflowPartition"
             for a in n.attribute if a.name == "model"]
    assert [a.decode() for a in attrs] == paths  # what FINN's ModelWrapper(node.get_nodeattr("model")) opens
    finn_form = sf.ModelWrapper(tmp_path / "dataflow_parent.onnx")
    assert all(is_file_path_form(n.get_attr("model")) for n in sdp_nodes(finn_form))
    np.testing.assert_array_equal(run(finn_form, x), want)
    assert [len(c.graph.node) for c in child_models(finn_form)] == [len(c.graph.node) for c in children]
    # relative paths resolve against the parent's folder, from any working directory
    for n in raw.graph.node:
        for a in n.attribute:
            if a.name == "model":
                a.s = os.path.relpath(a.s.decode(), tmp_path).encode()
    onnx.save(raw, str(tmp_path / "relative_parent.onnx"))
    cwd = os.getcwd()
    try:
        os.chdir("/")
        np.testing.assert_array_equal(run(sf.ModelWrapper(tmp_path / "relative_parent.onnx"), x), want)
    finally:
        os.chdir(cwd)
    # and back to ours: self-contained again
    ours = inline_children(finn_form)
    assert not any(is_file_path_form(n.get_attr("model")) for n in sdp_nodes(ours))
    np.testing.assert_array_equal(run(ours, x), want)


def test_missing_child_file_is_named(tmp_path):
    parent, _, _ = create_dataflow_partition(split_chain())
    paths = save_parent_finn_form(parent, tmp_path / "p.onnx")
    m = sf.ModelWrapper(tmp_path / "p.onnx")
    os.remove(paths[1])
    with pytest.raises(sf.StreamfoldError, match="partition_1.onnx"):
        run(m, example_input(DIMS))


def test_build_of_several_partitions(tmp_path):
    src = tmp_path / "split.onnx"
    split_chain().save(src)
    cfg = DataflowBuildConfig(output_dir=str(tmp_path / "out"), board="Pynq-Z2", target_fps=1e6, steps=PART_STEPS,
                              mvau_wwidth_max=1024)
    s = build_dataflow_cfg(str(src), cfg, progress=False)
    out = tmp_path / "out"
    assert len(s["partitions"]) == 2
    perf = {}
    for i in range(2):
        d = out / f"partition_{i}"
        assert (d / "final_hw_config.json").exists() and (d / "intermediate_models" /
                                                         "step_generate_estimate_reports.onnx").exists()
        perf[i] = json.loads((d / "report" / "estimate_network_performance.json").read_text())
        assert s[f"folding[partition_{i}]"].budget["LUT"] == pytest.approx(53200 * 0.85 / 2)
    combined = json.loads((out / "report" / "estimate_network_performance.json").read_text())
    assert combined["estimated_throughput_fps"] == min(p["estimated_throughput_fps"] for p in perf.values())
    assert combined["estimated_latency_ns"] == pytest.approx(sum(p["estimated_latency_ns"] for p in perf.values()))
    # the parent runs the built children in order: same numbers as the source
    x = example_input(DIMS)
    np.testing.assert_array_equal(run(s["parent"], x), run(sf.ModelWrapper(mvau_chain(DIMS)), x))
    # the saved dataflow_parent.onnx is in FINN's form and runs too
    saved = sf.ModelWrapper(out / "intermediate_models" / "dataflow_parent.onnx")
    assert all(is_file_path_form(n.get_attr("model")) for n in sdp_nodes(saved))
    np.testing.assert_array_equal(run(saved, x), run(s["parent"], x))


@pytest.fixture(scope="module")
def float_input_net(tmp_path_factory):
    """A first conv fed by the raw image (no input quantizer), like a
    Brevitas ResNet's stem."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("brevitas")
    import brevitas.nn as qnn
    from torch import nn

    from streamfold import zoo
    from streamfold.zoo._quant import calibrate, randomize_bn_affine

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = nn.Sequential(
            qnn.QuantConv2d(3, 4, 3, padding=1, bias=False, weight_bit_width=4), nn.BatchNorm2d(4),
            qnn.QuantReLU(bit_width=4), qnn.QuantConv2d(4, 4, 3, padding=1, bias=False, weight_bit_width=4),
            nn.BatchNorm2d(4), qnn.QuantReLU(bit_width=4), nn.Flatten(), qnn.QuantLinear(4 * 6 * 6, 3, bias=True,
                                                                                         weight_bit_width=4))
    gen = torch.Generator().manual_seed(1)
    randomize_bn_affine(net, gen)
    calibrate(net, [torch.rand(16, 3, 6, 6, generator=gen) * 2 - 1 for _ in range(3)])
    net.eval()
    path = zoo.export_module(net, (1, 3, 6, 6), str(tmp_path_factory.mktemp("fin") / "float_in.onnx"))
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 6, 6)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    return path, x, ref


def test_float_input_first_layer_hint(float_input_net):
    from streamfold.builder import steps

    path, _, _ = float_input_net
    m = steps.step_tidy_up(steps.step_qonnx_to_finn(sf.ModelWrapper(path)))
    with pytest.raises(sf.StreamlineError) as e:
        steps.step_streamline(m)
    v = e.value.violations[0]
    assert v["op_type"] == "MatMul" and v["float_head"] and "input is not an integer stream" in v["why"]
    assert "weights must be integer" not in e.value.hint
    assert "raw float input" in e.value.hint and "input quantizer" in e.value.hint
    assert "host_float_layers" in e.value.hint
    steps.step_streamline(m, host_float_layers=True)  # accepted: the float head stays on the host


def test_float_input_first_layer_on_the_host(float_input_net, tmp_path):
    path, x, ref = float_input_net
    cfg = DataflowBuildConfig(output_dir=str(tmp_path / "out"), board="Pynq-Z2", target_fps=10000,
                              host_float_layers=True, steps=ESTIMATE_BUILD)
    s = build_dataflow_cfg(path, cfg, progress=False)
    ops = [n.op_type for n in s["parent"].graph.node]
    sdp = ops.index("StreamingDataflowPartition")
    assert "MatMul" in ops[:sdp] and "MultiThreshold" in ops[:sdp], ops  # first conv + its quantizer on the host
    assert {"MVAU"} <= {n.op_type for n in s["model"].graph.node}
    got = np.concatenate([run(s["parent"], x[i:i + 1]) for i in range(len(x))])
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(ref).max())))
    with pytest.raises(sf.ConfigError, match="host_float_layers"):
        DataflowBuildConfig(output_dir="o", board="Pynq-Z2", target_fps=1, host_float_layers="yes").validate()
